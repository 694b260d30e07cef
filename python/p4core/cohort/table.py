"""The patients of a cohort side by side: every drug's rank per patient, what sets the patients apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from p4core.model import CohortResult, RunResult

#: the drug columns the cohort table keeps of each patient's drugs.csv (those present)
COLUMNS = (
    "rank",
    "drug",
    "score_mean",
    "ci_low",
    "ci_high",
    "fdr",
    "probability",
    "tier",
    "rank_mechanism",
    "drivers",
)


@dataclass
class PatientSummary:
    """What the cohort keeps of one patient's run (the twins themselves are not kept)."""

    pseudonym: str
    drugs: pd.DataFrame
    programmes: pd.DataFrame
    celltypes: list[str]
    n_cells: int
    design: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def summarise(result: RunResult, programmes: pd.DataFrame) -> PatientSummary:
    t = result.screen.table
    obs = result.patient.adata.obs
    from p4core.model import CONDITION, DISEASE

    return PatientSummary(
        pseudonym=result.patient.pseudonym,
        drugs=t[[c for c in COLUMNS if c in t.columns]].copy(),
        programmes=programmes,
        celltypes=list(result.ensemble.celltypes),
        n_cells=int((obs[CONDITION].to_numpy() == DISEASE).sum()),
        design={
            "signature_tests": result.ensemble.params.get("signature_tests", {}),
            "signature_design": result.ensemble.params.get("signature_design", {}),
        },
        timings=dict(result.timings),
    )


def differing_drugs(table: pd.DataFrame, top: int = 50, n: int = 30) -> pd.DataFrame:
    """The drugs whose rank differs most between patients, among those in some patient's ``top``: per drug
    its percentile rank in every patient (1 = best), the spread (best minus worst patient) and the
    patient where it ranks best. Sorted by spread."""
    n_drugs = table.groupby("patient")["drug"].transform("size")
    t = table.assign(percentile=1.0 - (table["rank"] - 1) / n_drugs)
    wide = t.pivot_table(index="drug", columns="patient", values="percentile", aggfunc="first")
    ranks = table.pivot_table(index="drug", columns="patient", values="rank", aggfunc="first")
    candidates = sorted(set(table.loc[table["rank"] <= top, "drug"]))
    wide, ranks = wide.loc[candidates], ranks.loc[candidates]
    if wide.shape[1] < 2:
        return pd.DataFrame(columns=["drug", "spread", "best_in"])
    spread = wide.max(axis=1) - wide.min(axis=1)
    out = ranks.add_prefix("rank:")
    out.insert(0, "spread", spread)
    out.insert(1, "best_in", wide.idxmax(axis=1))
    return out.sort_values(["spread", "drug"], ascending=[False, True]).head(n).reset_index()


def assemble(summaries: list[PatientSummary], design: dict[str, Any] | None = None) -> CohortResult:
    """The cohort: the long table (patient, drug, rank, score, ...), each patient's programmes, the drugs
    whose rank differs most and the programmes that vary most between patients."""
    table = pd.concat([s.drugs.assign(patient=s.pseudonym) for s in summaries], ignore_index=True)
    table = table[["patient", *[c for c in table.columns if c != "patient"]]].rename(
        columns={"score_mean": "score"}
    )
    prog = (
        pd.concat(
            [s.programmes.assign(patient=s.pseudonym) for s in summaries if len(s.programmes)],
            ignore_index=True,
        )
        if any(len(s.programmes) for s in summaries)
        else pd.DataFrame(columns=["patient", "celltype", "programme", "score", "n_genes"])
    )
    varying = pd.DataFrame(columns=["celltype", "programme", "sd", "min", "max"])
    if len(prog) and prog["patient"].nunique() > 1:
        g = prog.groupby(["celltype", "programme"])["score"]
        varying = pd.DataFrame({"sd": g.std(ddof=0), "min": g.min(), "max": g.max()}).reset_index()
        varying = varying.sort_values(
            ["sd", "celltype", "programme"], ascending=[False, True, True]
        ).reset_index(drop=True)
    return CohortResult(
        patients=[s.pseudonym for s in summaries],
        table=table,
        programmes=prog[["patient", "celltype", "programme", "score", "n_genes"]],
        differing=differing_drugs(table),
        varying_programmes=varying,
        design={
            **(design or {}),
            "patients": {
                s.pseudonym: {"disease_cells": s.n_cells, "celltypes": s.celltypes, **s.design}
                for s in summaries
            },
        },
        timings={s.pseudonym: s.timings for s in summaries},
    )
