"""Where the screen's blocks run: in this process (``engine=local``) or on a Dask cluster (``engine=dask``).

A screen is cut into tasks of (twin block x drug block). Every task computes its drugs' scores with
the same code, and every number the kernel returns depends only on the twin and the column itself
(not on the block it shares, nor on the thread count), so both engines give the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from p4core.config import EngineConfig
from p4core.errors import InputError
from p4core.progress import progress
from p4core.settings import settings

log = logging.getLogger("p4core")


def _in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a task on a Dask worker with the kernel's threads set to the worker's own allotment
    (a worker with 1 thread runs the kernel on 1 thread: no oversubscription)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        state = getattr(worker, "state", worker)
        settings.n_threads = int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 1))
    except (ImportError, ValueError):
        pass
    return fn(*args)


def kernel_threads() -> int:
    """Threads the kernel uses in this process (0 = the OpenMP default)."""
    return settings.n_threads


class LocalEngine:
    """Tasks run one after the other in this process; the kernel's OpenMP threads do the parallel work."""

    name = "local"

    def put(self, obj: Any) -> Any:
        return obj

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple], label: str) -> list[Any]:
        return [fn(*args) for args in progress(tasks, label)]

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskEngine(LocalEngine):
    """Tasks go to a Dask distributed cluster: ``address`` (``tcp://host:8786``) or a new
    LocalCluster of ``n_workers`` processes with ``threads_per_worker`` threads each."""

    name = "dask"

    def __init__(self, address: str | None = None, n_workers: int = 2, threads_per_worker: int = 1) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise InputError(
                "engine=dask needs Dask distributed: pip install 'p4core[dask]' (or use engine=local)"
            ) from exc
        self.cluster = None
        if address:
            self.client = Client(address)
        else:
            self.cluster = LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)
        log.info("engine dask: %s", self.client)

    def put(self, obj: Any) -> Any:
        """Send a large argument to the workers once; tasks receive it by reference."""
        return self.client.scatter(obj, broadcast=True)

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple], label: str) -> list[Any]:
        from distributed import as_completed

        futures = [self.client.submit(_in_worker, fn, *args, pure=False) for args in tasks]
        try:
            for _ in progress(as_completed(futures), label, total=len(futures)):
                pass
            return list(self.client.gather(futures))
        except BaseException:
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_engine(cfg: EngineConfig | None) -> LocalEngine:
    """The engine named by the config group ``engine``."""
    if cfg is None or cfg.name == "local":
        return LocalEngine()
    return DaskEngine(cfg.address, cfg.n_workers, cfg.threads_per_worker)
