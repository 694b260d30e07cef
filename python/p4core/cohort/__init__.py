"""The cohort stage: every disease-group patient of a cohort file, one twin each, side by side.

``data.patient=all`` loads the file once; :func:`split` makes one :class:`~p4core.model.Patient` per
disease-group patient (its disease cells against every reference sample, its id pseudonymised), the
pipeline runs each through the patient stages, and :func:`assemble` puts the results side by side
(:class:`~p4core.model.CohortResult`): every patient's rank, score, FDR, probability and tier of every
drug in long form, the drugs whose rank differs most between patients, and the signature programmes
(MSigDB Hallmark: interferon, inflammation, proliferation, ...) per patient and cell type that tell the
patients apart (:func:`programme_scores`).
"""

from p4core.cohort.programmes import programme_scores, read_programmes
from p4core.cohort.split import patient_ids, split
from p4core.cohort.table import PatientSummary, assemble, differing_drugs, summarise

__all__ = [
    "PatientSummary",
    "assemble",
    "differing_drugs",
    "patient_ids",
    "programme_scores",
    "read_programmes",
    "split",
    "summarise",
]
