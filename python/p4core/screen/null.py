"""The null model: random target sets matched in size, degree bin and action, scored like drugs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from p4core import kernel

if TYPE_CHECKING:
    pass
from p4core.model import TwinEnsemble, TwinReplicate
from p4core.screen.design import Plan, degree_bins, gene_degree
from p4core.screen.params import VIEWS, ScreenParams
from p4core.screen.terms import OWN_ONLY, Combos, Terms, combine, gram_tiles, terms, view_parts
from p4core.twin.signature import bh_fdr

log = logging.getLogger("p4core")


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


def null_task(plan: Plan, reps: list[TwinReplicate], pool: np.ndarray) -> list[Terms]:
    """The null pool's products in each twin of a block (every Gram entry among the pool)."""
    tiles = gram_tiles([np.arange(len(pool))], len(pool))
    return [terms(plan.layout, rep, pool, plan.w, plan.p, tiles) for rep in reps]


class PoolTwin:
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
            pt = PoolTwin(t, len(pool))
            for key, d in todo.items():
                a, b = pt.views(d, coefs[key])
                mk[key] += a
                pg[key] += b
        out = {}
        for key in todo:
            v = {"marker": mk[key] / len(terms_), "programme": pg[key] / len(terms_)}
            v["combined"] = combine(v["marker"], v["programme"], scales, p.marker_weight, p.marker_gate)
            out[key] = v
        return out

    draws = {key: draws_of(key, p.n_null, 0) for key in keys}
    views = scores(draws)

    own_of = {d: np.flatnonzero(np.isin(pool, target_genes[np.flatnonzero(m[:, d])])) for d in drug_key}

    def own_ok(d: int, dr: np.ndarray) -> np.ndarray:
        own = own_of[d]
        return np.asarray(~np.isin(dr, own).any(axis=1)) if len(own) else np.ones(len(dr), dtype=bool)

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
    # drugs with the same profile and the same own genes in the pool share their null
    nulls: dict[tuple, tuple[np.ndarray, float, float]] = {}
    for d, key in drug_key.items():
        kept: np.ndarray | None = None
        for v in VIEWS:
            cached = (key, tuple(own_of[d]), v)
            if cached not in nulls:
                kept = own_ok(d, draws[key]) if kept is None else kept
                null = np.sort(views[key][v][kept])
                enough = len(null) >= 2
                nulls[cached] = (
                    null,
                    float(null.mean()) if enough else np.nan,
                    float(null.std(ddof=1)) if enough else np.nan,
                )
            null, mu, sd = nulls[cached]
            if len(null) < 2:
                continue
            n_ge = len(null) - np.searchsorted(null, observed[v][d], side="left")
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
