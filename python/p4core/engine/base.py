"""The engine protocol the screen runs its tasks through, and the in-process engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from p4core.progress import progress


class Engine(Protocol):
    """What :func:`p4core.screen` needs from an engine: where tasks run, and how the screen is cut.

    ``drug_block``: drugs per task (None: all in one); ``twin_block``: twins per task. ``put`` ships a
    large argument once (returns a handle tasks receive), ``map`` runs ``fn(*args)`` for every task
    tuple and returns the results in order (``label`` names the progress bar)."""

    name: str
    drug_block: int | None
    twin_block: int

    def put(self, obj: Any) -> Any: ...

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple], label: str) -> list[Any]: ...

    def close(self) -> None: ...


class LocalEngine:
    """Tasks run one after the other in this process; the kernel's OpenMP threads do the parallel work.
    One twin per task; ``drug_block`` drugs per task (None: all)."""

    name = "local"

    def __init__(self, drug_block: int | None = None) -> None:
        self.drug_block = drug_block
        self.twin_block = 1

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
