"""Context source ``fhir``: a patient's clinical record from a FHIR R4/R4B Bundle (JSON).

Written as a third-party plugin would be: it registers through the ``p4core_register_context``
hook and only uses p4core's public API. Reads

* ``Patient``: administrative gender → sex; birth date → birth *year* only; identifiers are
  pseudonymised (keyed hash, ``privacy.key``) — the raw values are never stored;
* ``Condition``: ICD-10 code (system ``http://hl7.org/fhir/sid/icd-10``, ``-cm`` or a national
  variant; the version is kept), onset date → a diagnosis, and a ``diagnosis`` event;
* ``MedicationStatement`` / ``MedicationDispense``: ATC code (``http://www.whocc.no/atc``), period;
* ``Observation``: LOINC code, ``valueQuantity`` with its UCUM unit, time. Units of the LOINC codes
  p4core uses are checked (e.g. body mass index in kg/m2, CRP in mg/L); a mismatch is an error
  naming the resource.

Scores (Charlson, ISARIC 4C) are derived afterwards from the whole context by the ``scores``
plugin. Dates become days from the index date (the sampling day).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4core.clinical.checks import check_birth, check_index, check_not_future
from p4core.clinical.codes import ATC, ATC_SYSTEM, ICD10_SYSTEMS, LOINC, LOINC_SYSTEM
from p4core.clinical.privacy import pseudonymise
from p4core.clinical.scores import normalise_icd10
from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying, input_path
from p4core.model import Context


@dataclass
class FhirConfig:
    path: str = identifying("???")
    #: the sampling day (day 0), ISO date; null = the latest dated record
    index_date: str | None = None

    def __post_init__(self) -> None:
        require(self.path not in ("", "???"), "context.fhir.path", "is required: the FHIR Bundle (JSON) file")
        if self.index_date is not None:
            _date(self.index_date, "context.fhir.index_date")


def _date(text: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from None


def _coding(concept: dict | None, systems: tuple[str, ...]) -> dict | None:
    for c in (concept or {}).get("coding", []):
        if c.get("system") in systems:
            return c
    return None


def read_bundle(path: Path) -> list[dict]:
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"context.fhir.path: {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable JSON file ({exc})") from None
    if bundle.get("resourceType") != "Bundle":
        raise InputError(f"{path}: resourceType is {bundle.get('resourceType')!r}, expected a FHIR 'Bundle'")
    return [e.get("resource") or {} for e in bundle.get("entry", [])]


def load(cfg: FhirConfig, context: Context, pseudonym_key: str | None = None) -> Context:
    path = Path(cfg.path)
    resources = read_bundle(path)
    dates: list[dt.date] = []
    diagnoses, meds, obs = [], [], []
    people: list[tuple[str, tuple]] = []  # (where, (identifiers, birthDate, gender)) of each Patient
    birth: dt.date | None = None
    for r in resources:
        kind, rid = r.get("resourceType"), r.get("id", "?")
        where = f"{path.name}: {kind}/{rid}"
        if kind == "Patient":
            ids = [i.get("value") for i in r.get("identifier", []) if i.get("value")]
            people.append((where, (frozenset(map(str, ids)), r.get("birthDate"), r.get("gender"))))
            if ids:
                context.extra["record_pseudonym"] = pseudonymise(str(ids[0]), pseudonym_key)
            if r.get("gender") in ("male", "female"):
                context.sex = r["gender"]
            if r.get("birthDate"):
                birth = _date(r["birthDate"], f"{where}.birthDate")
                context.birth_year = birth.year
        elif kind == "Condition":
            c = _coding(r.get("code"), ICD10_SYSTEMS)
            if c is None:
                continue  # another code system: not an ICD-10 diagnosis
            code = str(c.get("code", "")).upper()
            if normalise_icd10([code])[1]:
                raise InputError(f"{where}: {code!r} is not an ICD-10 code")
            when = r.get("onsetDateTime") or r.get("recordedDate")
            d = _date(when, f"{where}.onsetDateTime") if when else None
            dates += [d] if d else []
            diagnoses.append(
                {
                    "code": code,
                    "system": c.get("system"),
                    "version": c.get("version"),
                    "date": d,
                    "display": c.get("display"),
                }
            )
        elif kind in ("MedicationStatement", "MedicationDispense"):
            c = _coding(r.get("medicationCodeableConcept"), (ATC_SYSTEM,))
            if c is None:
                continue
            code = str(c.get("code", "")).upper()
            if not ATC.match(code):
                raise InputError(f"{where}: {code!r} is not an ATC code")
            period = r.get("effectivePeriod") or {}
            start = period.get("start") or r.get("effectiveDateTime") or r.get("whenHandedOver")
            s = _date(start, f"{where} start") if start else None
            e = _date(period["end"], f"{where} end") if period.get("end") else None
            if s and e and e < s:
                raise InputError(f"{where}: the period ends ({e}) before it starts ({s})")
            dates += [x for x in (s, e) if x]
            meds.append({"atc": code, "start": s, "end": e, "source": kind, "display": c.get("display")})
        elif kind == "Observation":
            c = _coding(r.get("code"), (LOINC_SYSTEM,))
            q = r.get("valueQuantity")
            if c is None or q is None:
                continue
            code = c.get("code")
            unit = q.get("code") or q.get("unit")
            if code in LOINC and unit not in LOINC[code][1]:
                raise InputError(
                    f"{where}: LOINC {code} in unit {unit!r}; expected {sorted(LOINC[code][1])} (UCUM)"
                )
            t = r.get("effectiveDateTime")
            d = _date(t, f"{where}.effectiveDateTime") if t else None
            dates += [d] if d else []
            obs.append(
                {
                    "loinc": code,
                    "name": LOINC.get(code, (c.get("display"),))[0],
                    "value": float(q["value"]),
                    "unit": unit,
                    "date": d,
                }
            )
    if len({p for _, p in people}) > 1:  # one bundle, one patient
        shared = set.intersection(*(set(p[0]) for _, p in people))
        what = (
            "share an identifier but differ in birth date or gender"
            if shared
            else "describe different people"
        )
        raise InputError(
            f"{path.name}: {len(people)} Patient resources ({', '.join(w.split(': ')[1] for w, _ in people)}) "
            f"{what}; a bundle must hold one patient's record"
        )
    if dates:
        check_not_future(max(dates), f"{path.name}: a record")
    index = (
        _date(cfg.index_date, "context.fhir.index_date")
        if cfg.index_date
        else (max(dates) if dates else None)
    )
    check_index(index, "context.fhir.index_date")
    if index is not None:
        context.index_date = index.isoformat()
    age = check_birth(context.birth_year, index, f"{path.name}: Patient.birthDate", birth)
    if age is not None:
        context.age = age

    def day(d: dt.date | None) -> float | None:
        return None if d is None or index is None else float((d - index).days)

    for dg in diagnoses:
        context.diagnoses.append(
            {**dg, "date": dg["date"].isoformat() if dg["date"] else None, "day": day(dg["date"])}
        )
        if dg["code"] not in context.conditions:
            context.conditions.append(dg["code"])
        if day(dg["date"]) is not None:
            context.events.append(
                {"time": day(dg["date"]), "kind": "diagnosis", "label": f"diagnosis {dg['code']}"}
            )
    for m in meds:
        context.medication_records.append(
            {
                **m,
                "start": m["start"].isoformat() if m["start"] else None,
                "end": m["end"].isoformat() if m["end"] else None,
            }
        )
        if m["atc"] not in context.medications:
            context.medications.append(m["atc"])
        if day(m["start"]) is not None:
            context.events.append(
                {"time": day(m["start"]), "kind": "treatment_start", "label": f"{m['atc']} started"}
            )
        if day(m["end"]) is not None:
            context.events.append(
                {"time": day(m["end"]), "kind": "treatment_stop", "label": f"{m['atc']} stopped"}
            )
    for o in obs:
        context.observations.append(
            {**o, "date": o["date"].isoformat() if o["date"] else None, "day": day(o["date"])}
        )
    return context


@hookimpl
def p4core_register_context(register):
    register(
        "fhir",
        load,
        schema=FhirConfig,
        description="clinical record from a FHIR R4/R4B Bundle (JSON)",
        check=lambda cfg: input_path(cfg.path, "context.fhir.path", "a FHIR Bundle (JSON)"),
    )
