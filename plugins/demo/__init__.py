"""Data source ``demo``: deterministic simulated patients mirroring published cases."""

from __future__ import annotations

from dataclasses import dataclass

from p4core.datasets import PRESETS, demo_patient
from p4core.hooks import hookimpl
from p4core.model import Patient


@dataclass
class DemoSourceConfig:
    source: str = "demo"
    #: arthritis | dress | bladder
    preset: str = "arthritis"
    #: cells per cell type and condition
    n_cells: int = 150
    seed: int = 0
    #: log fold change of a gene fully switched on by the disease programme
    effect: float = 1.5
    #: the diagnosis (Disease Ontology name or DOID, ICD10:<code>, or none); default: the preset's
    diagnosis: str | None = None


def load(cfg: DemoSourceConfig, pseudonym_key: str | None = None) -> Patient:
    return demo_patient(
        cfg.preset,
        n_cells=cfg.n_cells,
        seed=cfg.seed,
        effect=cfg.effect,
        pseudonym_key=pseudonym_key,
        diagnosis=cfg.diagnosis,
    )


@hookimpl
def p4core_register_sources(register):
    register(
        "demo",
        load,
        schema=DemoSourceConfig,
        description=f"simulated demo patient; presets: {', '.join(sorted(PRESETS))}",
    )
