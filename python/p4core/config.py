"""Structured configs: the typed schema Hydra checks every override against before any work.

Core groups (twin, screen, simulate, engine, privacy) are typed here. The ``data``,
``knowledge`` and ``render.<name>`` nodes belong to plugins: each plugin registers a dataclass
schema with its component, and :func:`validate_node` checks those nodes before any work starts.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from p4core.course.params import SimulateParams
from p4core.engine.params import EngineConfig
from p4core.errors import InputError
from p4core.evidence.params import EvidenceParams
from p4core.hooks.fields import identifying
from p4core.hooks.manager import Plugins, get_plugins
from p4core.screen.params import ExplainParams, RegulatorParams, ScreenParams
from p4core.twin.params import TwinParams


@dataclass
class PrivacyConfig:
    #: key of the pseudonymisation HMAC; null = $P4CORE_PSEUDONYM_KEY or the built-in default
    key: str | None = identifying(None, kind="secret")
    #: a site's mapping file (CSV: identifier,pseudonym) instead of the keyed hash; null = none
    mapping: str | None = identifying(None, kind="secret")


@dataclass
class Config:
    data: Any = None
    knowledge: Any = None
    twin: TwinParams = field(default_factory=TwinParams)
    screen: ScreenParams = field(default_factory=ScreenParams)
    simulate: SimulateParams = field(default_factory=SimulateParams)
    regulators: RegulatorParams = field(default_factory=RegulatorParams)
    explain: ExplainParams = field(default_factory=ExplainParams)
    evidence: EvidenceParams = field(default_factory=EvidenceParams)
    render: Any = field(default_factory=dict)
    context: Any = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    #: rows of the summary table printed at the end
    show_top: int = 10
    #: TSV of drug classes to avoid given conditions (atc_prefix, icd10_prefix, reason); null = none
    avoid_rules: str | None = None
    #: run into a folder that holds another run's results: false refuses it; true replaces those results
    #: (all or nothing: they are restored if this run fails)
    overwrite: bool = False


def package_data(relative: str) -> str:
    """Path of a file shipped in ``p4core/data`` (the ``${p4core_data:...}`` config resolver)."""
    from importlib import resources

    return str(resources.files("p4core") / "data" / relative)


def register_configs() -> None:
    """Make the schema and the ``p4core_data`` resolver known to Hydra (idempotent)."""
    ConfigStore.instance().store(name="p4core_schema", node=Config)
    if not OmegaConf.has_resolver("p4core_data"):
        OmegaConf.register_new_resolver("p4core_data", package_data)


def validate_node(node: Any, schema: type | None, where: str) -> DictConfig:
    """Check a plugin's config node against its dataclass schema; errors name ``where.<key>``."""
    if schema is None:
        return node if isinstance(node, DictConfig) else OmegaConf.create(node or {})
    allowed = [f.name for f in dataclasses.fields(schema)]
    if node is not None:
        unknown = sorted(set(map(str, node.keys())) - set(allowed))
        if unknown:
            close = difflib.get_close_matches(unknown[0], allowed, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(f'{where}.{c}' for c in close)}?" if close else ""
            raise InputError(
                f"config {where}: unknown key(s) {', '.join(f'{where}.{k}' for k in unknown)}{hint}; "
                f"allowed: {', '.join(allowed)}"
            )
    try:
        typed = OmegaConf.merge(OmegaConf.structured(schema), node if node is not None else {})
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", "") or ""
        first = str(getattr(exc, "msg", exc)).split("\n")[0]
        raise InputError(
            f"config {where}{'.' + key if key else ''}: {first} (allowed keys: {', '.join(allowed)})"
        ) from None
    missing = sorted(OmegaConf.missing_keys(typed))
    if missing:
        raise InputError(
            f"config {where}: required value(s) not set: {', '.join(f'{where}.{k}' for k in missing)}; "
            f"pass them as overrides, e.g. {where}.{missing[0]}=..."
        )
    assert isinstance(typed, DictConfig)
    # instantiate the schema: its __post_init__ checks the values and may fill in derived ones
    # (e.g. a preset's defaults); the node handed to the plugin carries them
    obj = OmegaConf.to_object(typed)
    out = OmegaConf.structured(obj)
    assert isinstance(out, DictConfig)
    return out


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The run config for ``overrides`` (Hydra syntax), as ``python -m p4core`` would compose it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    register_configs()
    with initialize_config_module(config_module="p4core.configs", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides))


def group_options(group: str) -> list[str]:
    """The presets of config group ``group`` (what ``group=<name>`` may name), as Hydra sees them."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    register_configs()
    with initialize_config_module(config_module="p4core.configs", version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        return sorted(loader.get_group_options(group))


def source_name(node: Any, group: str) -> str:
    name = node.get("source") if node is not None else None
    if not name:
        raise InputError(
            f"config {group}: no 'source' given; pick one with {group}=<preset> "
            f"(see `python -m p4core plugins`)"
        )
    return str(name)


CORE_GROUPS = {
    "regulators": RegulatorParams,
    "twin": TwinParams,
    "screen": ScreenParams,
    "simulate": SimulateParams,
    "engine": EngineConfig,
    "privacy": PrivacyConfig,
    "explain": ExplainParams,
    "evidence": EvidenceParams,
}


def check_config(cfg: DictConfig, plugins: Plugins | None = None) -> dict[str, Any]:
    """Validate every config node, the core groups and those owned by plugins, before any work.

    Returns the typed objects of the core groups and the typed nodes of the plugins'."""
    plugins = plugins or get_plugins()
    typed: dict[str, Any] = {}
    for group, schema in CORE_GROUPS.items():
        typed[group] = OmegaConf.to_object(validate_node(cfg[group], schema, group))
    comps = []
    for group, kind in (("data", "sources"), ("knowledge", "knowledge")):
        comp = plugins.get(kind, source_name(cfg[group], group))
        typed[group] = validate_node(cfg[group], comp.schema, group)
        comps.append((comp, group))
    for name in cfg.get("context") or {}:
        comp = plugins.get("context", str(name))
        typed[f"context.{name}"] = validate_node(cfg.context[name], comp.schema, f"context.{name}")
        comps.append((comp, f"context.{name}"))
    for name in cfg.render or {}:
        comp = plugins.get("renderers", str(name))
        typed[f"render.{name}"] = validate_node(cfg.render[name], comp.schema, f"render.{name}")
        comps.append((comp, f"render.{name}"))
    for comp, key in comps:  # each component's own checks of its inputs (files exist, extras installed)
        if comp.check is not None:
            comp.check(typed[key])
    return typed
