"""Plugin discovery: built-ins through entry points, third-party in-process, broken ones named."""

from __future__ import annotations

import importlib.metadata
import types

import pytest

from p4core.errors import PluginError
from p4core.hooks import hookimpl
from p4core.hooks.manager import Plugins, get_plugins


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


def test_example_third_party_plugin_installs_separately_and_is_picked_up(tmp_path):
    """examples/p4core-example-plugin is a separate distribution; once installed, its entry point
    adds a context source, a score and a renderer that a run uses."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "p4core-example-plugin"
    target = tmp_path / "site"
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(example)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = dict(os.environ, PYTHONPATH=str(target))
    listing = subprocess.run(
        [sys.executable, "-m", "p4core", "plugins"], capture_output=True, text=True, env=env
    )
    assert "context_source:smoking, score:pack_years, renderer:context_txt" in listing.stdout
    (tmp_path / "smoking.csv").write_text("date,status\n2015-01-01,current\n2020-06-01,former\n")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", "twin.n_twins=3", "render=[json]",
           f"+context.smoking.path={tmp_path / 'smoking.csv'}", "+context.smoking.index_date=2021-01-01",
           "+render.context_txt.file=context.txt"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "smoking: former" in (run / "context.txt").read_text()
    summary = (run / "summary.json").read_text()
    assert '"smoking"' in summary
