"""A twin's operator: the prior network over the genes active in each cell type, ligand -> receptor
edges between cell types, degree-normalised, with mechanism facts carrying their share
(docs/design.md, "The model")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from p4core import kernel
from p4core.model import Knowledge


@dataclass
class PriorEdges:
    """Edge index arrays of the prior network over the twin's genes."""

    src: np.ndarray
    tgt: np.ndarray
    w: np.ndarray  # signed prior weight
    lr: np.ndarray  # bool: ligand -> receptor (crosses cell types)
    share: np.ndarray  # mechanism facts: share of the source's normalised out-weight (NaN: ordinary edge)


def prior_edges(knowledge: Knowledge, gene_index: dict[str, int]) -> PriorEdges:
    e = knowledge.network.edges
    share = e["share"].to_numpy(dtype=float) if "share" in e else np.full(len(e), np.nan)
    return PriorEdges(
        src=e["source"].map(gene_index).to_numpy(dtype=np.int64),
        tgt=e["target"].map(gene_index).to_numpy(dtype=np.int64),
        w=(e["sign"].to_numpy(dtype=float) * e["weight"].to_numpy(dtype=float)),
        lr=(e["kind"] == "ligand_receptor").to_numpy(),
        share=share,
    )


@dataclass
class OperatorStructure:
    """Where every edge of an activity mask lands in a twin's operator: the same for every twin of an
    ensemble (their masks are the same; only the weights differ), so it is worked out once.

    The entries are listed as :func:`build_operator` lists them (the edges inside each cell type, then
    the ligand -> receptor edges of every pair of cell types); ``intra[c]``/``lr[c1 * C + c2]`` are the
    edge indices of each part. ``slot`` maps each entry to its position in the CSR structure
    (``indptr``, ``indices``: rows ascending, columns ascending within a row, duplicates merged), or is
    None when some position collects three or more entries (their sum would then depend on the order
    of addition, and the operator is assembled by scipy as before)."""

    intra: list[np.ndarray]
    lr: list[np.ndarray]
    rows: np.ndarray
    cols: np.ndarray
    n: int
    slot: np.ndarray | None = None
    indptr: np.ndarray | None = None
    indices: np.ndarray | None = None

    @classmethod
    def of(cls, edges: PriorEdges, active: np.ndarray) -> OperatorStructure:
        n_ct, n_g = active.shape
        fact = np.isfinite(edges.share)
        inner = ~edges.lr & ~fact
        intra = [np.flatnonzero(inner & active[c, edges.src] & active[c, edges.tgt]) for c in range(n_ct)]
        lr_idx = np.flatnonzero(edges.lr)
        lr = [
            lr_idx[active[c1, edges.src[lr_idx]] & active[c2, edges.tgt[lr_idx]]]
            for c1 in range(n_ct)
            for c2 in range(n_ct)
        ]
        # (source cell type, target cell type, edges) of every part, in the order of the entries
        parts = [(c, c, m) for c, m in enumerate(intra)]
        parts += [(c1, c2, m) for (c1, c2), m in zip(np.ndindex(n_ct, n_ct), lr, strict=True)]
        rows = np.concatenate([c2 * n_g + edges.tgt[m] for _, c2, m in parts])
        cols = np.concatenate([c1 * n_g + edges.src[m] for c1, _, m in parts])
        out = cls(intra, lr, rows, cols, n_ct * n_g)
        order = np.lexsort((cols, rows))
        r, c = rows[order], cols[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        starts = np.flatnonzero(new)
        if len(order) and np.diff(np.append(starts, len(order))).max() > 2:
            return out
        out.slot = np.empty(len(order), dtype=np.int64)
        out.slot[order] = np.cumsum(new) - 1
        out.indices = c[starts]
        out.indptr = np.concatenate([[0], np.cumsum(np.bincount(r[starts], minlength=out.n))])
        return out


def build_operator(
    edges: PriorEdges,
    active: np.ndarray,
    *,
    lr_weight: float,
    noise: np.ndarray | None,
    dtype: np.dtype,
    weights: np.ndarray | None = None,
    structure: OperatorStructure | None = None,
) -> sp.csr_array:
    """The N x N operator of one twin from the prior edges and the node activity mask (C x G).

    Inside a cell type an edge is kept when both genes are active there, with the signed weight
    ``weights[c, e]`` when given (fitted strengths), else the prior; a ligand -> receptor
    edge joins (c1, L) -> (c2, R) for every pair of cell types where L is active in c1 and R in
    c2. Weights are then normalised by sqrt(in-degree x out-degree) so the series is stable.

    Mechanism facts (edges with a ``share``) are not part of that normalisation: once the others
    are normalised, a source's mechanism facts get together ``share / (1 - share)`` times its
    normalised outgoing weight (so they carry ``share`` of what leaves it), split equally. A curated
    fact thus sets how much of its source's influence takes that route without changing how much
    reaches its target from anywhere else.

    ``structure`` (:class:`OperatorStructure` of the same edges and mask) saves working out where the
    entries go: the twins of an ensemble share it. The same operator, bit for bit, with or without.
    """
    st = structure if structure is not None else OperatorStructure.of(edges, active)
    w = edges.w * (noise if noise is not None else 1.0)
    fact = np.isfinite(edges.share)
    vals = []
    for c, m in enumerate(st.intra):
        wc = w if weights is None else weights[c] * (noise if noise is not None else 1.0)
        vals.append(wc[m])
    vals += [w[m] * lr_weight for m in st.lr]
    n = st.n
    if st.slot is not None and st.indices is not None and st.indptr is not None:
        # at most two entries per position: their sum is the same in any order
        data = np.bincount(st.slot, weights=np.concatenate(vals), minlength=len(st.indices))
        a = sp.csr_array((data, st.indices.copy(), st.indptr.copy()), shape=(n, n))
    else:
        a = sp.coo_array((np.concatenate(vals), (st.rows, st.cols)), shape=(n, n)).tocsr()
    a.sum_duplicates()
    mag = np.abs(a)
    d_in = np.asarray(mag.sum(axis=1)).ravel()
    d_out = np.asarray(mag.sum(axis=0)).ravel()
    inv_in = np.where(d_in > 0, 1.0 / np.sqrt(np.where(d_in > 0, d_in, 1)), 0.0)
    inv_out = np.where(d_out > 0, 1.0 / np.sqrt(np.where(d_out > 0, d_out, 1)), 0.0)
    # diag(inv_in) @ a @ diag(inv_out), entry by entry in the same order (the same bits), without the
    # two sparse products; an entry that becomes exactly 0 is dropped as the products drop it
    a = sp.csr_array(a)
    a.data = (inv_in[np.repeat(np.arange(n), np.diff(a.indptr))] * a.data) * inv_out[a.indices]
    a.eliminate_zeros()
    if fact.any():
        a = a + mechanism_facts(edges, fact, active, w, np.asarray(abs(a).sum(axis=0)).ravel(), d_in)
    return kernel.as_operator(a, dtype=dtype)


def mechanism_facts(
    edges: PriorEdges,
    fact: np.ndarray,
    active: np.ndarray,
    w: np.ndarray,
    out_w: np.ndarray,
    d_in: np.ndarray,
) -> sp.csr_array:
    """The mechanism facts of every cell type, each with its share of its source's normalised
    out-weight ``out_w`` (a source with no other active out-edge: 1/sqrt(in-degree x facts))."""
    n_ct, n_g = active.shape
    f = np.flatnonzero(fact)
    rows, cols, vals = [], [], []
    for c in range(n_ct):
        m = f[active[c, edges.src[f]] & active[c, edges.tgt[f]]]
        if not len(m):
            continue
        src, tgt = c * n_g + edges.src[m], c * n_g + edges.tgt[m]
        n_f = np.bincount(src, minlength=n_ct * n_g)[src].astype(float)
        share = np.clip(edges.share[m], 0.0, 0.999)
        base = np.where(out_w[src] > 0, out_w[src], 1.0 / np.sqrt(np.maximum(d_in[tgt], 1.0)))
        rows.append(tgt)
        cols.append(src)
        vals.append(w[m] * share / (1 - share) * base / n_f)  # w: sign x weight (x the twin's jitter)
    n = n_ct * n_g
    if not rows:
        return sp.csr_array((n, n))
    return sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    ).tocsr()
