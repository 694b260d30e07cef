"""Context source ``registers``: Swedish national register extracts (CSV or Parquet).

    python -m p4core context=[registers] context.registers.npr=par.csv context.registers.lmed=lmed.parquet \\
        context.registers.lopnr=<the patient's LopNr> context.registers.index_date=2024-03-01

* **National Patient Register** (``npr``): ``LopNr``, ``INDATUM`` (admission/visit), ``UTDATUM``
  (discharge; used for the code's date when present, as Ludvigsson's scripts do), ``HDIA`` and
  ``DIA1…DIA30`` (or one whitespace-separated ``DIAGNOS``). The ICD version follows the date: ICD-10-SE
  from 1997, ICD-9-SE 1987–1996, ICD-8 before; only ICD-10 codes enter the comorbidity indices, the
  others are kept with their version and counted.
* **Prescribed Drug Register** (``lmed``): ``LopNr``, ``EDATUM`` (dispensing date), ``ATC``, ``ANTAL``
  (packages; negative = a correction, taken off the latest dispensations of the same ATC on or
  before its date; dispensations corrected to ≤ 0 are dropped, with a count).
* Derived: the Swedish Charlson index (Ludvigsson 2021) and the Quan 2011 one; diagnoses and first
  dispensations become events on the course's time axis.
* ``lopnr`` selects the patient. It and every LopNr are pseudonymised (keyed hash) before anything is
  stored; ``config_resolved.yaml`` shows it redacted. Column names are matched case-insensitively.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from p4core.clinical.checks import check_birth, check_index, check_not_future, check_one_person
from p4core.clinical.privacy import pseudonymise
from p4core.clinical.scores import charlson, normalise_icd10
from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying, input_path
from p4core.model import Context


@dataclass
class RegistersConfig:
    npr: str | None = identifying(None)
    lmed: str | None = identifying(None)
    #: the patient's LopNr in the extracts (an identifier: redacted in every output)
    lopnr: str | None = identifying(None, kind="id")
    #: the sampling day (day 0), ISO date
    index_date: str | None = None

    def __post_init__(self) -> None:
        require(self.npr or self.lmed, "context.registers", "needs npr and/or lmed (register extract files)")
        require(
            self.lopnr not in (None, ""),
            "context.registers.lopnr",
            "is required: the patient's LopNr in the extracts",
        )
        if self.index_date is not None:
            try:
                dt.date.fromisoformat(self.index_date)
            except ValueError:
                raise InputError(
                    f"context.registers.index_date: {self.index_date!r} is not a date (YYYY-MM-DD)"
                ) from None


def read_extract(path: str | Path, what: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"context.registers.{what}: {p} does not exist")
    try:
        tab = (
            pd.read_parquet(p)
            if p.suffix == ".parquet"
            else pd.read_csv(p, sep=None, engine="python", dtype=str)
        )
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        raise InputError(f"{p}: not a readable CSV/Parquet register extract ({exc})") from None
    tab.columns = [str(c).upper() for c in tab.columns]
    if "LOPNR" not in tab:
        raise InputError(f"{p}: no LopNr column (columns: {list(tab.columns)[:12]})")
    tab = tab.astype(str)
    tab["LOPNR"] = tab["LOPNR"].str.strip()
    check_one_person(tab.reset_index(drop=True), "LOPNR", PERSON_COLUMNS, str(p))
    return tab


#: person-level columns a register extract may carry (sex, birth year or date): one value per LopNr
PERSON_COLUMNS = ("KON", "FODAR", "FODELSEAR", "FODDAT", "FODELSEDATUM")


def birth_of(rows: pd.DataFrame, where: str) -> tuple[int | None, dt.date | None]:
    """The patient's birth year and date from an extract's person-level columns, when it has them."""
    for col in ("FODDAT", "FODELSEDATUM"):
        if col in rows and len(rows) and rows[col].iloc[0] not in ("", "nan", "None"):
            d = parse_dates(rows[col].iloc[:1], f"{where} {col}").iloc[0]
            if not pd.isna(d):
                return d.year, d.date()
    for col in ("FODAR", "FODELSEAR"):
        if col in rows and len(rows) and rows[col].iloc[0] not in ("", "nan", "None"):
            try:
                return int(float(rows[col].iloc[0])), None
            except ValueError:
                raise InputError(f"{where}: {col} must be a year, got {rows[col].iloc[0]!r}") from None
    return None, None


def parse_dates(values: pd.Series, where: str) -> pd.Series:
    """YYYYMMDD or YYYY-MM-DD; impossible dates are an error naming the file and rows."""
    text = values.str.replace("-", "", regex=False).str.strip()
    out = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    bad = out.isna() & ~text.isin(["", "NAN", "nan", "None"])
    if bad.any():
        raise InputError(
            f"{where}: {int(bad.sum())} impossible date(s), e.g. {values[bad].iloc[0]!r} (YYYYMMDD expected)"
        )
    return out


def net_corrections(rows: pd.DataFrame) -> pd.DataFrame:
    """Dispensations (ATC, EDATUM, ANTAL > 0) after each correction (ANTAL < 0) has been taken off the
    latest dispensations of the same ATC on or before its date; a correction with nothing before it
    is dropped (counted as a netted-out row with ANTAL <= 0)."""
    pos = rows[rows["ANTAL"] > 0].groupby(["ATC", "EDATUM"], as_index=False)["ANTAL"].sum()
    pos = pos.sort_values(["ATC", "EDATUM"], kind="mergesort").reset_index(drop=True)
    orphans = 0
    for r in rows[rows["ANTAL"] < 0].sort_values("EDATUM", kind="mergesort").itertuples(index=False):
        left = -float(r.ANTAL)
        for i in reversed(
            pos.index[(pos["ATC"] == r.ATC) & (pos["EDATUM"] <= r.EDATUM) & (pos["ANTAL"] > 0)]
        ):
            take = min(left, float(pos.at[i, "ANTAL"]))
            pos.at[i, "ANTAL"] -= take
            left -= take
            if left <= 0:
                break
        orphans += int(left > 0)
    if orphans:
        pos = pd.concat(
            [
                pos,
                pd.DataFrame(
                    {"ATC": ["?"] * orphans, "EDATUM": [pd.NaT] * orphans, "ANTAL": [0.0] * orphans}
                ),
            ]
        )
    return pos


def icd_version(date: pd.Timestamp) -> str:
    return "ICD-10-SE" if date.year >= 1997 else ("ICD-9-SE" if date.year >= 1987 else "ICD-8")


def load(cfg: RegistersConfig, context: Context, pseudonym_key: str | None = None) -> Context:
    who = str(cfg.lopnr).strip()
    context.extra["register_pseudonym"] = pseudonymise(who, pseudonym_key)
    index = pd.Timestamp(cfg.index_date) if cfg.index_date else None
    check_index(index.date() if index is not None else None, "context.registers.index_date")
    report: dict[str, int] = {}

    def person(rows: pd.DataFrame, where: str) -> None:
        year, birth = birth_of(rows, where)
        if year is not None:
            context.birth_year = year
            age = check_birth(year, index.date() if index is not None else None, where, birth)
            if age is not None:
                context.age = age

    def day(t: pd.Timestamp) -> float | None:
        return None if index is None or pd.isna(t) else float((t - index).days)

    if cfg.npr:
        npr = read_extract(cfg.npr, "npr")
        rows = npr[npr["LOPNR"] == who]
        date_col = "UTDATUM" if "UTDATUM" in rows and (rows["UTDATUM"].str.strip() != "").any() else "INDATUM"
        if date_col not in rows:
            raise InputError(f"{cfg.npr}: no INDATUM/UTDATUM column")
        dates = parse_dates(rows[date_col], f"{cfg.npr} {date_col}")
        if "INDATUM" in rows:
            dates = dates.fillna(parse_dates(rows["INDATUM"], f"{cfg.npr} INDATUM"))
        if dates.notna().any():
            check_not_future(dates.max().date(), f"{cfg.npr} {date_col}")
        person(rows, str(cfg.npr))
        dia_cols = [c for c in rows.columns if c == "HDIA" or (c.startswith("DIA") and c[3:].isdigit())]
        seen: set[str] = set()
        report["npr_contacts"] = len(rows)
        report["icd_other_versions"] = 0
        for (_, r), when in zip(rows.iterrows(), dates, strict=True):
            codes = " ".join(r[c] for c in dia_cols) if dia_cols else r.get("DIAGNOS", "")
            for code in str(codes).split():
                if code.upper() in ("", "NAN", "NONE"):
                    continue
                version = icd_version(when) if not pd.isna(when) else "unknown"
                if version != "ICD-10-SE":
                    report["icd_other_versions"] += 1
                good, bad = normalise_icd10([code]) if version == "ICD-10-SE" else ([code], [])
                if bad:
                    raise InputError(
                        f"{cfg.npr}: {code!r} is not an ICD-10 code (contact dated {when.date()})"
                    )
                context.diagnoses.append(
                    {"code": good[0], "system": version, "version": version, "date": None if pd.isna(when) else when.date().isoformat(),
                     "day": day(when), "source": "National Patient Register"}
                )  # fmt: skip
                if version == "ICD-10-SE" and good[0] not in seen:
                    seen.add(good[0])
                    if good[0] not in {c.replace(".", "").upper() for c in context.conditions}:
                        context.conditions.append(good[0])
                    if day(when) is not None:
                        context.events.append(
                            {"time": day(when), "kind": "diagnosis", "label": f"diagnosis {good[0]} (NPR)"}
                        )
    if cfg.lmed:
        lmed = read_extract(cfg.lmed, "lmed")
        missing = {"EDATUM", "ATC", "ANTAL"} - set(lmed.columns)
        if missing:
            raise InputError(f"{cfg.lmed}: missing columns {sorted(missing)} (Prescribed Drug Register)")
        rows = lmed[lmed["LOPNR"] == who].copy()
        rows["EDATUM"] = parse_dates(rows["EDATUM"], f"{cfg.lmed} EDATUM")
        if rows["EDATUM"].notna().any():
            check_not_future(rows["EDATUM"].max().date(), f"{cfg.lmed} EDATUM")
        person(rows, str(cfg.lmed))
        rows["ANTAL"] = pd.to_numeric(rows["ANTAL"].str.replace(",", ".", regex=False), errors="coerce")
        if rows["ANTAL"].isna().any():
            raise InputError(f"{cfg.lmed}: ANTAL must be a number of packages")
        net = net_corrections(rows)
        report["lmed_corrections"] = int((rows["ANTAL"] < 0).sum())
        report["lmed_dispensations_netted_out"] = int((net["ANTAL"] <= 0).sum())
        net = net[net["ANTAL"] > 0].sort_values(["EDATUM", "ATC"], kind="mergesort")
        first: set[str] = set()
        for r in net.itertuples(index=False):
            context.medication_records.append(
                {"atc": r.ATC, "start": r.EDATUM.date().isoformat(), "end": None, "packages": float(r.ANTAL),
                 "source": "Prescribed Drug Register"}
            )  # fmt: skip
            if r.ATC not in context.medications:
                context.medications.append(r.ATC)
            if r.ATC not in first and day(r.EDATUM) is not None:
                first.add(r.ATC)
                context.events.append(
                    {"time": day(r.EDATUM), "kind": "treatment_start", "label": f"{r.ATC} dispensed (LMED)"}
                )
    icd10 = [
        d["code"]
        for d in context.diagnoses
        if d.get("version") in ("ICD-10-SE", None) or d.get("system", "").startswith("http")
    ]
    sw = charlson(icd10, scheme="swedish2021")
    qu = charlson(icd10, weights="quan2011")
    context.scores["charlson_swedish2021"] = {"index": sw.index, "conditions": sw.present}
    context.scores["charlson_quan2011"] = {
        "index": qu.index,
        "conditions": qu.present,
        "malformed": qu.malformed,
    }
    context.extra["register_report"] = report
    if index is not None:
        context.index_date = context.index_date or index.date().isoformat()
    return context


@hookimpl
def p4core_register_context(register):
    register(
        "registers",
        load,
        schema=RegistersConfig,
        description="Swedish National Patient / Prescribed Drug Register extracts",
        check=_check,
    )


def _check(cfg: RegistersConfig) -> None:
    input_path(cfg.npr, "context.registers.npr", "a National Patient Register extract")
    input_path(cfg.lmed, "context.registers.lmed", "a Prescribed Drug Register extract")
