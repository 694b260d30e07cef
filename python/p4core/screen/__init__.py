"""In-silico treatment of every twin with every drug (docs/design.md, "The model").

The model is linear in the perturbation, so each distinct drug target is propagated once per
twin (one column per target gene, set in every cell type where the gene is active), and every
drug's response is a signed, weighted sum of its targets' responses.

Every drug gets three scores (*views*) per twin:

``marker``
    reversal at its own targets: ``-<u_d, s>_W / |s|_W``, the projection of the drug's action on
    its targets onto the disease signature (a drug that inhibits targets up in the disease);
``programme``
    reversal downstream of them: ``-cos_W(x_d, s)`` with ``x_d = sum_{k=1..K} (alpha A)^k u_d`` and
    every node of the drug's own targets left out (the programme the targets drive);
``combined``
    ``w marker / sigma_marker + (1 - w) programme / sigma_programme`` with ``w = marker_weight``;
    each view in units of its spread over single random genes (the null pool), so the weight
    means the same in every patient.

``ranking`` chooses the view that ranks (``score_mean``, ``rank``, ``z``, ``p_value``, ``fdr``);
each view has its own mean, null test and FDR in the table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from p4core import kernel
from p4core.errors import require

if TYPE_CHECKING:
    from p4core.config import EngineConfig
    from p4core.engine import LocalEngine
from p4core.model import DrugLibrary, ScreenResult, TwinEnsemble, TwinReplicate
from p4core.settings import deterministic_blas
from p4core.twin.signature import bh_fdr

log = logging.getLogger("p4core")

VIEWS = ("combined", "marker", "programme")


@dataclass
class ScreenParams:
    """Config group ``screen``: propagation, the three views, ranking, significance and combinations."""

    #: damping of the propagation series sum_k (alpha A)^k u; in (0, 1) keeps it stable
    alpha: float = 0.8
    #: propagation steps K
    steps: int = 8
    #: k of P(top k)
    top_k: int = 10
    #: a cell type is listed as a driver when it carries at least this share of the positive score
    driver_share: float = 0.15
    #: weight of latent (unmeasured) genes in the norm of a response (their signature is unknown: 0)
    latent_weight: float = 1.0
    #: weight of the marker view (reversal at the drug's own targets) in the combined score; the
    #: programme view (reversal downstream, own targets left out) gets 1 - marker_weight. Chosen by
    #: leave-one-disease-out on the benchmark's dev split (docs/benchmark.md)
    marker_weight: float = 0.75
    #: the view that ranks the drugs: ``combined``, ``marker`` or ``programme``
    ranking: str = "combined"
    #: ``cosine`` (-cos_W(x, s)) or ``correlation`` (both centred within each cell type: a response that
    #: moves every gene the same way carries no reversal)
    score: str = "cosine"
    #: random target sets per drug in the null (matched in size, degree bin and action); 0 = off
    n_null: int = 1000
    #: degree bins of the null
    null_bins: int = 10
    #: degree the null matches: ``out`` (a perturbation spreads along out-edges) or ``total`` (in + out)
    null_degree: str = "out"
    #: genes per degree bin propagated once per twin to draw the null from (and to scale the views)
    null_pool: int = 50
    #: twins the null test uses (the first ones; a drug is tested on its mean over the same twins);
    #: 0 = all. The null's cost is per twin; on Kang 2018, 10 twins give the p-values of 20 within a
    #: factor 1.7 (Spearman 0.994) and the same drugs at FDR < 0.25
    null_twins: int = 10
    #: the best drugs (distinct mechanisms) combined into pairs; 0 = no pairs
    pairs_top: int = 20
    #: seed of the null draws and of the shuffled-network control
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            0 < self.alpha < 1,
            "screen.alpha",
            f"must be in (0, 1) for a stable propagation, got {self.alpha}",
        )
        require(1 <= self.steps <= 100, "screen.steps", f"must be in [1, 100], got {self.steps}")
        require(self.top_k >= 1, "screen.top_k", f"must be >= 1, got {self.top_k}")
        require(
            0 <= self.driver_share <= 1, "screen.driver_share", f"must be in [0, 1], got {self.driver_share}"
        )
        require(
            0 <= self.latent_weight <= 1,
            "screen.latent_weight",
            f"must be in [0, 1], got {self.latent_weight}",
        )
        require(
            0 <= self.marker_weight <= 1,
            "screen.marker_weight",
            f"must be in [0, 1], got {self.marker_weight}",
        )
        require(
            self.ranking in VIEWS,
            "screen.ranking",
            f"must be one of {', '.join(VIEWS)}, got {self.ranking!r}",
        )
        require(
            self.n_null == 0 or self.n_null >= 20, "screen.n_null", f"must be 0 or >= 20, got {self.n_null}"
        )
        require(self.null_bins >= 1, "screen.null_bins", f"must be >= 1, got {self.null_bins}")
        require(
            self.null_degree in ("out", "total"),
            "screen.null_degree",
            f"must be out or total, got {self.null_degree!r}",
        )
        require(self.null_pool >= 2, "screen.null_pool", f"must be >= 2, got {self.null_pool}")
        require(self.null_twins >= 0, "screen.null_twins", f"must be >= 0, got {self.null_twins}")
        require(self.pairs_top >= 0, "screen.pairs_top", f"must be >= 0, got {self.pairs_top}")
        require(
            self.score in ("cosine", "correlation"),
            "screen.score",
            f"must be cosine or correlation, got {self.score!r}",
        )


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


@dataclass
class Terms:
    """Inner products of one twin's unit responses: enough to score any linear combination.

    Column j is the unit perturbation ``u_j`` of one gene (in every cell type where it is active)
    and ``x_j = sum_{k=1..K} (alpha A)^k u_j`` its propagated response. Per cell type c:
    ``num[c, j] = <x_j, s>_W``, ``seed[c, j] = <u_j, s>_W`` and ``wsum[c, j] = sum_W x_j``;
    ``gram[i, j] = <x_i, x_j>_W`` (only the entries of the requested groups: the others are 0 and
    must not be used). ``probe`` holds every response at the columns' own seed rows
    (``probe_rows``; ``own`` maps each column to its rows), which is what leaving a drug's own target
    nodes out of its programme needs. ``s`` is the signature (centred for ``score=correlation``).
    """

    num: np.ndarray
    seed: np.ndarray
    wsum: np.ndarray
    gram: np.ndarray
    s_norm: float
    probe: np.ndarray
    probe_rows: np.ndarray
    probe_w: np.ndarray
    probe_ws: np.ndarray
    probe_ct: np.ndarray
    own: sp.csr_array
    w_ct: np.ndarray
    centred: bool = False


@dataclass(frozen=True)
class Layout:
    """Node layout of a twin (cell type-major): all a screen task needs of the ensemble besides twins."""

    n_genes: int
    n_celltypes: int

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(self.n_celltypes + 1, dtype=np.int64) * self.n_genes

    @classmethod
    def of(cls, ensemble: TwinEnsemble) -> Layout:
        return cls(len(ensemble.genes), len(ensemble.celltypes))


def seeds(layout: Layout, active: np.ndarray, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse unit perturbations: gene j set to its activity in every cell type where it is active."""
    n_g, n_c = layout.n_genes, layout.n_celltypes
    rows = (np.arange(n_c)[None, :] * n_g + np.asarray(genes)[:, None]).ravel()
    vals = active[rows]
    keep = vals != 0
    counts = keep.reshape(len(genes), n_c).sum(1)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, rows[keep].astype(np.int32), vals[keep]


def gram_tiles(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Block pairs (P <= Q) that hold every pairwise entry within each group of columns."""
    nb = -(-n // kernel.BLOCK)
    need = np.zeros((nb, nb), dtype=bool)
    for cols in groups:
        b = np.unique(np.asarray(cols) // kernel.BLOCK)
        need[np.ix_(b, b)] = True
    return np.argwhere(np.triu(need))


def signature_of(layout: Layout, rep: TwinReplicate, w: np.ndarray, p: ScreenParams) -> np.ndarray:
    """The twin's signature, centred within each cell type (weighted) for ``score=correlation``."""
    sig = rep.signature.astype(float)
    if p.score == "correlation":
        sig = sig.copy()
        off = layout.offsets
        for c in range(layout.n_celltypes):
            sl = slice(off[c], off[c + 1])
            sig[sl] -= np.average(sig[sl], weights=w[sl]) if w[sl].sum() > 0 else 0.0
    return sig


def terms(
    layout: Layout,
    rep: TwinReplicate,
    genes: np.ndarray,
    w: np.ndarray,
    p: ScreenParams,
    tiles: np.ndarray,
) -> Terms:
    """Inner products of the unit responses of ``genes``: the signature products of every column,
    the Gram entries of the block pairs ``tiles`` (see :func:`gram_tiles`) and the responses at the
    columns' own rows.

    The responses are never materialised: the kernel propagates blocks of columns, each over the
    rows it reaches, and reduces them to these products (docs/design.md, "Performance shape")."""
    a = rep.operator
    dtype = a.dtype
    off = layout.offsets
    n_c = len(off) - 1
    sig = signature_of(layout, rep, w, p)
    ptr, rows, vals = seeds(layout, rep.active, genes)
    n = len(genes)
    probe_rows = np.unique(rows).astype(np.int32)
    num, sq, wsum, g, probe = kernel.screen_terms(
        a,
        ptr,
        rows,
        vals.astype(dtype),
        w.astype(dtype),
        sig.astype(dtype),
        off,
        p.alpha,
        p.steps,
        tiles,
        self_weight=0.0,
        probe_rows=probe_rows,
    )
    bs = kernel.BLOCK
    nb = -(-n // bs)
    gram = np.zeros((nb * bs, nb * bs))
    for (pp, qq), tile in zip(tiles, g, strict=True):
        gram[pp * bs : (pp + 1) * bs, qq * bs : (qq + 1) * bs] = tile
        gram[qq * bs : (qq + 1) * bs, pp * bs : (pp + 1) * bs] = tile.T
    gram = gram[:n, :n]
    gram[np.diag_indices(n)] = sq
    col = np.repeat(np.arange(n), np.diff(ptr))
    ct = np.searchsorted(off, rows, side="right") - 1
    seed = np.zeros((n_c, n))
    np.add.at(seed, (ct, col), w[rows] * sig[rows] * vals)
    own = sp.csr_array(
        (np.ones(len(rows)), (col, np.searchsorted(probe_rows, rows))), shape=(n, len(probe_rows))
    )
    w_ct = np.array([w[off[c] : off[c + 1]].sum() for c in range(n_c)])
    return Terms(
        num=num,
        seed=seed,
        wsum=wsum,
        gram=gram,
        s_norm=float(np.sqrt(np.sum(w * sig**2))),
        probe=probe,
        probe_rows=probe_rows,
        probe_w=w[probe_rows].astype(float),
        probe_ws=(w[probe_rows] * sig[probe_rows]).astype(float),
        probe_ct=np.searchsorted(off, probe_rows, side="right") - 1,
        own=own,
        w_ct=w_ct,
        centred=p.score == "correlation",
    )


class Combos:
    """Linear combinations of columns (n x D coefficients) with the index of every pair of
    non-zeros within a column: a combination's squared norm needs only the Gram entries between
    its own columns, ``sum_{i, j} c_i c_j G_ij``."""

    def __init__(self, coef: np.ndarray) -> None:
        self.c = sp.csc_array(coef)
        self.c.sort_indices()
        indptr, indices, data = self.c.indptr, self.c.indices, self.c.data
        k = np.diff(indptr)
        pairs = k * k
        total = int(pairs.sum())
        self.d = np.repeat(np.arange(len(k), dtype=np.int64), pairs)
        pos = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(pairs) - pairs, pairs)
        kk = np.repeat(k, pairs)
        base = np.repeat(indptr[:-1], pairs)
        ii = base + (pos // np.maximum(kk, 1))
        jj = base + (pos % np.maximum(kk, 1))
        self.i = indices[ii].astype(np.int64)
        self.j = indices[jj].astype(np.int64)
        self.v = data[ii] * data[jj]
        self.cj = data[jj]  # the coefficient of column j alone (the own-node corrections need it)
        self.support = sp.csc_array((np.ones_like(data), indices, indptr), shape=self.c.shape)

    def norm2(self, gram: np.ndarray) -> np.ndarray:
        return np.bincount(self.d, weights=self.v * gram[self.i, self.j], minlength=self.c.shape[1])


#: a programme whose squared norm is below this share of its norm before its own nodes were left
#: out is all on its own nodes (the remainder is rounding): it scores 0
OWN_ONLY = 1e-6


def own_responses(t: Terms, combos: Combos) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every combination's response at its own columns' rows: ``(d, r, y)`` with ``y`` the response
    of combination ``d`` at probe row ``r`` (a row of one of its own columns' genes). Computed from the
    pairs of columns within each combination only (no combinations x rows product)."""
    own = sp.csr_array(t.own)
    start = own.indptr[combos.i]
    count = own.indptr[combos.i + 1] - start
    e = np.repeat(np.arange(len(combos.i), dtype=np.int64), count)
    local = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    r = own.indices[start[e] + local].astype(np.int64)
    d = combos.d[e]
    val = t.probe[r, combos.j[e]] * combos.cj[e]
    n_r = t.probe.shape[0]
    key, inv = np.unique(d * max(n_r, 1) + r, return_inverse=True)
    y = np.bincount(inv, weights=val, minlength=len(key))
    return key // max(n_r, 1), key % max(n_r, 1), y


def view_parts(t: Terms, combos: Combos) -> tuple[np.ndarray, np.ndarray]:
    """Cell-type parts (D, C) of the marker and the programme view of the combinations ``combos``."""
    c = combos.c
    n_c, n_d = t.num.shape[0], c.shape[1]
    marker = -np.asarray(c.T @ t.seed.T) / t.s_norm if t.s_norm > 0 else np.zeros((n_d, n_c))
    num = np.asarray(c.T @ t.num.T).T
    full2 = combos.norm2(t.gram)
    norm2 = full2.copy()
    wsum = np.asarray(c.T @ t.wsum.T).T if t.centred else None
    if t.probe.size and len(combos.i):
        d, r, y = own_responses(t, combos)
        ct = t.probe_ct[r]
        norm2 -= np.bincount(d, weights=t.probe_w[r] * y**2, minlength=n_d)
        num -= np.bincount(ct * n_d + d, weights=t.probe_ws[r] * y, minlength=n_c * n_d).reshape(n_c, n_d)
        if wsum is not None:
            wsum -= np.bincount(ct * n_d + d, weights=t.probe_w[r] * y, minlength=n_c * n_d).reshape(n_c, n_d)
    if wsum is not None:  # centre the response within each cell type: subtract its weighted mean
        with np.errstate(divide="ignore", invalid="ignore"):
            norm2 = norm2 - np.where(t.w_ct[:, None] > 0, wsum**2 / t.w_ct[:, None], 0.0).sum(0)
    live = norm2 > OWN_ONLY * np.abs(full2)
    denom = np.sqrt(np.where(live, norm2, 1.0)) * t.s_norm
    programme = np.where(live[None, :] & (denom[None, :] > 0), -num / denom[None, :], 0.0).T
    return marker, programme


def combine(marker: np.ndarray, programme: np.ndarray, scales: dict[str, float], weight: float) -> np.ndarray:
    """The combined view from the two others (same shapes), each divided by its scale."""
    return weight * marker / scales["marker"] + (1.0 - weight) * programme / scales["programme"]


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


def null_pool(ensemble: TwinEnsemble, p: ScreenParams) -> tuple[np.ndarray, np.ndarray]:
    """The pool of random genes (``null_pool`` per degree bin, in order of out-degree) and every
    gene's degree bin."""
    rng = np.random.default_rng([p.seed, 17])
    bins = degree_bins(gene_degree(ensemble, p.null_degree), p.null_bins)
    pool = np.concatenate(
        [rng.permutation(np.flatnonzero(bins == b))[: p.null_pool] for b in np.unique(bins)]
    )
    out_degree = gene_degree(ensemble, "out")
    return pool[np.argsort(-out_degree[pool], kind="stable")].astype(np.int64), bins


def view_scales(pool_terms: list[Terms]) -> dict[str, float]:
    """Spread (root mean square over the pool's single genes and the twins) of the marker and the
    programme view: the units in which the combined score adds them."""
    n = pool_terms[0].num.shape[1] if pool_terms else 0
    if not n:
        return {"marker": 1.0, "programme": 1.0}
    combos = Combos(np.eye(n))
    sq = {"marker": 0.0, "programme": 0.0}
    for t in pool_terms:
        mk, pg = view_parts(t, combos)
        sq["marker"] += float(np.sum(mk.sum(1) ** 2))
        sq["programme"] += float(np.sum(pg.sum(1) ** 2))
    out = {}
    for v, s in sq.items():
        rms = np.sqrt(s / (n * len(pool_terms)))
        out[v] = float(rms) if rms > 0 else 1.0
    return out


def screen(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    params: ScreenParams | None = None,
    engine: LocalEngine | None = None,
    engine_cfg: EngineConfig | None = None,
) -> ScreenResult:
    """Score every drug in every twin (three views), test it against a degree-matched null, rank,
    and pair the best.

    Each distinct target gene (and a pool of random genes) is propagated once per twin; every drug,
    null draw and pair is then scored from inner products of those responses (linearity). The work
    is cut into tasks of (twin block x drug block) that ``engine`` runs (default: this process;
    :class:`~p4core.engine.DaskEngine` for a cluster; ``engine_cfg`` sets the block sizes); the
    numbers do not depend on the engine, the blocks or the thread count.

    Returns
    -------
    :class:`~p4core.model.ScreenResult` whose ``table`` has, per drug: ``rank``, ``score_mean`` (the
    ``ranking`` view), ``ci_low``/``ci_high`` (95% over twins), ``p_top<k>`` (share of twins where
    the drug is in the top k), ``rank_low``/``rank_high`` (95% rank interval), ``z``, ``p_value``
    and ``fdr`` (null of random target sets matched in size, degree bin and action; BH over drugs);
    for every view ``score_<view>``, ``rank_<view>``, ``z_<view>``, ``p_<view>``, ``fdr_<view>``;
    ``marker_share`` (share of the combined score carried by the marker view), ``drivers`` (cell
    types carrying the score), ``part:<cell type>``, ``n_targets_in_model`` and the library's
    annotation columns; ``pairs`` has the pair scores, synergy and complementarity.
    """
    from p4core.engine import LocalEngine

    p = params or ScreenParams()
    engine = engine or LocalEngine()
    target_genes, m, names = ordered_drug_matrix(ensemble, drugs)
    n_tw, n_d, n_c = len(ensemble), len(names), len(ensemble.celltypes)
    pool, bins = null_pool(ensemble, p)
    plan = engine.put(Plan.of(ensemble, target_genes, p))
    d_block = engine_cfg.drug_block if engine_cfg and engine_cfg.drug_block else n_d
    t_block = engine_cfg.twin_block if engine_cfg and engine.name != "local" else 1
    drug_blocks = [DrugBlock.of(m, np.arange(i, min(n_d, i + d_block))) for i in range(0, n_d, d_block)]
    twin_blocks = [list(range(i, min(n_tw, i + t_block))) for i in range(0, n_tw, t_block)]
    reps = [engine.put([ensemble.replicates[t] for t in tb]) for tb in twin_blocks]
    tasks = [(plan, r, db) for r in reps for db in drug_blocks]
    marker = np.zeros((n_tw, n_d, n_c))
    programme = np.zeros((n_tw, n_d, n_c))
    for (tb, db), (mk, pg) in zip(
        [(tb, db) for tb in twin_blocks for db in drug_blocks],
        engine.map(screen_task, tasks, "screening twins"),
        strict=True,
    ):
        at = np.ix_(np.asarray(tb), db.cols)
        marker[at], programme[at] = mk, pg
    # the pool: random single genes in the null twins, for the null test and the views' scales
    n_null_twins = (min(n_tw, p.null_twins) if p.null_twins else n_tw) if p.n_null else 1
    null_terms: list[Terms] = []
    null_tasks = [(plan, r, pool) for r, tb in zip(reps, twin_blocks, strict=True) if tb[0] < n_null_twins]
    label = "null model" if p.n_null else "scaling the views"
    for tb, block in zip(twin_blocks, engine.map(null_task, null_tasks, label), strict=False):
        null_terms += [tt for t, tt in zip(tb, block, strict=True) if t < n_null_twins]
    scales = view_scales(null_terms)
    parts = {
        "marker": marker,
        "programme": programme,
        "combined": combine(marker, programme, scales, p.marker_weight),
    }
    views = {v: parts[v].sum(2) for v in VIEWS}
    rank_by = p.ranking
    table = ensemble_summary(views[rank_by], names, p.top_k)
    for v in VIEWS:
        table[f"score_{v}"] = views[v].mean(0)
    if p.n_null:
        table = pd.concat(
            [
                table,
                null_test(
                    null_terms,
                    m,
                    target_genes,
                    bins[target_genes],
                    pool,
                    bins[pool],
                    {v: views[v][:n_null_twins].mean(0) for v in VIEWS},
                    p,
                    scales,
                ),
            ],
            axis=1,
        )
        table["z"], table["p_value"], table["fdr"] = (table[f"{k}_{rank_by}"] for k in ("z", "p", "fdr"))
    mean_parts = parts[rank_by].mean(0)
    cm, cp = (
        (p.marker_weight * views["marker"] / scales["marker"]).mean(0),
        ((1 - p.marker_weight) * views["programme"] / scales["programme"]).mean(0),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["marker_share"] = np.where(
            np.abs(cm) + np.abs(cp) > 0, np.abs(cm) / (np.abs(cm) + np.abs(cp)), 0.0
        )
    table["drivers"] = [_drivers(mp, ensemble.celltypes, p.driver_share) for mp in mean_parts]
    table["n_targets_in_model"] = (m != 0).sum(0)
    for c, ct in enumerate(ensemble.celltypes):
        table[f"part:{ct}"] = mean_parts[:, c]
    table = table.join(drugs.info(), on="drug")
    for v in VIEWS:
        table[f"rank_{v}"] = _ranks(table[f"score_{v}"].to_numpy(), table["drug"].to_numpy())
    table = table.sort_values(["score_mean", "drug"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, n_d + 1))
    table = table.reset_index(drop=True)
    order = table["drug"].map({d: i for i, d in enumerate(names)}).to_numpy()
    no_target = int((table["n_targets_in_model"] == 0).sum())
    if no_target:
        log.info("%d drug(s) have no signed target in the model and score 0", no_target)
    result = ScreenResult(
        table=table,
        scores=views[rank_by][:, order],
        parts=mean_parts[order],
        drugs=list(table["drug"]),
        celltypes=list(ensemble.celltypes),
        params=dict(vars(p)),
        views={v: views[v][:, order] for v in VIEWS},
        scales=scales,
    )
    if p.pairs_top:
        result.pairs = _pairs(
            engine, plan, reps, twin_blocks, n_tw, m[:, order], result, drugs, p.pairs_top, scales
        )
    return result


def _ranks(scores: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Rank positions (1 = best; ties broken by name, as the table is sorted)."""
    order = np.lexsort((names, -scores))
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


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


def screen_task(plan: Plan, reps: list[TwinReplicate], block: DrugBlock) -> tuple[np.ndarray, np.ndarray]:
    """Cell-type parts of the marker and the programme view (twins x drugs x cell types) of one
    block of drugs in one block of twins."""
    d, c = len(block.cols), plan.layout.n_celltypes
    mk, pg = np.zeros((len(reps), d, c)), np.zeros((len(reps), d, c))
    genes = plan.target_genes[block.rows]
    for t, rep in enumerate(reps):
        tt = terms(plan.layout, rep, genes, plan.w, plan.p, block.tiles)
        with deterministic_blas():
            mk[t], pg[t] = view_parts(tt, block.combos)
    return mk, pg


def null_task(plan: Plan, reps: list[TwinReplicate], pool: np.ndarray) -> list[Terms]:
    """The null pool's products in each twin of a block (every Gram entry among the pool)."""
    tiles = gram_tiles([np.arange(len(pool))], len(pool))
    return [terms(plan.layout, rep, pool, plan.w, plan.p, tiles) for rep in reps]


def _pairs_task(plan: Plan, reps: list[TwinReplicate], block: DrugBlock, combos: Combos) -> tuple:
    """Marker and programme parts of every pair (``combos``: the pairs' coefficients over the
    block's targets) in each twin."""
    n_pairs, c = combos.c.shape[1], plan.layout.n_celltypes
    mk, pg = np.zeros((len(reps), n_pairs, c)), np.zeros((len(reps), n_pairs, c))
    for t, rep in enumerate(reps):
        tt = terms(plan.layout, rep, plan.target_genes[block.rows], plan.w, plan.p, block.tiles)
        with deterministic_blas():
            mk[t], pg[t] = view_parts(tt, combos)
    return mk, pg


def ensemble_summary(scores: np.ndarray, names: list[str], top_k: int) -> pd.DataFrame:
    """Per drug over the twins (``scores``: twins x drugs): mean, 95% interval, P(top k) and the
    95% rank interval."""
    ranks = stats.rankdata(-scores, axis=1, method="min")
    return pd.DataFrame(
        {
            "drug": names,
            "score_mean": scores.mean(0),
            "ci_low": np.quantile(scores, 0.025, axis=0),
            "ci_high": np.quantile(scores, 0.975, axis=0),
            f"p_top{top_k}": (ranks <= top_k).mean(0),
            "rank_low": np.quantile(ranks, 0.025, axis=0, method="lower").astype(int),
            "rank_high": np.quantile(ranks, 0.975, axis=0, method="higher").astype(int),
        }
    )


class _PoolTwin:
    """One null twin's pool products arranged for vectorised draws: per pool gene and cell type the
    response of every pool gene at that gene's node (``q``: pool x C x pool; 0 where inactive) and
    the node's weight and weighted signature."""

    def __init__(self, t: Terms, pool_size: int) -> None:
        n_c = t.num.shape[0]
        self.t = t
        self.num = np.ascontiguousarray(t.num.sum(0))
        self.seed = np.ascontiguousarray(t.seed.sum(0))
        self.gram = np.ascontiguousarray(t.gram, dtype=float)
        rows = np.full((pool_size, n_c), -1, dtype=np.int64)
        own = t.own.tocoo()
        rows[own.row, t.probe_ct[own.col]] = own.col
        ok = rows >= 0
        safe = np.where(ok, rows, 0)
        self.q = np.ascontiguousarray(np.where(ok[:, :, None], t.probe[safe], 0.0))  # pool x C x pool
        self.w = np.ascontiguousarray(np.where(ok, t.probe_w[safe], 0.0))  # pool x C
        self.ws = np.ascontiguousarray(np.where(ok, t.probe_ws[safe], 0.0))

    def views(self, draws: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Marker and programme scores of the draws (n x k pool positions, coefficients k)."""
        t = self.t
        return kernel.null_views(
            self.num,
            self.seed,
            self.gram,
            self.q,
            self.w,
            self.ws,
            t.s_norm,
            draws,
            coef,
            wsum=t.wsum if t.centred else None,
            w_ct=t.w_ct if t.centred else None,
            own_only=OWN_ONLY,
        )


def null_test(
    terms_: list[Terms],
    m: np.ndarray,
    target_genes: np.ndarray,
    target_bins: np.ndarray,
    pool: np.ndarray,
    pool_bins: np.ndarray,
    observed: dict[str, np.ndarray],
    p: ScreenParams,
    scales: dict[str, float],
) -> pd.DataFrame:
    """z, empirical p and BH-FDR of each drug's mean score over the null twins (``terms_``: the
    pool's products in each), for every view, against random target sets drawn from the same
    degree bins with the same actions. Drugs sharing a target profile (bins and actions) share the
    draws; each drug's own target genes are left out of its null (a draw that hits them is not a
    random target set). A drug beyond every draw of the ranking view gets 9x more draws.

    A draw is a set of pool genes with coefficients; its programme leaves out its own genes' nodes
    exactly as a drug's does (the responses at those nodes come from the pool's probes). The twins
    are visited once for all profiles (and once more for the extended ones)."""
    by_bin = {b: np.flatnonzero(pool_bins == b) for b in np.unique(pool_bins)}
    keys: dict[tuple, int] = {}
    drug_key: dict[int, tuple] = {}
    for d in range(m.shape[1]):
        rows = np.flatnonzero(m[:, d])
        if len(rows):
            key = tuple(sorted((int(target_bins[r]), round(float(m[r, d]), 9)) for r in rows))
            keys.setdefault(key, len(keys))
            drug_key[d] = key

    def draws_of(key: tuple, n: int, block: int) -> np.ndarray:
        rng = np.random.default_rng([p.seed, keys[key], block, *[b for b, _ in key]])
        return np.stack([rng.choice(by_bin[b], size=n) for b, _ in key], axis=1)

    def scores(todo: dict[tuple, np.ndarray]) -> dict[tuple, dict[str, np.ndarray]]:
        """Mean over the null twins of every view of the draws of each profile."""
        mk = {key: np.zeros(len(d)) for key, d in todo.items()}
        pg = {key: np.zeros(len(d)) for key, d in todo.items()}
        coefs = {key: np.array([c for _, c in key]) for key in todo}
        for t in terms_:
            pt = _PoolTwin(t, len(pool))
            for key, d in todo.items():
                a, b = pt.views(d, coefs[key])
                mk[key] += a
                pg[key] += b
        out = {}
        for key in todo:
            v = {"marker": mk[key] / len(terms_), "programme": pg[key] / len(terms_)}
            v["combined"] = combine(v["marker"], v["programme"], scales, p.marker_weight)
            out[key] = v
        return out

    draws = {key: draws_of(key, p.n_null, 0) for key in keys}
    views = scores(draws)

    def own_ok(d: int, dr: np.ndarray) -> np.ndarray:
        own = np.flatnonzero(np.isin(pool, target_genes[np.flatnonzero(m[:, d])]))
        return np.asarray(~np.isin(dr, own).any(axis=1))

    # beyond every draw of the ranking view: sharpen the p-value with 9x more draws (sequential permutation)
    extend = set()
    for d, key in drug_key.items():
        keep = own_ok(d, draws[key])
        null = views[key][p.ranking][keep]
        if len(null) and observed[p.ranking][d] > null.max():
            extend.add(key)
    if extend:
        more = {key: draws_of(key, 9 * p.n_null, 1) for key in sorted(extend, key=keys.__getitem__)}
        more_views = scores(more)
        for key in more:
            draws[key] = np.concatenate([draws[key], more[key]])
            views[key] = {v: np.concatenate([views[key][v], more_views[key][v]]) for v in VIEWS}
    out = {v: np.full((m.shape[1], 4), np.nan) for v in VIEWS}
    for d, key in drug_key.items():
        keep = own_ok(d, draws[key])
        for v in VIEWS:
            null = np.sort(views[key][v][keep])
            if len(null) < 2:
                continue
            n_ge = len(null) - np.searchsorted(null, observed[v][d], side="left")
            mu, sd = float(null.mean()), float(null.std(ddof=1))
            out[v][d] = (
                mu,
                sd,
                (observed[v][d] - mu) / sd if sd > 0 else np.nan,
                (1 + n_ge) / (len(null) + 1),
            )
    cols = {}
    for v in VIEWS:
        cols[f"z_{v}"] = out[v][:, 2]
        cols[f"p_{v}"] = out[v][:, 3]
        cols[f"fdr_{v}"] = bh_fdr(out[v][:, 3])
        cols[f"null_mean_{v}"] = out[v][:, 0]
        cols[f"null_sd_{v}"] = out[v][:, 1]
    log.info(
        "null model: %d draws for each of %d target profiles (%d extended to %d draws), %d twins",
        p.n_null,
        len(keys),
        len(extend),
        10 * p.n_null,
        len(terms_),
    )
    return pd.DataFrame(cols)


def _pairs(
    engine: LocalEngine,
    plan: Plan,
    reps: list,
    twin_blocks: list[list[int]],
    n_tw: int,
    m: np.ndarray,
    result: ScreenResult,
    drugs: DrugLibrary,
    top: int,
    scales: dict[str, float],
) -> pd.DataFrame:
    """Pairs of the ``top`` best drugs without a shared main target: x_pair = x_a + x_b.

    A second pass over the twins propagates only the targets of the chosen drugs and takes every
    Gram entry among them; each pair is then two inner products away."""
    index = {d: i for i, d in enumerate(result.drugs)}
    chosen = np.array([index[d] for d in distinct_top(result.table, drugs, top)], dtype=np.int64)
    if len(chosen) < 2:
        return pd.DataFrame()
    ia, ib = np.triu_indices(len(chosen), 1)
    block = DrugBlock.of(m, chosen, full_gram=True)
    c = block.combos.c.toarray()
    combos = Combos(c[:, ia] + c[:, ib])
    n_c = len(result.celltypes)
    mk, pg = np.zeros((n_tw, len(ia), n_c)), np.zeros((n_tw, len(ia), n_c))
    tasks = [(plan, r, block, combos) for r in reps]
    for tb, (a_, b_) in zip(twin_blocks, engine.map(_pairs_task, tasks, "pairs"), strict=True):
        mk[tb], pg[tb] = a_, b_
    views = {"marker": mk.sum(2), "programme": pg.sum(2)}
    views["combined"] = combine(views["marker"], views["programme"], scales, result.params["marker_weight"])
    pair_scores = views[result.params["ranking"]]
    scores = result.scores
    a, b = chosen[ia], chosen[ib]
    syn = pair_scores - np.maximum(scores[:, a], scores[:, b])
    pa, pb = np.clip(result.parts[a], 0, None), np.clip(result.parts[b], 0, None)
    den = np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        complementarity = np.where(den > 0, 1 - (pa * pb).sum(1) / den, 0.0)
    rows = {
        "drug_a": [result.drugs[i] for i in a],
        "drug_b": [result.drugs[i] for i in b],
        "score_mean": pair_scores.mean(0),
        "ci_low": np.quantile(pair_scores, 0.025, axis=0),
        "ci_high": np.quantile(pair_scores, 0.975, axis=0),
        "synergy_mean": syn.mean(0),
        "synergy_ci_low": np.quantile(syn, 0.025, axis=0),
        "synergy_ci_high": np.quantile(syn, 0.975, axis=0),
        "p_synergy": (syn > 0).mean(0),
        "complementarity": complementarity,
    }
    for v in VIEWS:
        rows[f"score_{v}"] = views[v].mean(0)
    pairs = pd.DataFrame(rows)
    pairs = pairs.sort_values("score_mean", ascending=False, kind="mergesort").reset_index(drop=True)
    pairs.insert(0, "rank", np.arange(1, len(pairs) + 1))
    return pairs


def distinct_top(table: pd.DataFrame, drugs: DrugLibrary, n: int) -> list[str]:
    """The ``n`` best-ranked drugs (positive score) that share no main target with a better one:
    one anti-TNF, not five; one JAK inhibitor. Main targets: strength >= 0.75 of the drug's strongest."""
    t = drugs.targets[drugs.targets["sign"] != 0]
    main = t[t["strength"] >= 0.75 * t.groupby("drug")["strength"].transform("max")]
    mechanism = main.groupby("drug")["target"].agg(frozenset).to_dict()
    taken: set[str] = set()
    out: list[str] = []
    for drug, score in zip(table["drug"], table["score_mean"], strict=True):
        mech = mechanism.get(drug, frozenset())
        if len(out) < n and score > 0 and mech and not (mech & taken):
            taken |= mech
            out.append(drug)
    return out


def _drivers(parts: np.ndarray, celltypes: list[str], share: float) -> str:
    total = parts[parts > 0].sum()
    if total <= 0:
        return ""
    order = np.argsort(-parts, kind="stable")
    return ", ".join(celltypes[c] for c in order if parts[c] > 0 and parts[c] >= share * total)


drivers = _drivers
