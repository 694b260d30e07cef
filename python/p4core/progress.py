"""Progress for long steps: a bar on a terminal, a few log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from p4core.settings import current

T = TypeVar("T")
log = logging.getLogger("p4core")


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items`` while reporting progress on stderr (bar on a TTY; 25% log steps otherwise)."""
    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)  # type: ignore[arg-type]
    tty = current().progress and sys.stderr.isatty()
    start = time.perf_counter()
    next_log = 0.25
    i = 0
    for i, item in enumerate(items, 1):
        yield item
        if not total:
            continue
        frac = i / total
        if tty:
            bar = "#" * int(30 * frac)
            sys.stderr.write(f"\r{label:<22} [{bar:<30}] {i}/{total} {time.perf_counter() - start:5.1f}s")
            sys.stderr.flush()
        elif frac >= next_log:
            log.info("%s: %d/%d (%.1fs)", label, i, total, time.perf_counter() - start)
            while next_log <= frac:
                next_log += 0.25
    if tty and total:
        sys.stderr.write("\n")
