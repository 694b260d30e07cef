"""Propagation kernel vs scipy.sparse doing the same product, in the same run.

    python benchmarks/bench_propagate.py [--cells 10] [--genes 5000] [--nnz 500000] [--rhs 256]

Prints the time of each, the ratio, and the kernel's achieved GFLOP/s; writes JSON next to it
(benchmarks/results/propagate.json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from p4core import kernel


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=10)
    ap.add_argument("--genes", type=int, default=5000)
    ap.add_argument("--nnz", type=int, default=500_000)
    ap.add_argument("--rhs", type=int, default=256)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.cells * args.genes
    a = sp.random_array((n, n), density=args.nnz / n / n, rng=rng, format="csr", dtype=np.float64)
    a.data = rng.uniform(-1, 1, a.nnz) / 10
    op = kernel.as_operator(a, dtype=args.dtype)
    u = rng.normal(size=(n, args.rhs)).astype(args.dtype)
    alpha = 0.8

    def scipy_version():
        x = u.copy()
        p = u
        for _ in range(args.steps):
            p = alpha * (op @ p)
            x += p
        return x

    check = np.abs(kernel.propagate(op, u, alpha, args.steps) - scipy_version()).max()
    rows = []
    for threads in sorted({1, kernel.max_threads()}):
        t_k = best_of(lambda t=threads: kernel.propagate(op, u, alpha, args.steps, n_threads=t), args.repeat)
        rows.append({"threads": threads, "kernel_s": t_k})
    t_s = best_of(scipy_version, args.repeat)
    flops = 2.0 * op.nnz * args.rhs * args.steps
    print(f"operator {n} x {n}, nnz {op.nnz}, {args.rhs} right-hand sides, {args.steps} steps, {args.dtype}")
    print(f"max |kernel - scipy| = {check:.2e}")
    print(f"{'engine':<22}{'seconds':>10}{'GFLOP/s':>10}{'vs scipy':>10}")
    print(f"{'scipy.sparse':<22}{t_s:>10.4f}{flops / t_s / 1e9:>10.2f}{1.0:>10.2f}")
    for r in rows:
        r["ratio_vs_scipy"] = t_s / r["kernel_s"]
        print(
            f"{'p4core kernel x' + str(r['threads']):<22}{r['kernel_s']:>10.4f}"
            f"{flops / r['kernel_s'] / 1e9:>10.2f}{r['ratio_vs_scipy']:>10.2f}"
        )
    out = Path(__file__).parent / "results" / "propagate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "args": vars(args),
                "nnz": int(op.nnz),
                "scipy_s": t_s,
                "kernel": rows,
                "openmp": kernel.has_openmp(),
            },
            indent=2,
        )
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()
