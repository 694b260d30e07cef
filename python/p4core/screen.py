"""In-silico treatment of every twin with every drug (DESIGN §4, "Performance shape").

The model is linear in the perturbation, so each distinct drug target is propagated once per
twin (one column per target gene, set in every cell type where the gene is active), and every
drug's response is a signed, weighted sum of its targets' responses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from . import kernel
from .errors import require

if TYPE_CHECKING:
    from .config import EngineConfig
    from .engine import LocalEngine
from .model import DrugLibrary, ScreenResult, TwinEnsemble, TwinReplicate
from .settings import deterministic_blas
from .signature import bh_fdr

log = logging.getLogger("p4core")


@dataclass
class ScreenParams:
    """Config group ``screen``: propagation, ranking, significance and combinations."""

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
    #: weight of the perturbed targets' own nodes (the k = 0 term) in the response: 1 counts a target
    #: that is itself dysregulated as evidence; 0 compares only the propagated consequences (an inhibitor
    #: changes its target's activity, not its transcript)
    target_weight: float = 1.0
    #: ``cosine`` (-cos_W(x, s)) or ``correlation`` (both centred within each cell type: a response that
    #: moves every gene the same way carries no reversal)
    score: str = "cosine"
    #: random target sets per drug in the null (matched in size, degree bin and action); 0 = off
    n_null: int = 1000
    #: degree bins of the null
    null_bins: int = 10
    #: degree the null matches: ``out`` (a perturbation spreads along out-edges) or ``total`` (in + out)
    null_degree: str = "out"
    #: genes per degree bin propagated once per twin to draw the null from
    null_pool: int = 50
    #: twins the null test uses (the first ones; a drug is tested on its mean over the same twins);
    #: 0 = all. The null's cost is per twin, and 20 twins estimate a random set's mean score well
    null_twins: int = 20
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
        require(0 <= self.steps <= 100, "screen.steps", f"must be in [0, 100], got {self.steps}")
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
class _Terms:
    """Inner products of one twin's unit responses: enough to score any linear combination.

    ``num[c, j] = <x_j, s>_W`` over cell type c, ``gram[i, j] = <x_i, x_j>_W``; a drug with
    coefficients a scores ``-sum_c (num a)_c / (sqrt(a' gram a) |s|_W)``. Only the Gram entries
    of the requested groups are computed (the others are 0 and must not be used).
    """

    num: np.ndarray
    gram: np.ndarray
    s_norm: float


@dataclass(frozen=True)
class _Layout:
    """Node layout of a twin (cell type-major): all a screen task needs of the ensemble besides twins."""

    n_genes: int
    n_celltypes: int

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(self.n_celltypes + 1, dtype=np.int64) * self.n_genes

    @classmethod
    def of(cls, ensemble: TwinEnsemble) -> _Layout:
        return cls(len(ensemble.genes), len(ensemble.celltypes))


def _seeds(
    layout: _Layout, active: np.ndarray, genes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse unit perturbations: gene j set to its activity in every cell type where it is active."""
    n_g, n_c = layout.n_genes, layout.n_celltypes
    rows = (np.arange(n_c)[None, :] * n_g + np.asarray(genes)[:, None]).ravel()
    vals = active[rows]
    keep = vals != 0
    counts = keep.reshape(len(genes), n_c).sum(1)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, rows[keep].astype(np.int32), vals[keep]


def _tiles(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Block pairs (P <= Q) that hold every pairwise entry within each group of columns."""
    nb = -(-n // kernel.BLOCK)
    need = np.zeros((nb, nb), dtype=bool)
    for cols in groups:
        b = np.unique(np.asarray(cols) // kernel.BLOCK)
        need[np.ix_(b, b)] = True
    return np.argwhere(np.triu(need))


def _terms(
    layout: _Layout,
    rep: TwinReplicate,
    genes: np.ndarray,
    w: np.ndarray,
    p: ScreenParams,
    tiles: np.ndarray,
) -> _Terms:
    """Inner products of the unit responses of ``genes``: the signature products of every column
    and the Gram entries of the block pairs ``tiles`` (see :func:`_tiles`).

    The responses are never materialised: the kernel propagates blocks of columns, each over the
    rows it reaches, and reduces them to these products (DESIGN §4, "Performance shape")."""
    a = rep.operator
    dtype = a.dtype
    off = layout.offsets
    n_c = len(off) - 1
    sig = rep.signature.astype(float)
    if p.score == "correlation":  # centre the signature within each cell type (weighted)
        sig = sig.copy()
        for c in range(n_c):
            sl = slice(off[c], off[c + 1])
            sig[sl] -= np.average(sig[sl], weights=w[sl]) if w[sl].sum() > 0 else 0.0
    ptr, rows, vals = _seeds(layout, rep.active, genes)
    n = len(genes)
    num, sq, wsum, g = kernel.screen_terms(
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
        self_weight=p.target_weight,
    )
    bs = kernel.BLOCK
    nb = -(-n // bs)
    gram = np.zeros((nb * bs, nb * bs))
    for (pp, qq), tile in zip(tiles, g, strict=True):
        gram[pp * bs : (pp + 1) * bs, qq * bs : (qq + 1) * bs] = tile
        gram[qq * bs : (qq + 1) * bs, pp * bs : (pp + 1) * bs] = tile.T
    gram = gram[:n, :n]
    gram[np.diag_indices(n)] = sq
    if p.score == "correlation":  # Gram of the responses centred within each cell type
        for c in range(n_c):
            wc = w[off[c] : off[c + 1]].sum()
            if wc > 0:
                gram -= np.outer(wsum[c], wsum[c]) / wc
    return _Terms(num, gram, float(np.sqrt(np.sum(w * sig**2))))


class _Combos:
    """Linear combinations of columns (n x D coefficients) with the index of every pair of
    non-zeros within a column: a combination's squared norm needs only the Gram entries between
    its own columns, ``sum_{i, j} c_i c_j G_ij``."""

    def __init__(self, coef: np.ndarray) -> None:
        self.c = sp.csc_array(coef)
        d, i, j, v = [], [], [], []
        for col in range(self.c.shape[1]):
            sl = slice(self.c.indptr[col], self.c.indptr[col + 1])
            rows, vals = self.c.indices[sl], self.c.data[sl]
            d.append(np.full(len(rows) ** 2, col))
            i.append(np.repeat(rows, len(rows)))
            j.append(np.tile(rows, len(rows)))
            v.append(np.outer(vals, vals).ravel())
        self.d, self.i, self.j, self.v = (np.concatenate(x) if x else np.zeros(0) for x in (d, i, j, v))
        self.d, self.i, self.j = self.d.astype(np.int64), self.i.astype(np.int64), self.j.astype(np.int64)

    def norm2(self, gram: np.ndarray) -> np.ndarray:
        return np.bincount(self.d, weights=self.v * gram[self.i, self.j], minlength=self.c.shape[1])


def _score(terms: _Terms, combos: _Combos) -> tuple[np.ndarray, np.ndarray]:
    """Scores (D,) and parts (D, C) of the combinations ``combos`` of the terms' columns."""
    num = np.asarray((combos.c.T @ terms.num.T).T)
    norm2 = combos.norm2(terms.gram)
    denom = np.sqrt(np.clip(norm2, 0, None)) * terms.s_norm
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = np.where(denom > 0, -num / denom, 0.0).T
    return parts.sum(1), parts


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


def screen(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    params: ScreenParams | None = None,
    engine: LocalEngine | None = None,
    engine_cfg: EngineConfig | None = None,
) -> ScreenResult:
    """Score every drug in every twin, test it against a degree-matched null, rank, and pair the best.

    Each distinct target gene (and a pool of null genes) is propagated once per twin; every drug,
    null draw and pair is then scored from inner products of those responses (linearity). The work
    is cut into tasks of (twin block x drug block) that ``engine`` runs (default: this process;
    :class:`~p4core.engine.DaskEngine` for a cluster; ``engine_cfg`` sets the block sizes); the
    numbers do not depend on the engine, the blocks or the thread count.

    Returns
    -------
    :class:`~p4core.model.ScreenResult` whose ``table`` has, per drug: ``rank``, ``score_mean``,
    ``ci_low``/``ci_high`` (95% over twins), ``p_top<k>`` (share of twins where the drug is in the
    top k), ``rank_low``/``rank_high`` (95% rank interval), ``z``, ``p_value`` and ``fdr`` (null of
    random target sets matched in size, degree bin and action; BH over drugs), ``drivers`` (cell
    types carrying the score), ``part:<cell type>``, ``n_targets_in_model`` and the library's
    annotation columns; ``pairs`` has the pair scores, synergy and complementarity.
    """
    from .engine import LocalEngine

    p = params or ScreenParams()
    engine = engine or LocalEngine()
    target_genes, m, names = ordered_drug_matrix(ensemble, drugs)
    out_degree = gene_degree(ensemble, "out")
    n_tw, n_d, n_c = len(ensemble), len(names), len(ensemble.celltypes)
    rng = np.random.default_rng([p.seed, 17])
    bins = degree_bins(gene_degree(ensemble, p.null_degree), p.null_bins)
    pool = (
        np.concatenate([rng.permutation(np.flatnonzero(bins == b))[: p.null_pool] for b in np.unique(bins)])
        if p.n_null
        else np.zeros(0, dtype=np.int64)
    )
    pool = pool[np.argsort(-out_degree[pool], kind="stable")].astype(np.int64)
    plan = engine.put(_Plan.of(ensemble, target_genes, p))
    d_block = engine_cfg.drug_block if engine_cfg and engine_cfg.drug_block else n_d
    t_block = engine_cfg.twin_block if engine_cfg and engine.name != "local" else 1
    drug_blocks = [_DrugBlock.of(m, np.arange(i, min(n_d, i + d_block))) for i in range(0, n_d, d_block)]
    twin_blocks = [list(range(i, min(n_tw, i + t_block))) for i in range(0, n_tw, t_block)]
    reps = [engine.put([ensemble.replicates[t] for t in tb]) for tb in twin_blocks]
    tasks = [(plan, r, db) for r in reps for db in drug_blocks]
    scores = np.zeros((n_tw, n_d))
    parts = np.zeros((n_tw, n_d, n_c))
    for (tb, db), (sc, pa) in zip(
        [(tb, db) for tb in twin_blocks for db in drug_blocks],
        engine.map(_screen_task, tasks, "screening twins"),
        strict=True,
    ):
        at = np.ix_(np.asarray(tb), db.cols)
        scores[at], parts[at] = sc, pa
    n_null_twins = min(n_tw, p.null_twins) if p.null_twins else n_tw
    null_terms: list[_Terms] = []
    if p.n_null:
        null_tasks = [
            (plan, r, pool) for r, tb in zip(reps, twin_blocks, strict=True) if tb[0] < n_null_twins
        ]
        for tb, block in zip(twin_blocks, engine.map(_null_task, null_tasks, "null model"), strict=False):
            null_terms += [tt for t, tt in zip(tb, block, strict=True) if t < n_null_twins]

    mean_parts = parts.mean(0)
    table = ensemble_summary(scores, names, p.top_k)
    if p.n_null:
        table = pd.concat(
            [
                table,
                _null_test(
                    null_terms,
                    m,
                    target_genes,
                    bins[target_genes],
                    pool,
                    bins[pool],
                    scores[:n_null_twins].mean(0),
                    p,
                ),
            ],
            axis=1,
        )
    table["drivers"] = [_drivers(mp, ensemble.celltypes, p.driver_share) for mp in mean_parts]
    table["n_targets_in_model"] = (m != 0).sum(0)
    for c, ct in enumerate(ensemble.celltypes):
        table[f"part:{ct}"] = mean_parts[:, c]
    table = table.join(drugs.info(), on="drug")
    table = table.sort_values(["score_mean", "drug"], ascending=[False, True], kind="mergesort")
    table.insert(0, "rank", np.arange(1, n_d + 1))
    table = table.reset_index(drop=True)
    order = table["drug"].map({d: i for i, d in enumerate(names)}).to_numpy()
    no_target = int((table["n_targets_in_model"] == 0).sum())
    if no_target:
        log.info("%d drug(s) have no signed target in the model and score 0", no_target)
    result = ScreenResult(
        table=table,
        scores=scores[:, order],
        parts=mean_parts[order],
        drugs=list(table["drug"]),
        celltypes=list(ensemble.celltypes),
        params=dict(vars(p)),
    )
    if p.pairs_top:
        result.pairs = _pairs(
            engine, plan, reps, twin_blocks, n_tw, m[:, order], scores[:, order], result, drugs, p.pairs_top
        )
    return result


@dataclass
class _Plan:
    """What every task of a screen shares: layout, ordered target genes, node weights, parameters."""

    layout: _Layout
    target_genes: np.ndarray
    w: np.ndarray
    p: ScreenParams

    @classmethod
    def of(cls, ensemble: TwinEnsemble, target_genes: np.ndarray, p: ScreenParams) -> _Plan:
        n_c = len(ensemble.celltypes)
        w = ensemble.node_weights * np.where(np.tile(ensemble.measured, n_c), 1.0, p.latent_weight)
        return cls(_Layout.of(ensemble), target_genes, w, p)


@dataclass
class _DrugBlock:
    """A block of drugs (columns ``cols`` of the drug matrix): the target rows they use (in the
    global order, so every drug sums its targets in the same order in every block), their
    coefficients and the Gram tiles they need."""

    cols: np.ndarray
    rows: np.ndarray
    combos: _Combos
    tiles: np.ndarray

    @classmethod
    def of(cls, m: np.ndarray, cols: np.ndarray, full_gram: bool = False) -> _DrugBlock:
        rows = np.flatnonzero((m[:, cols] != 0).any(1))
        mb = m[np.ix_(rows, cols)]
        if full_gram:  # pairs: every entry among the block's targets
            groups = [np.arange(len(rows))]
        else:  # single drugs: entries between a drug's own targets
            groups = [r for r in (np.flatnonzero(mb[:, j]) for j in range(mb.shape[1])) if len(r) > 1]
        return cls(np.asarray(cols), rows, _Combos(mb), _tiles(groups, len(rows)))


def _screen_task(plan: _Plan, reps: list[TwinReplicate], block: _DrugBlock) -> tuple[np.ndarray, np.ndarray]:
    """Scores (twins x drugs) and cell-type parts of one block of drugs in one block of twins."""
    d, c = len(block.cols), plan.layout.n_celltypes
    scores, parts = np.zeros((len(reps), d)), np.zeros((len(reps), d, c))
    genes = plan.target_genes[block.rows]
    for t, rep in enumerate(reps):
        tt = _terms(plan.layout, rep, genes, plan.w, plan.p, block.tiles)
        with deterministic_blas():
            scores[t], parts[t] = _score(tt, block.combos)
    return scores, parts


def _null_task(plan: _Plan, reps: list[TwinReplicate], pool: np.ndarray) -> list[_Terms]:
    """The null pool's products in each twin of a block (every Gram entry among the pool)."""
    tiles = _tiles([np.arange(len(pool))], len(pool))
    return [_terms(plan.layout, rep, pool, plan.w, plan.p, tiles) for rep in reps]


def _pairs_task(plan: _Plan, reps: list[TwinReplicate], block: _DrugBlock) -> np.ndarray:
    """Scores of every pair of the block's drugs (upper triangle, row-major) in each twin."""
    c = block.combos.c.toarray()
    k = c.shape[1]
    ia, ib = np.triu_indices(k, 1)
    out = np.zeros((len(reps), len(ia)))
    for t, rep in enumerate(reps):
        tt = _terms(plan.layout, rep, plan.target_genes[block.rows], plan.w, plan.p, block.tiles)
        with deterministic_blas():
            num = (tt.num @ c).sum(0)
            g = c.T @ tt.gram @ c  # (k, k): <x_a, x_b>
        norm2 = np.diag(g)[ia] + np.diag(g)[ib] + 2 * g[ia, ib]
        denom = np.sqrt(np.clip(norm2, 0, None)) * tt.s_norm
        with np.errstate(divide="ignore", invalid="ignore"):
            out[t] = np.where(denom > 0, -(num[ia] + num[ib]) / denom, 0.0)
    return out


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


def _null_test(
    terms: list[_Terms],
    m: np.ndarray,
    target_genes: np.ndarray,
    target_bins: np.ndarray,
    pool: np.ndarray,
    pool_bins: np.ndarray,
    observed: np.ndarray,
    p: ScreenParams,
) -> pd.DataFrame:
    """z, empirical p and BH-FDR of each drug's mean score over the null twins (``terms``: the
    pool's products in each) against random target sets drawn from the same degree bins with the
    same actions. Drugs sharing a target profile (bins and actions) share the draws; each drug's
    own target genes are left out of its null (a draw that hits them is not a random target set)."""
    num = np.stack([t.num.sum(0) for t in terms])  # twins x pool
    gram = np.stack([t.gram for t in terms])  # twins x pool x pool
    s_norm = np.array([t.s_norm for t in terms])
    by_bin = {b: np.flatnonzero(pool_bins == b) for b in np.unique(pool_bins)}
    keys: dict[tuple, int] = {}
    cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # key -> (scores, draws: n x k pool positions)

    def draw(key: tuple, n: int, block: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([p.seed, keys.setdefault(key, len(keys)), block, *[b for b, _ in key]])
        draws = [rng.choice(by_bin[b], size=n) for b, _ in key]
        coef = [c for _, c in key]
        total = sum(c * num[:, j] for c, j in zip(coef, draws, strict=True))
        norm2 = sum(
            ci * cj * gram[:, ji, jj]
            for ci, ji in zip(coef, draws, strict=True)
            for cj, jj in zip(coef, draws, strict=True)
        )
        denom = np.sqrt(np.clip(norm2, 0, None)) * s_norm[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denom > 0, -total / denom, 0.0).mean(0), np.stack(draws, axis=1)

    out = np.full((m.shape[1], 4), np.nan)
    extended = 0
    for d in range(m.shape[1]):
        rows = np.flatnonzero(m[:, d])
        if not len(rows):
            continue
        key = tuple(sorted((int(target_bins[r]), round(float(m[r, d]), 9)) for r in rows))
        if key not in cache:
            cache[key] = draw(key, p.n_null, 0)
        own = np.flatnonzero(np.isin(pool, target_genes[rows]))

        def null_of(entry: tuple[np.ndarray, np.ndarray], own: np.ndarray = own) -> np.ndarray:
            scores, draws = entry
            return np.sort(scores[~np.isin(draws, own).any(axis=1)])

        null = null_of(cache[key])
        n_ge = len(null) - np.searchsorted(null, observed[d], side="left")
        if n_ge == 0 and len(cache[key][0]) == p.n_null:
            # beyond every draw: sharpen the p-value with 9x more draws (sequential permutation)
            more = draw(key, 9 * p.n_null, 1)
            cache[key] = (np.concatenate([cache[key][0], more[0]]), np.concatenate([cache[key][1], more[1]]))
            null = null_of(cache[key])
            n_ge = len(null) - np.searchsorted(null, observed[d], side="left")
            extended += 1
        if len(null) < 2:
            continue
        mu, sd = float(null.mean()), float(null.std(ddof=1))
        out[d] = (mu, sd, (observed[d] - mu) / sd if sd > 0 else np.nan, (1 + n_ge) / (len(null) + 1))
    df = pd.DataFrame(out, columns=["null_mean", "null_sd", "z", "p_value"])
    df["fdr"] = bh_fdr(df["p_value"].to_numpy())
    log.info(
        "null model: %d draws for each of %d target profiles (%d extended to %d draws), %d twins",
        p.n_null,
        len(cache),
        extended,
        10 * p.n_null,
        len(terms),
    )
    return df[["z", "p_value", "fdr", "null_mean", "null_sd"]]


def _pairs(
    engine: LocalEngine,
    plan: _Plan,
    reps: list,
    twin_blocks: list[list[int]],
    n_tw: int,
    m: np.ndarray,
    scores: np.ndarray,
    result: ScreenResult,
    drugs: DrugLibrary,
    top: int,
) -> pd.DataFrame:
    """Pairs of the ``top`` best drugs without a shared main target: x_pair = x_a + x_b.

    A second pass over the twins propagates only the targets of the chosen drugs and takes every
    Gram entry among them; each pair is then two inner products away."""
    index = {d: i for i, d in enumerate(result.drugs)}
    chosen = np.array([index[d] for d in distinct_top(result.table, drugs, top)], dtype=np.int64)
    if len(chosen) < 2:
        return pd.DataFrame()
    ia, ib = np.triu_indices(len(chosen), 1)
    block = _DrugBlock.of(m, chosen, full_gram=True)
    pair_scores = np.zeros((n_tw, len(ia)))
    tasks = [(plan, r, block) for r in reps]
    for tb, ps in zip(twin_blocks, engine.map(_pairs_task, tasks, "pairs"), strict=True):
        pair_scores[tb] = ps
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
