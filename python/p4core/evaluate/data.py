"""Inputs of the benchmark: disease signatures, indications, the library's candidate drugs and positives."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.model import DrugLibrary, Knowledge
from p4core.twin.signature import bh_fdr

log = logging.getLogger("p4core.benchmark")

SIGNATURE_COLUMNS = ("doid", "disease", "gene_symbol", "effect_size_random")
INDICATION_COLUMNS = ("doid_id", "drugbank_id", "disease", "drug", "category")


@dataclass
class Signatures:
    """A signature table after the FDR filter: ``rows`` (doid, disease, gene_symbol,
    effect_size_random), every disease of the file (also those left without genes) and, per disease,
    which FDR was used."""

    rows: pd.DataFrame
    diseases: list[tuple[str, str]]
    fdr_source: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_table(path: str | Path, key: str, what: str, columns: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{key}={path}: {what} file not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        EOFError,
        zlib.error,
    ) as exc:
        raise InputError(
            f"{key}={path}: {what} file could not be read as a tab-separated table: {exc}"
        ) from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path}: missing column(s) {missing}; expected columns {list(columns)}, "
            f"found {list(df.columns)}"
        )
    if df.empty:
        raise InputError(f"{what} file {path} has no rows")
    return df


def _disease_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    pairs = df[["doid", "disease"]].drop_duplicates("doid")
    return list(zip(pairs["doid"], pairs["disease"], strict=True))


def read_signature_table(path: str | Path, fdr: float = 0.05) -> Signatures:
    """The signature table with genes of FDR < ``fdr`` per disease (``fdr=1``: every gene).

    The FDR of a gene is its ``p_adjusted``; for a disease where ``p_adjusted`` is missing (no
    column, or blank for some of its genes) it is Benjamini-Hochberg over ``pval_random`` within
    the disease, and :attr:`Signatures.fdr_source` says so. Genes with neither are left out.
    """
    df = read_table(path, "signatures", "signatures", SIGNATURE_COLUMNS)
    df["gene_symbol"] = df["gene_symbol"].str.strip().str.upper()
    df["doid"] = df["doid"].str.strip()
    df["disease"] = df["disease"].str.strip()
    df["effect_size_random"] = pd.to_numeric(df["effect_size_random"], errors="coerce")
    bad = df["effect_size_random"].isna() | (df["gene_symbol"] == "")
    if bad.all():
        raise InputError(f"signatures file {path}: no row has a gene_symbol and a numeric effect_size_random")
    if bad.any():
        log.warning(
            "signatures file %s: %d row(s) without gene or numeric effect size left out", path, bad.sum()
        )
        df = df[~bad]
    diseases = _disease_pairs(df)
    sources: dict[str, dict[str, Any]] = {}
    if fdr >= 1:
        for doid, _ in diseases:
            n = int((df["doid"] == doid).sum())
            sources[doid] = {"fdr_source": "not filtered (fdr=1)", "n_rows": n, "n_kept": n}
        return Signatures(df.reset_index(drop=True), diseases, sources)
    padj = (
        pd.to_numeric(df["p_adjusted"], errors="coerce")
        if "p_adjusted" in df
        else pd.Series(np.nan, df.index)
    )
    praw = (
        pd.to_numeric(df["pval_random"], errors="coerce")
        if "pval_random" in df
        else pd.Series(np.nan, df.index)
    )
    q = padj.copy()
    for doid, _ in diseases:
        at = df["doid"] == doid
        n = int(at.sum())
        if padj[at].notna().all():
            sources[doid] = {"fdr_source": "p_adjusted", "n_rows": n}
            continue
        missing = int(padj[at].isna().sum())
        have_p = at & praw.notna()
        if have_p.any():
            q[at] = np.nan
            q[have_p] = bh_fdr(praw[have_p].to_numpy())
            src = (
                f"Benjamini-Hochberg over pval_random within the disease (p_adjusted missing for "
                f"{missing} of {n} genes)"
            )
        else:
            src = f"none: p_adjusted missing for {missing} of {n} genes and no pval_random"
            q[at] = q[at].where(padj[at].notna())
        sources[doid] = {"fdr_source": src, "n_rows": n}
        log.warning("signatures file %s, %s: %s", path, doid, src)
    keep = q < fdr
    out = df[keep].reset_index(drop=True)
    for doid in sources:
        sources[doid]["n_kept"] = int((out["doid"] == doid).sum())
    return Signatures(out, diseases, sources)


def read_signatures(path: str | Path, fdr: float = 0.05) -> pd.DataFrame:
    """The signature rows kept at ``fdr`` (see :func:`read_signature_table`)."""
    return read_signature_table(path, fdr).rows


def read_indications(path: str | Path) -> pd.DataFrame:
    """The indication table: doid_id, drugbank_id, disease, drug, category (DM / SYM / NOT)."""
    df = read_table(path, "indications", "indications", INDICATION_COLUMNS)
    for c in INDICATION_COLUMNS:
        df[c] = df[c].str.strip()
    df["category"] = df["category"].str.upper()
    return df


def drugbank_index(drugs: DrugLibrary) -> dict[str, set[str]]:
    """DrugBank id -> library drug names (the library's ``drugbank_id`` column, ';'-joined ids)."""
    t = drugs.targets
    index: dict[str, set[str]] = {}
    if "drugbank_id" not in t.columns:
        return index
    pairs = t[["drug", "drugbank_id"]].drop_duplicates()
    for drug, ids in zip(pairs["drug"], pairs["drugbank_id"].fillna(""), strict=True):
        for i in str(ids).split(";"):
            if i.strip():
                index.setdefault(i.strip(), set()).add(drug)
    return index


def map_indications(indications: pd.DataFrame, drugs: DrugLibrary, path: str = "indications") -> pd.DataFrame:
    """Add ``library_drugs`` (sorted list) to every indication row.

    Through DrugBank ids when the library has a ``drugbank_id`` column, else by lower-case drug name.
    Raises :class:`InputError` when no row maps to a library drug.
    """
    index = drugbank_index(drugs)
    out = indications.copy()
    if index:
        out["library_drugs"] = out["drugbank_id"].map(lambda i: sorted(index.get(i, ())))
        how = "drugbank_id (library column drugbank_id)"
    else:
        names = set(drugs.drugs)
        out["library_drugs"] = out["drug"].str.lower().map(lambda d: [d] if d in names else [])
        how = "drug name (the library has no drugbank_id column)"
    if not out["library_drugs"].map(len).any():
        raise InputError(
            f"indications file {path}: none of its {out['drugbank_id'].nunique()} drugs "
            f"(e.g. {list(out['drugbank_id'].head(3))}) is in the drug library {drugs.name!r} "
            f"(matched by {how}); check the ids or the knowledge"
        )
    return out


def dm_positives(
    dm: pd.DataFrame, candidates: set[str], *, collapse: bool = True
) -> tuple[list[str], list[str]]:
    """Positives among ``candidates`` for the DM rows ``dm`` (with ``library_drugs``), and left-out forms.

    A DrugBank id can name several library drugs (DrugCentral lists salts and esters apart, e.g.
    prednisolone, prednisolone acetate, ...). With ``collapse`` each indication gives one positive:
    the form named like the indication (else the shortest name) and the other forms are returned
    to be left out of the candidate set, so one indication is not counted many times.
    """
    pos: set[str] = set()
    forms_out: set[str] = set()
    for name, lib in zip(dm["drug"], dm["library_drugs"], strict=True):
        forms = sorted(d for d in lib if d in candidates)
        if not forms:
            continue
        if not collapse or len(forms) == 1:
            pos.update(forms)
            continue
        exact = [d for d in forms if d == str(name).strip().lower()]
        rep = exact[0] if exact else min(forms, key=lambda d: (len(d), d))
        pos.add(rep)
        forms_out.update(f for f in forms if f != rep)
    return sorted(pos), sorted(forms_out - pos)


def candidate_drugs(knowledge: Knowledge) -> list[str]:
    """Drugs with at least one target of known sign (+1/-1) that is a network gene, sorted."""
    t = knowledge.drugs.targets
    genes = set(knowledge.network.genes)
    ok = (t["sign"].astype(int) != 0) & t["target"].isin(genes)
    return sorted(set(t.loc[ok, "drug"]))


def dm_sets(indications: pd.DataFrame) -> dict[str, set[str]]:
    """Per disease (DOID) of the indication table, the library drugs with a DM indication (all forms)."""
    dm = indications[indications["category"] == "DM"]
    return {doid: {d for lst in rows["library_drugs"] for d in lst} for doid, rows in dm.groupby("doid_id")}


def select_diseases(pairs: list[tuple[str, str]], wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    """The diseases named in ``wanted`` (by name or DOID, case-insensitive), in file order."""
    if not wanted:
        return pairs
    chosen, unknown = [], []
    for w in wanted:
        key = str(w).strip().lower()
        hit = [(d, n) for d, n in pairs if key in (d.lower(), n.lower())]
        if not hit:
            unknown.append(str(w))
        chosen += [h for h in hit if h not in chosen]
    if unknown:
        names = ", ".join(f"{n} ({d})" for d, n in pairs)
        raise InputError(f"diseases: {unknown} not in the signatures file; available: {names}")
    return chosen


def load_public_knowledge(root: str, overrides: dict[str, Any] | None = None) -> Knowledge:
    """``knowledge=public`` from ``root`` with ``knowledge.*`` overrides (e.g. mechanism_share)."""
    from p4core.pipeline import compose, load_knowledge

    if not Path(root).is_dir():
        raise InputError(f"knowledge_root={root}: folder not found (it must hold knowledge/ and drugs/)")
    cfg = compose(["knowledge=public"])
    cfg.knowledge.root = str(root)  # set, not an override: any character is fine in the path
    for key, value in (overrides or {}).items():
        if key not in cfg.knowledge:
            raise InputError(
                f"knowledge.{key}: not an option of knowledge=public; options: {', '.join(cfg.knowledge)}"
            )
        cfg.knowledge[key] = value
    try:
        return load_knowledge(cfg.knowledge)
    except InputError as exc:
        raise InputError(f"knowledge_root={root}: {exc}") from exc
