"""Where the screen runs: the config node ``engine``."""

from __future__ import annotations

from dataclasses import dataclass

from p4core.errors import require


@dataclass
class EngineConfig:
    #: where the screen runs: ``local`` (the kernel's OpenMP threads) or ``dask`` (a Dask cluster)
    name: str = "local"
    #: kernel threads in this process; 0 = OMP_NUM_THREADS or all cores
    n_threads: int = 0
    #: dask: scheduler address (``tcp://host:8786``); null = start a LocalCluster
    address: str | None = None
    #: dask LocalCluster: worker processes and threads per worker (the kernel uses the worker's threads)
    n_workers: int = 2
    threads_per_worker: int = 1
    #: twins per task (dask; local runs one twin per step for progress and Ctrl-C)
    twin_block: int = 10
    #: drugs per task; 0 = all drugs in one block
    drug_block: int = 0

    def __post_init__(self) -> None:
        require(
            self.name in ("local", "dask"),
            "engine.name",
            f"{self.name!r} is not available; use engine=local or engine=dask",
        )
        require(
            self.n_threads >= 0, "engine.n_threads", f"must be >= 0 (0 = all cores), got {self.n_threads}"
        )
        for key in ("n_workers", "threads_per_worker", "twin_block"):
            require(getattr(self, key) >= 1, f"engine.{key}", f"must be >= 1, got {getattr(self, key)}")
        require(self.drug_block >= 0, "engine.drug_block", f"must be >= 0 (0 = all), got {self.drug_block}")
        if self.name == "dask":  # known before any work, not after the twins
            import importlib.util

            require(
                importlib.util.find_spec("distributed") is not None,
                "engine",
                "engine=dask needs Dask distributed: pip install 'p4core[dask]' (or use engine=local)",
            )
