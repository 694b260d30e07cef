"""Failures end in one line, leave no result behind; plugins are isolated and see only redacted config."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from p4core.errors import output_error

SMALL = ["twin.n_twins=2", "data.n_cells=60", "render=[table,json]"]


def cli(
    tmp_path: Path, *overrides: str, env: dict | None = None, prelude: str = ""
) -> subprocess.CompletedProcess:
    """``python -m p4core`` (or the same entry after ``prelude``, Python run first in the process)."""
    args = [f"hydra.run.dir={tmp_path / 'run'}", *overrides]
    if prelude:
        code = (
            prelude
            + f"\nimport sys\nsys.argv = ['p4core', *{args!r}]\nfrom p4core.cli import entry\nentry()\n"
        )
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", "p4core", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)


def results(run: Path) -> list[str]:
    """Everything in the run folder but the log (hidden staging folders included)."""
    return sorted(p.name for p in run.iterdir() if p.name != "p4core.log") if run.exists() else []


def one_line_failure(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [
        ln
        for ln in proc.stderr.splitlines()
        if "p4core" in ln and ("ERROR" in ln or ln.startswith("p4core:"))
    ]
    assert len(lines) == 1, proc.stderr[-3000:]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.mark.slow
def test_output_folder_with_a_file_in_the_way(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "p4core", f"hydra.run.dir={blocker / 'run'}", *SMALL],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    one_line_failure(proc, str(blocker / "run"), "a file is in the way", "hydra.run.dir=")
    sweep = subprocess.run(
        [
            sys.executable,
            "-m",
            "p4core",
            "-m",
            f"hydra.sweep.dir={blocker / 'sw'}",
            "twin.n_twins=2,3",
            *SMALL[1:],
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    one_line_failure(sweep, "hydra.sweep.dir=")


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_output_folder_read_only(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "p4core", f"hydra.run.dir={ro / 'run'}", *SMALL],
            capture_output=True,
            text=True,
            timeout=300,
        )
        one_line_failure(proc, "no permission")
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize(
    "code,needle",
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EACCES, "no permission"),
        (errno.EROFS, "read-only"),
        (errno.ENOTDIR, "a file is in the way"),
        (errno.EIO, "choose another folder"),
    ],
)
def test_output_error_names_the_file_and_the_fix(code, needle):
    msg = str(output_error(OSError(code, os.strerror(code), "/data/run/drugs.parquet")))
    assert (
        msg.startswith("cannot write /data/run/drugs.parquet: ") and needle in msg and "hydra.run.dir=" in msg
    )
    assert "\n" not in msg


@pytest.mark.slow
def test_disk_full_while_writing_keeps_nothing(tmp_path):
    """A write that fails with ENOSPC half-way through the renderers: one line, exit 2, no result file."""
    prelude = textwrap.dedent(
        """
        import errno, pandas
        def full(self, path, *a, **k):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        pandas.DataFrame.to_parquet = full
        """
    )
    proc = cli(tmp_path, *SMALL, prelude=prelude)
    one_line_failure(proc, "cannot write", ".parquet", "the disk is full")
    assert results(tmp_path / "run") == []


def test_interrupted_publish_keeps_nothing(tmp_path, monkeypatch):
    """Interrupted while the finished files are moved into the run folder: those moved are taken back."""
    import p4core
    from p4core import pipeline

    real = Path.replace
    calls = []

    def flaky(self, target):
        calls.append(self)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, target)

    monkeypatch.setattr(Path, "replace", flaky)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(p4core.compose(SMALL), tmp_path / "run")
    assert len(calls) == 4 and results(tmp_path / "run") == []


@pytest.mark.slow
def test_ctrl_c_stops_cleanly(tmp_path):
    """SIGINT during the run: exit 130, a one-line message, no result file. Deterministic: a plugin's
    p4core_twin_built hook says the run has reached the screen (a marker file) and then waits for the
    signal, so the run cannot finish before the signal arrives, however fast or busy the machine."""
    import signal
    import time

    marker = tmp_path / "at-screen"
    env = plugin_env(
        tmp_path,
        "p4core_wait_plugin",
        f"""
        import time
        from pathlib import Path
        from p4core.hooks import hookimpl

        @hookimpl
        def p4core_twin_built(ensemble, cfg):
            Path({str(marker)!r}).write_text("screen next")
            while True:
                time.sleep(0.05)
        """,
    )
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={tmp_path / 'run'}", *SMALL]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 240  # a bound against hanging, not a timing assumption
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the run never reached the screen"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted: no results written" in err and "Traceback" not in err
    assert results(tmp_path / "run") == []


def plugin_env(tmp_path: Path, module: str, source: str) -> dict:
    """An environment in which ``module`` (its ``source``) is an installed p4core plugin: a module and a
    ``.dist-info`` with its entry point, on PYTHONPATH (what pip would write, without pip)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[p4core]\n{module} = {module}\n")
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))


FAULTY = """
import json, os
from pathlib import Path
from p4core.hooks import hookimpl

@hookimpl
def p4core_register_scores(register):
    def broken(context):
        raise ZeroDivisionError("score plugin bug")
    register("fragile", broken, description="a score that raises")

@hookimpl
def p4core_register_renderers(register):
    def boom(result, outdir, cfg):
        raise RuntimeError("renderer plugin bug")
    register("boom", boom, description="a renderer that raises")

@hookimpl
def p4core_register_context(register):
    def bad(cfg, context, key):
        raise KeyError("context plugin bug")
    register("badctx", bad, description="a context source that raises")

@hookimpl
def p4core_twin_built(ensemble, cfg):
    Path(os.environ["SEEN"], "twin_built.txt").write_text(repr(cfg))
    raise RuntimeError("hook plugin bug")

@hookimpl
def p4core_result_ready(result, cfg):
    Path(os.environ["SEEN"], "result_ready.txt").write_text(repr(cfg) + json.dumps(result.config, default=str))
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faulty")
    env = plugin_env(tmp, "p4core_faulty_plugin", FAULTY)
    seen = tmp / "seen"
    seen.mkdir()
    env["SEEN"] = str(seen)
    return tmp, env, seen


@pytest.mark.slow
def test_faulty_score_and_hook_are_named_and_left_out(faulty, tmp_path):
    import numpy as np
    from test_cli import BASE, write_h5ad

    _, env, seen = faulty
    secret = "MRN-0042-SMITH"
    key = "site-secret-key-77"
    rng = np.random.default_rng(0)
    genes = ["TNF", "TNFRSF1A", "RELA", "NFKBIA", "IL6", "STAT3", "JAK1", "IL6R", "CXCL8", "ACTB"]
    obs = {"ct": ["A"] * 60 + ["B"] * 60, "cond": ["h", "d"] * 60}
    path = write_h5ad(
        tmp_path / f"{secret}.h5ad", rng.poisson(2.0, (120, len(genes))).astype("float32"), obs, genes
    )
    args = [
        *BASE,
        f"data.path={path}",
        f"data.patient_id={secret}",
        f"privacy.key={key}",
        "render=[table,json]",
    ]
    proc = cli(tmp_path, *args, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln]
    assert any(
        "score 'fragile' (plugin p4core_faulty_plugin) failed" in w and "score plugin bug" in w
        for w in warnings
    )
    assert any(
        "p4core_faulty_plugin raised in p4core_twin_built" in w and "hook plugin bug" in w for w in warnings
    )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert "fragile" not in json.dumps(summary)
    # what the plugin received: no identifier, no key
    for name in ("twin_built.txt", "result_ready.txt"):
        text = (seen / name).read_text()
        assert secret not in text and key not in text, name
        assert "<redacted" in text
    for p in (tmp_path / "run").rglob("*"):
        if p.is_dir():
            continue
        assert key.encode() not in p.read_bytes() and secret.encode() not in p.read_bytes(), p.name


@pytest.mark.slow
def test_faulty_renderer_asked_for_costs_only_its_own_files(faulty, tmp_path):
    """A renderer that fails after the work costs only its own files: the rest is published, the run exits 3
    naming the renderer and the command that re-renders only it."""
    _, env, _ = faulty
    run = tmp_path / "run"
    proc = cli(tmp_path, "twin.n_twins=2", "data.n_cells=60", "render=[table]", "+render.boom.x=1", env=env)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "renderer 'boom' (plugin p4core_faulty_plugin) failed" in last and "renderer plugin bug" in last
    assert f"python -m p4core render run={run} render=[boom]" in last
    published = set(results(run))
    assert {"drugs.csv", "config_resolved.yaml", ".p4core"} <= published and not any(
        "boom" in n for n in published
    )

    # the saved results re-render without the screen; the broken renderer still fails, named the same way
    def rerender(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "p4core", "render", f"run={run}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)

    (run / "drugs.csv").unlink()
    again = rerender("render=[table]", "render.table.formats=[csv]")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "build twins" not in again.stderr and (run / "drugs.csv").is_file()
    again = rerender("render=[boom]")
    assert again.returncode == 3 and "renderer plugin bug" in again.stderr
    (other := tmp_path / "other").mkdir()
    proc = cli(other, *SMALL, "+context.badctx.x=1", env=env)
    one_line_failure(
        proc, "context source 'badctx' (plugin p4core_faulty_plugin) failed", "context plugin bug"
    )


def test_faulty_renderer_not_asked_for_is_left_out(faulty, tmp_path, monkeypatch, caplog):
    """A renderer in the config's list that the user did not name: a warning, the others still write."""
    import importlib
    import importlib.metadata

    import p4core
    from p4core import pipeline
    from p4core.hooks.manager import Plugins

    tmp, _, seen = faulty
    monkeypatch.syspath_prepend(str(tmp / "site"))
    monkeypatch.setenv("SEEN", str(seen))
    builtins = [
        ep for ep in importlib.metadata.entry_points(group="p4core") if ep.name != "p4core_faulty_plugin"
    ]
    plugins = Plugins(
        entry_points=builtins, extra={"faulty": importlib.import_module("p4core_faulty_plugin")}
    )
    cfg = p4core.compose(["twin.n_twins=2", "data.n_cells=60", "render=[table,json]", "+render.boom.x=1"])
    with caplog.at_level("WARNING", logger="p4core"):
        _, files = pipeline.run(cfg, tmp_path / "run", plugins=plugins, requested_renderers=set())
    assert any("renderer 'boom'" in r.getMessage() and "left out" in r.getMessage() for r in caplog.records)
    assert {"drugs.csv", "summary.json"} <= {f.name for f in files}


@pytest.mark.parametrize("source,reader", [("h5ad", "read_patient_h5ad"), ("demo", "demo_patient")])
def test_every_source_option_reaches_the_reader(source, reader, monkeypatch):
    """Each field of a data source's schema, set as a command-line override, arrives at the reader
    (a field the plugin forgot to pass, as data.organism once was, fails here)."""
    import dataclasses
    import importlib
    import typing

    import p4core
    from p4core.hooks.manager import get_plugins
    from p4core.pipeline import load_patient

    comp = get_plugins().get("sources", source)
    module = importlib.import_module(comp.factory.__module__)
    seen: dict = {}

    def spy(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise LookupError("spy")  # stop here: only the call matters

    monkeypatch.setattr(module, reader, spy)
    hints = typing.get_type_hints(comp.schema)
    base = (
        ["data=h5ad", "data.path=x.h5ad", "data.reference=h"] if source == "h5ad" else ["data=demo_arthritis"]
    )
    for f in dataclasses.fields(comp.schema):
        if f.name == "source":
            continue
        kind = hints[f.name]
        if kind is bool:
            value, text = (not f.default), str(not f.default).lower()
        elif kind is int:
            value, text = 7, "7"
        elif kind is float:
            value, text = 0.375, "0.375"
        else:  # str or str | None
            value = text = f"sentinel_{f.name}"
        cfg = p4core.compose([*base, f"data.{f.name}={text}"])
        seen.clear()
        with pytest.raises(LookupError, match="spy"):
            load_patient(cfg.data)
        passed = [*seen["args"], *seen["kwargs"].values()]
        assert value in passed, f"data.{f.name}={text} did not reach {reader}: {seen}"
