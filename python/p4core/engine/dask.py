"""The Dask engine: a screen's tasks on a Dask distributed cluster (``engine=dask``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from p4core.engine.base import LocalEngine
from p4core.errors import InputError
from p4core.progress import progress
from p4core.settings import current, run_settings

log = logging.getLogger("p4core")


def kernel_threads() -> int:
    """Threads the kernel uses in this process (0 = the OpenMP default)."""
    return current().n_threads


def in_worker(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a task on a Dask worker with the kernel's threads set to the worker's own allotment
    (a worker with 1 thread runs the kernel on 1 thread: no oversubscription)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        state = getattr(worker, "state", worker)
        n = int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 1))
    except (ImportError, ValueError):
        return fn(*args)
    with run_settings(n_threads=n):
        return fn(*args)


class DaskEngine(LocalEngine):
    """Tasks go to a Dask distributed cluster: ``address`` (``tcp://host:8786``) or a new
    LocalCluster of ``n_workers`` processes with ``threads_per_worker`` threads each; ``twin_block``
    twins and ``drug_block`` drugs per task."""

    name = "dask"

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        drug_block: int | None = None,
        twin_block: int = 1,
    ) -> None:
        super().__init__(drug_block)
        self.twin_block = twin_block
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

        futures = [self.client.submit(in_worker, fn, *args, pure=False) for args in tasks]
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
