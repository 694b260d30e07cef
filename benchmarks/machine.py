"""The machine a benchmark ran on: CPU model, cores, vector extensions and cache sizes (printed beside every
figure: machines of one kind differ in caches and neighbours), and how a benchmark times a call on it."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path


def _cache_sizes() -> dict[str, str]:
    out: dict[str, str] = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for idx in sorted(base.glob("index*")) if base.is_dir() else []:
        try:
            level = (idx / "level").read_text().strip()
            kind = (idx / "type").read_text().strip()
            size = (idx / "size").read_text().strip()
            shared = (idx / "shared_cpu_list").read_text().strip()
        except OSError:
            continue
        name = f"L{level}" + ("d" if kind == "Data" else "i" if kind == "Instruction" else "")
        out[name] = f"{size} (cpus {shared})"
    return out


def describe() -> dict[str, object]:
    """CPU model, logical CPUs, widest vector extension and per-level cache sizes (Linux; best effort)."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    vector = next((v for v in ("avx512f", "avx2", "sse4_2") if v in flags), "unknown")
    return {"cpu": model, "logical_cpus": os.cpu_count(), "vector": vector, "caches": _cache_sizes()}


def line() -> str:
    d = describe()
    caches = ", ".join(f"{k} {v.split(' ')[0]}" for k, v in d["caches"].items() if not k.endswith("i"))  # type: ignore[union-attr]
    return f"machine: {d['cpu']}, {d['logical_cpus']} logical CPUs, {d['vector']}, caches {caches}"


def timed_runs(fn, repeat: int, min_time: float = 0.0) -> list[float]:
    """Seconds of each run of ``fn``: at least ``repeat`` runs, and more until ``min_time`` seconds have
    passed (as timeit's autorange: a short call gets as many chances as a long one to run while the
    neighbours of a shared machine are quiet)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":
    print(line())
