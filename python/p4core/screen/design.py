"""What a screen propagates: the drugs' signed targets, the unit perturbations, the genes' degrees,\nand the plan and blocks every task shares."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    pass
from p4core.model import DrugLibrary, TwinEnsemble
from p4core.screen.params import ScreenParams
from p4core.screen.terms import Combos, Layout, gram_tiles

log = logging.getLogger("p4core")


def drug_matrix(ensemble: TwinEnsemble, drugs: DrugLibrary) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Target genes (indices into ``ensemble.genes``) and the targets x drugs action matrix."""
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    t = drugs.targets[drugs.targets["target"].isin(gi)]
    targets = sorted(set(t["target"]))
    ti = {g: j for j, g in enumerate(targets)}
    names = drugs.drugs
    di = {d: k for k, d in enumerate(names)}
    m = np.zeros((len(targets), len(names)))
    for d, g, s, a in zip(t["drug"], t["target"], t["sign"], t["strength"], strict=True):
        m[ti[g], di[d]] += float(s) * float(a)
    return np.array([gi[g] for g in targets], dtype=np.int64), m, names


def ordered_drug_matrix(
    ensemble: TwinEnsemble, drugs: DrugLibrary
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`drug_matrix` with the targets in order of out-degree: targets without out-edges (cheap:
    their response is the seed) share kernel blocks, and so do the hubs."""
    target_genes, m, names = drug_matrix(ensemble, drugs)
    by_degree = np.argsort(-gene_degree(ensemble, "out")[target_genes], kind="stable")
    return target_genes[by_degree], m[by_degree], names


def unit_perturbations(
    ensemble: TwinEnsemble, active: np.ndarray, target_genes: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """N x n_targets block: column j is 1 at gene j in every cell type where it is active."""
    n_g = len(ensemble.genes)
    u = np.zeros((ensemble.n_nodes, len(target_genes)), dtype=dtype)
    cols = np.arange(len(target_genes))
    for c in range(len(ensemble.celltypes)):
        rows = c * n_g + target_genes
        u[rows, cols] = active[rows]
    return u


def gene_degree(ensemble: TwinEnsemble, kind: str = "out") -> np.ndarray:
    """Edges per gene in the twin's operator, averaged over cell types: ``out`` (how far a
    perturbation of the gene spreads) or ``total`` (in + out)."""
    a = ensemble.replicates[0].operator
    n_g = len(ensemble.genes)
    deg = np.bincount(a.indices, minlength=a.shape[0]).astype(float)
    if kind == "total":
        deg = deg + np.diff(a.indptr)
    return deg.reshape(-1, n_g).mean(0)


def degree_bins(degree: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin 0 for genes without edges, quantile bins 1..n_bins of the others."""
    bins = np.zeros(len(degree), dtype=int)
    pos = degree > 0
    if pos.any():
        edges = np.unique(np.quantile(degree[pos], np.linspace(0, 1, n_bins + 1)[1:-1]))
        bins[pos] = 1 + np.searchsorted(edges, degree[pos], side="right")
    return bins


@dataclass
class Plan:
    """What every task of a screen shares: layout, ordered target genes, node weights, parameters."""

    layout: Layout
    target_genes: np.ndarray
    w: np.ndarray
    p: ScreenParams

    @classmethod
    def of(cls, ensemble: TwinEnsemble, target_genes: np.ndarray, p: ScreenParams) -> Plan:
        n_c = len(ensemble.celltypes)
        w = ensemble.node_weights * np.where(np.tile(ensemble.measured, n_c), 1.0, p.latent_weight)
        return cls(Layout.of(ensemble), target_genes, w, p)


@dataclass
class DrugBlock:
    """A block of drugs (columns ``cols`` of the drug matrix): the target rows they use (in the
    global order, so every drug sums its targets in the same order in every block), their
    coefficients and the Gram tiles they need."""

    cols: np.ndarray
    rows: np.ndarray
    combos: Combos
    tiles: np.ndarray

    @classmethod
    def of(cls, m: np.ndarray, cols: np.ndarray, full_gram: bool = False) -> DrugBlock:
        rows = np.flatnonzero((m[:, cols] != 0).any(1))
        mb = m[np.ix_(rows, cols)]
        if full_gram:  # pairs: every entry among the block's targets
            groups = [np.arange(len(rows))]
        else:  # single drugs: entries between a drug's own targets
            groups = [r for r in (np.flatnonzero(mb[:, j]) for j in range(mb.shape[1])) if len(r) > 1]
        return cls(np.asarray(cols), rows, Combos(mb), gram_tiles(groups, len(rows)))
