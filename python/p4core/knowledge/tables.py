"""Reading edge lists: tables, required columns, signs, complexes expanded to subunits, duplicates merged."""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from p4core.errors import InputError

log = logging.getLogger("p4core")


NET_COLS = ["source", "target", "sign", "weight", "kind", "reference"]


def read_table(path: str | os.PathLike[str], what: str, sep: str, **kw) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, **kw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{what} file {path} is truncated or not valid gzip ({exc}); download it again"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{what} file {path} could not be parsed: {exc}") from None
    if df.empty:
        raise InputError(f"{what} file {path} has a header but no rows")
    return df


def require_columns(df: pd.DataFrame, cols: Sequence[str], path: str | os.PathLike[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path}: missing column(s) {missing}; expected {list(cols)}, "
            f"found {list(df.columns)}"
        )


def sign_column(values: pd.Series, col: str, path: str | os.PathLike[str], what: str) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce")
    bad = ~num.isin([1, -1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{what} file {path}: column {col!r} must be 1 or -1; data row {i + 1} has "
            f"{values.iloc[i]!r} ({int(bad.sum())} such rows)"
        )
    return num.to_numpy(dtype=np.int8)


def expand_complexes(
    df: pd.DataFrame, sep: str = "_", mapping: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """Replace complex sources/targets by their subunits, dividing the weight (see module docs)."""
    mapping = mapping or {}

    def parts(name: str) -> list[str]:
        if name in mapping:
            return mapping[name]
        # OmniPath complexes may hold small molecules (CHEBI_<number>) and stoichiometry
        # suffixes (C4B_2): neither is a gene
        tokens = [t for t in name.split(sep) if t]
        return [t for i, t in enumerate(tokens) if t != "CHEBI" and not t.isdigit()]

    src = df["source"].map(parts)
    tgt = df["target"].map(parts)
    n = src.map(len) * tgt.map(len)
    df, src, tgt, n = df[n > 0], src[n > 0], tgt[n > 0], n[n > 0]
    out = df.assign(source=src, target=tgt, weight=df["weight"] / n)
    out = out.explode("source").explode("target")
    return out[out["source"] != out["target"]].reset_index(drop=True)


def dedupe_edges(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge duplicate (source, target) edges; an edge with both signs in one resource is dropped
    and returned as a conflict."""
    signs = df.groupby(["source", "target"])["sign"].nunique()
    conflict_keys = signs[signs > 1].index
    key = pd.MultiIndex.from_frame(df[["source", "target"]])
    conflicts = df[key.isin(conflict_keys)]
    ok = df[~key.isin(conflict_keys)]
    ok = ok.groupby(["source", "target"], as_index=False, sort=False).agg(
        sign=("sign", "first"),
        weight=("weight", "max"),
        kind=("kind", "first"),
        reference=("reference", "first"),
    )
    if len(conflict_keys):
        log.warning("%s: %d edge(s) carry both signs and were dropped", name, len(conflict_keys))
    return ok[NET_COLS], conflicts


def signed_edges(
    path: Path,
    what: str,
    sep: str,
    sign_col: str,
    kind: str,
    complex_sep: str,
    mapping: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Parse a signed edge list (columns source, target and a +1/-1 column), complexes expanded."""
    df = read_table(path, what, sep=sep)
    require_columns(df, ["source", "target", sign_col], path, what)
    df = pd.DataFrame(
        {
            "source": df["source"].str.strip().str.upper(),
            "target": df["target"].str.strip().str.upper(),
            "sign": sign_column(df[sign_col], sign_col, path, what),
            "weight": 1.0,
            "kind": kind,
            "reference": what,
        }
    )
    return dedupe_edges(expand_complexes(df, sep=complex_sep, mapping=mapping), what)[0]
