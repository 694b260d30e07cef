"""A full screen against a straightforward per-drug scipy implementation of the same model, same run.

    python benchmarks/bench_screen.py [--twins 100] [--pairs-top 200] [--sample 40]

Builds the Kang 2018 twins with the public knowledge (../shared/data, or $P4CORE_SHARED_DATA),
then measures, each in a fresh process (so that peak memory is the screen's own):

* p4core's screen of every DrugCentral drug in every twin (scores, intervals, ranks, cell-type
  parts), with and without the degree-matched null, and all pairs of the top ``--pairs-top``
  distinct drugs, on 1 thread and on all cores;
* the per-drug reference: for each drug and twin, build the drug's perturbation vector, propagate
  it with ``scipy.sparse`` (K sparse mat-vecs), score it against the signature. It is timed on
  ``--sample`` drugs x 2 twins (its scores are checked against p4core's) and its per-drug cost is
  multiplied out to all drugs x twins (and pairs x twins): running it in full would take hours.

Prints a table and writes benchmarks/results/screen.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def shared_data() -> Path:
    return Path(os.environ.get("P4CORE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def kang_overrides(n_twins: int) -> list[str]:
    """The README's Kang 2018 run with the public knowledge and ``n_twins`` twins."""
    data = shared_data()
    return [
        "knowledge=public",
        f"knowledge.root={data}",
        "data=h5ad",
        f"data.path={data / 'scrna' / 'kang2018_ifnb_pbmc.h5ad'}",
        "data.cell_type_key=cluster_id",
        "data.condition_key=group_id",
        "data.reference=ctrl",
        "data.sample_key=sample_id",
        f"twin.n_twins={n_twins}",
    ]


def build(n_twins: int, path: Path) -> None:
    from p4core.pipeline import check_config, compose, load_knowledge, load_patient
    from p4core.twin.build import build_twins

    cfg = compose(kang_overrides(n_twins))
    typed = check_config(cfg)
    knowledge = load_knowledge(cfg.knowledge)
    ensemble = build_twins(load_patient(cfg.data), knowledge, typed["twin"])
    with open(path, "wb") as f:
        pickle.dump((ensemble, knowledge.drugs, typed["screen"]), f)


def child(args: argparse.Namespace) -> None:
    """One measured screen, in its own process; prints JSON."""
    from p4core.screen import screen
    from p4core.settings import settings

    with open(args.twins_file, "rb") as f:
        ensemble, drugs, params = pickle.load(f)
    settings.n_threads = args.threads
    q = dataclasses.replace(
        params, n_null=params.n_null if args.null else 0, pairs_top=args.pairs_top, null_twins=20
    )
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    result = screen(ensemble, drugs, q)
    seconds = time.perf_counter() - t0
    out = {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss0 / 1024,
        "n_drugs": len(result.drugs),
        "n_pairs": 0 if result.pairs is None else len(result.pairs),
        "top": list(result.table["drug"][:5]),
    }
    if args.dump_scores:
        np.save(args.dump_scores, result.scores[:2])
        with open(args.dump_scores + ".json", "w") as f:
            json.dump({"drugs": result.drugs, "scales": result.scales}, f)
    print(json.dumps(out))


def reference(args: argparse.Namespace, scales: dict[str, float]) -> dict:
    """The per-drug scipy implementation (:func:`p4core.testing.reference.drug_views`: perturbation, K sparse
    products, the marker, programme and combined views) on a sample of drugs x 2 twins."""
    with open(args.twins_file, "rb") as f:
        ensemble, drugs, params = pickle.load(f)
    rng = np.random.default_rng(0)
    timing, names, scores = plain_screen(ensemble, drugs, params, args.sample, rng, scales)
    return {"per_drug_twin_s": timing, "sample": names, "scores": scores.tolist()}


def plain_screen(ensemble, drugs, params, sample: int, rng, scales) -> tuple[float, list[str], np.ndarray]:
    """Seconds per (drug, twin) of the plain per-drug screen, the sampled drugs and their ranking
    view's score in the first two twins."""
    import importlib

    from p4core.testing import reference as ref

    screen_mod = importlib.import_module("p4core.screen")
    target_genes, m, names = screen_mod.drug_matrix(ensemble, drugs)
    n_c, n_g = len(ensemble.celltypes), len(ensemble.genes)
    w = ensemble.node_weights * np.where(np.tile(ensemble.measured, n_c), 1.0, params.latent_weight)
    has_target = np.flatnonzero((m != 0).any(0))
    pick = np.sort(rng.choice(has_target, size=min(sample, len(has_target)), replace=False))
    scores = np.zeros((2, len(pick)))
    t0 = time.perf_counter()
    for t in range(2):
        rep = ensemble.replicates[t]
        u_all = screen_mod.unit_perturbations(ensemble, rep.active, target_genes, np.dtype(np.float64))
        a = rep.operator.astype(np.float64)
        s = rep.signature.astype(float)
        for k, d in enumerate(pick):
            own = np.zeros(len(s), dtype=bool)
            for g in target_genes[m[:, d] != 0]:
                own[g::n_g] = True
            v = ref.drug_views(
                a, u_all @ m[:, d], s, w, own, params.alpha, params.steps, scales, params.marker_weight
            )
            scores[t, k] = v[params.ranking]
    per_unit = (time.perf_counter() - t0) / (2 * len(pick))
    return per_unit, [names[d] for d in pick], scores


def run_child(args: argparse.Namespace, threads: int, null: bool, pairs_top: int, dump: str = "") -> dict:
    cmd = [sys.executable, __file__, "--child", "--twins-file", args.twins_file, "--threads", str(threads)]
    cmd += (
        ["--pairs-top", str(pairs_top)]
        + (["--null"] if null else [])
        + (["--dump-scores", dump] if dump else [])
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"measured run failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twins", type=int, default=100)
    ap.add_argument("--pairs-top", type=int, default=200)
    ap.add_argument("--sample", type=int, default=40, help="drugs timed with the per-drug reference")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--twins-file", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--null", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dump-scores", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    from p4core import kernel

    cores = kernel.max_threads()
    with tempfile.TemporaryDirectory() as tmp:
        args.twins_file = str(Path(tmp) / "twins.pkl")
        t0 = time.perf_counter()
        build(args.twins, Path(args.twins_file))
        print(f"built {args.twins} Kang 2018 twins (public knowledge) in {time.perf_counter() - t0:.1f} s")
        dump = str(Path(tmp) / "scores.npy")
        runs = {
            "screen, 1 thread": run_child(args, 1, False, 0),
            f"screen, {cores} threads": run_child(args, cores, False, 0, dump),
            f"screen + null, {cores} threads": run_child(args, cores, True, 0),
            f"screen + null + pairs of top {args.pairs_top}, {cores} threads": run_child(
                args, cores, True, args.pairs_top
            ),
        }
        dumped = json.loads(Path(dump + ".json").read_text())
        names = dumped["drugs"]
        ref = reference(args, dumped["scales"])
        ours = np.load(dump)
        idx = [names.index(d) for d in ref["sample"]]
        check = float(np.abs(ours[:, idx] - np.array(ref["scores"])).max())
    full = next(iter(runs.values()))
    n_drugs = full["n_drugs"]
    n_pairs = list(runs.values())[-1]["n_pairs"]
    ref_screen = ref["per_drug_twin_s"] * n_drugs * args.twins
    ref_pairs = ref["per_drug_twin_s"] * n_pairs * args.twins
    print(
        f"{n_drugs} drugs x {args.twins} twins; pairs: {n_pairs}; max |p4core - reference| score = {check:.1e}"
    )
    print(
        f"per-drug scipy reference: {ref['per_drug_twin_s'] * 1e3:.1f} ms per drug and twin "
        f"(timed on {len(ref['sample'])} drugs x 2 twins) -> all drugs x twins {ref_screen:.0f} s, "
        f"with pairs {ref_screen + ref_pairs:.0f} s"
    )
    print(f"{'run':<48}{'seconds':>10}{'peak MB':>10}{'vs reference':>14}")
    rows = []
    for label, r in runs.items():
        base = ref_screen + (ref_pairs if "pairs" in label else 0.0)
        ratio = base / r["seconds"]
        rows.append({"run": label, **r, "reference_s": base, "ratio_vs_reference": ratio})
        print(f"{label:<48}{r['seconds']:>10.2f}{r['peak_rss_mb']:>10.0f}{ratio:>13.0f}x")
    one, many = runs["screen, 1 thread"]["seconds"], runs[f"screen, {cores} threads"]["seconds"]
    print(f"thread scaling (screen): {one / many:.2f}x on {cores} threads")
    out = ROOT / "benchmarks" / "results" / "screen.json"
    out.parent.mkdir(exist_ok=True)
    payload = {
        "args": {k: v for k, v in vars(args).items() if k in ("twins", "pairs_top", "sample")},
        "cores": cores,
        "n_drugs": n_drugs,
        "n_pairs": n_pairs,
        "reference_per_drug_twin_s": ref["per_drug_twin_s"],
        "max_abs_score_difference": check,
        "runs": rows,
        "thread_scaling": one / many,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
