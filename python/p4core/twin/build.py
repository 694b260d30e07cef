"""Building the multicellular disease model and its ensemble of twins (docs/design.md, "The model")."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.model import (
    CELL_TYPE,
    CONDITION,
    DISEASE,
    DONOR,
    SAMPLE,
    Knowledge,
    Patient,
    TwinEnsemble,
    TwinReplicate,
)
from p4core.progress import progress
from p4core.twin.celltypes import celltype_checks, select_celltypes
from p4core.twin.matching import check_targets_reach_network, gene_columns, match_report
from p4core.twin.operator import OperatorStructure, build_operator, prior_edges
from p4core.twin.params import TwinParams
from p4core.twin.resample import CellTypeData, fit_celltype

log = logging.getLogger("p4core")


def build_twins(patient: Patient, knowledge: Knowledge, params: TwinParams | None = None) -> TwinEnsemble:
    """Build the ensemble of twins of ``patient`` on the prior ``knowledge``.

    Every twin resamples the cells within each (cell type, condition, sample) group, recomputes
    the signatures and the expression gates, and jitters the prior edge weights (log-normal,
    ``edge_noise``). Twin ``t`` draws from ``numpy.random.default_rng([seed, t])``, so a twin
    does not depend on how many others are built, nor on where.
    """
    p = params or TwinParams()
    dtype = np.dtype(p.dtype)
    adata = patient.adata
    check_targets_reach_network(knowledge)
    genes = sorted(set(knowledge.network.genes) | set(knowledge.drugs.targets["target"]))
    gene_index = {g: i for i, g in enumerate(genes)}
    agg, match_info = gene_columns(patient, genes, knowledge)
    measured = np.asarray(agg.sum(axis=0)).ravel() > 0
    if not measured.any():
        raise InputError(
            f"none of the {len(genes)} network genes is among the patient's {adata.n_vars} genes "
            f"(e.g. {list(adata.var_names[:3])}); use gene symbols as var_names, set data.gene_symbols, "
            "or data.organism=mouse for mouse data"
        )
    log.info(
        "network genes measured in the patient: %d of %d (the rest are latent nodes)",
        int(measured.sum()),
        len(genes),
    )
    report = match_report(patient, knowledge, genes, measured, match_info)
    missing_cov = [c for c in p.covariates if c not in patient.adata.obs.columns]
    own = [c for c in patient.adata.obs.columns if not c.startswith("p4_")]
    if missing_cov:
        raise InputError(
            f"twin.covariates: obs has no column(s) {missing_cov}; the patient's own obs columns are "
            f"{own or 'none (only the cell type, condition and sample that p4core set)'}"
        )
    selection = select_celltypes(patient, p.min_cells, list(p.exclude_celltypes), p.unmatched)
    celltypes = selection.celltypes
    x = sp.csr_array(adata.X)
    library = np.asarray(x.sum(axis=1, dtype=np.float64)).ravel()
    # the knowledge genes the panel measures, per cell type: sparse (never cells x genes dense), float32
    # (counts are exact in it up to 2^24; every sum over cells is taken in float64)
    to_measured = sp.csr_array(agg[:, np.flatnonzero(measured)], dtype=np.float32)
    obs = adata.obs
    is_dis = (obs[CONDITION] == DISEASE).to_numpy()
    cts = obs[CELL_TYPE].astype(str).to_numpy()
    samples = obs[SAMPLE].astype(str).to_numpy()
    donors = obs[DONOR].astype(str).to_numpy() if DONOR in obs.columns else None
    edges = prior_edges(knowledge, gene_index)
    n_ct, n_g = len(celltypes), len(genes)
    covariates = obs[p.covariates].reset_index(drop=True) if p.covariates else None
    mcol = np.full(n_g, -1)
    mcol[measured] = np.arange(int(measured.sum()))
    # one cell type at a time (only its data in memory): what every twin shares — the activity gate, the
    # design and its test on all cells, the fit of the prior network — then every twin's signature from its
    # bootstrap weights on the cells. Twin t draws from default_rng([seed, t]): the cell types' bootstraps in
    # order, then its edge jitter; the same numbers whatever the order the twins are built in.
    rngs = [np.random.default_rng([p.seed, t]) for t in range(p.n_twins)]
    act = np.ones((n_ct, n_g), dtype=bool)  # latent genes stay active
    fitted = np.tile(edges.w, (n_ct, 1)) if p.fit == "ridge" else None
    fit_stats: list[float] = []
    sigs = np.zeros((p.n_twins, n_ct, n_g))
    de_tables, tests = [], {}
    n_dis, n_ref_samples = np.zeros(n_ct), np.zeros(n_ct, dtype=int)
    for c, ct in enumerate(progress(celltypes, "cell types", total=n_ct)):
        cells = np.flatnonzero(((cts == ct) & is_dis) | ((cts == selection.reference(ct)) & ~is_dis))
        t = CellTypeData.of(ct, cells, x, to_measured, library, is_dis, samples, donors, covariates)
        act[c, measured] = np.maximum(t.frac_ref, t.frac_dis) >= p.min_expr_frac
        de = t.differential_expression(None)
        de.insert(0, "gene", np.array(genes)[measured])
        de.insert(0, "celltype", ct)
        de_tables.append(de)
        tests[ct] = t.method
        if fitted is not None:
            fitted[c], share = fit_celltype(edges, act[c], t, c, mcol, p)
            if share is not None:
                fit_stats.append(share)
        draws = [t.bootstrap(rng) if p.bootstrap else None for rng in rngs]
        for tw, sig in enumerate(t.twin_signatures(draws)):
            sigs[tw, c, measured] = sig
        n_dis[c], n_ref_samples[c] = t.is_dis.sum(), len(set(t.samples[~t.is_dis]))
        del t, draws
    de_all = pd.concat(de_tables, ignore_index=True)
    design = dict(adata.uns.get("p4core_source", {}).get("design", {}))
    log.info(
        "signatures: %s; tests: %s",
        "paired design" if design.get("paired") else "unpaired design",
        ", ".join(f"{ct} {m}" for ct, m in tests.items()),
    )
    if "pseudobulk_single" in tests.values():
        log.info(
            "one patient against %d reference samples: Crawford-Howell single-case test, variance moderated as in limma",
            int(n_ref_samples.max()),
        )
    cw = n_dis / n_dis.mean() if p.celltype_weight == "abundance" else np.ones(n_ct)
    noises = [
        rng.lognormal(0.0, p.edge_noise, size=len(edges.w)) if p.edge_noise > 0 else None for rng in rngs
    ]
    replicates = []
    structure = OperatorStructure.of(edges, act)  # the twins share their mask: one structure for all
    for tw in progress(range(p.n_twins), "building twins", total=p.n_twins):
        op = build_operator(
            edges,
            act,
            lr_weight=p.lr_weight,
            noise=noises[tw],
            dtype=dtype,
            weights=fitted,
            structure=structure,
        )
        replicates.append(TwinReplicate(op, sigs[tw].ravel().astype(dtype), act.ravel()))

    p_fit: dict[str, Any] = {"fit_cells": p.fit_cells}
    if fit_stats:
        p_fit["fit_supported_edge_share"] = float(np.mean(fit_stats))
        log.info(
            "ridge fit: %.0f%% of the fittable prior edges are supported by the cells (sign-consistent)",
            100 * p_fit["fit_supported_edge_share"],
        )
    ens = TwinEnsemble(
        celltypes=celltypes,
        genes=genes,
        replicates=replicates,
        celltype_weights=cw.astype(dtype),
        de=de_all,
        measured=measured,
        params={
            **vars(p),
            **p_fit,
            "signature_design": design,
            "signature_tests": tests,
            "reference_of": dict(selection.reference_of),
            "celltypes_skipped": list(selection.skipped),
            "celltypes_excluded": list(selection.excluded),
            "celltype_checks": celltype_checks(patient, celltypes).to_dict("records"),
        },
        pseudonym=patient.pseudonym,
        match_report=report,
    )
    log.info("built %r", ens)
    return ens


def twin_from_signature(
    signature: pd.Series,
    knowledge: Knowledge,
    *,
    celltype: str = "bulk",
    dtype: str = "float32",
    pseudonym: str = "bulk-signature",
) -> TwinEnsemble:
    """A one-cell-type twin from a bulk signature (gene symbol -> effect size, e.g. a log fold change).

    Every knowledge gene counts as measured and active; genes absent from ``signature`` have
    signature 0 (no change). Used for bulk signatures and the built-in benchmark.
    """
    sig = signature.copy()
    sig.index = sig.index.astype(str).str.strip().str.upper()
    sig = sig.groupby(level=0).mean()
    check_targets_reach_network(knowledge)
    genes = sorted(set(knowledge.network.genes) | set(knowledge.drugs.targets["target"]))
    gene_index = {g: i for i, g in enumerate(genes)}
    s = sig.reindex(genes).fillna(0.0).to_numpy(dtype=float)
    if not np.any(s):
        raise InputError(
            f"signature: none of its {len(sig)} genes is a knowledge gene (e.g. {list(sig.index[:3])})"
        )
    active = np.ones((1, len(genes)), dtype=bool)
    op = build_operator(
        prior_edges(knowledge, gene_index), active, lr_weight=1.0, noise=None, dtype=np.dtype(dtype)
    )
    de = pd.DataFrame({"celltype": celltype, "gene": genes, "logfc": s, "signature": s})
    return TwinEnsemble(
        celltypes=[celltype],
        genes=genes,
        replicates=[TwinReplicate(op, s.astype(dtype), active.ravel())],
        celltype_weights=np.ones(1, dtype=dtype),
        de=de,
        measured=np.ones(len(genes), dtype=bool),
        params={
            "source": "bulk signature",
            "n_signature_genes": int(len(sig)),
            "n_matched": int(sig.index.isin(gene_index).sum()),
        },
        pseudonym=pseudonym,
    )
