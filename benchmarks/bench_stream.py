"""A synthetic screen at biobank scale, streamed to Parquet: time and peak memory.

    python benchmarks/bench_stream.py [--drugs 10000] [--twins 1000] [--out DIR]

Twins are made on demand (p4core.testing.synthetic.SyntheticTwins: 4 cell types x 1,000 genes, 20k edges,
weights jittered per twin), scores are written per block of 50 twins (p4core.screen.stream). The run is
resumable: interrupt it (Ctrl-C) and start it again with the same --out. Prints wall time, peak
resident memory, and the size on disk; writes benchmarks/results/stream.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from p4core.screen.stream import screen_to_parquet
from p4core.testing.synthetic import synthetic_screen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drugs", type=int, default=10_000)
    ap.add_argument("--twins", type=int, default=1_000)
    ap.add_argument("--twin-block", type=int, default=50)
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one, removed)")
    args = ap.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="p4core-stream-"))
    ensemble, drugs = synthetic_screen(args.drugs, args.twins)
    t0 = time.perf_counter()
    table = screen_to_parquet(ensemble, drugs, out, twin_block=args.twin_block)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
    print(
        f"{args.drugs} drugs x {args.twins} twins: {seconds:.1f} s, peak memory {peak:.0f} MB, {disk:.0f} MB on disk"
    )
    print(table.head(5).to_string(index=False))
    res = Path(__file__).parent / "results" / "stream.json"
    res.parent.mkdir(exist_ok=True)
    res.write_text(
        json.dumps({"args": vars(args), "seconds": seconds, "peak_rss_mb": peak, "disk_mb": disk}, indent=2)
        + "\n"
    )
    print(f"written {res}")
    if not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
