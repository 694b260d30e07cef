"""The adaptive disease-course kernel against an independent fine-step reference, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.integrate import solve_ivp

from p4core import kernel

BETA, GAMMA = 0.8, 0.2
ONSET, PROGRESSION = 60.0, 0.3


def operator(rng: np.random.Generator, n: int, dtype) -> sp.csr_array:
    a = sp.random_array((n, n), density=0.15, rng=rng, format="csr", dtype=np.float64)
    a.data = rng.uniform(-1, 1, a.nnz)
    a = a / max(1.0, float(np.abs(a).sum(axis=1).max()))
    return kernel.as_operator(a, dtype=dtype)


def twin(rng: np.random.Generator, n: int, n_scen: int, dtype) -> tuple:
    a = operator(rng, n, dtype)
    inputs = rng.normal(0, 1, (n_scen, n)).astype(dtype)
    inputs[0] = 0  # the untreated course
    off = np.array([0, n // 3, n], dtype=np.int64)
    return (
        a.indptr,
        a.indices,
        a.data,
        np.zeros(n, dtype),
        rng.normal(0, 0.6, n).astype(dtype),
        inputs,
        rng.normal(0, 1, n).astype(dtype),
        off,
    )


def drive_schedule(t: float) -> float:
    if t <= 0:
        z = min(1.0, max(0.0, (t + ONSET) / ONSET))
        return z * z * (3 - 2 * z)
    return 1.0 + PROGRESSION * t / 365.0


def exposure(t: float, start: float, stop: float, lam: float, tau: float) -> float:
    """Constant exposure, or a dose of lam*tau every tau days from `start` decaying at rate lam, summed
    dose by dose (steady-state mean 1)."""
    if not np.isfinite(start) or t <= start:
        return 0.0
    if lam == 0:
        return 1.0 if t <= stop else 0.0
    doses = np.arange(start, min(t, stop) + 1e-12, tau)
    doses = doses[doses < stop]
    return float(np.sum(lam * tau * np.exp(-lam * (t - doses))))


def reference_course(
    tw: tuple, sch: kernel.CourseSchedules, breaks: list[float], t0, t1, every
) -> np.ndarray:
    """Each scenario integrated on its own with an 8th-order Runge-Kutta method at rtol 1e-11,
    restarted at every breakpoint; activity = projection of x on each cell type's block."""
    indptr, indices, data, x0, drive, inputs, proj, off = tw
    a = sp.csr_array((data.astype(float), indices, indptr), shape=(len(x0), len(x0)))
    drive, inputs, proj = drive.astype(float), inputs.astype(float), proj.astype(float)
    times = t0 + every * np.arange(int(np.floor((t1 - t0) / every + 1e-9)) + 1)
    edges = [t0, *[b for b in breaks if t0 < b < t1], t1]
    out = np.zeros((len(inputs), len(times), len(off) - 1))
    for s in range(len(inputs)):
        args = (sch.start[s], sch.stop[s], sch.lam[s], sch.tau[s])

        def f(t, x, s=s, args=args):
            e = exposure(t, *args)
            return GAMMA * (np.tanh(BETA * (a @ x) + drive_schedule(t) * drive + e * inputs[s]) - x)

        x = x0.astype(float)
        states = np.zeros((len(times), len(x)))
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            # evaluate the exposure strictly inside each piece (the schedule jumps at its edges)
            mid = (lo + hi) / 2

            def g(t, x, lo=lo, hi=hi, mid=mid):
                return f(min(max(t, lo + 1e-9), hi - 1e-9) if hi - lo > 2e-9 else mid, x)

            sel = (times >= lo) & (times <= hi)
            sol = solve_ivp(g, (lo, hi), x, method="DOP853", rtol=1e-11, atol=1e-12, dense_output=True)
            states[sel] = sol.sol(times[sel]).T
            x = sol.y[:, -1]
        for c in range(len(off) - 1):
            p = proj[off[c] : off[c + 1]]
            out[s, :, c] = states[:, off[c] : off[c + 1]] @ p / (p @ p)
    return out


def schedules() -> tuple[kernel.CourseSchedules, list[float]]:
    start = (-np.inf, 10.0, 25.0, 10.0)
    stop = (np.inf, np.inf, 70.0, np.inf)
    lam = (0.0, 0.0, 0.0, np.log(2) / 4)
    tau = (1.0, 1.0, 1.0, 7.0)
    sch = kernel.CourseSchedules(
        onset=ONSET, progression=PROGRESSION, start=start, stop=stop, lam=lam, tau=tau
    )
    breaks = sorted({0.0, 10.0, 25.0, 70.0, *np.arange(10.0, 90.0, 7.0)})
    return sch, breaks


def run(twins, tol, n_threads=None):
    sch, breaks = schedules()
    return kernel.course_twins(
        twins,
        sch,
        t0=-ONSET,
        t1=90.0,
        record_every=1.0,
        tol=tol,
        beta=BETA,
        gamma=GAMMA,
        breakpoints=breaks,
        max_step=30.0,
        n_threads=n_threads,
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_course_matches_fine_reference_within_tolerance(dtype):
    rng = np.random.default_rng(4)
    tw = twin(rng, 45, 4, dtype)
    sch, breaks = schedules()
    want = reference_course(tw, sch, breaks, -ONSET, 90.0, 1.0)
    errs = {}
    for tol in (1e-2, 1e-4, 1e-6):
        got, stats = run([tw], tol)
        errs[tol] = float(np.abs(got[0] - want).max())
        assert stats[0][0] > 0 and stats[0][2] >= 3 * stats[0][0]
    scale = float(np.abs(want).max())
    assert scale > 0.05  # the course moves
    assert errs[1e-4] < 1e-3 * scale  # the shipped tolerance
    floor = 1e-5 if dtype == np.float32 else 0.0  # float32 state and the float tanh (error < 8e-7)
    assert errs[1e-6] < errs[1e-4] < errs[1e-2] and errs[1e-6] < 2e-5 + floor
    # the step follows the tolerance: a looser one takes fewer steps
    assert run([tw], 1e-2)[1][0][0] < run([tw], 1e-6)[1][0][0]


def test_scenarios_branch_from_the_untreated_course():
    """Every scenario is the untreated course until its own start; scenario 1 and 3 start together
    but differ afterwards (constant exposure vs doses)."""
    rng = np.random.default_rng(1)
    got = run([twin(rng, 40, 4, np.float64)], 1e-6)[0][0]
    t = -ONSET + np.arange(got.shape[1])
    before = t <= 10.0
    assert np.array_equal(got[1, before], got[0, before]) and np.array_equal(got[3, before], got[0, before])
    assert np.array_equal(got[2, t <= 25.0], got[0, t <= 25.0])
    assert np.abs(got[1, t > 20] - got[0, t > 20]).max() > 1e-3
    assert np.abs(got[1, t > 20] - got[3, t > 20]).max() > 1e-4


def test_course_same_bits_for_any_thread_count_and_alone_or_together():
    rng = np.random.default_rng(2)
    twins = [twin(rng, 30 + 15 * k, 4, np.float32) for k in range(5)]
    alone = [run([tw], 1e-4, n_threads=1)[0][0] for tw in twins]
    for threads in (1, 2):
        together = run(twins, 1e-4, n_threads=threads)[0]
        assert all(np.array_equal(x, y) for x, y in zip(alone, together, strict=True))


def test_course_float_tanh_is_accurate():
    """The float32 twins' tanh (see course.hpp) is within 8e-7 of numpy's, here through a course
    with no network: x' = gamma (tanh(d r(t)) - x) with a drive spanning the whole range."""
    n = 200
    d = np.linspace(-9, 9, n)
    empty = sp.csr_array((n, n), dtype=np.float64)
    outs = {}
    for dtype in (np.float32, np.float64):
        a = kernel.as_operator(empty, dtype=dtype)
        ones, own = np.ones(n, dtype), np.arange(n + 1, dtype=np.int64)  # every node its own cell type
        tw = (
            a.indptr,
            a.indices,
            a.data,
            np.zeros(n, dtype),
            d.astype(dtype),
            np.zeros((4, n), dtype),
            ones,
            own,
        )
        outs[dtype] = run([tw], 1e-6)[0][0]
    assert np.abs(outs[np.float32] - outs[np.float64]).max() < 1e-4


def test_course_rejects_bad_input():
    rng = np.random.default_rng(0)
    tw = list(twin(rng, 20, 4, np.float64))
    tw[5] = tw[5][:2]  # fewer scenarios than schedules
    with pytest.raises(ValueError, match="scenario|inputs"):
        run([tuple(tw)], 1e-4)
    with pytest.raises(ValueError, match="tol"):
        run([twin(rng, 20, 4, np.float64)], 0.0)


def test_padding_the_scenario_block_to_a_whole_panel_changes_no_bit():
    """kernel.course_twins pads the scenarios to a whole panel of the sparse product with copies of the last
    one: the result equals the compiled core's on the block as given, bit for bit (3 scenarios: padded to 4)."""
    from p4core import _core

    rng = np.random.default_rng(6)
    tw = twin(rng, 50, 3, np.float32)
    sch, breaks = schedules()
    three = kernel.CourseSchedules(
        onset=sch.onset,
        progression=sch.progression,
        start=sch.start[:3],
        stop=sch.stop[:3],
        lam=sch.lam[:3],
        tau=sch.tau[:3],
    )
    tw3 = (*tw[:5], np.ascontiguousarray(tw[5][:3]), *tw[6:])
    args = dict(t0=-ONSET, t1=90.0, record_every=1.0, tol=1e-4, beta=BETA, gamma=GAMMA, breakpoints=breaks)
    got, stats = kernel.course_twins([tw3], three, max_step=30.0, **args)
    raw, raw_stats = _core.course_twins(
        [tw3],
        ONSET,
        PROGRESSION,
        list(three.start),
        list(three.stop),
        list(three.lam),
        list(three.tau),
        -ONSET,
        90.0,
        1.0,
        1e-4,
        30.0,
        0.5,
        BETA,
        GAMMA,
        list(breaks),
        0,
    )
    assert got[0].shape == raw[0].shape == (3, got[0].shape[1], got[0].shape[2])
    assert np.array_equal(got[0], raw[0]) and tuple(stats[0]) == tuple(raw_stats[0])
