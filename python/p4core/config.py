"""Structured configs: the typed schema Hydra checks every override against before any work.

Core groups (twin, screen, simulate, engine, privacy) are typed here. The ``data``,
``knowledge`` and ``render.<name>`` nodes belong to plugins: each plugin registers a dataclass
schema with its component, and :func:`validate_node` checks those nodes before any work starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import InputError
from .screen import ScreenParams
from .simulate import SimulateParams
from .twin import TwinParams


@dataclass
class EngineConfig:
    #: where the screen runs: ``local`` (the kernel's OpenMP threads)
    name: str = "local"
    #: kernel threads; 0 = OMP_NUM_THREADS or all cores
    n_threads: int = 0


@dataclass
class PrivacyConfig:
    #: key of the pseudonymisation HMAC; null = $P4CORE_PSEUDONYM_KEY or the built-in default
    key: str | None = None


@dataclass
class Config:
    data: Any = None
    knowledge: Any = None
    twin: TwinParams = field(default_factory=TwinParams)
    screen: ScreenParams = field(default_factory=ScreenParams)
    simulate: SimulateParams = field(default_factory=SimulateParams)
    render: Any = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    #: rows of the summary table printed at the end
    show_top: int = 10


def register_configs() -> None:
    """Make the schema known to Hydra (idempotent)."""
    ConfigStore.instance().store(name="p4core_schema", node=Config)


def validate_node(node: Any, schema: type | None, where: str) -> DictConfig:
    """Check a plugin's config node against its dataclass schema; errors name ``where.<key>``."""
    if schema is None:
        return node if isinstance(node, DictConfig) else OmegaConf.create(node or {})
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), node if node is not None else {})
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        raise InputError(
            f"config {where}{'.' + key if key else ''}: {exc.msg if hasattr(exc, 'msg') else exc}".split(
                "\n"
            )[0]
            + f" (allowed keys: {', '.join(f.name for f in dataclasses.fields(schema))})"
        ) from None
    missing = sorted(OmegaConf.missing_keys(typed))
    if missing:
        raise InputError(
            f"config {where}: required value(s) not set: {', '.join(f'{where}.{k}' for k in missing)}; "
            f"pass them as overrides, e.g. {where}.{missing[0]}=..."
        )
    assert isinstance(typed, DictConfig)
    return typed


register_configs()
