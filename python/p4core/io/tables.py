"""The knowledge tables (networks, drug libraries): one validating TSV reader."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.model import EDGE_KINDS, DrugLibrary, Network


def read_table(path: str | os.PathLike[str], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path} (check the path in the config)")
    try:
        lines = [
            ln
            for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    except (UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{what} file {path} could not be read as UTF-8 text: {exc}") from None
    if not lines:
        raise InputError(f"{what} file {path} is empty (expected a header line and rows)")
    width = lines[0].count("\t")
    for i, ln in enumerate(lines[1:], start=2):
        if ln.count("\t") != width:
            raise InputError(
                f"{what} file {path}: line {i} (not counting comments) has {ln.count(chr(9)) + 1} tab-separated "
                f"fields, the header {width + 1}"
            )
    try:
        df = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False, index_col=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} file {path} is empty (expected a header line and rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"{what} file {path} could not be read as a tab-separated table: {exc}") from None
    if df.empty:
        raise InputError(f"{what} file {path} has no rows")
    return df


def require_columns(
    df: pd.DataFrame, columns: tuple[str, ...], path: str | os.PathLike[str], what: str
) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path}: missing column(s) {missing}; expected {list(columns)}, found {list(df.columns)}"
        )


def no_empty(df: pd.DataFrame, columns: tuple[str, ...], path: str | os.PathLike[str], what: str) -> None:
    for col in columns:
        empty = np.flatnonzero((df[col].str.len() == 0).to_numpy())
        if len(empty):
            raise InputError(
                f"{what} file {path}: column {col!r} is empty on data row {empty[0] + 1} "
                f"({len(empty)} such rows); every row needs a name there"
            )


def signs(values: pd.Series, path: str | os.PathLike[str], what: str) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(~num.isin([1, -1]).to_numpy())
    if len(bad):
        raise InputError(
            f"{what} file {path}: column 'sign' must be 1 or -1; data row {bad[0] + 1} has {values.iloc[bad[0]]!r}"
        )
    return num.to_numpy(dtype=np.int8)


def read_network_tsv(path: str | os.PathLike[str], name: str | None = None) -> Network:
    """Read a signed network: tab-separated columns source, target, sign, kind[, weight, reference]."""
    df = read_table(path, "network")
    require_columns(df, ("source", "target", "sign", "kind"), path, "network")
    df["source"] = df["source"].str.strip().str.upper()
    df["target"] = df["target"].str.strip().str.upper()
    no_empty(df, ("source", "target"), path, "network")
    df["sign"] = signs(df["sign"], path, "network")
    df["weight"] = pd.to_numeric(df["weight"], errors="coerce") if "weight" in df else 1.0
    if df["weight"].isna().any() or (df["weight"] <= 0).any():
        raise InputError(f"network file {path}: column 'weight' must be positive numbers")
    bad = sorted(set(df["kind"]) - set(EDGE_KINDS))
    if bad:
        raise InputError(f"network file {path}: unknown kind(s) {bad}; use one of {list(EDGE_KINDS)}")
    if "reference" not in df:
        df["reference"] = Path(path).name
    dup = df.duplicated(["source", "target"], keep=False)
    if dup.any():
        conflict = df[dup].groupby(["source", "target"])["sign"].nunique()
        conflict = conflict[conflict > 1]
        if len(conflict):
            s, t = conflict.index[0]
            raise InputError(
                f"network file {path}: edge {s} -> {t} appears with both signs ({len(conflict)} conflicting "
                "edges); keep one sign per edge"
            )
        df = df.drop_duplicates(["source", "target"])
    return Network(
        df[["source", "target", "sign", "weight", "kind", "reference"]].reset_index(drop=True),
        name=name or Path(path).stem,
    )


def read_drugs_tsv(path: str | os.PathLike[str], name: str | None = None) -> DrugLibrary:
    """Read a drug library: tab-separated columns drug, target, sign[, action, strength, ...]."""
    df = read_table(path, "drug library")
    require_columns(df, ("drug", "target", "sign"), path, "drug library")
    df["target"] = df["target"].str.strip().str.upper()
    df["drug"] = df["drug"].str.strip()
    no_empty(df, ("drug", "target"), path, "drug library")
    df["sign"] = signs(df["sign"], path, "drug library")
    df["strength"] = pd.to_numeric(df["strength"], errors="coerce") if "strength" in df else 1.0
    if df["strength"].isna().any() or (df["strength"] <= 0).any():
        raise InputError(f"drug library file {path}: column 'strength' must be positive numbers")
    if "action" not in df:
        df["action"] = np.where(df["sign"] > 0, "agonist", "inhibitor")
    return DrugLibrary(df.reset_index(drop=True), name=name or Path(path).stem)


# ---------------------------------------------------------------------------------------------
