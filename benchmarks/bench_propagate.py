"""Propagation kernel vs scipy.sparse doing the same product, in the same run.

    python benchmarks/bench_propagate.py [--cells 10] [--genes 5000] [--nnz 500000] [--rhs 256]

Each engine runs at least --repeat times and for at least --min-time seconds (the best reported, the
median beside it). Two right-hand sides: a dense random block, and unit perturbations (one seed per
column, as a screen propagates its targets). Prints the time of each engine, the ratio to scipy, the achieved
GFLOP/s and GB/s (minimum traffic: the operator, one read of x and one write per step), the bytes each
variant must move (per step and column block: the operator, the gathered row of x for every entry and
the block's read and write) as GB/s and as a share of this machine's measured copy bandwidth (numpy
copy), next to its float32 GEMM peak (numpy/OpenBLAS, 1 thread and all), and the CPU and its caches;
writes JSON (benchmarks/results/propagate[_<operator>].json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import machine  # same folder
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from p4core import kernel


def best_of(fn, repeat: int) -> float:
    return min(machine.timed_runs(fn, repeat))


def skewed_operator(n: int, nnz: int, rng: np.random.Generator) -> sp.csr_array:
    """n x n with about ``nnz`` edges whose endpoints are drawn with Pareto(1.2) weights (heavy-tailed
    degrees, a few hubs with thousands of edges), rows scaled to sum |a| = 0.9 as a twin's operator."""
    w_out, w_in = rng.pareto(1.2, n) + 1, rng.pareto(1.2, n) + 1
    rows = rng.choice(n, size=nnz, p=w_in / w_in.sum())
    cols = rng.choice(n, size=nnz, p=w_out / w_out.sum())
    a = sp.coo_array((rng.uniform(-1, 1, nnz), (rows, cols)), shape=(n, n)).tocsr()
    a.sum_duplicates()
    scale = np.asarray(abs(a).sum(axis=1)).ravel()
    a = sp.diags_array(0.9 / np.maximum(scale, 1e-12)) @ a
    return sp.csr_array(a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=10)
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--nnz", type=int, default=500_000)
    ap.add_argument("--rhs", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument(
        "--repeat",
        type=int,
        default=7,
        help="at least this many runs of each engine; the best is reported (neighbours on a shared machine "
        "add noise), the median beside it",
    )
    ap.add_argument(
        "--min-time",
        type=float,
        default=1.0,
        help="and more runs until each engine has run this many seconds (0: exactly --repeat runs)",
    )
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument(
        "--operator",
        default="random",
        choices=["random", "skewed", "kang"],
        help="random (cells x genes nodes, --nnz uniform edges), skewed (the same size with heavy-tailed "
        "in- and out-degrees, as in a gene network: hubs gather from and feed many nodes) or the operator "
        "of a Kang 2018 twin with the public networks (needs ../shared/data or $P4CORE_SHARED_DATA)",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    if args.operator == "kang":
        import pickle
        import tempfile

        from bench_screen import build  # same folder

        with tempfile.TemporaryDirectory() as tmp:
            build(1, Path(tmp) / "twin.pkl")
            with open(Path(tmp) / "twin.pkl", "rb") as f:
                ensemble, drugs, _ = pickle.load(f)
        op = kernel.as_operator(ensemble.replicates[0].operator, dtype=args.dtype)
        from p4core.screen import ordered_drug_matrix, unit_perturbations

        targets = ordered_drug_matrix(ensemble, drugs)[0]
        screen_u = unit_perturbations(ensemble, ensemble.replicates[0].active, targets, np.dtype(args.dtype))
    elif args.operator == "skewed":
        op = kernel.as_operator(skewed_operator(args.cells * args.genes, args.nnz, rng), dtype=args.dtype)
    else:
        n = args.cells * args.genes
        a = sp.random_array((n, n), density=args.nnz / n / n, rng=rng, format="csr", dtype=np.float64)
        a.data = rng.uniform(-1, 1, a.nnz) / 10
        op = kernel.as_operator(a, dtype=args.dtype)
    n = op.shape[0]
    alpha = 0.8

    def scipy_version(u):
        x = u.copy()
        p = u
        for _ in range(args.steps):
            p = alpha * (op @ p)
            x += p
        return x

    # the machine: memory bandwidth (read + write of a 400 MB copy) and float32 GEMM peak
    big = np.ones(100_000_000, dtype=np.float32)
    dst = np.empty_like(big)
    t_copy = best_of(lambda: np.copyto(dst, big), 3)
    bandwidth = 2 * big.nbytes / t_copy / 1e9
    g = rng.normal(size=(2048, 2048)).astype(np.float32)
    peak = {}
    for threads in sorted({1, kernel.max_threads()}):
        with threadpool_limits(threads):
            peak[threads] = 2 * 2048**3 / best_of(lambda: g @ g, 3) / 1e9
    print(machine.line())
    print(
        f"machine: memory bandwidth {bandwidth:.1f} GB/s (copy); float32 GEMM peak "
        + ", ".join(f"{v:.0f} GFLOP/s on {k} thread(s)" for k, v in peak.items())
    )

    unit = np.zeros((n, args.rhs), dtype=args.dtype)
    unit[rng.choice(n, size=args.rhs, replace=False), np.arange(args.rhs)] = 1
    cases = {
        "dense random block": rng.normal(size=(n, args.rhs)).astype(args.dtype),
        "unit perturbations": unit,
    }
    if args.operator == "kang":  # the screen's real right-hand side: every drug target, once
        cases["drug targets"] = screen_u
    print(f"operator {n} x {n}, nnz {op.nnz}, {args.steps} steps, {args.dtype}")
    item = np.dtype(args.dtype).itemsize
    results = {}
    for case, u in cases.items():
        flops = 2.0 * op.nnz * u.shape[1] * args.steps  # of the dense product scipy computes
        traffic = args.steps * (op.nnz * (4 + item) + 2 * n * u.shape[1] * item)
        # what each variant must move per step: the operator (index + value per entry) and, per entry, the
        # gathered row of x (scipy: all B columns at once; the kernel: kernel.BLOCK columns, once per block)
        width = {"scipy.sparse": u.shape[1], "p4core kernel": kernel.BLOCK}
        moved = {
            eng: args.steps
            * -(-u.shape[1] // w)
            * (op.nnz * (4 + item) + op.nnz * w * item + 2 * n * w * item)
            for eng, w in width.items()
        }
        check = float(np.abs(kernel.propagate(op, u, alpha, args.steps) - scipy_version(u)).max())
        ts = machine.timed_runs(lambda u=u: scipy_version(u), args.repeat, args.min_time)
        t_s, med_s = min(ts), float(np.median(ts))
        rows = [
            {"engine": "scipy.sparse", "threads": 1, "seconds": t_s, "median_seconds": med_s, "runs": len(ts)}
        ]
        for threads in sorted({1, kernel.max_threads()}):
            tk = machine.timed_runs(
                lambda t=threads, u=u: kernel.propagate(op, u, alpha, args.steps, n_threads=t),
                args.repeat,
                args.min_time,
            )
            rows.append(
                {
                    "engine": "p4core kernel",
                    "threads": threads,
                    "seconds": min(tk),
                    "median_seconds": float(np.median(tk)),
                    "runs": len(tk),
                }
            )
        print(f"\n{case} ({u.shape[1]} right-hand sides): max |kernel - scipy| = {check:.2e}")
        print(
            f"{'engine':<24}{'seconds':>10}{'GFLOP/s':>10}{'GB/s':>8}{'moved GB':>10}{'moved GB/s':>12}"
            f"{'% copy bw':>11}{'vs scipy':>10}{'median':>9}{'runs':>6}"
        )
        for r in rows:
            r["gflops"] = flops / r["seconds"] / 1e9
            r["gbytes_per_s"] = traffic / r["seconds"] / 1e9
            r["moved_gb"] = moved[r["engine"]] / 1e9
            r["moved_gb_per_s"] = moved[r["engine"]] / r["seconds"] / 1e9
            r["share_of_copy_bandwidth"] = r["moved_gb_per_s"] / bandwidth
            r["ratio_vs_scipy"] = t_s / r["seconds"]
            r["median_ratio_vs_scipy"] = med_s / r["median_seconds"]
            label = f"{r['engine']} x{r['threads']}"
            print(
                f"{label:<24}{r['seconds']:>10.4f}{r['gflops']:>10.2f}{r['gbytes_per_s']:>8.1f}"
                f"{r['moved_gb']:>10.3f}{r['moved_gb_per_s']:>12.1f}{100 * r['share_of_copy_bandwidth']:>10.0f}%"
                f"{r['ratio_vs_scipy']:>10.2f}{r['median_ratio_vs_scipy']:>9.2f}{r['runs']:>6}"
            )
        results[case] = {"max_abs_difference": check, "runs": rows}

    name = "propagate.json" if args.operator == "random" else f"propagate_{args.operator}.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "nnz": int(op.nnz),
                "memory_bandwidth_gb_s": bandwidth,
                "gemm_peak_gflops": peak,
                "cases": results,
                "openmp": kernel.has_openmp(),
                "machine": machine.describe(),
            },
            indent=2,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
