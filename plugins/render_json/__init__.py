"""Renderer ``json``: a machine-readable summary of the run and the resolved config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import p4core
from p4core.hooks import hookimpl
from p4core.io import write_text
from p4core.model import CohortResult, RunResult


@dataclass
class JsonConfig:
    #: drugs listed in the summary
    top: int = 20


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def render(result: RunResult, outdir: Path, cfg: JsonConfig) -> list[Path]:
    ens, scr, traj = result.ensemble, result.screen, result.trajectories
    burden = traj.table[traj.table["celltype"] == "burden"]
    end = burden[burden["time"] == burden["time"].max()].set_index("scenario")["mean"].to_dict()
    summary = {
        "p4core_version": p4core.__version__,
        "patient": result.patient.context.to_dict(),
        "data": result.patient.description,
        "knowledge": result.knowledge.provenance,
        "twins": {
            "n": len(ens),
            "celltypes": ens.celltypes,
            "n_genes": len(ens.genes),
            "n_measured": int(ens.measured.sum()),
            "seed": ens.params.get("seed"),
            "celltypes_skipped": ens.params.get("celltypes_skipped", []),
            "celltypes_excluded": ens.params.get("celltypes_excluded", []),
            "compared_with": ens.params.get("reference_of", {}),
        },
        "signature": {
            "design": ens.params.get("signature_design", {}),
            "tests": ens.params.get("signature_tests", {}),
        },
        "diagnosis": None
        if result.evidence is None or result.evidence.diagnosis is None
        else result.evidence.diagnosis.to_dict(),
        "evidence": _evidence(result),
        "screen": {
            "ranking": scr.params.get("ranking"),
            "marker_weight": scr.params.get("marker_weight"),
            "scales": scr.scales,
            "views": "combined = marker_weight * marker / scales.marker + (1 - marker_weight) * programme / scales.programme",
        },
        "top_drugs": scr.table.head(cfg.top)
        .drop(columns=[c for c in scr.table.columns if c.startswith("part:")])
        .to_dict("records"),
        "celltype_contributions": {
            d: dict(zip(scr.celltypes, map(float, p), strict=True))
            for d, p in zip(scr.drugs[: cfg.top], scr.parts[: cfg.top], strict=True)
        },
        "pairs": [] if scr.pairs is None else scr.pairs.head(cfg.top).to_dict("records"),
        "regulators": []
        if result.regulators is None
        else result.regulators.head(cfg.top)[
            [
                "rank",
                "gene",
                "direction",
                "score_mean",
                "ci_low",
                "ci_high",
                *[c for c in ("score_combined", "score_marker", "score_programme") if c in result.regulators],
                "activation_z",
                "activation_fdr",
                "measured",
            ]
        ].to_dict("records"),
        "celltypes": [] if result.celltypes is None else result.celltypes.to_dict("records"),
        "controls": scr.control,
        "course": {
            "scenarios": traj.scenarios,
            "burden_at_horizon": end,
            "synergy": traj.params.get("synergy"),
            "events": traj.events.to_dict("records"),
        },
        "timings_s": {**result.timings, "total (to this summary)": round(sum(result.timings.values()), 3)},
        "peak_memory_mb": {
            **result.memory_mb,
            "run (to this summary)": max(result.memory_mb.values(), default=0.0),
        },
    }
    return [
        write_text(outdir / "summary.json", json.dumps(_clean(summary), indent=2, allow_nan=False) + "\n")
    ]


def _evidence(result: RunResult) -> dict | None:
    """Which lines are present (and why not), the combination model used, the tiers and the diagnosis record."""
    ev = result.evidence
    if ev is None:
        return None
    t = result.screen.table
    tiers = {}
    for tier in ("I", "X", "S", "II", "III", "IV"):
        rows = t[t["tier"] == tier]
        if len(rows):
            tiers[tier] = {
                "n": len(rows),
                "drugs": list(rows["drug"].head(10)),
                "meaning": rows["tier_text"].iloc[0],
            }
    return {
        "ranking": "probability that the drug is disease-modifying: the twin, genetics and precedent combined "
        "(p4core.evidence.combine; absent lines left out of the model)",
        "lines": ev.lines,
        "model": ev.model,
        "diagnosis_record": ev.report.get("diagnosis_record", {}),
        "tiers": tiers,
    }


def render_cohort(cohort: CohortResult, outdir: Path, cfg: JsonConfig) -> list[Path]:
    """cohort.json: the patients (pseudonyms) and their designs, each patient's best drugs, the drugs whose
    rank differs most, the programmes that vary most, timings."""
    t = cohort.table
    summary = {
        "p4core_version": p4core.__version__,
        "patients": cohort.patients,
        "design": cohort.design,
        "top_drugs": {
            p: t[t["patient"] == p].head(cfg.top).drop(columns=["patient"]).to_dict("records")
            for p in cohort.patients
        },
        "differing_drugs": cohort.differing.to_dict("records"),
        "varying_programmes": cohort.varying_programmes.head(cfg.top).to_dict("records"),
        "timings_s": cohort.timings,
        "files": "each patient's results in patients/<pseudonym>/; cohort.csv: every patient's rank of every drug",
    }
    return [write_text(outdir / "cohort.json", json.dumps(_clean(summary), indent=2, allow_nan=False) + "\n")]


@hookimpl
def p4core_register_renderers(register):
    register(
        "json",
        render,
        schema=JsonConfig,
        description="summary.json: patient (pseudonymised), twins, top drugs, course, timings",
        last=True,
        cohort=render_cohort,
    )
