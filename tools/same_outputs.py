"""Do two runs write the same outputs? Every file byte for byte, except the run's timings.

    python tools/same_outputs.py RUN_A RUN_B          compare two run folders
    python tools/same_outputs.py --demo BASELINE      run the built-in demo now and compare it with BASELINE

Used to check that a refactoring changes no output: record a baseline with the old code
(``python -m p4core hydra.run.dir=BASELINE``), then run ``--demo BASELINE`` with the new one. The only
parts masked are the seconds each stage took (``timings_s`` in summary.json, the "Run time" line of
the report), the peak memory of each stage (``peak_memory_mb`` in summary.json; both also in the saved
state ``.p4core/state.pkl``, compared without them) and the log. Exit 0 when the same, 1 with the
differing files listed.
"""

from __future__ import annotations

import argparse
import copy
import json
import pickle
import re
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

SKIP = {"p4core.log"}
RUN_TIME = re.compile(r"Run time: [^<]*")
TIMINGS_JSON = re.compile(r'"timings_s":\s*\{[^}]*\}')


def normalised(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "summary.json":
        d = json.loads(data)
        d.pop("timings_s", None)
        d.pop("peak_memory_mb", None)
        return json.dumps(d, sort_keys=True).encode()
    if path.name == "state.pkl":  # our own run's state (p4core.runstate): trusted, unpickled to mask
        state = pickle.loads(zlib.decompress(data))
        result = copy.copy(state["result"])
        result.timings, result.memory_mb = {}, {}
        return pickle.dumps({**state, "result": result})
    if path.suffix == ".html":
        text = data.decode("utf-8")
        text = TIMINGS_JSON.sub('"timings_s": {}', RUN_TIME.sub("Run time: -", text))
        return text.encode("utf-8")
    return data


def compare(a: Path, b: Path) -> list[str]:
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in SKIP}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name not in SKIP}
    problems = [f"only in {a}: {n}" for n in sorted(names_a - names_b)]
    problems += [f"only in {b}: {n}" for n in sorted(names_b - names_a)]
    for n in sorted(names_a & names_b):
        if normalised(a / n) != normalised(b / n):
            problems.append(f"differs: {n}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path, nargs="?")
    ap.add_argument("--demo", action="store_true", help="run the demo now and compare it with A")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        b = args.b
        if args.demo:
            b = Path(tmp) / "run"
            subprocess.run(
                [sys.executable, "-m", "p4core", f"hydra.run.dir={b}"], check=True, capture_output=True
            )
        if b is None:
            ap.error("give two run folders, or --demo BASELINE")
        problems = compare(args.a, b)
    for p in problems:
        print(p)
    print("same outputs" if not problems else f"{len(problems)} difference(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
