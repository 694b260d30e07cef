"""The layout of the nodes, the inner products a screen needs (the kernel's screen terms) and the views\ncomputed from them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from p4core import kernel

if TYPE_CHECKING:
    pass
from p4core.model import TwinEnsemble, TwinReplicate
from p4core.screen.params import ScreenParams

log = logging.getLogger("p4core")


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


def combine(
    marker: np.ndarray,
    programme: np.ndarray,
    scales: dict[str, float],
    weight: float,
    gate: bool = False,
    parts: bool = False,
) -> np.ndarray:
    """The combined view from the two others (same shapes), each divided by its scale.

    ``gate`` (``screen.marker_gate``): the marker term counts in proportion to the drug's own programme
    reversal, ``clip(P / scale_P, 0, 1)`` — in full when what its targets drive is reversed at least as much
    as by a typical random gene, not at all when nothing downstream is reversed (a drug acting on a
    disease marker only). ``parts``: the last axis holds cell-type parts (the gate reads their sum)."""
    m = marker / scales["marker"]
    pg = programme / scales["programme"]
    if gate:
        total = pg.sum(axis=-1, keepdims=True) if parts else pg
        m = m * np.clip(total, 0.0, 1.0)
    return weight * m + (1.0 - weight) * pg
