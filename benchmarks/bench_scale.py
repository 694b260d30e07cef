"""Time and memory of every stage as the sample grows: cells, genes and twins, with growth exponents.

    python benchmarks/bench_scale.py [--cells 10000 30000 100000] [--twins 10 20 40]
                                     [--genes 0.5 1.0] [--million] [--data DIR]

Runs the real-size case of ../shared/tools/make_large_case.py (COMBAT cells resampled: 25,456 genes, 18
clusters as cell types, six donors in three conditions) end to end as a user would, ``python -m p4core`` with
``knowledge=public`` and every default renderer, one child process per run, and reads each run's
``summary.json``: ``timings_s`` and ``peak_memory_mb`` per stage (p4core.peakmem), next to the child's wall
time and peak resident memory (``wait4``). Three sweeps:

* **cells** (``--cells``): the case at each size (made once into ``--data``, default
  benchmarks/results/large/);
* **twins** (``--twins``): ``twin.n_twins`` on the smallest case;
* **genes** (``--genes``): the smallest case with a seeded random share of its genes.

For each sweep and stage it prints the growth exponent, the slope of log(time) and of log(memory) against
log(size) (least squares over the sizes): 1 is linear, below 1 is better. ``--million`` adds a case of
1,000,000 cells, written a chunk of cells at a time with make_large_case's recipe (a file of ~2.4 GB; the
run reads it backed: only the rows it uses, a window at a time). The machine (CPU, caches) is printed
beside the figures. Writes benchmarks/results/scale.json.
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

import machine  # same folder
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = Path(os.environ.get("P4CORE_SHARED_DATA", ROOT.parent / "shared" / "data"))
MAKE = SHARED.parent / "tools" / "make_large_case.py"
CASE = [
    "data=h5ad",
    "data.cell_type_key=cluster",
    "data.condition_key=condition",
    "data.reference=Healthy",
    "data.sample_key=donor",
    "knowledge=public",
    f"knowledge.root={SHARED}",
]


def make_case(cells: int, out: Path) -> Path:
    """The large case at ``cells`` (made once): the shared tool up to 200,000 cells, chunked beyond."""
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.h5ad")
    if cells <= 200_000:
        subprocess.run([sys.executable, str(MAKE), str(tmp), "--cells", str(cells)], check=True)
    else:
        write_chunked(cells, tmp)
    tmp.replace(out)
    return out


def write_chunked(cells: int, out: Path, seed: int = 0, chunk: int = 100_000) -> None:
    """make_large_case.py's recipe (cells drawn with replacement within each donor, counts redrawn as
    Poisson(count)) written a chunk of cells at a time, so a million cells never sit in memory at once."""
    import anndata as ad
    import h5py
    import scipy.sparse as sp
    from anndata.io import sparse_dataset, write_elem

    src = ad.read_h5ad(SHARED / "scrna" / "combat2022_covid_pbmc_subset.h5ad")
    rng = np.random.default_rng(seed)
    x = sp.csr_matrix(src.X)
    donors = src.obs["donor"].astype(str).to_numpy()
    picks = []
    for d in np.unique(donors):
        idx = np.flatnonzero(donors == d)
        picks.append(rng.choice(idx, size=round(cells * len(idx) / src.n_obs), replace=True))
    pick = np.concatenate(picks)
    obs = src.obs.iloc[pick][["donor", "condition", "cell_type"]].copy()
    obs["cluster"] = ("c" + src.obs["leiden_heuristic"].astype(str).iloc[pick]).astype("category")
    obs.index = [f"cell{i}" for i in range(len(pick))]
    ad.AnnData(obs=obs, var=src.var.copy()).write_h5ad(out)
    with h5py.File(out, "a") as f:
        for k in range(0, len(pick), chunk):
            part = x[pick[k : k + chunk]]
            part.data = rng.poisson(part.data).astype(np.float32)
            part.eliminate_zeros()
            if k == 0:
                write_elem(
                    f, "X", sp.csr_matrix(part, dtype=np.float32), dataset_kwargs={"compression": "gzip"}
                )
            else:
                sparse_dataset(f["X"]).append(sp.csr_matrix(part, dtype=np.float32))
            print(f"  {min(k + chunk, len(pick)):,} of {len(pick):,} cells written", flush=True)


def genes_subset(src: Path, share: float, out: Path, seed: int = 0) -> Path:
    """``src`` with a seeded random ``share`` of its genes (made once)."""
    if out.is_file():
        return out
    import anndata as ad

    a = ad.read_h5ad(src)
    keep = np.sort(np.random.default_rng(seed).choice(a.n_vars, int(round(share * a.n_vars)), replace=False))
    a[:, keep].copy().write_h5ad(out, compression="gzip")
    return out


def run(path: Path, extra: list[str]) -> dict:
    """One ``python -m p4core`` run: wall seconds, the child's peak RSS (MB), the stages' times and peaks."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile("w+") as log:
        cmd = [sys.executable, "-m", "p4core", *CASE, f"data.path={path}", *extra, f"hydra.run.dir={tmp}"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, text=True, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status):
            log.seek(0)
            raise SystemExit(f"run failed: {' '.join(cmd)}\n{log.read()[-3000:]}")
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    return {
        "wall_s": wall,
        "peak_mb": usage.ru_maxrss / 1024 * 1.048576,  # KiB -> MB
        "timings_s": summary.get("timings_s", {}),
        "peak_memory_mb": summary.get("peak_memory_mb", {}),
    }


def exponent(sizes: list[float], values: list[float]) -> float:
    """Least-squares slope of log(value) against log(size)."""
    ok = [(s, v) for s, v in zip(sizes, values, strict=True) if v > 0]
    if len(ok) < 2:
        return float("nan")
    x, y = np.log([s for s, _ in ok]), np.log([v for _, v in ok])
    return float(np.polyfit(x, y, 1)[0])


def report(name: str, sizes: list[int], runs: list[dict]) -> dict:
    """Print the sweep's table (time and memory per stage at every size, and their exponents)."""
    stages = [s for s in runs[-1]["timings_s"] if not s.startswith("total")]
    print(f"\n{name}: " + ", ".join(f"{s:,}" for s in sizes))
    head = "".join(f"{s:>12,}" for s in sizes)
    print(f"{'stage (s | MB peak)':<30}{head}{'exp time':>10}{'exp mem':>9}")
    out = {}
    rows = [
        (st, [r["timings_s"].get(st, 0.0) for r in runs], [r["peak_memory_mb"].get(st, 0.0) for r in runs])
        for st in stages
    ]
    rows.append(("wall (child)", [r["wall_s"] for r in runs], [r["peak_mb"] for r in runs]))
    for st, t, m in rows:
        et, em = exponent(list(map(float, sizes)), t), exponent(list(map(float, sizes)), m)
        cells = "".join(f"{a:>6.1f}|{b:<5.0f}" for a, b in zip(t, m, strict=True))
        print(f"{st:<30}{cells}{et:>10.2f}{em:>9.2f}")
        out[st] = {"seconds": t, "peak_mb": m, "exponent_time": et, "exponent_memory": em}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--twins", type=int, nargs="*", default=[10, 20, 40])
    ap.add_argument("--genes", type=float, nargs="*", default=[0.5, 1.0])
    ap.add_argument(
        "--million", action="store_true", help="add 1,000,000 cells (a 2.4 GB file, written once)"
    )
    ap.add_argument("--data", type=Path, default=HERE / "results" / "large")
    args = ap.parse_args()
    print(machine.line())
    cells = sorted(set(args.cells) | ({1_000_000} if args.million else set()))
    paths = {n: make_case(n, args.data / f"case_{n}.h5ad") for n in cells}
    result: dict = {"machine": machine.describe(), "sweeps": {}}
    runs = [run(paths[n], []) for n in cells]
    result["sweeps"]["cells"] = {"sizes": cells, "stages": report("cells", cells, runs)}
    small = paths[cells[0]]
    if args.twins:
        runs = [run(small, [f"twin.n_twins={t}"]) for t in args.twins]
        result["sweeps"]["twins"] = {
            "sizes": args.twins,
            "stages": report(f"twins ({cells[0]:,} cells)", args.twins, runs),
        }
    if args.genes:
        n_genes = []
        runs = []
        for share in args.genes:
            p = (
                small
                if share >= 1.0
                else genes_subset(small, share, args.data / f"case_{cells[0]}_genes{share:g}.h5ad")
            )
            n_genes.append(int(round(share * 25_456)))
            runs.append(run(p, []))
        result["sweeps"]["genes"] = {
            "sizes": n_genes,
            "stages": report(f"genes ({cells[0]:,} cells)", n_genes, runs),
        }
    out = HERE / "results" / "scale.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
