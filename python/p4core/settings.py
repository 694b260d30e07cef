"""Global settings (scverse style): ``p4core.settings.n_threads = 2``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    #: Kernel threads; 0 means the OpenMP default (``OMP_NUM_THREADS`` or all cores).
    n_threads: int = 0
    #: Show progress bars on a terminal.
    progress: bool = True


settings = Settings()
