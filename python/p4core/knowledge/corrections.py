"""p4core's curated drug-target corrections (one citation per row), applied to a drug library."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.knowledge.tables import read_table, require_columns, sign_column
from p4core.model import DrugLibrary

log = logging.getLogger("p4core")


CORRECTION_COLUMNS = ("drug", "target", "action", "sign", "strength", "change", "approval", "reference")


def read_corrections(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A corrections table (``#`` comments allowed): drug, target, action, sign (-1/1), strength,
    change (``correct`` | ``add``), approval (year), reference (the citation of the row)."""
    path = Path(path)
    df = read_table(path, "drug corrections", sep="\t", comment="#")
    require_columns(df, CORRECTION_COLUMNS, path, "drug corrections")
    df["drug"] = df["drug"].str.strip().str.lower()
    df["target"] = df["target"].str.strip().str.upper()
    df["sign"] = sign_column(df["sign"], "sign", path, "drug corrections").astype(np.int8)
    df["strength"] = pd.to_numeric(df["strength"], errors="coerce")
    if df["strength"].isna().any() or (df["strength"] <= 0).any():
        raise InputError(f"drug corrections file {path}: column 'strength' must be positive numbers")
    bad = sorted(set(df["change"]) - {"correct", "add"})
    if bad:
        raise InputError(f"drug corrections file {path}: column 'change' must be correct or add, got {bad}")
    if (df["reference"].str.strip() == "").any():
        i = int(np.flatnonzero((df["reference"].str.strip() == "").to_numpy())[0])
        raise InputError(
            f"drug corrections file {path}: data row {i + 1} has no reference (one citation per row)"
        )
    return df[list(CORRECTION_COLUMNS)].reset_index(drop=True)


def apply_corrections(drugs: DrugLibrary, corrections: pd.DataFrame) -> tuple[DrugLibrary, pd.DataFrame]:
    """The library with the corrections applied, and what each row did (``status``, ``was``).

    ``correct`` replaces the sign, action and strength of the drug's row for the target (and adds the
    row when the drug has other targets but not this one); ``add`` adds a drug the library lacks
    (a drug already there is left as it is, and the row says so). Annotation columns of an added
    drug are empty but ``approval`` and ``correction`` (the citation)."""
    t = drugs.targets.copy()
    for col in ("correction", "approval"):
        if col not in t.columns:
            t[col] = ""
    have = set(t["drug"])
    added_drugs = {d for d, ch in zip(corrections["drug"], corrections["change"], strict=True) if ch == "add"}
    status, was = [], []
    new_rows = []
    for row in corrections.itertuples(index=False):
        at = (t["drug"] == row.drug) & (t["target"] == row.target)
        if row.change == "add" and row.drug in have:
            status.append("not added: the library already has this drug")
            was.append("")
            continue
        if row.change == "correct" and row.drug not in have:
            status.append("not applied: the drug is not in the library")
            was.append("")
            continue
        if at.any():
            old = t.loc[at].iloc[0]
            was.append(f"{old['action']} (sign {int(old['sign'])}, strength {float(old['strength']):g})")
            t.loc[at, ["action", "sign", "strength", "correction"]] = [
                str(row.action).replace(" ", "_"),
                int(row.sign),
                float(row.strength),
                str(row.reference),
            ]
            status.append("corrected")
            continue
        base = t[t["drug"] == row.drug]
        extra = {c: (base[c].iloc[0] if len(base) else "") for c in t.columns}
        extra.update(
            drug=row.drug,
            target=row.target,
            action=str(row.action).replace(" ", "_"),
            sign=int(row.sign),
            strength=float(row.strength),
            correction=str(row.reference),
        )
        if row.drug in added_drugs:
            extra["approval"] = str(row.approval)
        new_rows.append(extra)
        was.append("")
        status.append("added (new drug)" if row.drug in added_drugs else "added (target the drug lacked)")
    if new_rows:
        t = pd.concat([t, pd.DataFrame(new_rows)], ignore_index=True)
    for c in t.columns:  # annotation columns of added drugs: empty, not NaN
        if t[c].dtype == object:
            t[c] = t[c].fillna("")
    t["sign"] = t["sign"].astype(np.int8)
    applied = corrections.assign(status=status, was=was)
    return DrugLibrary(t, name=drugs.name + " + p4core corrections"), applied
