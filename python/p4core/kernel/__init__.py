"""Typed wrapper around the compiled kernel :mod:`p4core._core`.

The wrapper accepts :class:`scipy.sparse.csr_array`/``csr_matrix`` operators and numpy arrays,
and never copies large arrays: an operator must already have ``int32`` indices and the same
floating dtype as the perturbations (:func:`as_operator` prepares one once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from p4core import _core
from p4core.settings import current

FloatArray = np.ndarray


def has_openmp() -> bool:
    """True when the kernel was compiled with OpenMP."""
    return bool(_core.has_openmp())


def max_threads() -> int:
    """Threads the kernel uses by default (``OMP_NUM_THREADS`` or the number of cores)."""
    return int(_core.max_threads())


def _threads(n_threads: int | None) -> int:
    return current().n_threads if n_threads is None else int(n_threads)


def as_operator(a: sp.spmatrix | sp.sparray, dtype: np.dtype | type = np.float32) -> sp.csr_array:
    """Return ``a`` as a canonical CSR array with int32 indices and the given dtype."""
    csr = sp.csr_array(a, dtype=dtype)
    csr.sum_duplicates()
    csr.sort_indices()
    if csr.shape[0] != csr.shape[1]:
        raise ValueError(f"operator must be square, got shape {csr.shape}")
    csr.indptr = csr.indptr.astype(np.int32, copy=False)
    csr.indices = csr.indices.astype(np.int32, copy=False)
    return csr


def _parts(a: sp.csr_array | sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return a.indptr, a.indices, a.data


def propagate(
    a: sp.csr_array, u: FloatArray, alpha: float, steps: int, *, n_threads: int | None = None
) -> FloatArray:
    """Propagated response ``x = sum_{k=0..steps} (alpha a)^k u`` of a block of perturbations.

    Parameters
    ----------
    a
        Square CSR operator (``a[t, s]`` is the weight of the edge s -> t), int32 indices.
    u
        C-contiguous array (n_nodes, n_perturbations) with ``a``'s dtype.
    alpha, steps
        Damping and number of propagation steps K.
    """
    u = u if u.ndim == 2 else u.reshape(-1, 1)
    return _core.propagate(*_parts(a), u, float(alpha), int(steps), _threads(n_threads))


def reversal_scores(
    x: FloatArray, s: FloatArray, w: FloatArray, offsets: np.ndarray, *, n_threads: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reversal score ``-cos_W(x_b, s)`` of every column of ``x`` and its part per cell type.

    Returns ``(score, parts)`` with shapes (B,) and (B, C), float64; ``parts.sum(1) == score``.
    """
    return _core.reversal_scores(x, s, w, offsets, _threads(n_threads))


BLOCK: int = int(_core.BLOCK)
"""Columns per block of :func:`screen_terms` (one AVX-512 register of float32)."""


def screen_terms(
    a: sp.csr_array,
    seed_ptr: np.ndarray,
    seed_row: np.ndarray,
    seed_val: FloatArray,
    w: FloatArray,
    s: FloatArray,
    offsets: np.ndarray,
    alpha: float,
    steps: int,
    tiles: np.ndarray,
    *,
    self_weight: float = 1.0,
    probe_rows: np.ndarray | None = None,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Inner products of propagated sparse perturbations, without materialising the responses.

    Column j is ``u_j = sum_e seed_val[e] e_{seed_row[e]}`` for ``e`` in ``seed_ptr[j]:seed_ptr[j+1]``;
    its response is ``x_j = sum_{k=0..steps} (alpha a)^k u_j - (1 - self_weight) u_j``. Columns are
    propagated in blocks of :data:`BLOCK`, each only over the rows its seeds reach.

    Returns
    -------
    num
        (C, n): ``sum_{rows of cell type c} w s x_j``.
    sq
        (n,): ``|x_j|_w^2``.
    wsum
        (C, n): ``sum_{rows of cell type c} w x_j``.
    tiles
        (n_tiles, BLOCK, BLOCK): Gram entries ``<x_i, x_j>_w`` of the requested block pairs
        (``tiles[k] = (P, Q)`` covers columns ``P*BLOCK + i`` and ``Q*BLOCK + j``).
    probe
        (len(probe_rows), n): every response at the rows ``probe_rows`` (none by default).

    Every value depends only on the operator and on its own columns: the same bits for any thread
    count and whichever other columns share the call.
    """
    return _core.screen_terms(
        *_parts(a),
        np.ascontiguousarray(seed_ptr, dtype=np.int64),
        np.ascontiguousarray(seed_row, dtype=np.int32),
        np.ascontiguousarray(seed_val, dtype=a.dtype),
        np.ascontiguousarray(w, dtype=a.dtype),
        np.ascontiguousarray(s, dtype=a.dtype),
        np.ascontiguousarray(offsets, dtype=np.int64),
        float(alpha),
        int(steps),
        float(self_weight),
        np.ascontiguousarray(tiles, dtype=np.int64).reshape(-1, 2),
        np.ascontiguousarray(np.zeros(0) if probe_rows is None else probe_rows, dtype=np.int32),
        _threads(n_threads),
    )


def null_views(
    num: np.ndarray,
    seed: np.ndarray,
    gram: np.ndarray,
    q: np.ndarray,
    w: np.ndarray,
    ws: np.ndarray,
    s_norm: float,
    draws: np.ndarray,
    coef: np.ndarray,
    *,
    wsum: np.ndarray | None = None,
    w_ct: np.ndarray | None = None,
    own_only: float = 1e-6,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Marker and programme scores of random target sets from one twin's pool products (see
    ``cpp/include/p4core/null_draws.hpp``): ``draws`` (n x k pool positions) with coefficients ``coef``;
    ``q`` (P x C x P) every pool gene's response at every pool gene's nodes, ``w``/``ws`` (P x C) the
    weight and weighted signature there; ``wsum``/``w_ct`` to centre within cell types."""
    f = np.ascontiguousarray
    return _core.null_views(
        f(num, dtype=float),
        f(seed, dtype=float),
        f(gram, dtype=float),
        f(q, dtype=float),
        f(w, dtype=float),
        f(ws, dtype=float),
        float(s_norm),
        f(draws, dtype=np.int64),
        f(coef, dtype=float),
        None if wsum is None else f(wsum, dtype=float),
        None if w_ct is None else f(w_ct, dtype=float),
        float(own_only),
        _threads(n_threads),
    )


def simulate(
    a: sp.csr_array,
    x0: FloatArray,
    drive: FloatArray,
    drive_schedule: FloatArray,
    inputs: FloatArray,
    input_schedule: FloatArray,
    projection: FloatArray,
    offsets: np.ndarray,
    *,
    dt: float,
    beta: float,
    gamma: float,
    record_every: int = 1,
    n_threads: int | None = None,
) -> FloatArray:
    """Integrate the disease-course ODE for every scenario with classical RK4 on a fixed step (see
    ``cpp/include/p4core/simulate.hpp``): the fine reference of :func:`course_twins`.

    Returns the disease activity per cell type, shape (n_scenarios, n_records, n_celltypes).
    """
    twin = (*_parts(a), x0, drive, inputs, projection, offsets)
    return simulate_twins(
        [twin],
        drive_schedule,
        input_schedule,
        dt=dt,
        beta=beta,
        gamma=gamma,
        record_every=record_every,
        n_threads=n_threads,
    )[0]


def simulate_twins(
    twins: list[tuple],
    drive_schedule: FloatArray,
    input_schedule: FloatArray,
    *,
    dt: float,
    beta: float,
    gamma: float,
    record_every: int = 1,
    n_threads: int | None = None,
) -> list[FloatArray]:
    """:func:`simulate` for many twins at once, one twin per thread (OpenMP over twins; each twin's
    scenarios advance in lockstep). ``twins``: tuples ``(indptr, indices, data, x0, drive, inputs,
    projection, offsets)``. The numbers do not depend on the thread count."""
    return list(
        _core.simulate_twins(
            list(twins),
            drive_schedule,
            input_schedule,
            float(dt),
            float(beta),
            float(gamma),
            int(record_every),
            _threads(n_threads),
        )
    )


@dataclass(frozen=True)
class CourseSchedules:
    """The schedules of :func:`course_twins` in closed form.

    ``r(t)``: a smooth ramp from 0 at ``-onset`` to 1 at 0, then ``1 + progression t / 365``.
    ``e_s(t)`` per scenario: 0 until just after ``start[s]`` (``-inf``: never, the untreated course),
    then 1 until ``stop[s]`` (``inf``: never stops) or, with ``lam[s] > 0``, a one-compartment train of
    doses every ``tau[s]`` days with elimination rate ``lam[s]``, scaled to a steady-state mean of 1.
    """

    onset: float
    progression: float
    start: tuple[float, ...]
    stop: tuple[float, ...]
    lam: tuple[float, ...]
    tau: tuple[float, ...]


def course_twins(
    twins: list[tuple],
    schedules: CourseSchedules,
    *,
    t0: float,
    t1: float,
    record_every: float,
    tol: float,
    beta: float,
    gamma: float,
    breakpoints: list[float],
    max_step: float = 60.0,
    first_step: float = 0.5,
    n_threads: int | None = None,
) -> tuple[list[FloatArray], list[tuple[int, int, int]]]:
    """The disease course of every scenario of every twin, with the step chosen by error control
    (Bogacki-Shampine 3(2); see ``cpp/include/p4core/course.hpp``). ``twins``: tuples ``(indptr,
    indices, data, x0, drive, inputs, projection, offsets)`` with ``inputs`` (n_scenarios, n_nodes).
    The step never crosses a ``breakpoint``. Returns the activity per twin, shape (n_scenarios,
    n_records, n_celltypes), and (accepted steps, rejected steps, right-hand sides) per twin. One
    twin per thread; the numbers do not depend on the thread count.

    The scenarios advance as the columns of one block whose sparse product runs in panels of 16, 8, 4, 2
    and 1 columns; the block is padded to a whole panel with copies of the last scenario (a copy has the
    same error, so the steps do not change) and the copies are dropped from the result."""
    n_s = len(schedules.start)
    width = 1 << max(n_s - 1, 0).bit_length() if n_s <= 16 else -(-n_s // 8) * 8
    pad = width - n_s

    def padded(v: tuple[float, ...] | list[float]) -> list[float]:
        return [float(x) for x in v] + [float(v[-1])] * pad if len(v) else []

    if pad:
        twins = [
            (*t[:5], np.ascontiguousarray(np.vstack([t[5], np.repeat(t[5][-1:], pad, axis=0)])), *t[6:])
            for t in twins
        ]
    acts, stats = _core.course_twins(
        list(twins),
        float(schedules.onset),
        float(schedules.progression),
        padded(schedules.start),
        padded(schedules.stop),
        padded(schedules.lam),
        padded(schedules.tau),
        float(t0),
        float(t1),
        float(record_every),
        float(tol),
        float(max_step),
        float(first_step),
        float(beta),
        float(gamma),
        [float(b) for b in breakpoints],
        _threads(n_threads),
    )
    return [a[:n_s] if pad else a for a in acts], [tuple(s) for s in stats]


def fit_ridge_signed(
    expr: FloatArray,
    targets: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    signs: np.ndarray,
    lam: float,
    *,
    n_threads: int | None = None,
) -> np.ndarray:
    """Sign-constrained ridge coefficients of each target on its prior regulators.

    Parameters
    ----------
    expr
        Standardised expression, genes x cells, C-contiguous float32/float64.
    targets
        Gene (row of ``expr``) of every fitted target, int64.
    indptr, indices
        CSR rows: the regulators (rows of ``expr``) of every target, int64.
    signs
        Prior sign of every edge (+1/-1); a coefficient of the wrong sign is forced to 0.
    lam
        Ridge penalty per cell.

    Returns
    -------
    Coefficients, one per edge (float64).
    """
    return _core.fit_ridge_signed(
        expr,
        np.ascontiguousarray(targets, dtype=np.int64),
        np.ascontiguousarray(indptr, dtype=np.int64),
        np.ascontiguousarray(indices, dtype=np.int64),
        np.ascontiguousarray(signs, dtype=np.float64),
        float(lam),
        _threads(n_threads),
    )


def rank_sums(
    x: sp.csc_array | sp.csc_matrix,
    weights: np.ndarray,
    group: np.ndarray,
    *,
    n_threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Wilcoxon rank sums of every column of ``x`` for every weighting of its cells.

    Parameters
    ----------
    x
        Cells x genes, CSC, stored values > 0 (e.g. log-normalised counts); the zeros are one tie group
        below them.
    weights
        Cells x R, >= 0: how often each cell counts (a bootstrap draw's multiplicities; ones for all cells).
    group
        Boolean per cell: the cells whose rank sum is returned (group 1).

    Returns
    -------
    ``(rank1, ties, sum1, sum0)``, each R x genes: the mid-rank sum of the group-1 cells, the tie term
    ``sum (t^3 - t)`` over tie groups of weight ``t``, and the weighted sums of the values of group 1 and
    group 0 (for their means).
    """
    x = sp.csc_array(x)
    return _core.rank_sums(
        np.ascontiguousarray(x.indptr, dtype=np.int64),
        np.ascontiguousarray(x.indices, dtype=np.int64),
        np.ascontiguousarray(x.data),
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(group, dtype=np.int8),
        _threads(n_threads),
    )
