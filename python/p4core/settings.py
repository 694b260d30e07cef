"""Settings (scverse style): ``p4core.settings.n_threads = 2`` sets the default for this process.

A run never changes them: :func:`p4core.pipeline.run` (and a Dask worker's task) works inside
:func:`run_settings`, a context of its own (a :class:`contextvars.ContextVar`), so two runs in one
process, one after the other or side by side in threads, cannot see each other's thread count. Code
that needs a setting reads :func:`current`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from threadpoolctl import ThreadpoolController


@dataclass
class Settings:
    #: Kernel threads; 0 means the OpenMP default (``OMP_NUM_THREADS`` or all cores).
    n_threads: int = 0
    #: Show progress bars on a terminal.
    progress: bool = True


settings = Settings()
_RUN: ContextVar[Settings | None] = ContextVar("p4core_run_settings", default=None)


def current() -> Settings:
    """The settings in force here: the enclosing run's (:func:`run_settings`), else the process's."""
    return _RUN.get() or settings


@contextlib.contextmanager
def run_settings(**changes: object) -> Iterator[Settings]:
    """Inside the block, :func:`current` is a copy of the settings in force with ``changes``
    applied; on leaving it, whatever was in force before is back (the process's ``settings`` are
    never modified)."""
    own = dataclasses.replace(current(), **changes)  # type: ignore[arg-type]
    token = _RUN.set(own)
    try:
        yield own
    finally:
        _RUN.reset(token)


@functools.cache
def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (finding them costs ~10 ms a call)."""
    return ThreadpoolController()


@contextlib.contextmanager
def deterministic_blas() -> Iterator[None]:
    """Run BLAS on one thread inside the block: a multi-threaded BLAS may split a reduction
    differently for another thread count, and p4core gives the same numbers for any thread
    count (the parallelism is the kernel's, whose loops have a fixed order). The BLAS libraries are
    found on the first call (numpy's and scipy's are loaded by then) and remembered."""
    with _blas().limit(limits=1, user_api="blas"):
        yield
