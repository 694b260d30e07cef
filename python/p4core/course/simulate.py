"""Disease course of every twin, untreated and under the best treatments (docs/design.md, "The model", Course).

Per twin, the state x (deviation of every node from the reference, in (-1, 1)) follows

    dx/dt = gamma (tanh(beta A x + r(t) d + e(t) u) - x)

The disease drive ``d`` is calibrated so that the untreated steady state is the observed
disease state ``x* = state_scale * s / max|s|``: ``d = atanh(x*) - beta A x*``. ``r(t)`` ramps
from 0 at disease onset to 1 at sampling (day 0), then grows by ``progression`` per year;
treatment enters as the drug's perturbation ``u`` with exposure ``e(t)`` (on from
``treatment_day``). Disease activity of a cell type is the projection of x on its block of x*
(1 = the observed disease state, 0 = the reference); the burden is the weighted projection over
all cell types.

The kernel integrates every scenario of a twin together (one column each of one sparse x dense
block; all the untreated course until the first treatment starts), with the step chosen by error
control (Bogacki-Shampine 3(2), ``simulate.tolerance``) and never across a schedule's jump, twins in
parallel. Renderers can ask for the courses of more drugs (``extra_drugs``): they join the same batch.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core import kernel
from p4core.clinical.codes import atc_index, treatment_label
from p4core.course.params import SimulateParams, parse_treatment
from p4core.errors import InputError
from p4core.model import DrugLibrary, ScreenResult, Trajectories, TwinEnsemble
from p4core.progress import progress
from p4core.screen import distinct_top, drug_matrix, unit_perturbations

log = logging.getLogger("p4core")


def check_treatments(p: SimulateParams, drugs: DrugLibrary) -> None:
    """Every drug named in ``simulate.treatments`` is in the library (checked before any work)."""
    import difflib

    names = set(drugs.drugs)
    for spec in p.treatments:
        ds, _, _ = parse_treatment(spec, p.treatment_day)
        for d in ds:
            if d not in names:
                close = difflib.get_close_matches(d, sorted(names), n=3)
                hint = (
                    f"; did you mean {', '.join(close)}?"
                    if close
                    else "; drugs.csv of a run lists every name"
                )
                raise InputError(f"simulate.treatments: {d!r} is not in the drug library{hint}")


def exposure(half: np.ndarray, start: float, p: SimulateParams, stop: float | None = None) -> np.ndarray:
    """e(t): 0 before ``start``; then 1 (constant exposure) or, with a half-life, a one-compartment
    train of doses every ``dose_interval_days`` scaled so that the steady-state mean is 1. After
    ``stop`` no dose is given: constant exposure ends, a dose train decays with the half-life."""
    on = half > start
    if p.half_life_days is None:
        return (on & (half <= stop if stop is not None else True)).astype(float)
    lam = np.log(2) / p.half_life_days
    tau = p.dose_interval_days
    since = np.where(on, half - start, 0.0)
    n_doses = np.floor(since / tau) + 1  # doses given so far (at start, start + tau, ...)
    if stop is not None:  # doses only before the stop day
        n_doses = np.minimum(n_doses, np.ceil((stop - start) / tau))
    last = since - (n_doses - 1) * tau  # time since the last dose
    # sum_{k < n} exp(-lam (last + k tau)) = exp(-lam last) (1 - r^n) / (1 - r), r = exp(-lam tau)
    r = np.exp(-lam * tau)
    conc = np.exp(-lam * last) * (1 - r**n_doses) / (1 - r)
    return np.where(on, conc * lam * tau, 0.0)


def record_times(p: SimulateParams) -> np.ndarray:
    """The recorded course's times: every ``record_days`` from ``-onset_days`` to ``horizon_days``."""
    n = int(np.floor((p.horizon_days + p.onset_days) / p.record_days + 1e-9))
    return -p.onset_days + np.arange(n + 1) * p.record_days


def drive_schedule(half: np.ndarray, p: SimulateParams) -> np.ndarray:
    """r(t): smooth onset from -onset_days to 0, then linear progression per year (as the kernel's)."""
    z = np.clip((half + p.onset_days) / max(p.onset_days, 1e-9), 0, 1)
    ramp = z * z * (3 - 2 * z)
    return np.where(half <= 0, ramp, 1.0 + p.progression * half / 365.0)


def schedules(
    plan: list[tuple[str, list[str], float, float | None]], p: SimulateParams
) -> tuple[kernel.CourseSchedules, list[float]]:
    """The kernel's closed-form schedules of the untreated course and of every planned scenario, and
    the breakpoints the step must not cross (t = 0, every start and stop, every dose)."""
    lam = np.log(2) / p.half_life_days if p.half_life_days is not None else 0.0
    start, stop, lams, taus = [-np.inf], [np.inf], [0.0], [1.0]
    breaks = {0.0}
    for _, _, day, end in plan:
        start.append(float(day))
        stop.append(float(end) if end is not None else np.inf)
        lams.append(float(lam))
        taus.append(float(p.dose_interval_days))
        breaks.add(float(day))
        if end is not None:
            breaks.add(float(end))
        if lam:
            last = min(p.horizon_days, end if end is not None else p.horizon_days)
            breaks.update(float(t) for t in np.arange(day, last, p.dose_interval_days))
    sch = kernel.CourseSchedules(
        onset=p.onset_days,
        progression=p.progression,
        start=tuple(start),
        stop=tuple(stop),
        lam=tuple(lams),
        tau=tuple(taus),
    )
    return sch, sorted(b for b in breaks if -p.onset_days < b < p.horizon_days)


def relevant_nodes(a: sp.csr_array, support: np.ndarray) -> np.ndarray:
    """Nodes from which some node of ``support`` can be reached along the operator's edges
    (``a[t, s]``: s -> t), support included. The others never influence the support, so leaving
    them out of the simulation changes no recorded activity (most are latent leaves)."""
    keep = support.copy()
    frontier = keep.copy()
    while frontier.any():
        # the sources s of edges into the frontier: a[frontier, s] != 0
        reached = np.asarray(abs(a[np.flatnonzero(frontier)]).sum(axis=0)).ravel() > 0
        frontier = reached & ~keep
        keep |= frontier
    return keep


def course_synergy(final: np.ndarray, scenarios: list[str], pair: str, drugs: list[str]) -> dict[str, Any]:
    """Synergy of a pair on the nonlinear course, per twin, from the burden at the horizon (``final``: twins x
    scenarios): each scenario's effect is its fractional reduction of the untreated burden, ``f = (B0 - B) /
    B0``; against the **highest single agent**, ``f_ab - max(f_a, f_b)``; against **Bliss independence**,
    ``f_ab - (f_a + f_b - f_a f_b)``. Each with its mean, 95% interval over twins and the share of twins above
    0. Only what exceeds these references is synergy; in the linear score a pair's gain over its better drug
    is additivity."""
    at = {name: i for i, name in enumerate(scenarios)}
    b0 = final[:, at["untreated"]]
    safe = np.where(np.abs(b0) > 1e-12, b0, np.nan)
    f = {name: (b0 - final[:, at[name]]) / safe for name in [pair, *drugs]}
    fa, fb, fab = f[drugs[0]], f[drugs[1]], f[pair]
    refs = {"highest_single_agent": fab - np.maximum(fa, fb), "bliss": fab - (fa + fb - fa * fb)}

    def summary(x: np.ndarray) -> dict[str, float]:
        x = x[np.isfinite(x)]
        if not len(x):
            return {
                "mean": float("nan"),
                "ci_low": float("nan"),
                "ci_high": float("nan"),
                "p_positive": float("nan"),
            }
        return {
            "mean": float(x.mean()),
            "ci_low": float(np.quantile(x, 0.025)),
            "ci_high": float(np.quantile(x, 0.975)),
            "p_positive": float((x > 0).mean()),
        }

    return {
        "pair": pair,
        "drugs": list(drugs),
        "effect": {name: summary(v) for name, v in f.items()},
        **{k: summary(v) for k, v in refs.items()},
        "reading": "effects are fractional reductions of the untreated burden at the horizon; synergy is the pair's "
        "effect beyond the highest single agent and beyond Bliss independence",
    }


def simulate(
    ensemble: TwinEnsemble,
    result: ScreenResult,
    drugs: DrugLibrary,
    params: SimulateParams | None = None,
    treatments: list[str] | None = None,
    context_events: list[dict] | None = None,
    extra_drugs: list[str] | None = None,
) -> Trajectories:
    """Simulate every twin untreated and under each treatment: the top ``n_drugs`` distinct drugs
    (or ``treatments``), the best pair (``params.pair``) and ``params.treatments`` (``drug@day``).
    ``context_events`` (the patient context's events) join the course's events. ``extra_drugs``
    (single drugs from ``treatment_day``, for renderers: the report's courses) are integrated in the
    same batch and returned apart, in ``Trajectories.extra``.

    Returns
    -------
    :class:`~p4core.model.Trajectories` with a tidy table (scenario, time, celltype, mean,
    lower, upper) where celltype ``burden`` is the weighted total.
    """
    p = params or SimulateParams()
    target_genes, m, names = drug_matrix(ensemble, drugs)
    col = {d: i for i, d in enumerate(names)}
    plan: list[tuple[str, list[str], float, float | None]] = []  # (scenario, drugs, start, stop)
    tops = list(treatments) if treatments is not None else distinct_top(result.table, drugs, p.n_drugs)
    plan += [(d, [d], p.treatment_day, None) for d in tops]
    if treatments is None and p.pair and result.pairs is not None and len(result.pairs):
        best = result.pairs.iloc[0]
        plan.append(
            (f"{best['drug_a']} + {best['drug_b']}", [best["drug_a"], best["drug_b"]], p.treatment_day, None)
        )
    for spec in p.treatments:
        ds, day, stop = parse_treatment(spec, p.treatment_day)
        label = " + ".join(ds) + ("" if day == p.treatment_day else f" from day {day:g}")
        plan.append((label + ("" if stop is None else f" to day {stop:g}"), ds, day, stop))
    unknown = sorted({d for _, ds, _, _ in plan for d in ds} - set(col))
    if unknown:
        raise InputError(
            f"simulate.treatments: {unknown} not in the drug library (or without a target in the model)"
        )
    plan = list({entry[0]: entry for entry in plan}.values())
    n_run = len(plan)
    pair = next(
        (entry for entry in plan if len(entry[1]) == 2 and entry[2] == p.treatment_day and entry[3] is None),
        None,
    )
    singles = list(pair[1]) if pair is not None else []  # the pair's drugs alone: its synergy's references
    extra = [
        d
        for d in dict.fromkeys([*(extra_drugs or []), *singles])
        if d in col and d not in {e[0] for e in plan}
    ]
    plan += [(d, [d], p.treatment_day, None) for d in extra]
    scenarios = ["untreated", *[entry[0] for entry in plan]]
    times = record_times(p)
    sch, breaks = schedules(plan, p)
    n_c = len(ensemble.celltypes)
    offsets = ensemble.offsets
    cw = ensemble.celltype_weights.astype(float)
    jobs, weights = [], []
    for rep in progress(ensemble.replicates, "preparing courses"):
        dtype = rep.operator.dtype
        s = rep.signature.astype(float)
        x_star = p.state_scale * s / max(np.abs(s).max(), 1e-12)
        ax = rep.operator.astype(float) @ x_star
        drive = np.arctanh(x_star) - p.beta * ax
        keep = relevant_nodes(rep.operator, x_star != 0)
        used: np.ndarray = (
            np.flatnonzero((m[:, [col[d] for _, ds, _, _ in plan for d in ds]] != 0).any(1))
            if plan
            else np.zeros(0, dtype=np.int64)
        )
        u_unit = unit_perturbations(ensemble, rep.active, target_genes[used], np.dtype(np.float64))
        inputs = np.zeros((len(scenarios), int(keep.sum())))
        for k, (_, ds, _, _) in enumerate(plan, start=1):
            cols = np.array([col[d] for d in ds], dtype=np.int64)
            inputs[k] = p.drug_gain * (u_unit @ m[np.ix_(used, cols)].sum(1))[keep]
        sub_a = kernel.as_operator(rep.operator[keep][:, keep], dtype=dtype)
        sub_off = np.concatenate(
            [[0], np.cumsum([keep[offsets[c] : offsets[c + 1]].sum() for c in range(n_c)])]
        )
        jobs.append(
            (
                sub_a.indptr,
                sub_a.indices,
                sub_a.data,
                np.zeros(int(keep.sum()), dtype),
                drive[keep].astype(dtype),
                np.ascontiguousarray(inputs, dtype=dtype),
                x_star[keep].astype(dtype),
                sub_off.astype(np.int64),
            )
        )
        weights.append(np.array([(x_star[offsets[c] : offsets[c + 1]] ** 2).sum() for c in range(n_c)]) * cw)
    acts, stats = kernel.course_twins(
        jobs,
        sch,
        t0=-p.onset_days,
        t1=p.horizon_days,
        record_every=p.record_days,
        tol=p.tolerance,
        beta=p.beta,
        gamma=p.gamma,
        breakpoints=breaks,
        max_step=p.max_step_days,
    )
    st = np.array(stats, dtype=float)
    log.info(
        "courses: %d twins x %d scenarios (%d for renderers), %.0f steps per twin (%.0f rejected, %.0f "
        "right-hand sides), tolerance %g",
        len(jobs),
        len(scenarios),
        len(extra),
        st[:, 0].mean(),
        st[:, 1].mean(),
        st[:, 2].mean(),
        p.tolerance,
    )
    burdens = [(act * pp).sum(-1) / max(pp.sum(), 1e-12) for act, pp in zip(acts, weights, strict=True)]
    act = np.stack(acts)  # twins x scenarios x times x celltypes
    burden = np.stack(burdens)[..., None]  # twins x scenarios x times x 1
    full = np.concatenate([act, burden], axis=-1)
    labels = [*ensemble.celltypes, "burden"]
    mean, lo, hi = full.mean(0), np.quantile(full, 0.025, axis=0), np.quantile(full, 0.975, axis=0)
    sc, ti, ci = np.meshgrid(
        np.arange(len(scenarios)), np.arange(len(times)), np.arange(len(labels)), indexing="ij"
    )
    long = pd.DataFrame(
        {
            "scenario": np.array(scenarios)[sc.ravel()],
            "time": times[ti.ravel()],
            "celltype": np.array(labels)[ci.ravel()],
            "mean": mean.ravel(),
            "lower": lo.ravel(),
            "upper": hi.ravel(),
        }
    )
    synergy = (
        course_synergy(np.stack(burdens)[:, :, -1], scenarios, pair[0], singles) if pair is not None else None
    )
    is_extra = long["scenario"].isin(extra).to_numpy()
    table = long[~is_extra].reset_index(drop=True)
    extra_table = long[is_extra].reset_index(drop=True) if extra else None
    scenarios, plan = scenarios[: n_run + 1], plan[:n_run]
    mean = mean[: n_run + 1]
    events = [(-p.onset_days, "onset", "disease onset (model)"), (0.0, "sampling", "sampling: scRNA-seq")]
    events += [(day, "treatment_start", f"start {name}") for name, _, day, _ in plan]
    events += [(stop, "treatment_stop", f"stop {name}") for name, _, _, stop in plan if stop is not None]
    drug_atc: dict[str, str] | None = None  # the library's ATC codes, read at the first treatment event
    for e in context_events or []:  # the patient's own events (record, registers, imaging)
        try:
            when, kind, label = float(e["time"]), str(e["kind"]), str(e["label"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"patient context event {e!r}: needs time (days), kind and label") from None
        if kind in {"treatment_start", "treatment_stop"}:  # the record's treatments by name, the code beside
            if drug_atc is None:
                info = drugs.info()
                drug_atc = atc_index(info["atc"]) if "atc" in info.columns else {}
            label = treatment_label(label, drug_atc)
        events.append((when, kind, label))
    if p.threshold is not None:
        b = mean[..., -1]  # scenarios x times: mean burden
        starts = [-np.inf, *[entry[2] for entry in plan]]
        for k, scen in enumerate(scenarios):
            above = b[k] >= p.threshold
            for i in np.flatnonzero(above[1:] != above[:-1]) + 1:
                if times[i] <= starts[k]:  # before its start a treated course is the untreated one
                    continue
                word = "rises above" if above[i] else "falls below"
                events.append((float(times[i]), "threshold", f"{scen}: burden {word} {p.threshold:g}"))
    ev = pd.DataFrame(events, columns=["time", "kind", "label"]).sort_values("time", kind="mergesort")
    ev = ev.reset_index(drop=True)
    return Trajectories(
        table=table,
        events=ev,
        scenarios=scenarios,
        celltypes=list(ensemble.celltypes),
        params={
            **vars(p),
            "steps_per_twin": float(st[:, 0].mean()),
            "rejected_per_twin": float(st[:, 1].mean()),
            "synergy": synergy,
            # each cell type's share of the burden (its weight in the projection, mean over twins)
            "burden_share": dict(
                zip(
                    ensemble.celltypes,
                    np.mean([pp / max(pp.sum(), 1e-12) for pp in weights], axis=0).tolist(),
                    strict=True,
                )
            ),
        },
        extra=extra_table,
        extra_scenarios=list(extra),
    )
