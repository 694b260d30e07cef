"""The precedent line: what is known of each drug in related diseases, and whether it is standard here.

For the patient's disease d (the diagnosis's disease unit: the ontology disease that subsumes it) and
an indication table of (drug, DOID) pairs, every indication is mapped to its disease unit (a more
specific term counts for the disease that subsumes it). Over the *other* units j of the table,

    precedent(drug) = w * share of the j the drug is used for
                      + (1 - w) * sum_j sim(d, j) [used for j] / sum_j sim(d, j),

the popularity prior (weight ``w`` = ``evidence.popularity_weight``) and the similarity-weighted share
of related diseases, both in [0, 1] whatever the size of the table, with ``sim`` from
:mod:`p4core.evidence.similarity` (inputs only). Use for d itself is not in the score: it is a fact,
``precedent_standard`` (the drug is standard for the diagnosis), shown by the tiers. In the benchmark
the indication table is the benchmark's own with the evaluated disease removed, so the line never
sees the answer (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from p4core.model import DiseaseKnowledge


def disease_units(doids: pd.Series, dk: DiseaseKnowledge | None) -> pd.Series:
    """Each DOID's disease unit: the disease (slim term) that subsumes it most closely, else itself."""
    if dk is None or not len(doids):
        return doids.copy()
    sub = dk.subsumes.sort_values(["distance", "slim"]).drop_duplicates("doid")
    unit = dict(zip(sub["doid"], sub["slim"], strict=True))
    return doids.map(lambda d: unit.get(d, d))


def precedent_line(
    candidates: Sequence[str],
    indications: pd.DataFrame,
    disease: str,
    similarity: pd.Series,
    popularity_weight: float,
    dk: DiseaseKnowledge | None = None,
    related_min: float = 0.5,
    describe: bool = True,
) -> pd.DataFrame:
    """Per candidate drug: ``precedent`` (the score above), ``precedent_standard`` (indicated for the
    disease itself), ``precedent_related`` (the related diseases it is used for, most similar first,
    ``name (similarity)``; related = similarity >= ``related_min``), ``precedent_max_similarity`` (of
    the most similar other disease it is used for) and ``precedent_n`` (other diseases it is used for).

    ``indications``: columns drug and doid (any term; mapped to units through ``dk``).
    ``similarity``: DOID of another disease unit -> similarity in [0, 1] (missing: 0). ``describe``:
    name the related diseases (false: ``precedent_related`` is empty, for the benchmark's many calls)."""
    cands = list(candidates)
    ind = indications[["drug", "doid"]].copy()
    ind["unit"] = disease_units(ind["doid"], dk)
    ind = ind.drop_duplicates(["drug", "unit"])
    standard = set(ind.loc[ind["unit"] == disease, "drug"])
    others = ind[ind["unit"] != disease]
    units = sorted(set(others["unit"]))
    sim = similarity.reindex(units).fillna(0.0).clip(0, 1)
    total = float(sim.sum())
    others = others[others["drug"].isin(set(cands))].copy()
    others["sim"] = others["unit"].map(sim).to_numpy()
    used = others.groupby("drug")["unit"].nunique()
    related_sum = others.groupby("drug")["sim"].sum()
    pop = used.reindex(cands).fillna(0).to_numpy(dtype=float) / max(1, len(units))
    rel = (
        related_sum.reindex(cands).fillna(0.0).to_numpy(dtype=float) / total
        if total > 0
        else np.zeros(len(cands))
    )
    name = (lambda d: dk.name_of(d)) if dk is not None else (lambda d: d)
    related: dict[str, str] = {}
    if describe:
        close = others[others["sim"] >= related_min].sort_values(
            ["drug", "sim", "unit"], ascending=[True, False, True]
        )
        related = {
            drug: "; ".join(f"{name(u)} ({x:.2f})" for u, x in zip(g["unit"], g["sim"], strict=True))
            for drug, g in close.groupby("drug", sort=False)
        }
    out = pd.DataFrame(index=pd.Index(cands, name="drug"))
    out["precedent"] = popularity_weight * pop + (1 - popularity_weight) * rel
    out["precedent_standard"] = [c in standard for c in cands]
    out["precedent_related"] = [related.get(c, "") for c in cands]
    out["precedent_max_similarity"] = (
        others.groupby("drug")["sim"].max().reindex(cands).fillna(0.0).to_numpy()
    )
    out["precedent_n"] = used.reindex(cands).fillna(0).astype(int).to_numpy()
    return out


def dm_table(indications: pd.DataFrame) -> pd.DataFrame:
    """A benchmark indication table (doid_id, category, library_drugs) as (drug, doid) pairs of its
    disease-modifying rows (the only use the precedent line counts in the benchmark)."""
    dm = indications[indications["category"] == "DM"]
    rows = [(d, doid) for doid, lst in zip(dm["doid_id"], dm["library_drugs"], strict=True) for d in lst]
    return pd.DataFrame(rows, columns=["drug", "doid"]).drop_duplicates()
