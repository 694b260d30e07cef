"""The evidence stage: the genetics and precedent lines of a patient's screen, their combination with the
twin into one ranking, and the tiers."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from p4core.evidence.combine import EvidenceModel, load_model
from p4core.evidence.genetics import GeneGraph, genetics_line, risk_weights
from p4core.evidence.params import EvidenceParams
from p4core.evidence.precedent import precedent_line
from p4core.evidence.similarity import disease_similarity
from p4core.evidence.tiers import assign_tiers
from p4core.model import Diagnosis, DiseaseKnowledge, EvidenceResult, Knowledge, ScreenResult, TwinEnsemble

log = logging.getLogger("p4core")

#: the columns each line adds to the drug table
GENETICS_COLUMNS = ("genetics_score", "genetics_z", "genetics_p", "genetics_fdr", "genetics_genes")
PRECEDENT_COLUMNS = (
    "precedent",
    "precedent_standard",
    "precedent_related",
    "precedent_max_similarity",
    "precedent_n",
)


def genetics_for(
    ensemble: TwinEnsemble,
    drugs: Any,
    dk: DiseaseKnowledge | None,
    unit: str | None,
    p: EvidenceParams,
    genotype: pd.DataFrame | None = None,
    graph: GeneGraph | None = None,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The genetics line of disease ``unit`` on ``ensemble`` (None and the reason when absent)."""
    if unit is None:
        return None, {"present": False, "reason": "no diagnosis"}
    if dk is None or dk.gwas_genes is None:
        return None, {
            "present": False,
            "reason": "the knowledge has no GWAS associations (knowledge.genetics)",
        }
    risk = dk.risk_genes(unit, p.confident_only)
    if not len(risk):
        what = "confident " if p.confident_only else ""
        return None, {"present": False, "reason": f"no {what}GWAS risk genes for {dk.name_of(unit)} ({unit})"}
    weights, wreport = risk_weights(
        risk, dk.gwas_loci[dk.gwas_loci["doid"] == unit] if dk.gwas_loci is not None else None, genotype
    )
    graph = graph or GeneGraph.of(ensemble, p.null_bins)
    table, greport = genetics_line(
        graph, drugs, weights, mode=p.reach, steps=p.steps, damping=p.damping, n_null=p.n_null, seed=p.seed
    )
    if not greport["risk_genes_in_twin"]:
        return None, {
            "present": False,
            "reason": f"none of the {len(weights)} risk genes of {dk.name_of(unit)} is in the twin",
            **greport,
        }
    return table, {"present": True, **wreport, **greport}


def precedent_for(
    candidates: list[str],
    dk: DiseaseKnowledge | None,
    unit: str | None,
    p: EvidenceParams,
    indications: pd.DataFrame | None = None,
    signatures: dict[str, pd.Series] | None = None,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The precedent line of disease ``unit`` (``indications``: drug, doid; default the knowledge's)."""
    if unit is None:
        return None, {"present": False, "reason": "no diagnosis"}
    ind = indications if indications is not None else (dk.indications if dk is not None else None)
    if ind is None or not len(ind):
        return None, {"present": False, "reason": "the knowledge has no drug indications"}
    from p4core.evidence.precedent import disease_units

    units = sorted(set(disease_units(ind["doid"], dk)) - {unit})
    sim = (
        disease_similarity(unit, units, dk, signatures)
        if dk is not None
        else pd.DataFrame({"similarity": 0.0}, index=units)
    )
    table = precedent_line(
        candidates, ind, unit, sim["similarity"], p.popularity_weight, dk, p.related_similarity
    )
    related = sim[sim["similarity"] >= p.related_similarity].sort_values("similarity", ascending=False)
    name = dk.name_of if dk is not None else str
    return table, {
        "present": True,
        "other_diseases": len(units),
        "related_diseases": [
            {
                "doid": d,
                "name": name(d),
                **{k: (None if pd.isna(v) else round(float(v), 3)) for k, v in r.items()},
            }
            for d, r in related.head(20).iterrows()
        ],
        "standard_drugs": int(table["precedent_standard"].sum()),
    }


def evidence(
    ensemble: TwinEnsemble,
    result: ScreenResult,
    knowledge: Knowledge,
    diagnosis: Diagnosis | None,
    params: EvidenceParams | None = None,
    genotype: pd.DataFrame | None = None,
    model: EvidenceModel | None = None,
) -> EvidenceResult:
    """The genetics and precedent lines of every drug of ``result``, the probability that it is
    disease-modifying (the combination model; absent lines left out of it) and its tier."""
    p = params or EvidenceParams()
    dk = knowledge.diseases
    drugs = list(result.table["drug"])
    unit = (diagnosis.disease or diagnosis.doid) if diagnosis is not None else None
    gen, g_info = genetics_for(ensemble, knowledge.drugs, dk, unit, p, genotype)
    pre, p_info = precedent_for(drugs, dk, unit, p)
    table = pd.DataFrame(index=pd.Index(drugs, name="drug"))
    key = "ranking_score" if "ranking_score" in result.table.columns else "score_mean"  # the twin's order
    mech = result.table.set_index("drug")[key].reindex(drugs).to_numpy(dtype=float)
    lines: dict[str, np.ndarray | None] = {"mechanism": mech, "genetics": None, "precedent": None}
    if gen is not None:
        table = table.join(gen)
        lines["genetics"] = table["genetics_score"].fillna(0.0).to_numpy()
    if pre is not None:
        table = table.join(pre)
        lines["precedent"] = table["precedent"].to_numpy()
    model = model or load_model(p.model)
    table["probability"] = model.probability(lines)
    present = [k for k, v in lines.items() if v is not None]
    merged = result.table.set_index("drug").join(
        table.drop(columns=[c for c in table.columns if c in result.table.columns])
    )
    tiers = assign_tiers(merged, diagnosis.name if diagnosis is not None else None, p)
    table["tier"] = tiers["tier"].reindex(drugs).to_numpy()
    table["tier_text"] = tiers["tier_text"].reindex(drugs).to_numpy()
    mech_info = {"present": True, "column": key, "view": result.params.get("ranking", "combined")}
    ev = EvidenceResult(
        table=table,
        diagnosis=diagnosis,
        lines={"mechanism": mech_info, "genetics": g_info, "precedent": p_info},
        report={"lines_present": present, "tiers": table["tier"].value_counts().to_dict()},
        model={"pattern": "+".join(present), **model.fits.get(tuple(present), {})},
    )
    for name, info in ev.lines.items():
        if not info.get("present"):
            log.info("evidence: %s line absent (%s)", name, info.get("reason"))
    return ev


def rank_by_evidence(result: ScreenResult, ev: EvidenceResult) -> ScreenResult:
    """``result`` with the evidence columns joined and its drugs ranked by the combined probability
    (ties: the twin's score, then the name). The twin's own rank stays in ``rank_mechanism``; each line
    present gets its rank (``rank_genetics`` by z, ``rank_precedent``)."""
    t = result.table.copy()
    t["rank_mechanism"] = t["rank"]
    t = t.set_index("drug").join(
        ev.table.drop(columns=[c for c in ev.table.columns if c in t.columns and c != "drug"])
    )
    for col, key in (("rank_genetics", "genetics_score"), ("rank_precedent", "precedent")):
        if key in t.columns:
            t[col] = t[key].fillna(-np.inf).rank(ascending=False, method="min").astype(int)
    t = t.reset_index()
    order = t.sort_values(
        ["probability", "score_mean", "drug"], ascending=[False, False, True], kind="mergesort"
    )["drug"]
    joined = ScreenResult(
        table=t,
        scores=result.scores,
        parts=result.parts,
        drugs=list(result.drugs),
        celltypes=list(result.celltypes),
        params=dict(result.params),
        pairs=result.pairs,
        control=result.control,
        views=dict(result.views),
        scales=dict(result.scales),
    )
    return joined.reordered(list(order))
