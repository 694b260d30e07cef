"""Building the multicellular disease model and its ensemble of twins (docs/design.md, "The model")."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core import kernel
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
from p4core.twin.operator import PriorEdges, build_operator, prior_edges
from p4core.twin.params import TwinParams
from p4core.twin.signature import differential_expression
from p4core.twin.signature import lognorm as signature_lognorm

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
    library = np.asarray(x.sum(axis=1)).ravel().astype(float)
    sub = (x @ agg[:, np.flatnonzero(measured)]).toarray()
    obs = adata.obs
    is_dis = (obs[CONDITION] == DISEASE).to_numpy()
    cts = obs[CELL_TYPE].astype(str).to_numpy()
    ct_cells = {
        ct: np.flatnonzero(((cts == ct) & is_dis) | ((cts == selection.reference(ct)) & ~is_dis))
        for ct in celltypes
    }
    groups = {
        ct: [
            idx[(obs[CONDITION].to_numpy()[idx] == cond) & (obs[SAMPLE].to_numpy()[idx] == smp)]
            for cond in np.unique(obs[CONDITION].to_numpy()[idx])
            for smp in np.unique(obs[SAMPLE].to_numpy()[idx])
        ]
        for ct, idx in ct_cells.items()
    }
    edges = prior_edges(knowledge, gene_index)
    n_ct, n_g = len(celltypes), len(genes)
    donors = obs[DONOR].astype(str).to_numpy() if DONOR in obs.columns else None

    def signatures(cells: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[pd.DataFrame]]:
        s = np.zeros((n_ct, n_g))
        act = np.ones((n_ct, n_g), dtype=bool)  # latent genes stay active
        tables = []
        for c, ct in enumerate(celltypes):
            idx = cells[ct]
            de = differential_expression(
                sub[idx],
                library[idx],
                (obs[CONDITION].to_numpy()[idx] == DISEASE),
                obs[SAMPLE].to_numpy()[idx],
                covariates=obs.iloc[idx][p.covariates].reset_index(drop=True) if p.covariates else None,
                donors=donors[idx] if donors is not None else None,
            )
            s[c, measured] = de["signature"].to_numpy()
            act[c, measured] = np.maximum(de["frac_ref"], de["frac_dis"]).to_numpy() >= p.min_expr_frac
            de.insert(0, "gene", np.array(genes)[measured])
            de.insert(0, "celltype", ct)
            tables.append(de)
        return s, act, tables

    mcol = np.full(n_g, -1)
    mcol[measured] = np.arange(int(measured.sum()))
    fit_stats: list[float] = []

    def fitted_weights(edges: PriorEdges, act: np.ndarray, cells: dict[str, np.ndarray]) -> np.ndarray:
        """Signed edge weights per cell type: ridge-fitted where both genes are measured and active."""
        weights = np.tile(edges.w, (n_ct, 1))
        fittable = ~edges.lr & ~np.isfinite(edges.share) & (mcol[edges.src] >= 0) & (mcol[edges.tgt] >= 0)
        for c, ct in enumerate(celltypes):
            e = np.flatnonzero(fittable & act[c, edges.src] & act[c, edges.tgt])
            if not len(e):
                continue
            idx = cells[ct]
            x = signature_lognorm(sub[idx], library[idx]).T  # genes x cells
            sd = x.std(1, keepdims=True)
            x = np.ascontiguousarray(
                (x - x.mean(1, keepdims=True)) / np.where(sd > 0, sd, 1.0), dtype=np.float32
            )
            e = e[np.lexsort((mcol[edges.src[e]], mcol[edges.tgt[e]]))]
            targets, starts = np.unique(mcol[edges.tgt[e]], return_index=True)
            coef = kernel.fit_ridge_signed(
                x, targets, np.append(starts, len(e)), mcol[edges.src[e]], np.sign(edges.w[e]), p.ridge_lambda
            )
            mag = np.abs(coef)
            scale = mag[mag > 0].mean() if (mag > 0).any() else 1.0
            weights[c, e] = np.sign(edges.w[e]) * np.abs(edges.w[e]) * np.maximum(p.fit_floor, mag / scale)
            fit_stats.append(float((mag > 0).mean()))
        return weights

    _, _, de_tables = signatures(ct_cells)
    de_all = pd.concat(de_tables, ignore_index=True)
    tests = {str(t["celltype"].iloc[0]): str(t["method"].iloc[0]) for t in de_tables}
    design = dict(adata.uns.get("p4core_source", {}).get("design", {}))
    log.info(
        "signatures: %s; tests: %s",
        "paired design" if design.get("paired") else "unpaired design",
        ", ".join(f"{ct} {m}" for ct, m in tests.items()),
    )
    if p.celltype_weight == "abundance":
        n_dis = np.array(
            [(obs[CONDITION].to_numpy()[ct_cells[ct]] == DISEASE).sum() for ct in celltypes], float
        )
        cw = n_dis / n_dis.mean()
    else:
        cw = np.ones(n_ct)

    replicates = []
    for t in progress(range(p.n_twins), "building twins", total=p.n_twins):
        rng = np.random.default_rng([p.seed, t])
        if p.bootstrap:
            cells = {
                ct: np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups[ct] if len(g)])
                for ct in celltypes
            }
        else:
            cells = ct_cells
        s, act, _ = signatures(cells)
        noise = rng.lognormal(0.0, p.edge_noise, size=len(edges.w)) if p.edge_noise > 0 else None
        weights = fitted_weights(edges, act, cells) if p.fit == "ridge" else None
        op = build_operator(edges, act, lr_weight=p.lr_weight, noise=noise, dtype=dtype, weights=weights)
        replicates.append(TwinReplicate(op, s.ravel().astype(dtype), act.ravel()))

    p_fit: dict[str, float] = {}
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
