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


@pytest.mark.slow
def test_example_third_party_plugin_installs_separately_and_is_picked_up(tmp_path):
    """examples/p4core-example-plugin is a separate distribution; once installed, its entry point
    adds a data source, a knowledge source, a context source, a score, a renderer and config presets
    (data=counts_csv, knowledge=sif) that a run uses."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    from helpers import ROOT

    # built from a copy: pip would leave an .egg-info in the checkout's src/, where the example's
    # own tests import from, and the plugin would be "installed" for every later test
    example = tmp_path / "example"
    shutil.copytree(
        ROOT / "examples" / "p4core-example-plugin",
        example,
        ignore=shutil.ignore_patterns("*.egg-info", "build"),
    )
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
    provided = (
        "source:counts_csv, context_source:smoking, score:pack_years, knowledge:sif, renderer:context_txt"
    )
    assert provided in listing.stdout
    assert "config presets of example: pkg://p4core_example_plugin.configs" in listing.stdout
    (tmp_path / "smoking.csv").write_text("date,status\n2015-01-01,current\n2020-06-01,former\n")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", "twin.n_twins=3", "render=[json]",
           f"context.smoking.path={tmp_path / 'smoking.csv'}", "context.smoking.index_date=2021-01-01",
           "render.context_txt.file=context.txt"]  # no + needed  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "smoking: former" in (run / "context.txt").read_text()
    summary = (run / "summary.json").read_text()
    assert '"smoking"' in summary

    # its data and knowledge sources, chosen through the config presets the plugin ships
    import numpy as np
    import pandas as pd

    from p4core.datasets import curated_knowledge, demo_patient
    from p4core.model import CELL_TYPE, CONDITION, REFERENCE

    adata = demo_patient("arthritis", n_cells=40, seed=2).adata
    barcodes = [f"C{i}" for i in range(adata.n_obs)]
    pd.DataFrame(adata.X.toarray().T.astype(int), index=adata.var_names, columns=barcodes).to_csv(
        tmp_path / "counts.csv"
    )
    pd.DataFrame(
        {"barcode": barcodes, "cell_type": adata.obs[CELL_TYPE].to_numpy(),
         "condition": np.where(adata.obs[CONDITION] == REFERENCE, "healthy", "flare")}
    ).to_csv(tmp_path / "cells.csv", index=False)  # fmt: skip
    words = {("signalling", 1): "activates", ("signalling", -1): "inhibits", ("transcriptional", 1): "induces",
             ("transcriptional", -1): "represses", ("ligand_receptor", 1): "binds"}  # fmt: skip
    edges = curated_knowledge().network.edges
    (tmp_path / "net.sif").write_text(
        "".join(
            f"{e.source} {words[(e.kind, e.sign)]} {e.target}\n"
            for e in edges.itertuples()
            if (e.kind, e.sign) in words
        )  # fmt: skip
    )
    run2 = tmp_path / "run2"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run2}", "twin.n_twins=3", "render=[json]",
           "data=counts_csv", f"data.counts={tmp_path / 'counts.csv'}", f"data.cells={tmp_path / 'cells.csv'}",
           "data.reference=healthy", "knowledge=sif", f"knowledge.network={tmp_path / 'net.sif'}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads((run2 / "summary.json").read_text())
    assert result["data"] == "counts and cells tables (CSV)"
    assert any("SIF file" in p for p in result["knowledge"])
    assert "preset" not in proc.stderr  # data=counts_csv was found among the plugin's presets
