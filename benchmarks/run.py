"""Every performance benchmark, one command:

    python benchmarks/run.py [--quick]

Runs bench_propagate.py (kernel vs scipy.sparse, machine bandwidth and GEMM peak; a random and a
skewed-degree operator), bench_screen.py (Kang 2018 twins: full screen vs per-drug scipy reference,
threads, peak memory), bench_end_to_end.py (the Kang run with its report, stage by stage against the
previous release's course and null and the plain scipy screen), bench_stream.py (10,000 drugs x
1,000 synthetic twins streamed to Parquet) and bench_scale.py (the real-size case at 10k, 30k and 100k
cells, twins and genes: time and memory per stage with growth exponents), each printing its table; their JSON lands in
benchmarks/results/. --quick uses smaller sizes (a smoke run, under 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs = [
        ["bench_propagate.py"] + (["--rhs", "64", "--repeat", "1", "--min-time", "0"] if args.quick else []),
        ["bench_propagate.py", "--operator", "skewed", "--cells", "8", "--genes", "6000", "--nnz", "450000"]
        + (["--rhs", "64", "--repeat", "1", "--min-time", "0"] if args.quick else ["--rhs", "64"]),
        ["bench_gather.py"] + (["--nodes", "4000", "16000"] if args.quick else []),
        ["bench_screen.py"] + (["--twins", "10", "--pairs-top", "20", "--sample", "5"] if args.quick else []),
        ["bench_end_to_end.py"]
        + (
            ["--twins", "5", "--sample", "4", "--fine-dt", "0.5", "--null-draws", "20000"]
            if args.quick
            else []
        ),
        ["bench_stream.py"] + (["--drugs", "1000", "--twins", "100"] if args.quick else []),
        ["bench_scale.py"] + (["--cells", "10000", "30000", "--twins", "--genes"] if args.quick else []),
    ]
    for script, *rest in runs:
        print(f"\n=== {script} {' '.join(rest)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *rest], check=True)


if __name__ == "__main__":
    main()
