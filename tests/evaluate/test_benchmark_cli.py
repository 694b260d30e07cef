"""`python -m p4core benchmark` and its argument errors."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import shared

from p4core import evaluate as B

DEV = ("benchmark", "indications_dev")
TWO = "diseases=[rheumatoid arthritis,ulcerative colitis]"

# ---------------------------------------------------------------------------------------------
# metrics


def bench(tmp_path: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "p4core", "benchmark", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def dev_args(tmp_path: Path, signatures: Path | None = None, indications: Path | None = None) -> list[str]:
    return [
        f"signatures={signatures or shared(*DEV, 'disease_signatures.tsv.gz')}",
        f"indications={indications or shared(*DEV, 'indications.tsv')}",
        f"knowledge_root={shared()}",
        f"out={tmp_path / 'out'}",
    ]


@pytest.mark.slow
def test_cli_dev_set_two_diseases(tmp_path):
    proc = bench(tmp_path, *dev_args(tmp_path), TWO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "benchmark.csv", "scores.parquet"}
    res = json.loads((out / "benchmark.json").read_text())
    assert [e["disease"] for e in res["diseases"]] == ["rheumatoid arthritis", "ulcerative colitis"]
    assert res["n_evaluated"] == 2 and res["n_skipped"] == 0
    for e in res["diseases"]:
        assert e["n_positives"] >= 5 and e["n_candidates"] > 1000
        assert 0.3 < e["match_rate"] <= 1 and e["n_matched"] <= e["n_signature_genes"]
        for method, vals in e["metrics"].items():
            assert set(vals) == set(B.METRICS), method
            for metric, v in vals.items():
                assert (0 <= v <= 1) if metric != "enrich@1%fpr" else (0 <= v <= 100), (method, metric, v)
        assert e["metrics"]["random"]["auroc"] == pytest.approx(0.5, abs=0.05)
    assert any("DrugCentral" in c and "CC BY 4.0" in c for c in res["credits"])
    assert any("PharmacotherapyDB" in c for c in res["credits"]) and any(
        "STARGEO" in c for c in res["credits"]
    )
    csv = pd.read_csv(out / "benchmark.csv")
    assert list(csv.columns) == ["disease", "method", "metric", "value"]
    assert set(csv["method"]) == set(B.METHODS) and "overall" in set(csv["disease"])
    # progress per disease on stderr, the table and the path on stdout
    assert "[1/2] rheumatoid arthritis" in proc.stderr and "[2/2] ulcerative colitis" in proc.stderr
    assert "proximity_direction" in proc.stdout and str(out / "benchmark.json") in proc.stdout
    assert res["protocol"]["name"] == "fixed" and set(res["overall_ci95"]) == set(B.METHODS)
    assert set(res["paired_tests"]["p4core"]["direct"]) == set(B.METRICS)


@pytest.mark.slow
def test_cli_disease_with_unknown_genes_is_skipped(tmp_path):
    sig = pd.read_csv(shared(*DEV, "disease_signatures.tsv.gz"), sep="\t")
    sig = sig[sig["disease"].isin(["rheumatoid arthritis", "ulcerative colitis"])].copy()
    uc = sig["disease"] == "ulcerative colitis"
    sig.loc[uc, "gene_symbol"] = [f"NOTAGENE{i}" for i in range(uc.sum())]
    path = tmp_path / "sig.tsv.gz"
    with gzip.open(path, "wt") as fh:
        sig.to_csv(fh, sep="\t", index=False)
    proc = bench(tmp_path, *dev_args(tmp_path, signatures=path), "n_random=50")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipping ulcerative colitis" in proc.stderr and "Traceback" not in proc.stderr
    res = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    uc_entry = next(e for e in res["diseases"] if e["disease"] == "ulcerative colitis")
    assert uc_entry["match_rate"] == 0 and "skipped" in uc_entry and "metrics" not in uc_entry
    assert res["n_evaluated"] == 1 and res["n_skipped"] == 1


def assert_clean_error(proc: subprocess.CompletedProcess, tmp_path: Path, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "p4core benchmark: error:" in proc.stderr and "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr, (w, proc.stderr)
    assert not (tmp_path / "out" / "benchmark.json").exists()


@pytest.mark.slow
def test_cli_indications_without_library_drugs(tmp_path):
    ind = pd.read_csv(shared(*DEV, "indications.tsv"), sep="\t")
    ind["drugbank_id"] = [f"DB9{i:04d}" for i in range(len(ind))]
    path = tmp_path / "ind.tsv"
    ind.to_csv(path, sep="\t", index=False)
    proc = bench(tmp_path, *dev_args(tmp_path, indications=path), TWO)
    assert_clean_error(proc, tmp_path, str(path), "drug library")


@pytest.mark.slow
def test_cli_missing_columns(tmp_path):
    sig = tmp_path / "sig.tsv"
    sig.write_text("doid\tdisease\tgene_symbol\nDOID:1\tx\tTNF\n")
    proc = bench(tmp_path, *dev_args(tmp_path, signatures=sig))
    assert_clean_error(proc, tmp_path, str(sig), "effect_size_random", "expected columns")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["foo=1"], ["unknown key 'foo'"]),
        (["seed=abc"], ["'seed'"]),
        (["n_random=0"], ["n_random"]),
        (["alpha=2"], ["screen.alpha"]),
        (["protocol=cv"], ["protocol"]),
        (["objective=auroc+foo"], ["objective"]),
        (["screen.marker_weight=2"], ["screen.marker_weight"]),
        (["ablate=[twin.n_twins=3]"], ["knowledge. or screen."]),
        (["fit.screen.nope=[1]"], ["nope"]),
        (["signatures"], ["key=value"]),
        ([], ["signatures="]),
    ],
)
def test_main_bad_arguments(tmp_path, capsys, args, words):
    argv = [*args, f"out={tmp_path / 'out'}"]
    if args and args[0] != "signatures":
        argv += ["signatures=s.tsv", "indications=i.tsv", "knowledge_root=."]
    assert B.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("p4core benchmark: error:") and err.count("\n") == 1
    for w in words:
        assert w in err, (w, err)
    assert not (tmp_path / "out").exists()


def test_main_unknown_disease(tmp_path, capsys):
    argv = [*dev_args(tmp_path), "diseases=[no such disease]"]
    assert B.main(argv) == 2
    err = capsys.readouterr().err
    assert "no such disease" in err and "rheumatoid arthritis" in err


# ---------------------------------------------------------------------------------------------
# statistics over diseases


@pytest.mark.slow
def test_dev_lodo_refit_is_what_p4core_ships(tmp_path):
    """The shipped defaults are what leave-one-disease-out on the dev split chose, refitted on all
    dev diseases (docs/benchmark.md); and LODO never lets a disease's own positives into its fit."""
    from p4core.evidence import load_model
    from p4core.screen import ScreenParams

    proc = bench(
        tmp_path, *dev_args(tmp_path), "protocol=lodo", "n_random=100", f"model_out={tmp_path / 'model.json'}"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    refit = res["fits"]["p4core:mechanism"]["refit_on_all"]
    assert refit == {"screen.marker_weight": ScreenParams().marker_weight}
    # the shipped combination is the dev LODO refit on all diseases, coefficient for coefficient
    fitted, shipped = load_model(str(tmp_path / "model.json")), load_model()
    assert set(fitted.fits) == set(shipped.fits)
    for pattern, fit in shipped.fits.items():
        assert fitted.fits[pattern]["intercept"] == pytest.approx(fit["intercept"], abs=1e-6)
        assert fitted.fits[pattern]["coef"] == pytest.approx(fit["coef"], abs=1e-6)
    assert res["protocol"]["name"] == "lodo" and res["n_evaluated"] == 10 and res["n_skipped"] == 1
    for e in res["diseases"]:
        if "metrics" in e:
            assert e["fit"]["p4core:mechanism"] == res["fits"]["p4core:mechanism"]["per_fold"][e["disease"]]
