"""Summaries over the ensemble: intervals, ranks, P(top k), the cell types carrying a score."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from p4core.numerics import rankdata

if TYPE_CHECKING:
    pass
from p4core.model import DrugLibrary

log = logging.getLogger("p4core")


def shown_ranks(ranks: list[int], keys: list[tuple]) -> list[str]:
    """How a table shows ranks: a drug tied with others (the same ``key``, e.g. the rounded probability and
    score) shows the group's first rank with ``=`` ("3="), the others their rank — the same in the
    terminal's closing table and in the report."""
    first: dict[tuple, int] = {}
    count: dict[tuple, int] = {}
    for r, k in zip(ranks, keys, strict=True):
        first[k] = min(first.get(k, r), r)
        count[k] = count.get(k, 0) + 1
    return [f"{first[k]}=" if count[k] > 1 else str(r) for r, k in zip(ranks, keys, strict=True)]


def tie_key(probability: float | None, score: float | None) -> tuple:
    """Two drugs tie when their probability and twin score agree to 12 and 9 digits."""
    p = None if probability is None or probability != probability else round(float(probability), 12)
    s = None if score is None or score != score else round(float(score), 9)
    return (p, s)


def rank_positions(scores: np.ndarray, names: np.ndarray) -> np.ndarray:
    """Rank positions (1 = best; ties broken by name, as the table is sorted)."""
    order = np.lexsort((names, -scores))
    ranks = np.empty(len(scores), dtype=int)
    ranks[order] = np.arange(1, len(scores) + 1)
    return ranks


def ensemble_summary(scores: np.ndarray, names: list[str], top_k: int) -> pd.DataFrame:
    """Per drug over the twins (``scores``: twins x drugs): mean, 95% interval, P(top k) and the
    95% rank interval."""
    ranks = rankdata(-scores, axis=1, method="min")
    return pd.DataFrame(
        {
            "drug": names,
            "score_mean": scores.mean(0),
            "ci_low": np.quantile(scores, 0.025, axis=0),
            "ci_high": np.quantile(scores, 0.975, axis=0),
            f"p_top{top_k}": (ranks <= top_k).mean(0),
            "rank_low": np.quantile(ranks, 0.025, axis=0, method="lower").astype(int),
            "rank_high": np.quantile(ranks, 0.975, axis=0, method="higher").astype(int),
        }
    )


def distinct_top(table: pd.DataFrame, drugs: DrugLibrary, n: int) -> list[str]:
    """The ``n`` best-ranked drugs (positive score) that share no main target with a better one:
    one anti-TNF, not five; one JAK inhibitor. Main targets: strength >= 0.75 of the drug's strongest."""
    t = drugs.targets[drugs.targets["sign"] != 0]
    main = t[t["strength"] >= 0.75 * t.groupby("drug")["strength"].transform("max")]
    mechanism = main.groupby("drug")["target"].agg(frozenset).to_dict()
    taken: set[str] = set()
    out: list[str] = []
    for drug, score in zip(table["drug"], table["score_mean"], strict=True):
        mech = mechanism.get(drug, frozenset())
        if len(out) < n and score > 0 and mech and not (mech & taken):
            taken |= mech
            out.append(drug)
    return out


def drivers(parts: np.ndarray, celltypes: list[str], share: float) -> str:
    total = parts[parts > 0].sum()
    if total <= 0:
        return ""
    order = np.argsort(-parts, kind="stable")
    return ", ".join(celltypes[c] for c in order if parts[c] > 0 and parts[c] >= share * total)


drivers = drivers
