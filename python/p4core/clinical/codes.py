"""The clinical code systems p4core reads, shared by every context source: ICD-10 (and its FHIR system
URIs), ATC (WHO), and the LOINC codes of the observations the scores use, with their UCUM units."""

from __future__ import annotations

import re
from collections.abc import Mapping

#: FHIR code-system URIs of ICD-10 (WHO, the US clinical modification, the Swedish ICD-10-SE OID)
ICD10_SYSTEMS = (
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:1.2.752.116.1.1.1",
)
ATC_SYSTEM = "http://www.whocc.no/atc"
LOINC_SYSTEM = "http://loinc.org"
#: an ATC code at any level (A, A10, A10B, A10BA, A10BA02)
ATC = re.compile(r"^[A-Z][0-9]{2}[A-Z]{0,2}[0-9]{0,2}$")
#: an ICD-10 code without dots or spaces (E11, E119, M0579)
ICD10 = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,4}$")
#: LOINC codes p4core reads, with their name and accepted UCUM units
LOINC = {
    "39156-5": ("bmi", {"kg/m2"}),
    "9279-1": ("respiratory_rate", {"/min", "{breaths}/min"}),
    "59408-5": ("spo2", {"%"}),
    "2708-6": ("spo2", {"%"}),
    "9269-2": ("gcs", {"{score}", "1"}),
    "1988-5": ("crp", {"mg/L"}),
    "3094-0": ("urea", {"mmol/L"}),
    "22664-7": ("urea", {"mmol/L"}),
}


#: ATC anatomical main groups (WHO Collaborating Centre for Drug Statistics Methodology, level 1)
ATC_GROUPS = {
    "A": "alimentary tract and metabolism",
    "B": "blood and blood forming organs",
    "C": "cardiovascular system",
    "D": "dermatologicals",
    "G": "genito-urinary system and sex hormones",
    "H": "systemic hormonal preparations",
    "J": "antiinfectives for systemic use",
    "L": "antineoplastic and immunomodulating agents",
    "M": "musculo-skeletal system",
    "N": "nervous system",
    "P": "antiparasitic products, insecticides and repellents",
    "R": "respiratory system",
    "S": "sensory organs",
    "V": "various",
}


def atc_index(atc_column: Mapping[str, object]) -> dict[str, str]:
    """ATC code -> drug name from a drug library's annotation (drug -> its ``atc`` field, codes separated by
    ``;``, ``,``, ``|`` or spaces; a code listed for several drugs names the first)."""
    out: dict[str, str] = {}
    for drug, field in atc_column.items():
        for code in re.split(r"[;,|\s]+", field if isinstance(field, str) else ""):
            if code:
                out.setdefault(code.upper(), str(drug))
    return out


def treatment_label(label: str, drug_atc: dict[str, str] | None = None) -> str:
    """A record's treatment event, ``"L04AX03 started"``, as ``"methotrexate (L04AX03) started"`` when its
    code has a name (:func:`atc_name`); any other label as it is."""
    code, _, rest = str(label).partition(" ")
    name = atc_name(code, drug_atc)
    return f"{name} ({code.strip().upper()}) {rest}".strip() if name else str(label)


def atc_name(code: str, drug_atc: dict[str, str] | None = None) -> str | None:
    """A readable name for an ATC code: the substance's (``drug_atc``: ATC code -> drug name, e.g. from the
    drug library; a code matched at its full length), else its anatomical main group's."""
    c = str(code).strip().upper()
    if drug_atc and c in drug_atc:
        return drug_atc[c]
    return ATC_GROUPS.get(c[:1]) if ATC.match(c) else None
