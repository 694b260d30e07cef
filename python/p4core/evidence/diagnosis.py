"""The patient's diagnosis, resolved through the Disease Ontology.

``data.diagnosis`` may be a DOID (``DOID:7148``), a name or synonym (``rheumatoid arthritis``), an
ICD-10 code (``ICD10:M05.79``) or ``none``; left empty, the clinical record's ICD-10 codes are mapped
through the ontology's cross-references, each code tried first as written, then cut back to its
parents (``M05.79`` -> ``M05.7`` -> ``M05``). An unknown name, an ambiguous one or a code that maps
to nothing is an :class:`~p4core.errors.InputError` naming the closest matches; a record none of
whose codes map gives no diagnosis (the genetics and precedent lines are then absent), and the
log and ``summary.json`` list what each code mapped to.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from p4core.errors import InputError
from p4core.model import Context, Diagnosis, DiseaseKnowledge

log = logging.getLogger("p4core")

NONE_WORDS = {"none", "null", "no", "off", "absent"}
_DOID = re.compile(r"^doid[:_ ]?(\d+)$", re.IGNORECASE)
_ICD = re.compile(r"^icd-?10(?:cm)?[:_ ]?(.+)$", re.IGNORECASE)


def icd10_parents(code: str) -> list[str]:
    """``M05.79`` -> [M05.79, M05.7, M05]: the code and its parents in the ICD-10 hierarchy."""
    c = code.strip().upper().replace(" ", "")
    if "." not in c and len(c) > 3:
        c = f"{c[:3]}.{c[3:]}"
    out = [c]
    while "." in c:
        head, tail = c.split(".", 1)
        c = f"{head}.{tail[:-1]}" if len(tail) > 1 else head
        out.append(c)
    return out


def _make(
    doid: str, dk: DiseaseKnowledge, source: str, query: str, codes: list[dict[str, Any]] | None = None
) -> Diagnosis:
    disease = dk.disease_of(doid)
    return Diagnosis(
        doid=doid,
        name=dk.name_of(doid),
        disease=disease,
        disease_name=dk.name_of(disease) if disease else None,
        category=dk.category_of(disease) if disease else None,
        source=source,
        query=query,
        codes=codes or [],
    )


def map_icd10(code: str, dk: DiseaseKnowledge) -> str | None:
    """The ontology term an ICD-10 code maps to (the code or its closest parent with a cross-reference;
    several terms: the one a disease subsumes most closely, then the smallest DOID), or None."""
    xr = dk.xrefs
    for c in icd10_parents(code):
        hits = sorted(set(xr.loc[xr["code"] == c, "doid"]))
        if hits:
            with_disease = [
                (0 if dk.disease_of(h) == h else 1, dk.disease_of(h) is None, int(h.split(":")[1]), h)
                for h in hits
            ]
            return min(with_disease)[3]
    return None


def icd10_name(code: str, dk: DiseaseKnowledge | None) -> str | None:
    """A readable name for an ICD-10 code: the Disease Ontology term it (or its closest parent) maps to."""
    if dk is None or not str(code).strip():
        return None
    doid = map_icd10(str(code), dk)
    return dk.name_of(doid) if doid else None


def _record_codes(context: Context | None) -> list[str]:
    if context is None:
        return []
    codes = list(context.conditions)
    for d in context.diagnoses:
        system = str(d.get("system", "ICD-10")).upper().replace("-", "")
        if system.startswith("ICD10") and d.get("code"):
            codes.append(str(d["code"]))
    return list(dict.fromkeys(c.strip().upper() for c in codes if str(c).strip()))


def from_record(
    context: Context | None, dk: DiseaseKnowledge
) -> tuple[Diagnosis | None, list[dict[str, Any]]]:
    """The first record code that maps to a term (the record's order), and what every code mapped to."""
    tried: list[dict[str, Any]] = []
    found: str | None = None
    for code in _record_codes(context):
        doid = map_icd10(code, dk)
        tried.append({"code": code, "doid": doid, "name": dk.name_of(doid) if doid else None})
        if doid and found is None:
            found = doid
    if found is None:
        return None, tried
    code = next(str(t["code"]) for t in tried if t["doid"] == found)
    return _make(found, dk, "record", code, tried), tried


def _by_name(text: str, dk: DiseaseKnowledge) -> str:
    from p4core.knowledge.diseases import closest_names, name_index, normalise_name

    hits = name_index(dk.terms).get(normalise_name(text), ())
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        named = ", ".join(f"{dk.name_of(h)} ({h})" for h in hits)
        raise InputError(
            f"data.diagnosis={text!r} is ambiguous: it names {named}; give the DOID, e.g. data.diagnosis={hits[0]}"
        )
    close = closest_names(text, dk.terms)
    hint = f"; closest: {', '.join(repr(c) for c in close)}" if close else ""
    raise InputError(
        f"data.diagnosis={text!r}: no Disease Ontology term has this name or synonym{hint}; "
        "give a DOID (data.diagnosis=DOID:7148), an ICD-10 code (data.diagnosis=ICD10:M05.79) or data.diagnosis=none"
    )


def resolve_diagnosis(
    query: str | None, dk: DiseaseKnowledge | None, context: Context | None = None, source: str = "config"
) -> tuple[Diagnosis | None, dict[str, Any]]:
    """The diagnosis for ``data.diagnosis`` (None: from the record) and a record of how it was found
    (``status``: ``resolved``, ``none`` or ``absent``, the reason, the record codes tried).
    ``source``: where ``query`` came from (``config``: data.diagnosis; ``data``: the data source)."""
    text = "" if query is None else str(query).strip()
    if text.lower() in NONE_WORDS:
        return None, {"status": "none", "reason": "data.diagnosis=none"}
    if dk is None:
        if text:
            raise InputError(
                f"data.diagnosis={text!r}: the knowledge has no disease ontology; use knowledge=curated, or "
                "knowledge=public with knowledge.ontology set"
            )
        return None, {"status": "absent", "reason": "the knowledge has no disease ontology"}
    if not text:
        dx, tried = from_record(context, dk)
        if dx is None:
            reason = (
                "no ICD-10 code of the record maps to a Disease Ontology term ("
                + ", ".join(t["code"] for t in tried)
                + ")"
                if tried
                else "no diagnosis given (data.diagnosis) and no ICD-10 code in the record"
            )
            return None, {"status": "absent", "reason": reason, "codes": tried}
        return dx, {"status": "resolved", "codes": tried}
    m = _DOID.match(text)
    if m:
        doid = f"DOID:{m.group(1)}"
        if doid not in set(dk.terms["doid"]) and doid not in set(dk.diseases["doid"]):
            raise InputError(f"data.diagnosis={text!r}: {doid} is not a term of the loaded Disease Ontology")
        return _make(doid, dk, source, text), {"status": "resolved"}
    m = _ICD.match(text)
    if m:
        mapped = map_icd10(m.group(1), dk)
        if mapped is None:
            raise InputError(
                f"data.diagnosis={text!r}: ICD-10 code {m.group(1).upper()} (and its parents "
                f"{', '.join(icd10_parents(m.group(1))[1:]) or 'none'}) map to no Disease Ontology term; "
                "give the disease by name or DOID instead"
            )
        codes: list[dict[str, Any]] = [
            {"code": m.group(1).upper(), "doid": mapped, "name": dk.name_of(mapped)}
        ]
        return _make(mapped, dk, source, text, codes), {"status": "resolved", "codes": codes}
    return _make(_by_name(text, dk), dk, source, text), {"status": "resolved"}


def describe(dx: Diagnosis | None, record: dict[str, Any]) -> str:
    """One log line: what the diagnosis is and where it came from (or why there is none)."""
    if dx is None:
        return f"diagnosis: none ({record.get('reason', '')}); the genetics and precedent lines are absent"
    codes = "; ".join(f"{c['code']} -> {c['name'] or 'nothing'}" for c in record.get("codes", []))
    where = {"config": "data.diagnosis", "data": "the data source", "record": "the record's ICD-10 codes"}[
        dx.source
    ]
    unit = f", as {dx.disease_name} ({dx.disease})" if dx.disease and dx.disease != dx.doid else ""
    return f"diagnosis: {dx.name} ({dx.doid}{unit}) from {where}" + (f" [{codes}]" if codes else "")
