"""The compiled kernel against the numpy/scipy reference, on random operators."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from p4core import kernel
from p4core.testing import reference

TOL = {np.float32: 1e-5, np.float64: 1e-10}


def random_operator(rng: np.random.Generator, n: int, density: float, dtype) -> sp.csr_array:
    a = sp.random_array((n, n), density=density, rng=rng, format="csr", dtype=np.float64)
    a.data = rng.uniform(-1, 1, size=a.nnz)
    if a.nnz:
        rho = np.abs(a).sum(axis=1).max()
        a = a / max(rho, 1.0)
    return kernel.as_operator(a, dtype=dtype)


def rel_err(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(x - y).max() / max(1.0, np.abs(y).max()))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    b=st.integers(1, 9),
    density=st.floats(0.0, 0.5),
    steps=st.integers(0, 8),
    alpha=st.floats(0.1, 0.95),
    seed=st.integers(0, 2**31),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_propagate_matches_reference(n, b, density, steps, alpha, seed, dtype):
    rng = np.random.default_rng(seed)
    a = random_operator(rng, n, density, dtype)
    u = rng.normal(size=(n, b)).astype(dtype)
    got = kernel.propagate(a, u, alpha, steps)
    want = reference.propagate(a, u, alpha, steps)
    assert got.dtype == dtype and got.shape == (n, b)
    assert rel_err(got, want) < TOL[dtype]


@settings(max_examples=40, deadline=None)
@given(
    n_ct=st.integers(1, 5),
    g=st.integers(1, 12),
    b=st.integers(1, 70),
    seed=st.integers(0, 2**31),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_reversal_scores_match_reference(n_ct, g, b, seed, dtype):
    rng = np.random.default_rng(seed)
    n = n_ct * g
    x = rng.normal(size=(n, b)).astype(dtype)
    x[:, 0] = 0  # a drug with no response scores 0
    s = rng.normal(size=n).astype(dtype)
    w = rng.uniform(0.5, 2, size=n).astype(dtype)
    off = np.arange(n_ct + 1, dtype=np.int64) * g
    score, parts = kernel.reversal_scores(x, s, w, off)
    rs, rp = reference.reversal_scores(x, s, w, off)
    assert np.allclose(score, rs, atol=TOL[dtype] * 10, rtol=0)
    assert np.allclose(parts, rp, atol=TOL[dtype] * 10, rtol=0)
    assert np.allclose(parts.sum(1), score)
    assert score[0] == 0 and np.all(np.abs(score) <= 1 + 1e-6)


def test_reversal_score_of_exact_reversal_is_one():
    s = np.array([1.0, -2.0, 0.5, 3.0])
    x = -2 * s[:, None]
    score, parts = kernel.reversal_scores(x, s, np.ones(4), np.array([0, 2, 4], dtype=np.int64))
    assert score[0] == pytest.approx(1.0)
    assert parts[0] == pytest.approx([5 / 14.25, 9.25 / 14.25])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simulate_matches_reference(dtype):
    rng = np.random.default_rng(3)
    n_ct, g = 3, 8
    n = n_ct * g
    a = random_operator(rng, n, 0.2, dtype)
    n_steps = 40
    half = np.linspace(0, 1, 2 * n_steps + 1)
    drive = rng.normal(size=n).astype(dtype)
    inputs = rng.normal(size=(3, n)).astype(dtype)
    inputs[0] = 0
    sched = np.vstack([np.zeros_like(half), (half > 0.3).astype(float), np.sqrt(half)]).astype(dtype)
    proj = rng.normal(size=n).astype(dtype)
    off = np.arange(n_ct + 1, dtype=np.int64) * g
    kw = dict(dt=0.5, beta=0.8, gamma=0.3, record_every=4)
    got = kernel.simulate(a, np.zeros(n, dtype), drive, half.astype(dtype), inputs, sched, proj, off, **kw)
    want = reference.simulate(
        a, np.zeros(n), drive.astype(float), half, inputs, sched.astype(float), proj.astype(float), off, **kw
    )
    assert got.shape == (3, n_steps // 4 + 1, n_ct)
    assert rel_err(got, want) < TOL[dtype] * 10
    if kernel.has_openmp():
        args = (a, np.zeros(n, dtype), drive, half.astype(dtype), inputs, sched, proj, off)
        assert np.array_equal(
            kernel.simulate(*args, **kw, n_threads=1), kernel.simulate(*args, **kw, n_threads=2)
        )


@pytest.mark.skipif(not kernel.has_openmp() or kernel.max_threads() < 2, reason="needs OpenMP and 2 threads")
def test_identical_for_one_and_two_threads():
    rng = np.random.default_rng(7)
    a = random_operator(rng, 3000, 0.003, np.float32)
    u = rng.normal(size=(3000, 37)).astype(np.float32)
    one = kernel.propagate(a, u, 0.8, 6, n_threads=1)
    two = kernel.propagate(a, u, 0.8, 6, n_threads=2)
    assert np.array_equal(one, two)
    s = rng.normal(size=3000).astype(np.float32)
    w = np.ones(3000, np.float32)
    off = np.array([0, 1000, 3000], dtype=np.int64)
    r1 = kernel.reversal_scores(one, s, w, off, n_threads=1)
    r2 = kernel.reversal_scores(one, s, w, off, n_threads=2)
    assert np.array_equal(r1[0], r2[0]) and np.array_equal(r1[1], r2[1])


def test_no_copy_of_output_and_dtype_preserved():
    a = kernel.as_operator(sp.eye_array(4), dtype=np.float64)
    u = np.ones((4, 2))
    x = kernel.propagate(a, u, 0.5, 3)
    assert x.dtype == np.float64 and np.allclose(x, 1 + 0.5 + 0.25 + 0.125)


class TestBoundary:
    """Shapes, dtypes and CSR indices are checked at the boundary; errors name the argument."""

    def setup_method(self):
        self.a = kernel.as_operator(sp.eye_array(4), dtype=np.float32)
        self.u = np.ones((4, 2), np.float32)

    def test_wrong_dtype_names_argument(self):
        with pytest.raises(TypeError, match="u must have dtype float32"):
            kernel.propagate(self.a, self.u.astype(np.float64), 0.5, 2)

    def test_wrong_shape(self):
        with pytest.raises(
            ValueError, match=r"operator has 4 rows but u \(n_nodes x n_perturbations\) has 3 rows"
        ):
            kernel.propagate(self.a, np.ones((3, 2), np.float32), 0.5, 2)

    def test_non_contiguous(self):
        with pytest.raises(ValueError, match="u must be C-contiguous"):
            kernel.propagate(self.a, np.ones((4, 4), np.float32)[:, ::2], 0.5, 2)

    def test_bad_indices(self):
        from p4core import _core

        a = self.a
        bad = a.indices.copy()
        bad[2] = 99
        with pytest.raises(IndexError, match=r"indices\[2\] = 99 is out of range"):
            _core.propagate(a.indptr, bad, a.data, self.u, 0.5, 2, 0)

    def test_bad_indptr(self):
        from p4core import _core

        a = self.a
        ptr = a.indptr.copy()
        ptr[1], ptr[2] = 2, 1
        with pytest.raises(IndexError, match="indptr must be non-decreasing"):
            _core.propagate(ptr, a.indices, a.data, self.u, 0.5, 2, 0)

    def test_int64_indices_rejected(self):
        from p4core import _core

        a = self.a
        with pytest.raises(TypeError, match="indices must have dtype int32"):
            _core.propagate(a.indptr, a.indices.astype(np.int64), a.data, self.u, 0.5, 2, 0)

    def test_negative_steps(self):
        with pytest.raises(ValueError, match="K"):
            kernel.propagate(self.a, self.u, 0.5, -1)

    def test_offsets_checked(self):
        with pytest.raises(ValueError, match="offsets"):
            kernel.reversal_scores(
                self.u, np.ones(4, np.float32), np.ones(4, np.float32), np.array([0, 3], dtype=np.int64)
            )


def test_openmp_threads_follow_omp_num_threads():
    """The kernel's default thread count is OpenMP's: OMP_NUM_THREADS when set (1 without OpenMP)."""
    import os
    import subprocess
    import sys

    code = "from p4core import kernel; print(kernel.has_openmp(), kernel.max_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="3")
    has, n = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    assert has == str(kernel.has_openmp()) and int(n) == (3 if has == "True" else 1)


# --- column-blocked kernel and the screen's inner products ---------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 300),
    b=st.integers(16, 70),
    density=st.floats(0.0, 0.1),
    steps=st.integers(0, 8),
    seed=st.integers(0, 2**31),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_blocked_propagate_matches_reference_and_row_kernel(n, b, density, steps, seed, dtype):
    """B >= 16 takes the column-blocked, reach-aware path: it agrees with scipy, and bit for bit
    with the row kernel (one column at a time) and with itself on 1 and 2 threads."""
    rng = np.random.default_rng(seed)
    a = random_operator(rng, n, density, dtype)
    u = np.where(rng.random((n, b)) < 0.05, rng.normal(size=(n, b)), 0).astype(dtype)
    x = kernel.propagate(a, u, 0.8, steps, n_threads=2)
    assert rel_err(x, reference.propagate(a, u, 0.8, steps)) < TOL[dtype]
    rows = np.concatenate(
        [kernel.propagate(a, np.ascontiguousarray(u[:, j : j + 1]), 0.8, steps) for j in range(b)], axis=1
    )
    assert np.array_equal(x, rows)
    assert np.array_equal(x, kernel.propagate(a, u, 0.8, steps, n_threads=1))


@pytest.mark.parametrize("steps", [1, 2, 8])
def test_blocked_propagate_of_a_dense_input(steps):
    """A block whose every row is non-zero skips the reach search (every row a seed): the same bits as
    the row kernel, with blocks that do search in the same call."""
    rng = np.random.default_rng(31)
    n = 500
    a = random_operator(rng, n, 0.01, np.float32)
    u = rng.normal(size=(n, 40)).astype(np.float32)
    u[:, 32:] = np.where(rng.random((n, 8)) < 0.02, u[:, 32:], 0)  # the last block is sparse
    x = kernel.propagate(a, u, 0.8, steps)
    assert rel_err(x, reference.propagate(a, u, 0.8, steps)) < TOL[np.float32]
    rows = np.concatenate(
        [kernel.propagate(a, np.ascontiguousarray(u[:, j : j + 1]), 0.8, steps) for j in range(40)], axis=1
    )
    assert np.array_equal(x, rows)


def _seed_columns(rng: np.random.Generator, n: int, n_cols: int):
    cols = [rng.choice(n, size=rng.integers(0, 4), replace=False) for _ in range(n_cols)]
    ptr = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int64)
    rows = np.concatenate(cols).astype(np.int32) if cols else np.zeros(0, np.int32)
    vals = rng.choice([-1.0, 0.5, 1.0], size=len(rows))
    u = np.zeros((n, n_cols))
    for j, c in enumerate(cols):
        u[c, j] = vals[ptr[j] : ptr[j + 1]]
    return ptr, rows, vals, u


def _assemble(tiles, g, n):
    bs = kernel.BLOCK
    nb = -(-n // bs)
    out = np.full((nb * bs, nb * bs), np.nan)
    for (p, q), t in zip(tiles, g, strict=True):
        out[p * bs : (p + 1) * bs, q * bs : (q + 1) * bs] = t
    return out[:n, :n]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("self_weight", [1.0, 0.0])
def test_screen_terms_match_materialised_responses(dtype, self_weight):
    rng = np.random.default_rng(3)
    n, n_cols = 400, 45
    a = random_operator(rng, n, 0.01, dtype)
    ptr, rows, vals, u = _seed_columns(rng, n, n_cols)
    w = rng.uniform(0.2, 1.5, n)
    s = rng.normal(size=n)
    off = np.array([0, 150, 260, n], dtype=np.int64)
    nb = -(-n_cols // kernel.BLOCK)
    tiles = np.array([(p, q) for p in range(nb) for q in range(nb)])
    probe_rows = np.unique(np.r_[rows, [0, n - 1]]).astype(np.int32)
    num, sq, wsum, g, probe = kernel.screen_terms(
        a, ptr, rows, vals, w, s, off, 0.8, 6, tiles, self_weight=self_weight, probe_rows=probe_rows
    )
    x = reference.propagate(a, u.astype(dtype), 0.8, 6).astype(float) - (1 - self_weight) * u
    assert probe.shape == (len(probe_rows), n_cols)
    assert rel_err(probe, x[probe_rows]) < 10 * TOL[dtype]  # the responses at the probe rows
    tol = 10 * TOL[dtype]
    ref_num = np.stack([(w * s)[off[c] : off[c + 1]] @ x[off[c] : off[c + 1]] for c in range(3)])
    ref_ws = np.stack([w[off[c] : off[c + 1]] @ x[off[c] : off[c + 1]] for c in range(3)])
    gram = (x * w[:, None]).T @ x
    assert rel_err(num, ref_num) < tol
    assert rel_err(wsum, ref_ws) < tol
    assert rel_err(sq, np.diag(gram)) < tol
    full = _assemble(tiles, g, n_cols)
    assert rel_err(full, gram) < tol
    assert np.array_equal(full, full.T)  # symmetric bit for bit
    assert np.array_equal(np.diag(full), sq)


def test_screen_terms_do_not_depend_on_threads_or_neighbours():
    """A column's products are the same bits whichever columns share its call (the dask engine and
    the pairs pass group columns differently) and for any thread count."""
    rng = np.random.default_rng(5)
    n, n_cols = 600, 50
    a = random_operator(rng, n, 0.008, np.float32)
    ptr, rows, vals, _ = _seed_columns(rng, n, n_cols)
    w, s = rng.uniform(0.5, 1.5, n), rng.normal(size=n)
    off = np.array([0, n], dtype=np.int64)
    nb = -(-n_cols // kernel.BLOCK)
    tiles = np.array([(p, q) for p in range(nb) for q in range(p, nb)])
    one = kernel.screen_terms(a, ptr, rows, vals, w, s, off, 0.8, 8, tiles, n_threads=1)
    two = kernel.screen_terms(a, ptr, rows, vals, w, s, off, 0.8, 8, tiles, n_threads=2)
    for x, y in zip(one, two, strict=True):
        assert np.array_equal(x, y)
    sub = np.arange(7, 30)  # a different grouping into blocks
    sub_ptr = np.concatenate([[0], np.cumsum(np.diff(ptr)[sub])]).astype(np.int64)
    sub_rows = np.concatenate([rows[ptr[j] : ptr[j + 1]] for j in sub])
    sub_vals = np.concatenate([vals[ptr[j] : ptr[j + 1]] for j in sub])
    snb = -(-len(sub) // kernel.BLOCK)
    stiles = np.array([(p, q) for p in range(snb) for q in range(snb)])
    num, sq, _, g, _ = kernel.screen_terms(a, sub_ptr, sub_rows, sub_vals, w, s, off, 0.8, 8, stiles)
    full = _assemble(tiles, one[3], n_cols)
    full = np.where(np.isnan(full), full.T, full)
    assert np.array_equal(num, one[0][:, sub])
    assert np.array_equal(sq, one[1][sub])
    assert np.array_equal(_assemble(stiles, g, len(sub)), full[np.ix_(sub, sub)])


@pytest.mark.skipif(not kernel.has_openmp() or kernel.max_threads() < 2, reason="needs OpenMP and 2 threads")
def test_team_and_single_thread_blocks_in_one_call():
    """On 2 threads a block whose working set is large (it reaches most of 30,000 rows: two of them pass
    8 MiB) is stepped by both threads (the rows split between them), a block that reaches few rows by
    one thread alone. One call with both kinds of block, interleaved, gives the same bits as 1 thread
    and as the row kernel, for the dense propagation and the screen's products."""
    rng = np.random.default_rng(23)
    n_big, n_small = 30_000, 300
    big = random_operator(rng, n_big, 6 / n_big, np.float32)  # a seed reaches most rows within 8 steps
    a = kernel.as_operator(sp.block_diag([big, sp.eye_array(n_small) * 0.5]), dtype=np.float32)
    n = n_big + n_small
    n_cols = 96  # six blocks: even blocks seeded in the connected part, odd blocks on isolated nodes
    seed = np.where(
        (np.arange(n_cols) // kernel.BLOCK) % 2 == 0,
        rng.integers(0, n_big, n_cols),
        n_big + rng.choice(n_small, n_cols, replace=False),
    )
    u = np.zeros((n, n_cols), np.float32)
    u[seed, np.arange(n_cols)] = 1.0
    two = kernel.propagate(a, u, 0.8, 8, n_threads=2)
    assert rel_err(two, reference.propagate(a, u, 0.8, 8)) < TOL[np.float32]
    assert np.array_equal(two, kernel.propagate(a, u, 0.8, 8, n_threads=1))
    assert np.array_equal(two[:, :1], kernel.propagate(a, np.ascontiguousarray(u[:, :1]), 0.8, 8))
    ptr = np.arange(n_cols + 1, dtype=np.int64)
    rows, vals = seed.astype(np.int32), np.ones(n_cols)
    w, s = rng.uniform(0.5, 1.5, n), rng.normal(size=n)
    off = np.array([0, n_big, n], dtype=np.int64)
    nb = n_cols // kernel.BLOCK
    tiles = np.array([(p, q) for p in range(nb) for q in range(p, nb)])
    args = (a, ptr, rows, vals, w, s, off, 0.8, 8, tiles)
    one_t = kernel.screen_terms(*args, probe_rows=np.unique(rows), n_threads=1)
    two_t = kernel.screen_terms(*args, probe_rows=np.unique(rows), n_threads=2)
    for x, y in zip(one_t, two_t, strict=True):
        assert np.array_equal(x, y)
    x = reference.propagate(a, u, 0.8, 8).astype(float)
    assert rel_err(two_t[1], ((x * x) * w[:, None]).sum(0)) < 10 * TOL[np.float32]


def test_screen_terms_do_not_depend_on_the_calls_before():
    """Each thread keeps its step buffers from one call to the next: a call gives the same bits after
    calls on other operators of the same size (one that reaches few rows, one that reaches most, a
    dense propagation) as in a fresh call, and matches the materialised responses whether a block's
    reach stays small or passes half the rows (where the search stops early)."""
    rng = np.random.default_rng(11)
    n, n_cols = 500, 40
    sparse = random_operator(rng, n, 0.0015, np.float32)  # blocks reach few rows
    dense = random_operator(rng, n, 0.02, np.float32)  # blocks reach most rows within two steps
    ptr, rows, vals, u = _seed_columns(rng, n, n_cols)
    w, s = rng.uniform(0.5, 1.5, n), rng.normal(size=n)
    off = np.array([0, n], dtype=np.int64)
    probe_rows = np.unique(rows).astype(np.int32)
    no_tiles = np.zeros((0, 2), dtype=np.int64)

    def call(a):
        return kernel.screen_terms(a, ptr, rows, vals, w, s, off, 0.8, 8, no_tiles, probe_rows=probe_rows)

    first = {"sparse": call(sparse), "dense": call(dense)}
    kernel.propagate(dense, rng.normal(size=(n, 48)).astype(np.float32), 0.8, 8)
    for name, a in [("dense", dense), ("sparse", sparse), ("dense", dense)]:
        for x, y in zip(call(a), first[name], strict=True):
            assert np.array_equal(x, y)
    for name, a in [("sparse", sparse), ("dense", dense)]:
        x = reference.propagate(a, u.astype(np.float32), 0.8, 8).astype(float)
        assert rel_err(first[name][1], np.einsum("ij,ij,i->j", x, x, w)) < 10 * TOL[np.float32]
        assert rel_err(first[name][4], x[probe_rows]) < 10 * TOL[np.float32]


def test_kept_out_edges_follow_the_operator_structure():
    """A thread keeps the out-edges it built for the reach and reuses them when the next operator has the
    very same structure (a patient's twins): an operator with the same size, the same row lengths and other
    columns must get its own, on every call in any order."""
    rng = np.random.default_rng(5)
    n = 400
    a = random_operator(rng, n, 0.004, np.float32)
    perm = rng.permutation(n).astype(np.int32)
    b = sp.csr_array((a.data.copy(), perm[a.indices], a.indptr.copy()), shape=a.shape)
    b = kernel.as_operator(b)
    assert b.nnz == a.nnz and not np.array_equal(np.sort(b.indices), np.sort(a.indices))
    u = np.zeros((n, 32), dtype=np.float32)
    u[rng.choice(n, 32, replace=False), np.arange(32)] = 1.0  # unit seeds: the reach is searched
    want = {"a": reference.propagate(a, u, 0.8, 8), "b": reference.propagate(b, u, 0.8, 8)}
    first = {}
    for name, op in [("a", a), ("b", b), ("a", a), ("b", b), ("b", b)]:
        x = kernel.propagate(op, u, 0.8, 8, n_threads=1)
        assert rel_err(x, want[name]) < TOL[np.float32], name
        first.setdefault(name, x)
        assert np.array_equal(x, first[name])


def test_kernel_accepts_unpickled_arrays():
    """An unpickled array carries its own dtype instance (joblib, Dask workers): still float32."""
    import pickle

    rng = np.random.default_rng(0)
    a = pickle.loads(pickle.dumps(random_operator(rng, 50, 0.1, np.float32)))
    u = pickle.loads(pickle.dumps(np.eye(50, 3, dtype=np.float32)))
    got = kernel.propagate(a, u, 0.5, 3)
    fresh = kernel.propagate(
        random_operator(np.random.default_rng(0), 50, 0.1, np.float32),
        np.eye(50, 3, dtype=np.float32),
        0.5,
        3,
    )
    assert got.dtype == np.float32 and np.array_equal(got, fresh)  # the same numbers as the original arrays


def test_screen_terms_bad_input_names_the_argument():
    rng = np.random.default_rng(0)
    a = random_operator(rng, 20, 0.1, np.float32)
    w = s = np.ones(20)
    off = np.array([0, 20])
    with pytest.raises(ValueError, match="seed_row"):
        kernel.screen_terms(
            a, np.array([0, 1]), np.array([25]), np.ones(1), w, s, off, 0.5, 2, np.zeros((0, 2))
        )
    with pytest.raises(ValueError, match="tiles"):
        kernel.screen_terms(
            a, np.array([0, 1]), np.array([2]), np.ones(1), w, s, off, 0.5, 2, np.array([[0, 3]])
        )
    with pytest.raises(ValueError, match="probe_rows"):
        kernel.screen_terms(
            a,
            np.array([0, 1]),
            np.array([2]),
            np.ones(1),
            w,
            s,
            off,
            0.5,
            2,
            np.zeros((0, 2)),
            probe_rows=np.array([21]),
        )


def test_simulate_twins_in_parallel_equal_one_by_one():
    """OpenMP over twins: every twin's course is the same bits as simulated alone, for any thread count."""
    rng = np.random.default_rng(2)
    n_half = 2 * 40 + 1
    ds = np.linspace(0, 1, n_half).astype(np.float32)
    es = np.vstack([np.zeros(n_half), (np.arange(n_half) > 30).astype(float)]).astype(np.float32)
    twins = []
    for t in range(5):
        n = 30 + 10 * t
        a = random_operator(rng, n, 0.1, np.float32)
        off = np.array([0, n // 2, n], dtype=np.int64)
        twins.append(
            (
                a.indptr,
                a.indices,
                a.data,
                np.zeros(n, np.float32),
                rng.normal(0, 0.5, n).astype(np.float32),
                rng.normal(0, 1, (2, n)).astype(np.float32),
                rng.normal(0, 1, n).astype(np.float32),
                off,
            )
        )
    kw = dict(dt=0.5, beta=0.8, gamma=0.3, record_every=2)
    alone = [kernel.simulate_twins([tw], ds, es, n_threads=1, **kw)[0] for tw in twins]
    for threads in (1, 2):
        together = kernel.simulate_twins(twins, ds, es, n_threads=threads, **kw)
        assert all(np.array_equal(x, y) for x, y in zip(alone, together, strict=True))
