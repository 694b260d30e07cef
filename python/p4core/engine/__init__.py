"""Where the screen's blocks run: in this process (``engine=local``) or on a Dask cluster (``engine=dask``).

A screen is cut into tasks of (twin block x drug block). Every task computes its drugs' scores with
the same code, and every number the kernel returns depends only on the twin and the column itself
(not on the block it shares, nor on the thread count), so both engines give the same numbers.
``base`` (the :class:`Engine` protocol, :class:`LocalEngine`), ``dask``, ``params`` (EngineConfig).
"""

from __future__ import annotations

from p4core.engine.base import Engine, LocalEngine
from p4core.engine.dask import DaskEngine, in_worker, kernel_threads
from p4core.engine.params import EngineConfig

__all__ = [
    "DaskEngine",
    "Engine",
    "EngineConfig",
    "LocalEngine",
    "in_worker",
    "kernel_threads",
    "make_engine",
]


def make_engine(cfg: EngineConfig | None) -> LocalEngine:
    """The engine named by the config group ``engine``, cut as it says."""
    if cfg is None or cfg.name == "local":
        return LocalEngine(cfg.drug_block if cfg else None)
    return DaskEngine(cfg.address, cfg.n_workers, cfg.threads_per_worker, cfg.drug_block, cfg.twin_block)
