"""Finding, loading and listing plugins.

Plugins come from the entry-point group ``p4core`` (first-party and third-party alike). A plugin
that fails to import or to register is recorded with its error: it never takes the others
down, and asking for a component it would have provided names it and its error.

Environment switches (datasette style):
``P4CORE_DISABLE_PLUGINS=a,b`` skips plugins by entry-point name; ``P4CORE_TRACE_PLUGINS=1``
logs every hook call.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pluggy

from p4core.errors import P4coreError, PluginError
from p4core.hooks import specs as hookspecs

log = logging.getLogger("p4core")

KINDS = ("sources", "context", "scores", "knowledge", "renderers", "sonifiers", "commands")
#: one component of each kind, in messages
SINGULAR = {
    "sources": "source",
    "context": "context source",
    "scores": "score",
    "knowledge": "knowledge",
    "renderers": "renderer",
    "sonifiers": "sonifier",
    "commands": "command",
}


@dataclass
class Component:
    kind: str
    name: str
    plugin: str
    factory: Callable[..., Any]
    schema: type | None = None
    description: str = ""
    #: renderers: how many of the best drugs' courses the renderer needs with its config node (the
    #: course stage simulates them in its batch, into ``result.trajectories.extra``)
    courses: Callable[[Any], int] | None = None
    #: renderers: run after the others (a summary that reports their timings)
    last: bool = False
    #: renderers: what of the run's products it needs with its config node (``{"sound", "audio"}``)
    needs: Callable[[Any], set[str]] | None = None
    #: renderers: the writer of a cohort's files (``cohort(cohort_result, outdir, node)``)
    cohort: Callable[..., Any] | None = None
    #: any kind: ``check(node)`` raises InputError for an input that cannot work, before any work
    check: Callable[[Any], None] | None = None


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str
    version: str
    error: str | None = None
    provides: list[str] = field(default_factory=list)


class Plugins:
    """The loaded plugins and the components they registered."""

    def __init__(
        self,
        entry_points: list[importlib.metadata.EntryPoint] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.components: dict[str, dict[str, Component]] = {k: {} for k in KINDS}
        if os.environ.get("P4CORE_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(lambda msg: log.debug("plugin trace: %s", msg.rstrip()))
            self.pm.enable_tracing()
        disabled = {s.strip() for s in os.environ.get("P4CORE_DISABLE_PLUGINS", "").split(",") if s.strip()}
        eps = (
            entry_points
            if entry_points is not None
            else list(importlib.metadata.entry_points(group="p4core"))
        )
        for ep in sorted(eps, key=lambda e: e.name):
            if ep.name in disabled:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, ep.value, dist.name if dist else "?", dist.version if dist else "?")
            self.plugins[ep.name] = info
            try:
                obj = ep.load()
                self.pm.register(obj, name=ep.name)
            except Exception as exc:  # a broken plugin is reported, never fatal for the others
                info.error = f"{type(exc).__name__}: {exc}"
                log.debug("plugin %s failed to load:\n%s", ep.name, traceback.format_exc())
        for name, obj in (extra or {}).items():
            self.plugins[name] = PluginInfo(name, getattr(obj, "__name__", repr(obj)), "(in-process)", "")
            self.pm.register(obj, name=name)
        self.pm.check_pending()
        for kind in KINDS:
            self._collect(kind)

    def _collect(self, kind: str) -> None:
        """Call ``p4core_register_<kind>`` of each plugin in turn through pluggy's hook caller (so tracing
        and hook wrappers apply), with a ``register`` that knows which plugin is registering."""
        name = f"p4core_register_{kind}"
        impls = getattr(self.pm.hook, name).get_hookimpls()
        for impl in impls:
            plugin = impl.plugin_name
            if self.plugins.get(plugin) and self.plugins[plugin].error:
                continue

            def register(
                name: str,
                factory: Callable[..., Any],
                *,
                schema: type | None = None,
                description: str = "",
                courses: Callable[[Any], int] | None = None,
                needs: Callable[[Any], set[str]] | None = None,
                last: bool = False,
                cohort: Callable[..., Any] | None = None,
                check: Callable[[Any], None] | None = None,
                _plugin: str = plugin,
            ) -> None:
                if name in self.components[kind]:
                    other = self.components[kind][name].plugin
                    raise PluginError(
                        f"{SINGULAR[kind]} {name!r} is registered by both plugin {other!r} and {_plugin!r}"
                    )
                self.components[kind][name] = Component(
                    kind, name, _plugin, factory, schema, description, courses, last, needs, cohort, check
                )
                self.plugins[_plugin].provides.append(f"{SINGULAR[kind].replace(' ', '_')}:{name}")

            others = [self.pm.get_plugin(i.plugin_name) for i in impls if i.plugin_name != plugin]
            caller = self.pm.subset_hook_caller(name, remove_plugins=others)
            try:
                caller(register=register)
            except Exception as exc:
                info = self.plugins[plugin]
                info.error = f"{type(exc).__name__} in {name}: {exc}"

    def call_hook(self, name: str, **kwargs: Any) -> None:
        """Call every implementation of hook ``name`` (in pluggy's order: the last registered first),
        each on its own through pluggy's hook caller: one that raises is named in a warning and the
        others still run. p4core's own errors (bad input the plugin found) and interrupts pass through."""
        impls = list(reversed(getattr(self.pm.hook, name).get_hookimpls()))
        for impl in impls:
            others = [self.pm.get_plugin(i.plugin_name) for i in impls if i is not impl]
            try:
                self.pm.subset_hook_caller(name, remove_plugins=others)(**kwargs)
            except P4coreError:
                raise
            except Exception as exc:
                log.warning(
                    "plugin %s raised in %s and was left out: %s: %s",
                    impl.plugin_name,
                    name,
                    type(exc).__name__,
                    exc,
                )
                log.debug("%s", traceback.format_exc())

    def run_component(self, comp: Component, required: bool, *args: Any) -> tuple[bool, Any]:
        """``(True, comp.factory(*args))``, or when the factory raises something other than a p4core
        error, an OSError or an interrupt: a :class:`PluginError` naming the component and its plugin
        if ``required`` (the user asked for it by name), else a one-line warning and ``(False, None)``."""
        try:
            return True, comp.factory(*args)
        except (P4coreError, OSError):
            raise
        except Exception as exc:
            what = f"{SINGULAR[comp.kind]} {comp.name!r} (plugin {comp.plugin})"
            log.debug("%s", traceback.format_exc())
            if required:
                raise PluginError(
                    f"{what} failed: {type(exc).__name__}: {exc}; fix or update the plugin, or leave it out "
                    f"(P4CORE_DISABLE_PLUGINS={comp.plugin} disables it)"
                ) from None
            log.warning("%s failed and was left out: %s: %s", what, type(exc).__name__, exc)
            return False, None

    def config_presets(self) -> list[tuple[str, str]]:
        """``(plugin, search path)`` for every config-preset folder a plugin declares
        (``p4core_config_presets``), in registration order; a hook that raises is named in a warning."""
        out: list[tuple[str, str]] = []
        impls = list(reversed(self.pm.hook.p4core_config_presets.get_hookimpls()))
        for impl in impls:
            if self.plugins.get(impl.plugin_name) and self.plugins[impl.plugin_name].error:
                continue
            others = [self.pm.get_plugin(i.plugin_name) for i in impls if i is not impl]
            try:
                found = self.pm.subset_hook_caller("p4core_config_presets", remove_plugins=others)()
            except Exception as exc:
                log.warning("plugin %s raised in p4core_config_presets: %s: %s", impl.plugin_name,
                            type(exc).__name__, exc)  # fmt: skip
                continue
            for item in found:
                for path in [item] if isinstance(item, str) else list(item or []):
                    out.append((impl.plugin_name, str(path)))
        return out

    @property
    def broken(self) -> dict[str, str]:
        return {n: p.error for n, p in self.plugins.items() if p.error}

    def get(self, kind: str, name: str) -> Component:
        """The component ``name`` of ``kind``, or a :class:`PluginError` that says what exists and what broke."""
        try:
            return self.components[kind][name]
        except KeyError:
            pass
        have = ", ".join(sorted(self.components[kind])) or "(none)"
        hint = {
            "sources": "data=<preset> (data.source)",
            "knowledge": "knowledge=<preset>",
            "renderers": "render=[...] (e.g. render=[table,json])",
            "context": "context=[...] (e.g. context=[fhir])",
            "scores": "a plugin registering it (p4core_register_scores)",
            "sonifiers": "a plugin registering it (p4core_register_sonifiers; the midi plugin does)",
            "commands": "python -m p4core <command> (python -m p4core plugins lists them)",
        }[kind]
        msg = f"no {SINGULAR[kind]} named {name!r} is registered; available: {have}; choose with {hint}"
        if self.broken:
            msg += "; plugins that failed to load: " + "; ".join(f"{n} ({e})" for n, e in self.broken.items())
        raise PluginError(msg)

    def describe(self) -> str:
        """A human-readable listing of plugins and what each provides (``python -m p4core plugins``)."""
        lines = ["p4core plugins (entry-point group 'p4core'):"]
        for info in self.plugins.values():
            status = "BROKEN: " + info.error if info.error else ", ".join(info.provides) or "(hooks only)"
            lines.append(f"  {info.name:<12} {info.distribution} {info.version}  [{info.module}]")
            lines.append(f"  {'':<12} {status}")
        for plugin, path in self.config_presets():
            lines.append(f"config presets of {plugin}: {path}")
        for kind in KINDS:
            lines.append(f"{kind}:")
            for comp in self.components[kind].values():
                lines.append(f"  {comp.name:<16} {comp.description}  (plugin {comp.plugin})")
        return "\n".join(lines)


@lru_cache(maxsize=1)
def get_plugins() -> Plugins:
    """The process-wide plugin manager (loaded once)."""
    return Plugins()
