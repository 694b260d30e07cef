"""`python -m p4core` end to end, and every kind of bad input on the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anndata as ad
import mido
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import Completed, p4core_in_process

RESULT_FILES = {
    "drugs.csv",
    "drugs.parquet",
    "summary.json",
    "course.mid",
    "course.wav",
    "course.png",
    "course.svg",
    "config_resolved.yaml",
    "match_report.json",
}


def p4core(tmp_path: Path, *overrides: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m p4core`` in its own process (the tests that use it are marked slow)."""
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "p4core", f"hydra.run.dir={run_dir}", *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def p4core_here(tmp_path: Path, *overrides: str) -> Completed:
    """The same command in this process: for config and input errors, which end before any work."""
    return p4core_in_process(f"hydra.run.dir={tmp_path / 'run'}", *overrides)


def outputs(tmp_path: Path) -> set[str]:
    run_dir = tmp_path / "run"
    if not run_dir.exists():
        return set()
    return {p.name for p in run_dir.iterdir() if p.is_file() and not p.name.endswith(".log")}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    proc = p4core(tmp)
    return tmp, proc


@pytest.mark.slow
def test_demo_end_to_end(demo_run):
    tmp, proc = demo_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp / "run"
    assert RESULT_FILES <= outputs(tmp)
    assert (run_dir / "p4core.log").is_file()
    assert not (run_dir / ".hydra").exists()  # would hold identifying config values in clear
    assert not list(run_dir.glob(".p4core-staging-*")) and not list(run_dir.glob("*.tmp"))
    # the terminal ends with the top drugs and the output path
    assert "rank  drug" in proc.stdout and str(run_dir) in proc.stdout
    drugs = pd.read_parquet(run_dir / "drugs.parquet")
    assert list(drugs["rank"]) == list(range(1, len(drugs) + 1))
    assert (drugs["ci_low"] <= drugs["score_mean"]).all() and (drugs["score_mean"] <= drugs["ci_high"]).all()
    assert pd.read_csv(run_dir / "drugs.csv")["drug"].tolist() == drugs["drug"].tolist()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["twins"]["n"] >= 2 and summary["top_drugs"]
    cci = summary["patient"]["scores"]["charlson"]  # the demo's record: age 54 -> +1 (Charlson 1994)
    assert cci["age_points"] == 1 and cci["age_adjusted"] == cci["index"] + 1
    mid = mido.MidiFile(run_dir / "course.mid")
    assert mid.type == 1 and len(mid.tracks) >= 7


@pytest.mark.slow
def test_demo_course_is_heard_and_seen(demo_run):
    """The demo writes MIDI, WAV and the plot; the MIDI passes the linter, decodes back to the
    course, and the best treatment's harmony ends more resolved than the untreated one's."""
    from p4core.plugins.render_midi import decode, read_legend
    from p4core.plugins.render_midi.lint import lint

    tmp, _ = demo_run
    run = tmp / "run"
    assert lint(run / "course.mid") == []
    traj = pd.read_csv(run / "trajectories.csv")
    dec = decode(run / "course.mid")
    for row in dec.dropna().sample(200, random_state=0).itertuples():
        true = traj[(traj.scenario == row.scenario) & (traj.celltype == row.celltype)].set_index("time")[
            "mean"
        ]
        assert abs(row.value - np.interp(row.time, true.index, true.to_numpy())) <= dec.attrs["bound"] + 1e-9
    mid = mido.MidiFile(run / "course.mid")
    leg = read_legend(mid)
    assert (
        leg["pitch"]["polarity"] == "disease" and leg["pitch"]["transform"] == "identity"
    )  # musician preset
    first = [m.note for m in mid.tracks[1] if m.type == "note_on" and m.velocity > 0][:6]
    assert first == sorted(first) and first[-1] > first[0]  # the disease rises from onset: so does the voice
    steps = {tuple(s["intervals"]): i for i, s in enumerate(leg["harmony"]["ladder"])}
    chords: dict[int, list[int]] = {}
    t = 0
    for m in mid.tracks[leg["harmony"]["track"]]:
        t += m.time
        if m.type == "note_on" and m.velocity > 0:
            chords.setdefault(t, []).append(m.note - leg["harmony"]["root"])
    seg = leg["time"]["segment_ticks"]
    last = {
        k: steps[tuple(sorted(chords[max(t for t in chords if k * seg <= t < (k + 1) * seg)]))]
        for k in (0, 1)
    }
    assert last[1] < last[0]  # untreated (segment 0) vs the best treatment (segment 1)
    with open(run / "course.wav", "rb") as f:
        assert f.read(4) == b"RIFF"
    assert (run / "course.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_no_identifier_in_outputs(demo_run):
    tmp, _ = demo_run
    for path in (tmp / "run").rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"demo-arthritis-0" not in text, path


@pytest.mark.slow
def test_plugins_command_lists_builtins():
    proc = subprocess.run(
        [sys.executable, "-m", "p4core", "plugins"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("curated", "demo", "h5ad", "table", "json", "midi"):
        assert name in proc.stdout


def kang_args(path: Path) -> list[str]:
    return [
        "data=h5ad",
        f"data.path={path}",
        "data.cell_type_key=cluster_id",
        "data.condition_key=group_id",
        "data.reference=ctrl",
        "data.sample_key=sample_id",
    ]


@pytest.mark.slow
def test_kang_h5ad_run(tmp_path, kang_path):
    proc = p4core(
        tmp_path,
        *kang_args(kang_path),
        "twin.n_twins=4",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert RESULT_FILES <= outputs(tmp_path)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(summary["twins"]["celltypes"]) == 5
    assert "kang" not in json.dumps(summary).lower()
    # a stimulation has no diagnosis: genetics and precedent are absent, not zero, wherever they are shown
    assert summary["diagnosis"] is None
    lines = summary["evidence"]["lines"]
    assert not lines["genetics"]["present"] and not lines["precedent"]["present"]
    assert "genetics absent (no diagnosis), precedent absent (no diagnosis)" in proc.stdout
    drugs = pd.read_csv(tmp_path / "run" / "drugs.csv")
    assert not [c for c in drugs.columns if c.startswith(("genetics", "precedent"))]
    assert "No diagnosis" in (tmp_path / "run" / "report.html").read_text()


@pytest.mark.slow
def test_kang_with_public_knowledge(tmp_path, kang_path):
    root = kang_path.parents[1]
    proc = p4core(
        tmp_path,
        *kang_args(kang_path),
        "knowledge=public",
        f"knowledge.root={root}",
        "twin.n_twins=2",
        "simulate.n_drugs=1",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    report = json.loads((run / "match_report.json").read_text())
    assert report["genes"]["panel"] == 1267 and report["drugs"]["total"] > 1300
    conflicts = pd.read_csv(run / "knowledge_conflicts.csv")
    assert len(conflicts) == report["edges"]["sign_conflicts_between_resources"] > 0
    drugs = pd.read_csv(run / "drugs.csv")
    assert {"drugbank_id", "indications", "pharm_class"} <= set(drugs.columns)


def test_public_knowledge_needs_a_root(tmp_path):
    proc = p4core_here(tmp_path, "knowledge=public")
    assert_clean_failure(tmp_path, proc, "knowledge.root")
    proc = p4core_here(tmp_path, "knowledge=public", f"knowledge.root={tmp_path / 'nowhere'}")
    assert_clean_failure(tmp_path, proc, "knowledge.collectri: not found")
    assert "load patient" not in (tmp_path / "run" / "p4core.log").read_text()  # before any work


# -- bad input: a clear message naming the field, a non-zero exit, no result files -------------


def write_h5ad(path: Path, x, obs: dict, genes: list[str]) -> Path:
    a = ad.AnnData(
        X=x, obs=pd.DataFrame(obs, index=[f"c{i}" for i in range(x.shape[0])]), var=pd.DataFrame(index=genes)
    )
    a.write_h5ad(path)
    return path


@pytest.fixture
def small_h5ad(tmp_path):
    rng = np.random.default_rng(0)
    genes = ["TNF", "TNFRSF1A", "RELA", "NFKBIA", "IL6", "STAT3", "JAK1", "IL6R", "CXCL8", "ACTB"]
    n = 120
    x = rng.poisson(2.0, size=(n, len(genes))).astype(np.float32)
    obs = {"ct": ["A"] * 60 + ["B"] * 60, "cond": (["h", "d"] * 60)}

    def make(name="p.h5ad", x=x, obs=obs, genes=genes):
        return write_h5ad(tmp_path / name, x, obs, genes)

    return make


BASE = ["data=h5ad", "data.cell_type_key=ct", "data.condition_key=cond", "data.reference=h", "twin.n_twins=2"]


def assert_clean_failure(tmp_path, proc, *needles):
    assert proc.returncode != 0
    err = proc.stderr
    for needle in needles:
        assert needle in err, err[-2000:]
    assert "Traceback" not in err
    assert not (outputs(tmp_path) & RESULT_FILES)


def test_missing_file(tmp_path):
    proc = p4core_here(tmp_path, *BASE, f"data.path={tmp_path / 'nope.h5ad'}")
    assert_clean_failure(tmp_path, proc, "data.path", "file not found", "nope.h5ad")


def test_unreadable_file(tmp_path):
    bad = tmp_path / "broken.h5ad"
    bad.write_bytes(b"this is not hdf5")
    proc = p4core_here(tmp_path, *BASE, f"data.path={bad}")
    assert_clean_failure(tmp_path, proc, "could not be read", "broken.h5ad")


def test_missing_obs_key_lists_available(tmp_path, small_h5ad):
    proc = p4core_here(tmp_path, *BASE, f"data.path={small_h5ad()}", "data.cell_type_key=celltype")
    assert_clean_failure(tmp_path, proc, "'celltype'", "data.cell_type_key", "available: 'ct', 'cond'")


def test_no_reference_cells(tmp_path, small_h5ad):
    proc = p4core_here(tmp_path, *BASE, f"data.path={small_h5ad()}", "data.reference=healthy")
    assert_clean_failure(tmp_path, proc, "no reference cells", "data.reference", "['d', 'h']")


def test_no_disease_cells(tmp_path, small_h5ad):
    path = small_h5ad(obs={"ct": ["A"] * 60 + ["B"] * 60, "cond": ["h"] * 120})
    proc = p4core_here(tmp_path, *BASE, f"data.path={path}")
    assert_clean_failure(tmp_path, proc, "no disease cells", "data.disease")


def test_too_few_cells_everywhere(tmp_path, small_h5ad):
    proc = p4core_here(tmp_path, *BASE, f"data.path={small_h5ad()}", "twin.min_cells=100")
    assert_clean_failure(tmp_path, proc, "twin.min_cells=100")


@pytest.mark.slow
def test_too_few_cells_in_one_type_is_skipped(tmp_path, small_h5ad):
    obs = {"ct": ["A"] * 100 + ["B"] * 20, "cond": ["h", "d"] * 60}
    proc = p4core(tmp_path, *BASE, f"data.path={small_h5ad(obs=obs)}", "twin.min_cells=15")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "skipping 1 cell type" in (tmp_path / "run" / "p4core.log").read_text()


@pytest.mark.parametrize("kind,needle", [("log", "non-integer"), ("scaled", "negative"), ("nan", "NaN")])
def test_not_counts(tmp_path, small_h5ad, kind, needle):
    rng = np.random.default_rng(1)
    x = rng.poisson(2.0, size=(120, 10)).astype(np.float32)
    if kind == "log":
        x = np.log1p(x)
    elif kind == "scaled":
        x = (x - x.mean(0)) / (x.std(0) + 1)
    else:
        x[3, 4] = np.nan
    proc = p4core_here(tmp_path, *BASE, f"data.path={small_h5ad(x=x)}")
    assert_clean_failure(tmp_path, proc, needle, "p.h5ad")


def test_sparse_inf(tmp_path, small_h5ad):
    x = sp.random(120, 10, density=0.3, format="csr", dtype=np.float32, random_state=0)
    x.data[:] = 1
    x.data[0] = np.inf
    proc = p4core_here(tmp_path, *BASE, f"data.path={small_h5ad(x=x)}")
    assert_clean_failure(tmp_path, proc, "infinite")


def test_duplicated_genes(tmp_path, small_h5ad):
    genes = ["TNF", "TNF", "RELA", "NFKBIA", "IL6", "STAT3", "JAK1", "IL6R", "CXCL8", "ACTB"]
    with pytest.warns(UserWarning):
        path = small_h5ad(genes=genes)
    proc = p4core_here(tmp_path, *BASE, f"data.path={path}")
    assert_clean_failure(tmp_path, proc, "duplicated gene name", "'TNF'", "var_names_make_unique")


def test_required_value_missing(tmp_path):
    proc = p4core_here(tmp_path, "data=h5ad")
    assert_clean_failure(tmp_path, proc, "data.path")


@pytest.mark.parametrize(
    "overrides,message",
    [
        (
            ["twin.n_twinz=3"],
            "config: unknown key twin.n_twinz; did you mean twin.n_twins?; allowed keys under twin: n_twins, seed,",
        ),
        (
            ["twin.n_twins=many"],
            "config twin.n_twins: Value 'many' of type 'str' could not be converted to Integer",
        ),
        (
            ["data=h5ad", "data.pth=x.h5ad"],
            "config: unknown key data.pth; did you mean data.path?; allowed keys under data: source, path,",
        ),
        (
            ["render.midi.tempoo=3"],
            "config: unknown key render.midi.tempoo; did you mean render.midi.tempo?; allowed keys under render.midi:",
        ),
        (
            ["data=h5da"],
            "config data: no preset 'h5da'; did you mean data=h5ad?; presets of data: demo_arthritis,",
        ),
        (
            ["twinn.seed=3"],
            "config: unknown key twinn (in twinn.seed); did you mean twin?; allowed keys under the top level: data,",
        ),
        (
            ["context.recrd.path=r.yaml"],
            "config context.recrd: no context plugin named 'recrd'; did you mean record?",
        ),
        (["-m", "twin.seed=1,2", "twin.sed=3"], "config: unknown key twin.sed; did you mean twin.seed?"),
    ],
)
def test_bad_override_is_one_line_that_leads_somewhere(tmp_path, overrides, message):
    """The first attempt gets the whole answer: the key, the closest valid ones, the allowed ones; no
    Hydra '+' hint, no HYDRA_FULL_ERROR line, exit 2, and no run folder at all."""
    proc = p4core_here(tmp_path, *overrides)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("p4core: " + message), proc.stderr[-2000:]
    assert "+" not in lines[0].split("allowed")[0] and "HYDRA_FULL_ERROR" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_key_of_the_schema_needs_no_plus(tmp_path):
    """A key the plugin's schema has but no preset sets (a context source never listed in context=[...])
    works as written: p4core passes it on as an addition."""
    record = tmp_path / "r.yaml"
    record.write_text("identifier: X-1\nbirth_year: 1960\nsex: male\nindex_date: 2024-01-01\n")
    proc = p4core_here(
        tmp_path, f"context.record.path={record}", "twin.n_twins=2", "data.n_cells=40", "render=[json]"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        json.loads((tmp_path / "run" / "summary.json").read_text())["patient"]["age"] == 64
    )  # from the birth year


def test_closing_line_counts_every_file_in_the_folder(tmp_path):
    proc = p4core_here(tmp_path, "twin.n_twins=2", "data.n_cells=40", "render=[json,table]")
    assert proc.returncode == 0, proc.stderr[-2000:]
    n = len([p for p in (tmp_path / "run").rglob("*") if p.is_file()])
    assert f"{n} files written to {tmp_path / 'run'}" in proc.stdout and "and the run's log" in proc.stdout


@pytest.mark.parametrize(
    "override,needle",
    [
        ("+twin.n_twinz=3", "twin.n_twinz"),
        ("simulate.tolerance=0", "simulate.tolerance"),
        ("screen.alpha=-1", "screen.alpha"),
        ("twin.dtype=float16", "twin.dtype"),
        ("simulate.horizon_days=-10", "simulate.horizon_days"),
        ("engine.n_threads=-1", "engine.n_threads"),
        ("render.midi.tempo=-5", "render.midi.tempo"),
        ("render.table.formats=[xlsx]", "render.table.formats"),
        ("knowledge.network=missing.tsv", "knowledge.network"),
    ],
)
def test_bad_values_fail_before_any_work(tmp_path, override, needle):
    proc = p4core_here(tmp_path, override)
    assert_clean_failure(tmp_path, proc, needle)
    if not override.startswith("knowledge"):
        assert "build twins" not in (tmp_path / "run" / "p4core.log").read_text()


def test_bad_plugin_option_type(tmp_path):
    proc = p4core_here(tmp_path, "render.midi.tempo=fast")
    assert_clean_failure(tmp_path, proc, "render.midi", "tempo")


def test_same_numbers_for_any_thread_count(tmp_path):
    """Kernel threads and BLAS threads: 1 and 2 give byte-identical result files."""
    import os

    outs = []
    for n in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n))
        run_dir = tmp_path / f"t{n}"
        cmd = [
            sys.executable,
            "-m",
            "p4core",
            f"hydra.run.dir={run_dir}",
            "twin.n_twins=3",
            "data.n_cells=60",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(run_dir)
    for name in ("drugs.csv", "pairs.csv", "regulators.csv", "trajectories.csv", "course.mid"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


@pytest.mark.slow
def test_identifiers_never_reach_the_run_directory(tmp_path, kang_path):
    secret = "MRN-0042-SMITH"
    named = tmp_path / f"{secret}.h5ad"
    named.write_bytes(kang_path.read_bytes())
    proc = p4core(tmp_path, *kang_args(named), f"data.patient_id={secret}", "twin.n_twins=2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert secret not in path.name
        assert secret.encode() not in path.read_bytes(), path
    assert secret not in proc.stdout
    resolved = (tmp_path / "run" / "config_resolved.yaml").read_text()
    assert "patient_id: P-" in resolved and "sha256" in resolved


@pytest.mark.slow
def test_multirun_over_patients_redacts_the_sweep_record(tmp_path, small_h5ad):
    """A cohort is a Hydra multirun over data sources; Hydra's multirun.yaml records the overrides,
    so file names (which may name a patient) are redacted there."""
    a, b = small_h5ad("patient_smith.h5ad"), small_h5ad("patient_jones.h5ad")
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "p4core", "-m", f"hydra.sweep.dir={sweep}", "render=[table]", *BASE]
    cmd.append(f"data.path={a},{b}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (sweep / "0" / "drugs.csv").is_file() and (sweep / "1" / "drugs.csv").is_file()
    for f in sweep.rglob("*"):
        if f.is_file():
            text = f.read_text(errors="ignore")
            assert "smith" not in text and "jones" not in text, f


def test_unknown_treatment_fails_before_any_work(tmp_path):
    proc = p4core_here(tmp_path, "simulate.treatments=[tocilizumb@30]")
    assert proc.returncode == 2
    assert "did you mean tocilizumab" in proc.stderr and "Traceback" not in proc.stderr
    assert "build twins" not in proc.stderr  # stopped right after loading the drug library
    assert outputs(tmp_path) == set()
