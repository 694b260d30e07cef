"""Plausibility checks every context source applies to what it reads (dates, ages, identities).

A clinical record can be wrong in ways no schema catches: a birth after the sampling day, an age of
-5 or 140, a record dated next year, two people under one identifier. Each check raises an
:class:`~p4core.errors.InputError` naming the file and field, so that a wrong record stops the run
instead of reaching the scores and the report. Identifiers are never put in a message (rows are
named by position).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from p4core.errors import InputError

#: the oldest age p4core accepts (years); older is taken as an error in the record
MAX_AGE = 120


def today() -> dt.date:
    return dt.date.today()


def check_not_future(when: dt.date | None, where: str) -> None:
    """A recorded date (something that happened) cannot be after today."""
    if when is not None and when > today():
        raise InputError(f"{where}: {when.isoformat()} is in the future (today is {today().isoformat()})")


def check_birth(
    birth_year: int | None, index: dt.date | None, where: str, birth: dt.date | None = None
) -> float | None:
    """The age at the index date (years; from the birth date when known, else from the year), after
    checking that the birth is not after the index date (nor today) and the age is within 0-120.
    Returns None without an index date."""
    if birth_year is None and birth is None:
        return None
    year = birth.year if birth is not None else int(birth_year)  # type: ignore[arg-type]
    if index is not None and ((birth is not None and birth > index) or year > index.year):
        raise InputError(
            f"{where}: born {birth.isoformat() if birth else year}, after the index date {index.isoformat()} "
            "(the sampling day): check the birth date and the index date"
        )
    if birth is not None:
        check_not_future(birth, where)
    elif year > today().year:
        raise InputError(f"{where}: birth year {year} is in the future")
    if index is None:
        return None
    if birth is not None:
        age = index.year - birth.year - ((index.month, index.day) < (birth.month, birth.day))
    else:
        age = index.year - year
    if not 0 <= age <= MAX_AGE:
        raise InputError(
            f"{where}: an age of {age} years at the index date {index.isoformat()} is outside 0-{MAX_AGE}"
        )
    return float(age)


def check_index(index: dt.date | None, where: str) -> None:
    """The index date (the sampling day) has happened."""
    check_not_future(index, where)


def check_one_person(table: pd.DataFrame, id_col: str, columns: Iterable[str], where: str) -> None:
    """Every identifier of an extract is one person: the person-level ``columns`` present in ``table``
    (sex, birth year or date) take one value per identifier. Names the rows, never the identifier."""
    for col in columns:
        if col not in table:
            continue
        vals = table[[id_col, col]].copy()
        vals[col] = vals[col].astype(str).str.strip()
        vals = vals[~vals[col].isin(["", "nan", "NAN", "None", "<NA>"])]
        counts = vals.groupby(id_col)[col].nunique()
        clash = counts[counts > 1]
        if len(clash):
            rows = [int(i) + 1 for i in vals.index[vals[id_col] == clash.index[0]][:3]]
            raise InputError(
                f"{where}: {len(clash)} identifier(s) with more than one {col} (different people under one "
                f"identifier?), e.g. data rows {rows}; fix the linkage of the extract"
            )
