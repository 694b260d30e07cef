"""The benchmark's tables and files: per-disease scores, the summary, benchmark.csv/json, scores.parquet."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core.evaluate import metrics as M
from p4core.evaluate.settings import SIGNATURE_BASELINES
from p4core.io import atomic_path, write_text

log = logging.getLogger("p4core.benchmark")


def tidy(result: dict[str, Any]) -> pd.DataFrame:
    """The result as a tidy table: disease, method, metric, value (``overall`` = mean over diseases)."""
    rows = []
    for e in result["diseases"]:
        for m, vals in e.get("metrics", {}).items():
            rows += [(e["disease"], m, k, v) for k, v in vals.items()]
    for m, vals in result["overall"].items():
        rows += [("overall", m, k, v) for k, v in vals.items()]
    return pd.DataFrame(rows, columns=["disease", "method", "metric", "value"])


def score_table(result: dict[str, Any]) -> pd.DataFrame:
    """Every method's score and rank of every candidate in every disease, with the positive flag."""
    frames = []
    for doid, (name, cands, labels, sc) in result.get("_scores", {}).items():
        for m, s in sc.items():
            frames.append(
                pd.DataFrame(
                    {
                        "doid": doid,
                        "disease": name,
                        "method": m,
                        "drug": cands,
                        "score": np.asarray(s, dtype=float),
                        "rank": rank_of(np.asarray(s, dtype=float)),
                        "positive": np.asarray(labels, dtype=bool),
                    }
                )
            )
    cols = ["doid", "disease", "method", "drug", "score", "rank", "positive"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def summary_table(result: dict[str, Any]) -> str:
    """Methods x overall metrics (with 95% intervals of AUROC and P@20), as fixed-width text."""
    head = (
        f"{'method':<36}"
        + "".join(f"{m:>13}" for m in M.METRICS)
        + f"{'AUROC 95% CI':>18}{'P@20 95% CI':>18}"
    )
    lines = [head]
    for m in result["methods"]:
        vals = result["overall"].get(m, {})
        ci = result.get("overall_ci95", {}).get(m, {})
        a, p = ci.get("auroc", [np.nan, np.nan]), ci.get("p@20", [np.nan, np.nan])
        lines.append(
            f"{m:<36}"
            + "".join(f"{vals.get(k, float('nan')):>13.3f}" for k in M.METRICS)
            + f"   [{a[0]:.3f}, {a[1]:.3f}]   [{p[0]:.3f}, {p[1]:.3f}]"
        )
    for ref, others in (
        ("p4core", [*SIGNATURE_BASELINES, "popularity", "p4core:mechanism"]),
        ("p4core:mechanism", list(SIGNATURE_BASELINES)),
        ("p4core:genetics", ["degree"]),
    ):
        tests = result.get("paired_tests", {}).get(ref, {})
        if not tests:
            continue
        lines.append(
            f"{ref} against each method (paired over diseases; mean difference, wins-losses, Wilcoxon p / bootstrap p):"
        )
        for other in others:
            if other in tests:
                ta, tp = tests[other]["auroc"], tests[other]["p@20"]
                lines.append(
                    f"  vs {other:<22} AUROC {ta['mean_diff']:+.3f} {ta['wins']}-{ta['losses']} p={ta['wilcoxon_p']:.3f}/{ta['bootstrap_p']:.3f}   "
                    f"P@20 {tp['mean_diff']:+.3f} {tp['wins']}-{tp['losses']} p={tp['wilcoxon_p']:.3f}/{tp['bootstrap_p']:.3f}"
                )
    cal = result.get("calibration")
    if cal:
        where = "held out (LODO)" if cal["held_out"] else "in sample (the shipped model)"
        lines.append(
            f"calibration of p4core's probability, {where}: Brier {cal['brier']:.4f} (base rate {cal['brier_base_rate']:.4f}); "
            f"mean probability {cal['mean_probability']:.4f} vs positive share {cal['positive_share']:.4f}"
        )
    return "\n".join(lines)


def write_outputs(result: dict[str, Any], out: str | Path) -> list[Path]:
    """``benchmark.json``, ``benchmark.csv`` and ``scores.parquet`` in ``out``, each written atomically."""
    out = Path(out)
    csv = tidy(result).to_csv(index=False, float_format="%.6g")
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    text = json.dumps(public, indent=2, default=json_default, allow_nan=False) + "\n"
    files = [write_text(out / "benchmark.csv", csv)]
    with atomic_path(out / "scores.parquet") as tmp:
        score_table(result).to_parquet(tmp, index=False)
    files.append(out / "scores.parquet")
    files.append(write_text(out / "benchmark.json", text))
    return files


def write_model(result: dict[str, Any], path: str | Path) -> Path:
    """The combination refitted on all evaluated diseases, as the JSON ``evidence.model=`` reads."""
    model = dict(result["fits"]["p4core"]["refit_on_all"])
    model["fitted_by"] = (
        f"python -m p4core benchmark protocol={result['protocol']['name']} (p4core {result['p4core_version']}): "
        f"{result['n_evaluated']} diseases, refit on all"
    )
    model["mechanism_setting"] = result["fits"]["p4core"]["mechanism_setting"]
    return write_text(Path(path), json.dumps(model, indent=2, default=json_default, allow_nan=False) + "\n")


def json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def rank_of(scores: np.ndarray) -> np.ndarray:
    """Rank positions, 1 = best (average rank for ties)."""
    from scipy import stats

    return len(scores) + 1 - stats.rankdata(scores, method="average")
