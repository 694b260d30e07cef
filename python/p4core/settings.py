"""Global settings (scverse style): ``p4core.settings.n_threads = 2``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from threadpoolctl import threadpool_limits


@dataclass
class Settings:
    #: Kernel threads; 0 means the OpenMP default (``OMP_NUM_THREADS`` or all cores).
    n_threads: int = 0
    #: Show progress bars on a terminal.
    progress: bool = True


settings = Settings()


@contextlib.contextmanager
def deterministic_blas() -> Iterator[None]:
    """Run BLAS on one thread inside the block: a multi-threaded BLAS may split a reduction
    differently for another thread count, and p4core gives the same numbers for any thread
    count (the parallelism is the kernel's, whose loops have a fixed order)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
