"""Where the propagation's time goes as the operator outgrows the caches: kernel vs scipy.sparse, same run.

    python benchmarks/bench_gather.py [--nodes 4000 16000 48000 128000] [--degree 9] [--threads 1]

A dense block of `--columns` columns (64: the issue-25 case) propagated `--steps` (8) steps through random operators of
growing size, `--degree` entries per row, uniform sources. The kernel steps 16 columns at a time (one 64-byte
row of the source gathered per operator entry), so its time per gathered row is the time over steps x entries x
blocks. Prints, per size: a block's source buffer (nodes x 64 bytes: where the gathered rows live, L2, L3 or
memory), the kernel's nanoseconds per gathered row, scipy's nanoseconds per entry (all columns at once) and
the ratio. Each engine at least 5 runs and 0.5 s, the best reported. Writes benchmarks/results/gather.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import machine  # same folder
import numpy as np
import scipy.sparse as sp

from p4core import kernel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, nargs="+", default=[4000, 16000, 48000, 128000])
    ap.add_argument("--degree", type=int, default=9)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--columns", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if min(args.degree, args.columns, args.steps) < 1 or min(args.nodes) < 16:
        ap.error("--degree, --columns and --steps must be >= 1 and every --nodes >= 16")
    row_bytes = kernel.BLOCK * np.dtype(np.float32).itemsize  # one row of a block's buffer
    rng = np.random.default_rng(0)
    print(machine.line())
    print(
        f"{args.degree} entries per row, {args.columns} columns, {args.steps} steps, float32, "
        f"kernel on {args.threads} thread(s)"
    )
    print(f"{'nodes':>8}{'buffer KiB':>12}{'kernel ns/row':>15}{'scipy ns/entry':>16}{'vs scipy':>10}")
    rows = []
    alpha = 0.8
    for n in args.nodes:
        nnz = n * args.degree
        a = sp.csr_array(
            (
                rng.uniform(-1, 1, nnz).astype(np.float32) / (2 * args.degree),
                rng.integers(0, n, nnz),
                np.arange(0, nnz + 1, args.degree),
            ),
            shape=(n, n),
        )
        op = kernel.as_operator(a, dtype="float32")
        u = rng.normal(size=(n, args.columns)).astype(np.float32)

        def scipy_version(u=u, op=op):
            x, p = u.copy(), u
            for _ in range(args.steps):
                p = alpha * (op @ p)
                x += p
            return x

        diff = float(np.abs(kernel.propagate(op, u, alpha, args.steps) - scipy_version()).max())
        t_k = min(
            machine.timed_runs(
                lambda op=op, u=u: kernel.propagate(op, u, alpha, args.steps, n_threads=args.threads), 5, 0.5
            )
        )
        t_s = min(machine.timed_runs(scipy_version, 5, 0.5))
        per = args.steps * nnz
        row = {
            "nodes": n,
            "buffer_bytes": n * row_bytes,
            "kernel_ns_per_row": t_k / (per * -(-args.columns // kernel.BLOCK)) * 1e9,
            "scipy_ns_per_entry": t_s / per * 1e9,
            "ratio_vs_scipy": t_s / t_k,
            "max_abs_difference": diff,
        }
        rows.append(row)
        print(
            f"{n:>8}{n * row_bytes / 1024:>12.0f}{row['kernel_ns_per_row']:>15.2f}"
            f"{row['scipy_ns_per_entry']:>16.2f}{row['ratio_vs_scipy']:>10.2f}"
        )
    out = Path(__file__).parent / "results" / "gather.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows, "machine": machine.describe()}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
