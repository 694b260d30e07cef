"""The Kang 2018 run with its report, stage by stage, against references measured in the same run.

    python benchmarks/bench_end_to_end.py [--twins 20] [--sample 12] [--fine-dt 0.1] [--previous PYTHON]
    python benchmarks/bench_end_to_end.py --table demo kang [--runs 2]   # the README's cost table

With ``--table``, only runs the cases as a user does (every renderer) and prints each stage of
``summary.json`` (min–max over the runs), the wall time and the peak resident memory: the README's table.

1. Runs the README's Kang command (``knowledge=public``, every renderer, the report included) as a
   user would, in a child process: wall time, peak memory and ``summary.json``'s ``timings_s``.
2. Rebuilds the same twins in this process (same seed) and measures, stage by stage:

   * **course** (the run's scenarios and the report's extra drugs): p4core's one adaptive batch
     (``kernel.course_twins``) against the previous release's implementation, fixed-step RK4 with
     ``dt = 1`` day (``kernel.simulate_twins``, kept as the reference) run twice as it was: once for the
     run's scenarios, once more for the report's drugs (with the untreated course). Both are checked
     against a fine RK4 reference (``--fine-dt``) on the first twin.
   * **null draws**: p4core's compiled scoring of random target sets (``kernel.null_views``) against the
     previous release's vectorised numpy/scipy scoring of the same draws (``screen.view_parts``), on
     the run's null pool in one twin; same numbers checked.
   * **screen, null, regulators**: against the plain scipy implementation of each (per drug, per random
     target set, per candidate regulator: build the perturbation, K sparse products, score). Timed on
     ``--sample`` drugs x 2 twins and multiplied out to the run's counts (running it in full takes hours).

3. With ``--previous PYTHON`` (an interpreter with an older p4core installed) also runs the same command
   with it: the end-to-end ratio in the same run.

Prints a table and writes benchmarks/results/end_to_end.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))

from bench_screen import kang_overrides, plain_screen  # noqa: E402  (same folder)


def cli_run(python: str, overrides: list[str], outdir: Path) -> dict:
    """One ``python -m p4core`` run: wall seconds, peak RSS (MB) of the child, its timings_s."""
    cmd = [python, "-m", "p4core", *overrides, f"hydra.run.dir={outdir}"]
    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            log.seek(0)
            raise SystemExit(f"run failed: {' '.join(cmd)}\n{log.read()[-3000:]}")
    summary = json.loads((outdir / "summary.json").read_text())
    return {"wall_s": wall, "peak_mb": usage.ru_maxrss / 1024, "timings_s": summary.get("timings_s", {})}


def plan_of_run(outdir: Path) -> tuple[list[str], list[str], list[str]]:
    """The run's single-drug scenarios, its pair specs and the report's extra drugs."""
    traj = pd.read_csv(outdir / "trajectories.csv", usecols=["scenario"])
    scen = [s for s in dict.fromkeys(traj["scenario"]) if s != "untreated"]
    singles = [s for s in scen if " + " not in s]
    pairs = [s.replace(" + ", "+") for s in scen if " + " in s]
    extra_file = outdir / "report_courses.csv"
    extra = (
        list(dict.fromkeys(pd.read_csv(extra_file, usecols=["scenario"])["scenario"]))
        if extra_file.is_file()
        else []
    )
    return singles, pairs, extra


def course_stage(ens, knowledge, cfg, outdir: Path, fine_dt: float) -> dict:
    """The run's courses: one adaptive batch vs the previous release's two fixed-step passes."""
    import dataclasses
    import importlib

    from p4core import kernel
    from p4core.pipeline import check_config

    sim = importlib.import_module("p4core.course.simulate")
    p = check_config(cfg)["simulate"]
    singles, pairs, extra = plan_of_run(outdir)
    p = dataclasses.replace(p, treatments=pairs)
    captured = {}

    def capture(jobs, sch, **kw):
        captured.update(jobs=jobs, sch=sch, kw=kw)
        return kernel.course_twins(jobs, sch, **kw)

    sim.kernel = _Patched(kernel, course_twins=capture)
    try:
        sim.simulate(ens, None, knowledge.drugs, p, treatments=singles, extra_drugs=extra)
    finally:
        sim.kernel = kernel
    jobs, sch, kw = captured["jobs"], captured["sch"], captured["kw"]
    t0 = time.perf_counter()
    new, _ = kernel.course_twins(jobs, sch, **kw)
    t_new = time.perf_counter() - t0

    n_run = 1 + len(singles) + len(pairs)  # untreated first, then the run's, then the report's
    rows_run, rows_extra = list(range(n_run)), [0, *range(n_run, n_run + len(extra))]

    def rk4(rows, dt, twins=None):
        n_steps = int(round((p.horizon_days + p.onset_days) / dt))
        half = -p.onset_days + np.arange(2 * n_steps + 1) * (dt / 2)
        r = sim.drive_schedule(half, p)
        e = np.zeros((len(rows), len(half)))
        for k, s in enumerate(rows):
            if np.isfinite(sch.start[s]):
                e[k] = sim.exposure(half, sch.start[s], p, sch.stop[s] if np.isfinite(sch.stop[s]) else None)
        sub = [(*j[:5], np.ascontiguousarray(j[5][rows]), *j[6:]) for j in (twins or jobs)]
        dtype = sub[0][2].dtype
        every = max(1, int(round(p.record_days / dt)))
        return kernel.simulate_twins(
            sub, r.astype(dtype), e.astype(dtype), dt=dt, beta=p.beta, gamma=p.gamma, record_every=every
        )

    t0 = time.perf_counter()
    old_run = rk4(rows_run, 1.0)
    old_extra = rk4(rows_extra, 1.0) if extra else []
    t_old = time.perf_counter() - t0
    # accuracy on the first twin against RK4 with a fine step
    fine = rk4(list(range(len(sch.start))), fine_dt, twins=jobs[:1])[0]
    old0 = np.concatenate([old_run[0], old_extra[0][1:]]) if extra else old_run[0]
    return {
        "twins": len(jobs),
        "scenarios": len(sch.start),
        "report_extra": len(extra),
        "nodes_per_twin": int(np.mean([len(j[3]) for j in jobs])),
        "p4core_s": t_new,
        "previous_s": t_old,
        "max_error_p4core": float(np.abs(new[0] - fine).max()),
        "max_error_previous": float(np.abs(old0 - fine).max()),
        "tolerance": kw["tol"],
        "fine_dt": fine_dt,
    }


class _Patched:
    """A module stand-in with some attributes replaced."""

    def __init__(self, base, **over):
        self._base, self._over = base, over

    def __getattr__(self, name):
        return self._over[name] if name in self._over else getattr(self._base, name)


def null_stage(ens, screen_params, n_draws: int) -> dict:
    """Scoring random target sets: compiled (null_views) vs the previous vectorised numpy (view_parts)."""
    from p4core.screen import Combos, Plan, PoolTwin, null_pool, null_task, view_parts

    pool, _ = null_pool(ens, screen_params)
    plan = Plan.of(ens, pool, screen_params)
    t = null_task(plan, ens.replicates[:1], pool)[0]
    rng = np.random.default_rng(0)
    draws = rng.choice(len(pool), size=(n_draws, 3))
    coef = np.array([1.0, -1.0, 1.0])
    as_drugs = np.zeros((len(pool), n_draws))
    for k in range(3):
        np.add.at(as_drugs, (draws[:, k], np.arange(n_draws)), coef[k])
    t0 = time.perf_counter()
    mk, pg = view_parts(t, Combos(as_drugs))
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    pt = PoolTwin(t, len(pool))
    got_mk, got_pg = pt.views(draws, coef)
    t_new = time.perf_counter() - t0
    dup = (draws[:, :, None] == draws[:, None, :]).sum((1, 2)) > 3  # a gene drawn twice: summed apart
    diff = float(np.abs(got_pg[~dup] - pg.sum(1)[~dup]).max())
    return {
        "draws": n_draws,
        "pool": len(pool),
        "p4core_s": t_new,
        "previous_s": t_old,
        "max_abs_difference": diff,
    }


def stage_table(cases: list[str], runs: int, twins: int) -> None:
    """The README's cost table: each case run ``runs`` times as a user runs it (every renderer), every stage
    of ``summary.json`` as min–max seconds, the wall time and the child's peak resident memory."""
    commands = {"demo": [], "kang": [*kang_overrides(twins), "data.tissue=PBMC"]}
    unknown = [c for c in cases if c not in commands]
    if unknown:
        raise SystemExit(f"--table: unknown case {unknown[0]!r}; choose from {', '.join(commands)}")
    measured: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            measured[case] = [
                cli_run(sys.executable, commands[case], Path(tmp) / f"{case}{i}") for i in range(runs)
            ]

    def span(values: list[float], fmt: str = ".1f") -> str:
        lo, hi = min(values), max(values)
        return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}"

    stages = list(dict.fromkeys(k for c in cases for r in measured[c] for k in r["timings_s"]))
    print(f"{'stage (s)':<30}" + "".join(f"{c:>16}" for c in cases))
    for k in stages:
        cells = [
            span([r["timings_s"][k] for r in measured[c] if k in r["timings_s"]] or [0.0]) for c in cases
        ]
        print(f"{k:<30}" + "".join(f"{v:>16}" for v in cells))
    print(f"{'wall (s)':<30}" + "".join(f"{span([r['wall_s'] for r in measured[c]]):>16}" for c in cases))
    print(
        f"{'peak RSS (GB)':<30}"
        + "".join(f"{span([r['peak_mb'] / 1024 for r in measured[c]], '.2f'):>16}" for c in cases)
    )


def main() -> None:
    from machine import line

    print(line())
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--table",
        nargs="+",
        metavar="CASE",
        help="only the README's cost table: run each case (demo, kang) --runs times and print its stages",
    )
    ap.add_argument("--runs", type=int, default=2, help="runs per case for --table")
    ap.add_argument("--twins", type=int, default=20)
    ap.add_argument("--sample", type=int, default=12, help="drugs timed with the plain scipy screen")
    ap.add_argument("--fine-dt", type=float, default=0.1, help="step of the fine RK4 accuracy reference")
    ap.add_argument("--null-draws", type=int, default=100000)
    ap.add_argument("--previous", default="", help="python of an environment with an older p4core")
    args = ap.parse_args()
    if args.table:
        stage_table(args.table, args.runs, args.twins)
        return
    import yaml

    from p4core.pipeline import check_config, compose, load_knowledge, load_patient
    from p4core.twin.build import build_twins

    overrides = kang_overrides(args.twins)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        run = cli_run(sys.executable, overrides, out)
        print(f"p4core run: {run['wall_s']:.1f} s wall, peak {run['peak_mb']:.0f} MB")
        prev = cli_run(args.previous, overrides, Path(tmp) / "previous") if args.previous else None
        resolved = yaml.safe_load((out / "config_resolved.yaml").read_text())
        drugs_csv = pd.read_csv(out / "drugs.csv", usecols=["n_targets_in_model"])
        n_regulators = len(pd.read_csv(out / "regulators.csv", usecols=["gene"]))
        cfg = compose(overrides)
        typed = check_config(cfg)
        knowledge = load_knowledge(cfg.knowledge)
        t0 = time.perf_counter()
        ens = build_twins(load_patient(cfg.data), knowledge, typed["twin"])
        t_twins = time.perf_counter() - t0
        course = course_stage(ens, knowledge, cfg, out, args.fine_dt)
    import dataclasses

    from p4core.screen import screen

    sp_ = typed["screen"]
    t0 = time.perf_counter()
    res0 = screen(ens, knowledge.drugs, dataclasses.replace(sp_, n_null=0))
    t_screen = time.perf_counter() - t0
    null = null_stage(ens, sp_, args.null_draws)
    unit, picked, ref_scores = plain_screen(
        ens, knowledge.drugs, sp_, args.sample, np.random.default_rng(0), res0.scales
    )
    idx = [res0.drugs.index(d) for d in picked]
    screen_check = float(np.abs(res0.scores[:2, idx] - ref_scores).max())
    n_drugs = int((drugs_csv["n_targets_in_model"] > 0).sum())
    screen_cfg, reg_cfg = resolved["screen"], resolved["regulators"]
    ts = run["timings_s"]
    plain = {
        "screen": unit * n_drugs * args.twins,
        "regulators": unit * n_regulators * min(int(reg_cfg["n_twins"]), args.twins),
    }
    render_s = sum(v for k, v in ts.items() if k.startswith("render "))
    rows = [
        (
            "start-up + load",
            ts.get("start-up", 0) + ts.get("load patient", 0) + ts.get("load knowledge", 0),
            None,
            "",
        ),
        (
            "build twins",
            ts.get("build twins", t_twins),
            None,
            f"{args.twins} twins (in this process: {t_twins:.1f} s)",
        ),
        (
            "screen (no null)",
            t_screen,
            plain["screen"],
            f"plain scipy per drug ({n_drugs} x {args.twins} twins)",
        ),
        (
            "screen + null + pairs (run)",
            ts.get("screen", 0),
            None,
            f"null: {screen_cfg['n_null']} draws per profile",
        ),
        (
            "regulators",
            ts.get("regulators", 0),
            plain["regulators"],
            f"plain scipy per candidate ({n_regulators})",
        ),
        (
            "course (+ report's drugs)",
            course["p4core_s"],
            course["previous_s"],
            "previous: RK4 dt=1, second pass for the report",
        ),
        (
            "null draws (one twin)",
            null["p4core_s"],
            null["previous_s"],
            f"previous: numpy view_parts, {null['draws']} draws",
        ),
        (
            "render (all)",
            render_s,
            None,
            ", ".join(f"{k[7:]} {v:.1f}" for k, v in ts.items() if k.startswith("render ")),
        ),
        (
            "whole run (wall)",
            run["wall_s"],
            prev["wall_s"] if prev else None,
            "previous release, same command" if prev else "",
        ),
    ]
    print(f"{'stage':<28}{'p4core s':>10}{'reference s':>13}{'ratio':>9}  reference")
    table = []
    for name, ours, ref_s, note in rows:
        ratio = ref_s / ours if ref_s and ours else None
        r = f"{ref_s:>13.1f}" if ref_s is not None else f"{'-':>13}"
        q = f"{ratio:>8.1f}x" if ratio else f"{'-':>9}"
        print(f"{name:<28}{ours:>10.2f}{r}{q}  {note}")
        table.append(
            {"stage": name, "p4core_s": ours, "reference_s": ref_s, "ratio": ratio, "reference": note}
        )
    print(
        f"course accuracy vs RK4 dt={args.fine_dt} (first twin, {course['scenarios']} scenarios): p4core "
        f"(tolerance {course['tolerance']:g}) {course['max_error_p4core']:.1e}, previous (dt=1) "
        f"{course['max_error_previous']:.1e}; null draws max |difference| {null['max_abs_difference']:.1e}"
    )
    if prev:  # the two runs' own stage timings (summary.json), side by side
        pt = prev["timings_s"]
        print(f"\n{'stage (summary.json)':<28}{'p4core s':>10}{'previous s':>12}{'ratio':>9}")
        for k in dict.fromkeys([*ts, *pt]):
            a, b = ts.get(k), pt.get(k)
            ratio = f"{b / a:>8.1f}x" if a and b else f"{'-':>9}"
            fa = f"{a:>10.2f}" if a is not None else f"{'-':>10}"
            fb = f"{b:>12.2f}" if b is not None else f"{'-':>12}"
            print(f"{k:<28}{fa}{fb}{ratio}")
        print(f"peak memory: p4core {run['peak_mb']:.0f} MB, previous {prev['peak_mb']:.0f} MB\n")
    print(
        f"plain scipy: {unit * 1e3:.1f} ms per drug and twin (timed on {args.sample} drugs x 2 twins); "
        f"max |p4core - plain| score {screen_check:.1e}"
    )
    res = ROOT / "benchmarks" / "results" / "end_to_end.json"
    res.parent.mkdir(exist_ok=True)
    payload = {
        "args": vars(args),
        "run": run,
        "previous": prev,
        "stages": table,
        "course": course,
        "null": null,
    }
    res.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"written {res}")


if __name__ == "__main__":
    main()
