"""One patient: cells (AnnData with p4core's obs columns) and the clinical context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad

# obs columns every Patient has after loading (the loader maps the user's keys onto these)
CELL_TYPE = "p4_cell_type"


CONDITION = "p4_condition"


SAMPLE = "p4_sample"


#: optional obs column: the donor of each cell (a paired design measures a donor in both conditions)
DONOR = "p4_donor"


#: optional obs column: the patient of each disease cell in a cohort file (``data.patient``); "" for
#: reference cells. Raw identifiers, in memory only: pseudonymised before any output
PATIENT = "p4_patient"


REFERENCE = "reference"


DISEASE = "disease"


@dataclass
class Context:
    """Clinical context of a patient (pseudonymous). Extended by data-source plugins."""

    pseudonym: str
    age: float | None = None
    sex: str | None = None
    conditions: list[str] = field(default_factory=list)  # ICD-10 codes
    medications: list[str] = field(default_factory=list)  # ATC codes
    extra: dict[str, Any] = field(default_factory=dict)
    #: clinical events on the course's time axis: dicts with ``time`` (days; 0 = sampling), ``kind``
    #: (diagnosis, imaging, flare, treatment_start, treatment_stop, ...) and ``label``
    events: list[dict[str, Any]] = field(default_factory=list)
    #: year of birth (never the full date) and the index date (the day of sampling, ISO)
    birth_year: int | None = None
    index_date: str | None = None
    #: dated records: diagnoses (code, system, version, date), medications (atc, start, end, source),
    #: observations (loinc, name, value, unit, time), imaging studies (date, modality, findings)
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    medication_records: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    imaging: list[dict[str, Any]] = field(default_factory=list)
    #: derived scores (comorbidity indices, 4C, polygenic scores, ...): name -> dict
    scores: dict[str, Any] = field(default_factory=dict)
    #: the patient's genotype calls (chrom, pos, id, ref, alt, dosage), e.g. from the ``pgs`` context's
    #: VCF: kept in memory for the genetics line, never written (not in :meth:`to_dict`)
    genotype: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "age": self.age,
            "sex": self.sex,
            "conditions": list(self.conditions),
            "medications": list(self.medications),
            "events": [dict(e) for e in self.events],
            "birth_year": self.birth_year,
            "index_date": self.index_date,
            "diagnoses": [dict(d) for d in self.diagnoses],
            "medication_records": [dict(m) for m in self.medication_records],
            "observations": [dict(o) for o in self.observations],
            "imaging": [dict(i) for i in self.imaging],
            "scores": dict(self.scores),
            **self.extra,
        }


@dataclass
class Patient:
    """Cells of one patient: counts in ``adata.X`` (cells x genes, gene symbols as var_names) and
    the obs columns ``p4_cell_type``, ``p4_condition`` (reference / disease) and ``p4_sample``."""

    adata: ad.AnnData
    context: Context
    description: str = ""
    #: human | mouse (mouse symbols are mapped through the knowledge's orthologs)
    organism: str = "human"
    #: the diagnosis the data source gives (a Disease Ontology name or DOID, or ``ICD10:<code>``);
    #: ``data.diagnosis`` overrides it, and without either the record's ICD-10 codes are used
    diagnosis: str | None = None

    @property
    def pseudonym(self) -> str:
        return self.context.pseudonym

    def __repr__(self) -> str:
        obs = self.adata.obs
        return (
            f"Patient({self.pseudonym}, {self.adata.n_obs} cells x {self.adata.n_vars} genes, "
            f"{obs[CELL_TYPE].nunique()} cell types, {obs[SAMPLE].nunique()} samples)"
        )
