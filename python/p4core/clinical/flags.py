"""Flags on the drug ranking from the patient's context: drugs already taken, and drug classes to
avoid given the patient's conditions (when a rule table is supplied).

A rule table is tab-separated with the columns ``atc_prefix`` (a drug class, e.g. ``L04AB`` for TNF
inhibitors), ``icd10_prefix`` (a condition, e.g. ``I50`` for heart failure) and ``reason``; ``#``
lines are comments. p4core ships no clinical rules: they are the user's (or their institution's).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from p4core.clinical.scores import normalise_icd10
from p4core.errors import InputError
from p4core.model import Context


def read_rules(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"avoid_rules: {p} does not exist (a TSV with atc_prefix, icd10_prefix, reason)")
    rules = pd.read_csv(p, sep="\t", comment="#", dtype=str).fillna("")
    missing = {"atc_prefix", "icd10_prefix", "reason"} - set(rules.columns)
    if missing:
        raise InputError(f"{p}: missing columns {sorted(missing)}; expected atc_prefix, icd10_prefix, reason")
    return rules


def flag_drugs(table: pd.DataFrame, context: Context, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """``table`` (the ranked drugs, with an ``atc`` column) with ``already_taken`` and ``avoid``
    (the reasons, empty when none) added."""
    out = table.copy()
    atcs = out["atc"].fillna("").astype(str) if "atc" in out else pd.Series([""] * len(out), index=out.index)
    taken = {m.upper() for m in context.medications} | {
        str(r.get("atc", "")).upper() for r in context.medication_records
    }
    taken.discard("")
    out["already_taken"] = [bool(a) and any(x in taken for x in a.split("|")) for a in atcs]
    reasons = [""] * len(out)
    if rules is not None and len(rules):
        codes, _ = normalise_icd10([*context.conditions, *[d.get("code", "") for d in context.diagnoses]])
        for r in rules.itertuples(index=False):
            icd = str(r.icd10_prefix).replace(".", "").upper()
            if not any(c.startswith(icd) for c in codes):
                continue
            for i, a in enumerate(atcs):
                if any(x.startswith(str(r.atc_prefix).upper()) for x in a.split("|") if x):
                    reasons[i] = "; ".join(filter(None, [reasons[i], f"{r.reason} ({r.icd10_prefix})"]))
    out["avoid"] = reasons
    return out
