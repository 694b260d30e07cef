"""What a new user meets in the first hour: run folders that cannot be mixed, every check before any work,
no trace of a refused run, sweeps that run every job, and messages that say what to do."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import p4core_in_process

SMALL = ["twin.n_twins=2", "screen.n_null=20", "regulators.enabled=false"]
GENES = ["TNF", "TNFRSF1A", "RELA", "NFKBIA", "IL6", "STAT3", "JAK1", "IL6R", "CXCL8", "ACTB"]


def run_here(run: Path, *overrides: str):
    demo = [] if "data=h5ad" in overrides else ["data.n_cells=60"]
    return p4core_in_process(f"hydra.run.dir={run}", *SMALL, *demo, *overrides)


def small_file(path: Path) -> Path:
    from test_cli import write_h5ad

    x = np.random.default_rng(0).poisson(2.0, (120, len(GENES))).astype(np.float32)
    return write_h5ad(path, x, {"ct": ["A"] * 60 + ["B"] * 60, "cond": ["h", "d"] * 60}, GENES)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- a run folder belongs to one run -----------------------------------------------------------------


def test_a_used_folder_is_refused_and_overwrite_replaces_it_all_or_nothing(tmp_path):
    run = tmp_path / "run"
    assert run_here(run, "render=[table,json]").returncode == 0
    first = snapshot(run)
    assert "drugs.csv" in first and "summary.json" in first and ".p4core/run.json" in first

    # a second run into the folder: refused before any work, the first run's results untouched
    proc = run_here(run, "render=[json]", "data.seed=7")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{run} holds another run's results" in proc.stderr and "overwrite=true" in proc.stderr
    assert "load patient" not in proc.stderr and snapshot(run) == first

    # overwrite=true, and the new run fails after the folder was claimed: the old results come back whole
    broken = tmp_path / "broken.h5ad"
    broken.write_bytes(b"not an hdf5 file")
    proc = run_here(run, "overwrite=true", "data=h5ad", f"data.path={broken}", "data.reference=h")
    assert proc.returncode == 2 and "could not be read" in proc.stderr
    assert snapshot(run) == first and not (run / ".p4core-previous").exists()

    # overwrite=true that succeeds: only the new run's files remain (no report of one patient beside
    # another's summary)
    proc = run_here(run, "overwrite=true", "render=[json]", "data.seed=7")
    assert proc.returncode == 0, proc.stderr[-2000:]
    now = snapshot(run)
    assert "drugs.csv" not in now and now["summary.json"] != first["summary.json"]
    manifest = json.loads(now[".p4core/run.json"])
    assert set(manifest["files"]) >= {"summary.json"} and "drugs.csv" not in manifest["files"]


def test_a_finished_run_re_renders_from_its_saved_results(tmp_path):
    """A musician trying another mode does not wait for the screen again; the stored config says how the
    files beside it were made."""
    run = tmp_path / "run"
    assert run_here(run, "render=[table,json,midi]").returncode == 0
    before = snapshot(run)
    proc = p4core_in_process("render", f"run={run}", "render=[midi]", "render.midi.mode=stereo")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "screen" not in proc.stderr and "build twins" not in proc.stderr
    after = snapshot(run)
    assert after["course.mid"] != before["course.mid"] and after["drugs.csv"] == before["drugs.csv"]
    assert "mode: stereo" in after["config_resolved.yaml"].decode()
    assert set(json.loads(after[".p4core/run.json"])["files"]) == set(
        json.loads(before[".p4core/run.json"])["files"]
    )
    # only renderer options apply to a finished run
    proc = p4core_in_process("render", f"run={run}", "twin.n_twins=5")
    assert proc.returncode == 2 and "not a renderer option" in proc.stderr


def test_a_folder_another_run_holds_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run / ".p4core.lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress holds it
    try:
        proc = run_here(run, "render=[json]")
    finally:
        os.close(fd)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"another p4core run is writing into {run}" in proc.stderr
    assert {p.name for p in run.iterdir()} == {".p4core.lock"}  # nothing of the refused run


@pytest.mark.slow
def test_two_runs_started_together_into_one_folder(tmp_path):
    """One runs; the other exits 2 naming the folder (whichever message: the lock, or the finished run's
    results), and the folder holds one patient only."""
    run = tmp_path / "run"

    def start(preset: str) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run}", *SMALL, "render=[table,json]"]
        return subprocess.Popen(
            [*cmd, f"data={preset}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    procs = [start("demo_arthritis"), start("demo_dress")]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], [o[1][-1500:] for o in outs]
    loser = next(o[1] for p, o in zip(procs, outs, strict=True) if p.returncode == 2)
    assert str(run) in loser and ("another p4core run is writing" in loser or "holds another run" in loser)
    pseudonym = json.loads((run / "summary.json").read_text())["patient"]["pseudonym"]
    log = (run / "p4core.log").read_text()
    assert pseudonym in log and len(set(re.findall(r"P-[0-9A-F]{10}", log))) == 1


# -- every check before any work; a refused run leaves no trace --------------------------------------


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["avoid_rules=/no/such/rules.tsv"], "avoid_rules"),
        (["twin.n_twins=0"], "twin.n_twins"),
        (["show_top=-1"], "show_top"),
        (["data=h5ad", "data.path=/no/such/patient.h5ad", "data.reference=h"], "data.path: file not found"),
        (["context=[record]", "context.record.path=/no/such/record.yaml"], "context.record.path"),
        (["render=[midi]", "render.midi.soundfont=/no/such.sf2", "render.midi.audio=true"], "soundfont"),
    ],
)
def test_a_refused_run_leaves_no_trace(tmp_path, monkeypatch, overrides, needle):
    """Without hydra.run.dir: not even Hydra's dated outputs/ folder with its log appears."""
    monkeypatch.chdir(tmp_path)
    proc = p4core_in_process(*SMALL, *overrides, *([] if "data=h5ad" in overrides else ["data.n_cells=60"]))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert needle in proc.stderr, proc.stderr[-2000:]
    assert "load patient" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_dask_without_distributed_is_refused_before_any_work(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name, *a)
    )
    proc = run_here(tmp_path / "run", "engine=dask")
    assert proc.returncode == 2 and "pip install 'p4core[dask]'" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_sweep_runs_every_job_and_reports_each_failure(tmp_path):
    from test_cli import write_h5ad

    broken = tmp_path / "broken.h5ad"
    broken.write_bytes(b"not an hdf5 file")
    genes = ["TNF", "TNFRSF1A", "RELA", "NFKBIA", "IL6", "STAT3", "JAK1", "IL6R", "CXCL8", "ACTB"]
    x = np.random.default_rng(0).poisson(2.0, (120, len(genes))).astype(np.float32)
    good = write_h5ad(
        tmp_path / "good.h5ad", x, {"ct": ["A"] * 60 + ["B"] * 60, "cond": ["h", "d"] * 60}, genes
    )
    sweep = tmp_path / "sweep"
    proc = p4core_in_process(
        "-m",
        f"hydra.sweep.dir={sweep}",
        "data=h5ad",
        f"data.path={broken},{good}",
        "data.cell_type_key=ct",
        "data.condition_key=cond",
        "data.reference=h",
        "render=[json]",
        *SMALL,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert (sweep / "1" / "summary.json").is_file()  # the job after the failure ran
    assert not (sweep / "0").exists()  # the failed job left no folder
    tail = proc.stderr.strip().splitlines()
    assert any("1 job(s) of the sweep failed" in ln for ln in tail), tail[-5:]
    assert any("job 0:" in ln and "could not be read" in ln for ln in tail), tail[-5:]


# -- messages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "listed,bare", [("render=[tabel,json]", "render=tabel"), ("context=[fhirr]", "context=fhirr")]
)
def test_a_typo_inside_a_list_gets_the_same_line_as_alone(tmp_path, listed, bare):
    a = run_here(tmp_path / "a", listed)
    b = run_here(tmp_path / "b", bare)
    assert a.returncode == b.returncode == 2
    assert a.stderr == b.stderr and "did you mean" in a.stderr and "'?'" not in a.stderr


def test_an_unknown_added_key_is_refused_with_the_allowed_keys(tmp_path):
    proc = run_here(tmp_path / "run", "+foo.bar=1")
    assert proc.returncode == 2 and "unknown key foo" in proc.stderr and "show_top" in proc.stderr
    proc = run_here(tmp_path / "run", "+twin.n_twinz=3")
    assert proc.returncode == 2 and "twin.n_twinz" in proc.stderr and "n_twins" in proc.stderr


def test_an_overlong_override_says_so(tmp_path):
    proc = run_here(tmp_path / "run", "data.patient_id=" + "x" * 5000)
    assert proc.returncode == 2 and "more than the 2,000 an override may have" in proc.stderr
    assert "Errno" not in proc.stderr and not (tmp_path / "run").exists()


def test_version_and_help_are_p4cores():
    proc = p4core_in_process("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("p4core ") and "Hydra" not in proc.stdout
    proc = p4core_in_process("--help")
    assert proc.returncode == 0
    for command in ("explain", "render run=", "benchmark", "plugins", "midi"):
        assert command in proc.stdout, command


def test_explain_without_arguments_has_an_error_line():
    proc = p4core_in_process("explain")
    assert proc.returncode == 2 and proc.stderr.startswith("p4core: explain: name a finished run")


def test_mouse_like_symbols_get_an_ortholog_hint(tmp_path, caplog):
    import anndata as ad
    import pandas as pd

    from p4core.io.anndata import read_patient_h5ad

    genes = ["Cd3e", "Gapdh", "Actb", "Tnf", "Il6", "Stat3", "Jak1", "Rela"]
    rng = np.random.default_rng(0)
    obs = pd.DataFrame(
        {"ct": ["A"] * 20 + ["B"] * 20, "cond": ["h", "d"] * 20}, index=[f"c{i}" for i in range(40)]
    )
    path = tmp_path / "m.h5ad"
    ad.AnnData(
        rng.poisson(2.0, (40, len(genes))).astype("float32"), obs=obs, var=pd.DataFrame(index=genes)
    ).write_h5ad(path)
    with caplog.at_level(logging.WARNING, logger="p4core"):
        read_patient_h5ad(path, cell_type_key="ct", condition_key="cond", reference="h")
    assert any(
        "look like mouse" in r.getMessage() and "data.organism=mouse" in r.getMessage()
        for r in caplog.records
    )


def test_ties_are_shown_the_same_way_in_the_terminal_and_the_report():
    from p4core.plugins.render_report.build import mark_ties
    from p4core.screen.summary import shown_ranks, tie_key

    scores = [3.0, 2.0, 2.0, 2.0, 1.0]
    keys = [tie_key(None, s) for s in scores]
    assert shown_ranks([1, 2, 3, 4, 5], keys) == ["1", "2=", "2=", "2=", "5"]
    rows = [
        {"drug": d, "rank": i + 1, "score": s} for i, (d, s) in enumerate(zip("abcde", scores, strict=True))
    ]
    mark_ties(rows)
    assert [r["shown_rank"] for r in rows] == ["1", "2=", "2=", "2=", "5"]
    assert rows[1]["tie"] == ["c", "d"]


# -- the report for a clinician ----------------------------------------------------------------------


def test_the_record_shows_names_with_the_code_beside(tmp_path):
    from p4core.clinical.codes import atc_name
    from p4core.clinical.scores import comorbidity_name

    assert atc_name("L04AX03", {"L04AX03": "methotrexate"}) == "methotrexate"
    assert atc_name("L04AX99") == "antineoplastic and immunomodulating agents" and atc_name("zz") is None
    assert comorbidity_name("J441") == comorbidity_name("J44.1") == "Chronic pulmonary disease"
    assert comorbidity_name("not a code") is None


@pytest.mark.slow
def test_the_report_names_codes_and_agrees_on_the_tissue(tmp_path):
    import html

    run = tmp_path / "run"
    patient = small_file(tmp_path / "p.h5ad")
    proc = run_here(
        run, "data=h5ad", f"data.path={patient}", "data.cell_type_key=ct", "data.condition_key=cond",
        "data.reference=h", "data.tissue=moon", "context=[demo]", "render=[html]",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "sampled tissue 'moon' is not a body region" in proc.stderr  # a warning, not silence
    page = html.unescape(re.sub(r"<[^>]+>", " ", (run / "report.html").read_text(encoding="utf-8")))
    page = re.sub(r"\s+", " ", page)
    assert "methotrexate (L04AX03)" in page and "(M05.79)" in page
    assert "Seropositive rheumatoid arthritis" in page or "rheumatoid arthritis (M05.79)" in page
    assert "The sampled tissue, moon, is not a body region the outline knows" in page
    assert "sampled tissue is not recorded" not in page


@pytest.mark.slow
def test_start_up_counts_from_the_interpreter_not_the_process(tmp_path):
    """Time the process spent before p4core loaded (here a sleep; for a user, the shell's pip install) is
    not start-up."""
    run = tmp_path / "run"
    code = (
        "import time\ntime.sleep(6)\nimport sys\n"
        f"sys.argv = ['p4core', 'hydra.run.dir={run}', *{SMALL!r}, 'render=[json]']\n"
        "from p4core.cli import entry\nentry()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    startup = json.loads((run / "summary.json").read_text())["timings_s"]["start-up"]
    assert 0 < startup < 6
