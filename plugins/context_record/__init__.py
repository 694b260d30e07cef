"""Context source ``record``: the clinical record as a plain YAML file (the non-FHIR alternative).

    python -m p4core context=[record] context.record.path=patient.yaml

Format (every key optional; dates ISO, days relative to ``index_date``)::

    identifier: MRN-1234          # pseudonymised, never stored
    sex: female
    birth_year: 1970
    index_date: 2024-03-01        # the sampling day (day 0)
    diagnoses:    [{code: M05.79, date: 2023-12-01}]           # ICD-10
    medications:  [{atc: L04AX03, start: 2024-01-02, end: null}]
    observations: [{loinc: 1988-5, name: crp, value: 38, unit: mg/L, date: 2024-02-28}]
    events:       [{date: 2024-02-10, kind: flare, label: flare of both wrists}]

Codes, units and dates are checked like the FHIR source's (ICD-10, ATC, UCUM for the LOINC codes
p4core reads); a bad entry is an error naming the file, the list and the entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

from p4core.clinical.checks import check_birth, check_index, check_not_future
from p4core.clinical.codes import ATC, LOINC
from p4core.clinical.privacy import pseudonymise
from p4core.clinical.scores import normalise_icd10
from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying, input_path
from p4core.model import Context


@dataclass
class RecordConfig:
    path: str = identifying("???")

    def __post_init__(self) -> None:
        require(self.path not in ("", "???"), "context.record.path", "is required: the record (YAML)")


def _date(value, where: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _entries(rec: dict, key: str, path: Path) -> list[dict]:
    """``rec[key]``: a list of mappings (or nothing), else an error naming the list."""
    items = rec.get(key)
    if items in (None, ""):
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(f"{path}: {key} must be a list of entries ({key}: [{{...}}, ...]), got {items!r}")
    return items


def load(cfg: RecordConfig, context: Context, pseudonym_key: str | None = None) -> Context:
    path = Path(cfg.path)
    if not path.is_file():
        raise InputError(f"context.record.path: {path} does not exist")
    try:
        rec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(rec, dict):
        raise InputError(f"{path}: expected a mapping at the top (sex, birth_year, diagnoses, ...)")
    unknown = sorted(
        set(rec)
        - {
            "identifier",
            "sex",
            "birth_year",
            "index_date",
            "diagnoses",
            "medications",
            "observations",
            "events",
        }
    )
    if unknown:
        raise InputError(f"{path}: unknown keys {unknown}")
    if rec.get("identifier") is not None and not isinstance(rec["identifier"], (str, int)):
        raise InputError(f"{path}: identifier must be text or a number")
    if rec.get("identifier"):
        context.extra["record_pseudonym"] = pseudonymise(str(rec["identifier"]), pseudonym_key)
    if rec.get("sex") is not None:
        require(
            rec["sex"] in ("female", "male"), f"{path}: sex", f"must be female or male, got {rec['sex']!r}"
        )
        context.sex = rec["sex"]
    index = _date(rec.get("index_date"), f"{path}: index_date")
    check_index(index, f"{path}: index_date")
    if index:
        context.index_date = index.isoformat()
    if rec.get("birth_year") is not None:
        try:
            context.birth_year = int(rec["birth_year"])
        except (TypeError, ValueError):
            raise InputError(f"{path}: birth_year must be a year, got {rec['birth_year']!r}") from None
        age = check_birth(context.birth_year, index, f"{path}: birth_year")
        if age is not None:
            context.age = age

    def day(d: dt.date | None) -> float | None:
        return None if d is None or index is None else float((d - index).days)

    for i, d in enumerate(_entries(rec, "diagnoses", path)):
        where = f"{path}: diagnoses[{i}]"
        code = str(d.get("code", "")).upper()
        if normalise_icd10([code])[1]:
            raise InputError(f"{where}: {code!r} is not an ICD-10 code")
        when = _date(d.get("date"), where)
        check_not_future(when, where)
        context.diagnoses.append(
            {
                "code": code,
                "system": "ICD-10",
                "version": "ICD-10",
                "date": when.isoformat() if when else None,
                "day": day(when),
            }
        )
        if code not in context.conditions:
            context.conditions.append(code)
        if day(when) is not None:
            context.events.append({"time": day(when), "kind": "diagnosis", "label": f"diagnosis {code}"})
    for i, m in enumerate(_entries(rec, "medications", path)):
        where = f"{path}: medications[{i}]"
        atc = str(m.get("atc", "")).upper()
        if not ATC.match(atc):
            raise InputError(f"{where}: {atc!r} is not an ATC code")
        s, e = _date(m.get("start"), where), _date(m.get("end"), where)
        check_not_future(s, f"{where} start")
        if s and e and e < s:
            raise InputError(f"{where}: ends ({e}) before it starts ({s})")
        context.medication_records.append(
            {
                "atc": atc,
                "start": s.isoformat() if s else None,
                "end": e.isoformat() if e else None,
                "source": "record",
            }
        )
        if atc not in context.medications:
            context.medications.append(atc)
        for when, kind, verb in ((s, "treatment_start", "started"), (e, "treatment_stop", "stopped")):
            if day(when) is not None:
                context.events.append({"time": day(when), "kind": kind, "label": f"{atc} {verb}"})
    for i, o in enumerate(_entries(rec, "observations", path)):
        where = f"{path}: observations[{i}]"
        code, unit = str(o.get("loinc", "")), o.get("unit")
        if code in LOINC and unit not in LOINC[code][1]:
            raise InputError(
                f"{where}: LOINC {code} in unit {unit!r}; expected {sorted(LOINC[code][1])} (UCUM)"
            )
        try:
            value = float(o["value"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{where}: value must be a number") from None
        when = _date(o.get("date"), where)
        check_not_future(when, where)
        name = o.get("name") or LOINC.get(code, (code,))[0]
        context.observations.append(
            {
                "loinc": code,
                "name": name,
                "value": value,
                "unit": unit,
                "date": when.isoformat() if when else None,
                "day": day(when),
            }
        )
    for i, ev in enumerate(_entries(rec, "events", path)):
        where = f"{path}: events[{i}]"
        when = _date(ev.get("date"), where)
        if when is None or not ev.get("label"):
            raise InputError(f"{where}: needs date and label (and kind)")
        if day(when) is not None:
            context.events.append(
                {"time": day(when), "kind": str(ev.get("kind", "event")), "label": str(ev["label"])}
            )
    return context


@hookimpl
def p4core_register_context(register):
    register(
        "record",
        load,
        schema=RecordConfig,
        check=lambda cfg: input_path(cfg.path, "context.record.path", "the patient's record (YAML)"),
        description="clinical record as plain YAML (the non-FHIR alternative)",
    )
