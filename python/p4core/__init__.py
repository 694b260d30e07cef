"""p4core: digital twins of patients for precision medicine.

The pipeline stages are plain functions::

    import p4core
    patient = p4core.datasets.demo_patient("arthritis")
    knowledge = p4core.datasets.curated_knowledge()
    twins = p4core.build_twins(patient, knowledge)
    result = p4core.screen(twins, knowledge.drugs)
    course = p4core.course.simulate(twins, result, knowledge.drugs)
    regs = p4core.screen.regulators(twins, knowledge)
    dx, _ = p4core.evidence.resolve_diagnosis(patient.diagnosis, knowledge.diseases, patient.context)
    lines = p4core.evidence.evidence(twins, result, knowledge, dx)  # genetics, precedent, P(DM), tiers
"""

from __future__ import annotations

import p4core.startclock  # noqa: F401 - first: when p4core began loading (the start-up timing)
from p4core import datasets, evidence, io, kernel, testing
from p4core.course.params import SimulateParams
from p4core.course.simulate import simulate
from p4core.errors import InputError, P4coreError, PluginError
from p4core.evidence import EvidenceParams
from p4core.model import (
    Context,
    Diagnosis,
    DiseaseKnowledge,
    DrugLibrary,
    EvidenceResult,
    Knowledge,
    Network,
    Patient,
    RunResult,
    ScreenResult,
    Trajectories,
    TwinEnsemble,
)
from p4core.pipeline import compose, load_knowledge, load_patient, render, run
from p4core.screen import ScreenParams, screen
from p4core.screen.controls import celltype_ranking, shuffled_network_control
from p4core.screen.params import RegulatorParams
from p4core.screen.regulators import regulators
from p4core.settings import settings
from p4core.twin.build import build_twins, twin_from_signature
from p4core.twin.params import TwinParams

__version__ = "0.1.0"

__all__ = [
    "Context",
    "Diagnosis",
    "DiseaseKnowledge",
    "DrugLibrary",
    "EvidenceParams",
    "EvidenceResult",
    "InputError",
    "Knowledge",
    "Network",
    "P4coreError",
    "Patient",
    "PluginError",
    "RegulatorParams",
    "RunResult",
    "ScreenParams",
    "ScreenResult",
    "SimulateParams",
    "Trajectories",
    "TwinEnsemble",
    "TwinParams",
    "build_twins",
    "celltype_ranking",
    "compose",
    "datasets",
    "evidence",
    "io",
    "kernel",
    "load_knowledge",
    "load_patient",
    "regulators",
    "render",
    "run",
    "screen",
    "settings",
    "testing",
    "shuffled_network_control",
    "simulate",
    "twin_from_signature",
]
