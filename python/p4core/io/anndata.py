"""Single-cell input: raw counts checked, gene names harmonised, donors paired, a Patient built.

:func:`patient_from_anndata` turns any in-memory AnnData into a :class:`~p4core.model.Patient`, so a
data-source plugin for another format reads its file and hands the cells over;
:func:`read_patient_h5ad` is that for ``.h5ad`` files.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.clinical.privacy import pseudonymise
from p4core.errors import InputError
from p4core.io.counts import gene_symbols as symbol_map
from p4core.io.counts import read_rows
from p4core.model import CELL_TYPE, CONDITION, DISEASE, DONOR, PATIENT, REFERENCE, SAMPLE, Context, Patient

log = logging.getLogger("p4core")


def harmonise_gene_names(
    x: Any, var: pd.DataFrame, gene_symbols: str | None, where: str
) -> tuple[sp.csr_array, np.ndarray, dict[str, Any]]:
    """Gene symbols (upper case) for the columns of ``x``; returns (counts, symbols, report): the rules of
    :func:`p4core.io.counts.gene_symbols`, applied to the whole matrix."""
    names, agg, info = symbol_map(var, gene_symbols, where)
    xs = sp.csr_array(x) if sp.issparse(x) else sp.csr_array(np.asarray(x))
    return (xs if agg is None else sp.csr_array(xs @ agg)), names, info


def _available(obs: pd.DataFrame) -> str:
    return ", ".join(map(repr, obs.columns)) or "(none)"


def pair_samples(samples: pd.Series, labels: pd.Series, is_reference: pd.Series) -> dict[str, str] | None:
    """Donors from sample names that pair up across the two conditions, or None.

    A sample's donor token is its name without its condition's label (``ctrl101`` with label ``ctrl``
    -> ``101``), else without a leading run of letters (``A7``/``B7`` -> ``7``), separators stripped.
    The samples pair up when every token names exactly one reference and one disease sample, for at
    least two tokens."""
    per = pd.DataFrame({"sample": samples.astype(str), "label": labels.astype(str), "ref": is_reference})
    per = per.drop_duplicates("sample")
    if per.groupby("sample")["ref"].nunique().max() > 1:
        return None  # a sample with cells of both conditions is not a condition's sample

    def attempt(token_of) -> dict[str, str] | None:
        tokens = {row.sample: token_of(row.sample, row.label) for row in per.itertuples()}
        if any(not t for t in tokens.values()):
            return None
        ref = [tokens[s] for s in per.loc[per["ref"], "sample"]]
        dis = [tokens[s] for s in per.loc[~per["ref"], "sample"]]
        if len(set(ref)) == len(ref) == len(dis) == len(set(dis)) >= 2 and set(ref) == set(dis):
            return tokens
        return None

    sep = "_-. :/"

    def without_label(name: str, label: str) -> str:
        return re.sub(re.escape(label), "", name, flags=re.IGNORECASE).strip(sep) if label else ""

    def without_prefix(name: str, _label: str) -> str:
        return re.sub(r"^[A-Za-z]+", "", name).strip(sep)

    return attempt(without_label) or attempt(without_prefix)


def patient_from_anndata(
    adata: ad.AnnData,
    *,
    cell_type_key: str,
    condition_key: str,
    reference: str,
    disease: str | None = None,
    sample_key: str | None = None,
    donor_key: str | None = None,
    pair_samples_by_name: bool = True,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    organism: str = "human",
    patient_id: str,
    pseudonym_key: str | None = None,
    tissue: str | None = None,
    diagnosis: str | None = None,
    patient: str | None = None,
    min_patient_cells: int = 20,
    drop_unlabelled: bool = False,
    where: str = "AnnData",
    source: str = "anndata",
    description: str = "AnnData object",
) -> Patient:
    """A :class:`~p4core.model.Patient` from one patient's cells in memory, checked to make a twin.

    The parameters are those of :func:`read_patient_h5ad` (the data source's config fields), with
    ``patient_id`` required (it is pseudonymised before it reaches any output) and ``where`` (how
    errors name the input, e.g. its file name), ``source`` and ``description`` (how the run's
    records and the report name the format). ``adata`` is not modified.

    A data-source plugin for another format reads its file into an AnnData (counts in ``X``, a
    layer or ``.raw``; cell type and condition in ``obs``) and returns this function's Patient.
    """
    if not isinstance(adata, ad.AnnData):
        raise InputError(f"{where}: expected an AnnData object, got {type(adata).__name__}")
    obs = adata.obs
    for key, field_name in ((cell_type_key, "data.cell_type_key"), (condition_key, "data.condition_key")):
        if key not in obs.columns:
            raise InputError(
                f"{where}: obs has no column {key!r} ({field_name}); available: {_available(obs)}"
            )
    for opt, field_name in ((sample_key, "data.sample_key"), (donor_key, "data.donor_key")):
        if opt is not None and opt not in obs.columns:
            raise InputError(
                f"{where}: obs has no column {opt!r} ({field_name}); available: {_available(obs)}"
            )

    if use_raw:
        if adata.raw is None:
            raise InputError(f"{where}: data.use_raw=true but the file has no .raw")
        x, var = adata.raw.X, adata.raw.var
    elif layer is not None:
        if layer not in adata.layers:
            raise InputError(f"{where}: no layer {layer!r} (data.layer); available: {list(adata.layers)}")
        x, var = adata.layers[layer], adata.var
    else:
        x, var = adata.X, adata.var
    counts_where = f"{where} ({'raw' if use_raw else layer or 'X'})"
    if x is None or not x.shape[0] * x.shape[1]:
        raise InputError(f"{counts_where}: the count matrix is empty")

    if organism not in ("human", "mouse"):
        raise InputError(f"data.organism must be 'human' or 'mouse', got {organism!r}")
    names, symbol_agg, gene_info = symbol_map(var, gene_symbols, where)
    if organism == "human" and gene_info.get("mouse_like_share", 0.0) > 0.5:
        log.warning(
            "%s: %.0f%% of the gene symbols look like mouse ones (e.g. %s); if the cells are mouse, set "
            "data.organism=mouse to map them to human genes through the knowledge's orthologs",
            where,
            100 * gene_info["mouse_like_share"],
            ", ".join(map(str, list(var.index[:3]))),
        )

    labelled = labelled_cells(
        obs,
        [
            (cell_type_key, "data.cell_type_key"),
            (condition_key, "data.condition_key"),
            *([(sample_key, "data.sample_key")] if sample_key else []),
            *([(donor_key, "data.donor_key")] if donor_key else []),
        ],
        drop_unlabelled,
        where,
    )
    cond = obs[condition_key].astype(str)
    levels = sorted(cond[labelled].unique())
    if reference not in levels:
        only = (
            f"; the file holds only {condition_key}={levels[0]!r}: its reference cells are missing"
            if len(levels) == 1
            else ""
        )
        raise InputError(
            f"{where}: no reference cells: {condition_key!r} has no value {reference!r} "
            f"(data.reference); values are {levels}{only}"
        )
    is_ref = (cond == reference) & labelled
    is_dis = ((cond == disease) if disease is not None else (cond != reference)) & labelled
    if disease is not None and disease not in levels:
        raise InputError(
            f"{where}: no disease cells: {condition_key!r} has no value {disease!r} "
            f"(data.disease); values are {levels}"
        )
    if not is_dis.any():
        raise InputError(
            f"{where}: no disease cells: every cell has {condition_key}={reference!r} (the reference); the "
            "patient's disease cells are missing from the file — p4core compares them with the reference cells"
        )
    patient_key = donor_key or sample_key
    if patient is not None:
        field = "data.donor_key" if donor_key else "data.sample_key"
        is_dis = is_dis & select_patient(
            obs, patient, patient_key, field, is_ref, is_dis, min_patient_cells, where
        )
    keep = (is_ref | is_dis).to_numpy()
    others = [c for c in obs.columns if c not in (CELL_TYPE, CONDITION, SAMPLE, DONOR, PATIENT)]
    new_obs = obs.loc[keep, others].copy()  # kept for covariates
    new_obs[CELL_TYPE] = obs[cell_type_key].astype(str).to_numpy()[keep]
    new_obs[CONDITION] = np.where(is_ref.to_numpy()[keep], REFERENCE, DISEASE)
    if sample_key is not None:
        new_obs[SAMPLE] = obs[sample_key].astype(str).to_numpy()[keep]
    else:
        new_obs[SAMPLE] = new_obs[CONDITION]
    design: dict[str, Any] = {"paired": False, "donors_from": None, "n_donors_in_both_conditions": 0}
    if donor_key is not None:
        new_obs[DONOR] = obs[donor_key].astype(str).to_numpy()[keep]
        design["donors_from"] = "data.donor_key"
    elif sample_key is not None and pair_samples_by_name:
        tokens = pair_samples(
            new_obs[SAMPLE], cond[keep], pd.Series(is_ref.to_numpy()[keep], index=new_obs.index)
        )
        if tokens is not None:
            new_obs[DONOR] = new_obs[SAMPLE].map(tokens).to_numpy()
            design["donors_from"] = "sample names that pair up across the conditions"
    if DONOR in new_obs:
        ref_d = set(new_obs.loc[new_obs[CONDITION] == REFERENCE, DONOR])
        dis_d = set(new_obs.loc[new_obs[CONDITION] == DISEASE, DONOR])
        design["n_donors_in_both_conditions"] = len(ref_d & dis_d)
        design["paired"] = len(ref_d & dis_d) >= 2
        if design["paired"]:
            log.info(
                "paired design: %d donors measured in both conditions (donors from %s)",
                len(ref_d & dis_d),
                design["donors_from"],
            )
    if patient is not None:
        if str(patient).lower() == "all":  # the cohort stage splits the patients (p4core.cohort.split)
            new_obs[PATIENT] = np.where(
                new_obs[CONDITION].to_numpy() == DISEASE, obs[patient_key].astype(str).to_numpy()[keep], ""
            )
        design["patient"] = "all" if str(patient).lower() == "all" else "one"
        design["patient_key"] = "data.donor_key" if donor_key else "data.sample_key"
    xs = read_rows(x, np.flatnonzero(keep), symbol_agg, counts_where)  # a chunk at a time, checked
    out = ad.AnnData(
        X=sp.csr_matrix(xs),
        obs=new_obs,
        var=pd.DataFrame(index=pd.Index(names, name="gene")),
    )
    out.uns["p4core_genes"] = gene_info
    out.uns["p4core_source"] = {
        "format": source,
        "cell_type_key": cell_type_key,
        "condition_key": condition_key,
        "reference": reference,
        "disease": disease or "(all others)",
        "design": design,
    }
    ctx = Context(pseudonym=pseudonymise(str(patient_id), pseudonym_key))
    if tissue is None and "tissue" in obs.columns:  # CELLxGENE schema: obs["tissue"]
        tissue = ", ".join(sorted(set(obs.loc[is_dis.to_numpy(), "tissue"].astype(str))))
    if tissue:
        ctx.extra["tissue"] = str(tissue)
    return Patient(out, ctx, description=description, organism=organism, diagnosis=diagnosis)


def labelled_cells(obs: pd.DataFrame, keys: list[tuple[str, str]], drop: bool, where: str) -> pd.Series:
    """Cells with every label in ``keys`` ((obs column, option) pairs): a missing label (NaN, None, empty,
    "nan") is refused with the count per column, or, with ``drop`` (``data.drop_unlabelled``), the cells are
    left out with a warning that counts them — never a category named "nan"."""
    ok = pd.Series(True, index=obs.index)
    counts = []
    for key, option in keys:
        col = obs[key]
        missing = col.isna() | col.astype(str).str.strip().str.lower().isin(["", "nan", "none", "null", "na"])
        if missing.any():
            counts.append(f"{int(missing.sum())} in {key!r} ({option})")
            ok &= ~missing
    if counts:
        n = int((~ok).sum())
        if not drop:
            raise InputError(
                f"{where}: {n} of {len(ok)} cells have no label ({'; '.join(counts)}); label them, or set "
                "data.drop_unlabelled=true to leave them out"
            )
        log.warning(
            "%s: leaving out %d of %d cells without a label (%s)", where, n, len(ok), "; ".join(counts)
        )
    return ok


def select_patient(
    obs: pd.DataFrame,
    patient: str,
    key: str | None,
    field: str,
    is_ref: pd.Series,
    is_dis: pd.Series,
    min_cells: int,
    where: str,
) -> pd.Series:
    """The disease cells of ``data.patient`` (all disease cells for ``all``), checked: the column that names
    patients exists, the patient has disease cells (not only reference ones) and enough of them."""
    if key is None:
        raise InputError(
            f"data.patient={patient}: set data.donor_key (or data.sample_key), the obs column that names each "
            "patient"
        )
    ids = obs[key].astype(str)
    n_dis = ids[is_dis].nunique()
    if str(patient).lower() == "all":
        counts = ids[is_dis].value_counts()
        small = int((counts < min_cells).sum())
        if small == len(counts):
            raise InputError(
                f"{where}: data.patient=all: no disease-group patient has {min_cells} cells or more"
            )
        return pd.Series(True, index=obs.index)
    mine = ids == str(patient)
    if not mine.any():
        raise InputError(
            f"{where}: data.patient={patient}: no cell has {key}={patient!r} ({field}); the file has {n_dis} "
            f"patient(s) in the disease group and {ids[is_ref].nunique()} in the reference group (list them with "
            f"obs[{key!r}].unique())"
        )
    if not (mine & is_dis).any():
        raise InputError(
            f"{where}: data.patient={patient} is in the reference group (its cells are reference cells); pick one "
            f"of the {n_dis} patient(s) of the disease group"
        )
    n = int((mine & is_dis).sum())
    if n < min_cells:
        raise InputError(
            f"{where}: data.patient={patient} has {n} disease cell(s); at least {min_cells} are needed for a twin"
        )
    return mine


def read_patient_h5ad(
    path: str | os.PathLike[str],
    *,
    cell_type_key: str,
    condition_key: str,
    reference: str,
    disease: str | None = None,
    sample_key: str | None = None,
    donor_key: str | None = None,
    pair_samples_by_name: bool = True,
    layer: str | None = None,
    use_raw: bool = False,
    gene_symbols: str | None = None,
    organism: str = "human",
    patient_id: str | None = None,
    pseudonym_key: str | None = None,
    tissue: str | None = None,
    diagnosis: str | None = None,
    patient: str | None = None,
    drop_unlabelled: bool = False,
) -> Patient:
    """Load one patient's cells from an ``.h5ad`` file and check it can make a twin.

    Parameters
    ----------
    path
        The AnnData file.
    cell_type_key, condition_key, sample_key
        ``obs`` columns with the cell type, the condition and (optionally) the sample.
    donor_key
        ``obs`` column with the donor (optional). A donor with cells in both conditions makes the
        design paired; without it, donors are derived when the sample names pair up across the
        conditions (``ctrl101``/``stim101``: donor ``101``; :func:`pair_samples`) unless
        ``pair_samples_by_name`` is false.
    reference, disease
        Values of ``condition_key`` for reference cells and disease cells (default: every other value).
    layer, use_raw
        Where the raw counts are: ``X`` (default), a layer, or ``.raw``.
    gene_symbols
        ``var`` column holding gene symbols when ``var_names`` are other identifiers (found by itself
        when ``var_names`` are Ensembl IDs and a usual symbol column exists).
    organism
        ``human`` or ``mouse`` (mouse symbols are mapped to human ones through the knowledge's
        ortholog table when the twin is built).
    patient_id
        The patient's identifier; it is pseudonymised before it reaches any output.
    tissue
        The sampled tissue (shown in the report's body view); default: the ``tissue`` obs column of
        the disease cells when there is one (CELLxGENE schema).
    diagnosis
        The patient's diagnosis (a Disease Ontology name or DOID, ``ICD10:<code>`` or ``none``), resolved
        when the knowledge is loaded (:func:`p4core.evidence.resolve_diagnosis`); default: the record's.
    patient
        One patient of a cohort file: its id in ``donor_key`` (or ``sample_key``); its disease cells are
        compared with every reference sample. ``all``: every disease-group patient, one twin each (the
        pipeline's cohort stage); the ids stay in memory (``obs["p4_patient"]``) and are pseudonymised
        before any output.
    drop_unlabelled
        Cells without a cell type, condition, sample or donor label: refused (default) or left out with a
        warning that counts them.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data.path: file not found: {path} (give the path of an .h5ad file)")
    # the counts in X are read backed, a chunk of rows at a time (only the rows used, never the whole
    # matrix twice); a layer or .raw is read with the file
    backed = layer is None and not use_raw
    try:
        adata = ad.read_h5ad(path, backed="r") if backed else ad.read_h5ad(path)
    except Exception as exc:  # h5py/anndata raise many types for a broken file
        raise InputError(f"data.path: {path} could not be read as an AnnData .h5ad file: {exc}") from exc
    try:
        return patient_from_anndata(
            adata,
            cell_type_key=cell_type_key,
            condition_key=condition_key,
            reference=reference,
            disease=disease,
            sample_key=sample_key,
            donor_key=donor_key,
            pair_samples_by_name=pair_samples_by_name,
            layer=layer,
            use_raw=use_raw,
            gene_symbols=gene_symbols,
            organism=organism,
            patient_id=patient_id if patient_id else path.stem,
            pseudonym_key=pseudonym_key,
            tissue=tissue,
            diagnosis=diagnosis,
            patient=patient,
            drop_unlabelled=drop_unlabelled,
            where=path.name,
            source="h5ad",
            description="AnnData file (h5ad)",
        )
    finally:
        if backed and adata.file is not None:
            adata.file.close()
