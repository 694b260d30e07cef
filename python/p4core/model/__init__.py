"""The public data model: plain objects that flow between the pipeline stages.

Each can be saved and loaded (AnnData / Parquet / JSON), so any stage can be run on its own.

``knowledge`` (Network, DrugLibrary, Knowledge), ``patient`` (Context, Patient), ``twin`` (TwinReplicate,
TwinEnsemble), ``results`` (ScreenResult, Trajectories, Sound, RunResult). See docs/design.md.
"""

from p4core.model.diseases import Diagnosis, DiseaseKnowledge
from p4core.model.knowledge import DRUG_COLUMNS, EDGE_KINDS, NETWORK_COLUMNS, DrugLibrary, Knowledge, Network
from p4core.model.patient import (
    CELL_TYPE,
    CONDITION,
    DISEASE,
    DONOR,
    PATIENT,
    REFERENCE,
    SAMPLE,
    Context,
    Patient,
)
from p4core.model.results import CohortResult, EvidenceResult, RunResult, ScreenResult, Sound, Trajectories
from p4core.model.twin import TwinEnsemble, TwinReplicate

__all__ = [
    "CELL_TYPE",
    "CONDITION",
    "CohortResult",
    "DISEASE",
    "DONOR",
    "DRUG_COLUMNS",
    "EDGE_KINDS",
    "NETWORK_COLUMNS",
    "PATIENT",
    "REFERENCE",
    "SAMPLE",
    "Context",
    "Diagnosis",
    "DiseaseKnowledge",
    "DrugLibrary",
    "EvidenceResult",
    "Knowledge",
    "Network",
    "Patient",
    "RunResult",
    "ScreenResult",
    "Sound",
    "Trajectories",
    "TwinEnsemble",
    "TwinReplicate",
]
