"""Evidence tiers, in the manner of the clinical knowledge bases (OncoKB levels, ESCAT tiers).

Each drug gets the first tier whose conditions hold (the twin *agrees* when its score is positive with
the screen's p below ``evidence.agree_p``; it *argues against* when every twin's 95% interval is below
0, i.e. it predicts the drug pushes this patient's disease further):

======  ==============================================================================
tier    meaning
======  ==============================================================================
I       standard for the diagnosis, and the twin reverses this patient's disease
X       standard for the diagnosis, but the twin argues against it for this patient (a flag)
S       standard for the diagnosis; the twin neither agrees nor argues against
II      used for a related disease (similarity >= ``evidence.related_similarity``), and the twin agrees
III     human genetic support at its targets (genetics FDR < ``evidence.genetics_fdr``), and the twin
        agrees: a repurposing candidate
IV      the twin alone (its FDR < ``evidence.alone_fdr``)
(empty) none of the above
======  ==============================================================================

Without a diagnosis only IV can apply. Standard options (I, X, S) are shown first in the report,
ranked by how well they fit this patient (the twin's score); the candidates to discuss (II-IV) after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from p4core.evidence.params import EvidenceParams

TIERS = {
    "I": "standard for {dx}; the twin reverses this patient's disease",
    "X": "standard for {dx}, but the twin predicts it works against this patient's disease",
    "S": "standard for {dx}; the twin does not single it out for this patient",
    "II": "used for a related disease ({related}); the twin agrees",
    "III": "human genetic support for {dx} at its targets ({genes}); the twin agrees: a repurposing candidate",
    "IV": "the twin alone: it reverses this patient's disease (FDR {fdr:.2g})",
}
STANDARD = ("I", "X", "S")
CANDIDATES = ("II", "III", "IV")
ORDER = ("I", "S", "X", "II", "III", "IV", "")


def _col(t: pd.DataFrame, name: str, default: float | bool | str) -> pd.Series:
    return t[name] if name in t.columns else pd.Series(default, index=t.index)


def assign_tiers(table: pd.DataFrame, diagnosis: str | None, p: EvidenceParams) -> pd.DataFrame:
    """``tier`` and ``tier_text`` for every row of a screen table that carries the line columns
    (``score_mean``, ``p_value``, ``fdr``, ``ci_high``; ``precedent_standard``,
    ``precedent_max_similarity``, ``precedent_related``; ``genetics_fdr``, ``genetics_z``,
    ``genetics_genes``; missing columns = absent line)."""
    t = table
    score = _col(t, "score_mean", 0.0).astype(float)
    pval = _col(t, "p_value", np.nan).astype(float)
    fdr = _col(t, "fdr", np.nan).astype(float)
    if pval.isna().all():  # no null test: agreement from the twins' interval
        agrees = _col(t, "ci_low", 0.0).astype(float) > 0
    else:
        agrees = (score > 0) & (pval < p.agree_p)
    against = (score < 0) & (_col(t, "ci_high", 0.0).astype(float) < 0)
    standard = _col(t, "precedent_standard", False).fillna(False).astype(bool)
    related = _col(t, "precedent_max_similarity", 0.0).fillna(0.0).astype(float) >= p.related_similarity
    genetic = (_col(t, "genetics_fdr", np.nan).astype(float) < p.genetics_fdr) & (
        _col(t, "genetics_z", 0.0).astype(float) > 0
    )
    alone = (score > 0) & (fdr < p.alone_fdr)
    if diagnosis is None:
        standard = related = genetic = pd.Series(False, index=t.index)
    tier = np.select(
        [standard & agrees, standard & against, standard, related & agrees, genetic & agrees, alone],
        ["I", "X", "S", "II", "III", "IV"],
        default="",
    )
    text = []
    for k, row_tier in enumerate(tier):
        if not row_tier:
            text.append("")
            continue
        text.append(
            TIERS[row_tier].format(
                dx=diagnosis or "",
                related=str(_col(t, "precedent_related", "").iloc[k]).split(";")[0].strip()
                or "a related disease",
                genes=str(_col(t, "genetics_genes", "").iloc[k]) or "risk genes",
                fdr=float(fdr.iloc[k]) if np.isfinite(fdr.iloc[k]) else float("nan"),
            )
        )
    out = t.copy()
    out["tier"] = tier
    out["tier_text"] = text
    return out
