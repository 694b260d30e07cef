"""The genetics line: how close a drug's targets sit to the genes that carry the disease's inherited risk,
through the patient's twin, calibrated so that a hub gains nothing for being a hub.

1. **Risk genes.** The GWAS genes of the diagnosis (``evidence.confident_only``: genome-wide significant
   and replicated loci), weight 1 each. With the patient's genotype (the ``pgs`` context's VCF) a
   locus whose lead SNP is called and whose risk allele is known weighs ``(1 + dosage) / 2``: 0.5
   without the risk allele, 1 heterozygous, 1.5 homozygous; loci not called, or without a known risk
   allele, keep 1. A gene takes the largest weight of its loci.
2. **Reach.** The twin's network collapsed to genes (an edge g-h wherever the twin has an edge between
   g and h in or between any cell types, in either direction). ``evidence.reach=neighbour``: the reach
   of gene g is its own risk weight plus the largest risk weight among its direct partners;
   ``diffusion``: ``h = sum_{k=0..K} damping^k (A_hat^k gamma)[g]`` with ``A_hat = D^-1/2 A D^-1/2``,
   the risk weight of its neighbourhood fading with distance.
3. **Calibration.** Every gene's reach as a z-score among the genes of its degree bin (``null_bins``
   quantile bins of the collapsed degree), so a hub's many risk neighbours count only against other
   hubs; a drug's score is the largest z of its targets (the line's ranking score); its ``z``, ``p`` and
   ``FDR`` come from ``n_null`` random target sets of the same size drawn from the same degree bins
   (seeded per drug), so that a drug with many targets must beat as many random genes. On the dev
   split the score ranks known drugs better than the set-calibrated z (AUROC 0.63-0.66 against
   0.56-0.60: disease-modifying drugs often act on several targets); the z, p and FDR say how
   surprising the score is, and the tiers use the FDR.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.model import DrugLibrary, TwinEnsemble
from p4core.twin.signature import bh_fdr


@dataclass
class GeneGraph:
    """The twin's network collapsed to genes: a symmetric 0/1 adjacency, degrees and degree bins."""

    genes: list[str]
    adjacency: sp.csr_array
    degree: np.ndarray
    bins: np.ndarray
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, ensemble: TwinEnsemble, n_bins: int = 10) -> GeneGraph:
        n_g = len(ensemble.genes)
        total = None
        for rep in ensemble.replicates:
            a = abs(sp.csr_array(rep.operator)).tocoo()
            m = sp.csr_array((np.ones(a.nnz), (a.row % n_g, a.col % n_g)), shape=(n_g, n_g))
            total = m if total is None else total + m
        if total is None:
            total = sp.csr_array((n_g, n_g))
        sym = (total + total.T).tocsr()
        sym.setdiag(0)
        sym.eliminate_zeros()
        sym.data[:] = 1.0
        degree = np.diff(sym.indptr).astype(float)
        return cls(
            list(ensemble.genes),
            sym,
            degree,
            degree_bins(degree, n_bins),
            {g: i for i, g in enumerate(ensemble.genes)},
        )


def degree_bins(degree: np.ndarray, n_bins: int) -> np.ndarray:
    """Quantile bins of the degree (isolated genes in a bin of their own)."""
    bins = np.zeros(len(degree), dtype=np.int64)
    linked = degree > 0
    if linked.any() and n_bins > 1:
        edges = np.unique(np.quantile(degree[linked], np.linspace(0, 1, n_bins + 1)))
        bins[linked] = 1 + np.searchsorted(edges[1:-1], degree[linked], side="right")
    elif linked.any():
        bins[linked] = 1
    return bins


def reach(
    graph: GeneGraph, weights: np.ndarray, steps: int, damping: float, mode: str = "neighbour"
) -> np.ndarray:
    """``neighbour``: a gene's own risk weight plus the largest risk weight among its direct partners;
    ``diffusion``: ``sum_{k=0..steps} damping^k (A_hat^k weights)`` with ``A_hat = D^-1/2 A D^-1/2``."""
    if mode == "neighbour":
        a = graph.adjacency.tocsr()
        w = weights.astype(float)
        best = np.zeros(len(w))
        if a.nnz:
            vals = w[a.indices]
            rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
            np.maximum.at(best, rows, vals)
        return w + best
    inv = 1.0 / np.sqrt(np.maximum(graph.degree, 1.0))
    h = weights.astype(float).copy()
    r = h.copy()
    for _ in range(steps):
        r = damping * inv * (graph.adjacency @ (inv * r))
        h += r
    return h


def gene_z(graph: GeneGraph, h: np.ndarray) -> np.ndarray:
    """Each gene's reach as a z-score among the genes of its degree bin (0 where the bin does not vary)."""
    z = np.zeros(len(h))
    for b in np.unique(graph.bins):
        m = graph.bins == b
        sd = h[m].std()
        if sd > 0:
            z[m] = (h[m] - h[m].mean()) / sd
    return z


def risk_weights(
    genes: pd.DataFrame, loci: pd.DataFrame | None, genotype: pd.DataFrame | None
) -> tuple[pd.Series, dict[str, Any]]:
    """Gene -> risk weight (step 1 of the module docstring) and what the genotype changed."""
    g = genes[["locus", "gene"]].drop_duplicates()
    report: dict[str, Any] = {
        "loci": int(g["locus"].nunique()),
        "genes": int(g["gene"].nunique()),
        "genotype": False,
    }
    locus_w = pd.Series(1.0, index=pd.Index(sorted(set(g["locus"])), name="locus"))
    if genotype is not None and loci is not None and len(loci):
        calls = genotype.dropna(subset=["dosage"])
        by_id = {
            str(i): (str(r), str(a), float(d))
            for i, r, a, d in zip(calls["id"], calls["ref"], calls["alt"], calls["dosage"], strict=True)
            if str(i).startswith("rs")
        }
        counts = {"called": 0, "risk_allele_unknown": 0, "not_called": 0, "allele_mismatch": 0, "carried": 0}
        for row in loci[loci["locus"].isin(locus_w.index)].itertuples(index=False):
            call = by_id.get(str(row.snp))
            if call is None:
                counts["not_called"] += 1
                continue
            if not row.risk_allele:
                counts["risk_allele_unknown"] += 1
                continue
            ref, alt, dosage = call
            if row.risk_allele == alt:
                d = dosage
            elif row.risk_allele == ref:
                d = 2.0 - dosage
            else:
                counts["allele_mismatch"] += 1
                continue
            counts["called"] += 1
            counts["carried"] += int(d > 0)
            locus_w[row.locus] = (1.0 + d) / 2.0
        report.update({"genotype": True, **counts})
    w = g.assign(w=g["locus"].map(locus_w)).groupby("gene")["w"].max()
    return w, report


def drug_targets(drugs: DrugLibrary, graph: GeneGraph) -> dict[str, np.ndarray]:
    t = drugs.targets
    t = t[(t["sign"] != 0) & t["target"].isin(graph.index)]
    return {
        d: np.array(sorted({graph.index[x] for x in g}), dtype=np.int64)
        for d, g in t.groupby("drug", sort=True)["target"]
    }


def genetics_line(
    graph: GeneGraph,
    drugs: DrugLibrary,
    weights: pd.Series,
    *,
    mode: str = "neighbour",
    steps: int = 3,
    damping: float = 0.5,
    n_null: int = 1000,
    seed: int = 0,
    targets: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per drug with a signed target in the twin: ``genetics_score`` (largest degree-calibrated reach
    of its targets), ``genetics_z``, ``genetics_p``, ``genetics_fdr`` (null of random target sets of
    the same size and degree bins) and ``genetics_genes`` (risk genes at or next to its best target).
    Returns the table (index: drug) and a report (risk genes in the twin)."""
    gamma = np.zeros(len(graph.genes))
    in_twin = weights[weights.index.isin(graph.index)]
    gamma[[graph.index[g] for g in in_twin.index]] = in_twin.to_numpy()
    z = gene_z(graph, reach(graph, gamma, steps, damping, mode))
    targets = targets if targets is not None else drug_targets(drugs, graph)
    pools = {b: np.flatnonzero(graph.bins == b) for b in np.unique(graph.bins)}
    rows = []
    for drug, idx in targets.items():
        obs = float(z[idx].max())
        rng = np.random.default_rng([seed, zlib.crc32(drug.encode("utf-8"))])
        draws = np.stack(
            [pools[graph.bins[i]][rng.integers(0, len(pools[graph.bins[i]]), n_null)] for i in idx]
        )
        null = z[draws].max(axis=0)
        sd = null.std(ddof=1)
        best = idx[int(np.argmax(z[idx]))]
        near = np.r_[
            best, graph.adjacency.indices[graph.adjacency.indptr[best] : graph.adjacency.indptr[best + 1]]
        ]
        risky = [graph.genes[i] for i in near if gamma[i] > 0]
        rows.append(
            (
                drug,
                obs,
                (obs - null.mean()) / sd if sd > 0 else 0.0,
                (1 + int(np.sum(null >= obs))) / (1 + n_null),
                ", ".join(risky[:8]),
            )
        )
    out = pd.DataFrame(
        rows, columns=["drug", "genetics_score", "genetics_z", "genetics_p", "genetics_genes"]
    ).set_index("drug")
    out.insert(3, "genetics_fdr", bh_fdr(out["genetics_p"].to_numpy()) if len(out) else [])
    report = {
        "risk_genes": int(len(weights)),
        "risk_genes_in_twin": int(len(in_twin)),
        "risk_genes_not_in_twin": sorted(set(weights.index) - set(in_twin.index))[:50],
        "drugs_scored": int(len(out)),
    }
    return out, report
