"""Plugin discovery: built-ins through entry points, third-party in-process, broken ones named."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

from p4core.errors import PluginError
from p4core.hookspecs import hookimpl
from p4core.plugin_manager import Plugins, get_plugins


def test_builtins_come_from_entry_points():
    plugins = get_plugins()
    eps = {ep.name for ep in importlib.metadata.entry_points(group="p4core")}
    assert {"curated", "demo", "h5ad", "table", "json", "midi"} <= eps
    assert set(plugins.components["sources"]) >= {"demo", "h5ad"}
    assert set(plugins.components["renderers"]) >= {"table", "json", "midi"}
    assert plugins.get("knowledge", "curated").plugin == "curated"
    assert not plugins.broken


def test_third_party_plugin_registers_like_builtins():
    mod = types.ModuleType("p4core_fake")

    @hookimpl
    def p4core_register_renderers(register):
        register("fake", lambda result, outdir, cfg: [], description="a fake renderer")

    mod.p4core_register_renderers = p4core_register_renderers
    plugins = Plugins(entry_points=[], extra={"fake": mod})
    assert plugins.get("renderers", "fake").description == "a fake renderer"
    assert "fake" in plugins.describe()


def test_broken_plugin_is_named_not_fatal():
    good = importlib.metadata.EntryPoint("demo", "p4core.plugins.demo", "p4core")
    bad = importlib.metadata.EntryPoint("exploding", "p4core_no_such_module_xyz", "p4core")
    plugins = Plugins(entry_points=[good, bad])
    assert "exploding" in plugins.broken and "ModuleNotFoundError" in plugins.broken["exploding"]
    assert plugins.get("sources", "demo")  # the others still work
    with pytest.raises(PluginError, match=r"no renderer named 'midi'.*exploding \(ModuleNotFoundError"):
        plugins.get("renderers", "midi")
    assert "BROKEN" in plugins.describe()


def test_plugin_failing_in_register_is_named():
    mod = types.ModuleType("p4core_bad_register")

    @hookimpl
    def p4core_register_sources(register):
        raise RuntimeError("database offline")

    mod.p4core_register_sources = p4core_register_sources
    plugins = Plugins(entry_points=[], extra={"bad": mod})
    assert "database offline" in plugins.broken["bad"]


def test_misspelled_hook_fails_loudly():
    mod = types.ModuleType("p4core_typo")

    @hookimpl
    def p4core_register_sourcez(register):
        pass

    mod.p4core_register_sourcez = p4core_register_sourcez
    with pytest.raises(Exception, match="p4core_register_sourcez"):
        Plugins(entry_points=[], extra={"typo": mod})


def test_duplicate_component_names_are_an_error():
    def make(name):
        m = types.ModuleType(name)

        @hookimpl
        def p4core_register_renderers(register):
            register("same", lambda *a: [])

        m.p4core_register_renderers = p4core_register_renderers
        return m

    plugins = Plugins(entry_points=[], extra={"one": make("one"), "two": make("two")})
    assert any("registered by both" in e for e in plugins.broken.values())
