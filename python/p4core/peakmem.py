"""The peak resident memory of a stage of the run, without disturbing the process's own peak.

The process's high-water mark (``VmHWM`` in ``/proc/self/status``, Linux) is exact but only rises: when it
rises during a stage, the stage reached it. When it does not, the stage stayed below an earlier stage's
peak, and its own peak is the largest resident size a sampling thread saw (``/proc/self/statm`` every
``interval`` seconds; a spike shorter than that can be missed). The high-water mark itself is never reset,
so ``/usr/bin/time -v`` and ``wait4`` still report the run's true peak. Where ``/proc`` is absent (not
Linux) every stage reports the process's peak so far (``resource.getrusage``), an upper bound.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

_STATUS = Path("/proc/self/status")
_STATM = Path("/proc/self/statm")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def high_water_mb() -> float:
    """The process's peak resident memory so far, MB (10^6 bytes)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def resident_mb() -> float | None:
    """The current resident memory, MB (None where /proc is absent)."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE / 1e6
    except (OSError, IndexError, ValueError):
        return None


class StagePeak:
    """``with StagePeak() as s: ...`` then ``s.mb``: the stage's peak resident memory (module docstring)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.mb = 0.0
        self._seen = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            now = resident_mb()
            if now is not None and now > self._seen:
                self._seen = now

    def __enter__(self) -> StagePeak:
        self._before = high_water_mb()
        self._seen = resident_mb() or 0.0
        if self._seen:
            self._thread = threading.Thread(target=self._sample, name="p4core-peakmem", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        after = high_water_mb()
        now = resident_mb() or 0.0
        exact = after > self._before or not self._seen
        self.mb = round(after if exact else max(self._seen, now), 1)
