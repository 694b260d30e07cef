"""One Patient per disease-group patient of a cohort file (``data.patient=all``)."""

from __future__ import annotations

import logging

import numpy as np

from p4core.clinical.privacy import pseudonymise
from p4core.errors import InputError
from p4core.model import CONDITION, DISEASE, PATIENT, Context, Patient

log = logging.getLogger("p4core")


def patient_ids(patient: Patient) -> list[str]:
    """The raw ids of the disease-group patients (in memory only; never written)."""
    obs = patient.adata.obs
    if PATIENT not in obs.columns:
        return []
    ids = obs.loc[obs[CONDITION].to_numpy() == DISEASE, PATIENT].astype(str)
    return sorted(set(ids) - {""})


def split(cohort: Patient, pseudonym_key: str | None = None, min_cells: int = 20) -> list[Patient]:
    """Every disease-group patient with at least ``min_cells`` disease cells, as its own Patient: its disease
    cells and every reference cell, its pseudonym from its id (``privacy.key``), the cohort's diagnosis and
    organism. Patients with fewer cells are left out with a warning that names their pseudonym. Ordered
    by pseudonym (not by the raw ids, which may carry meaning)."""
    obs = cohort.adata.obs
    ids = patient_ids(cohort)
    if not ids:
        raise InputError(
            "data.patient=all: the data source marked no patients (set data.donor_key or data.sample_key)"
        )
    is_ref = obs[CONDITION].to_numpy() != DISEASE
    out = []
    for pid in ids:
        mine = (obs[PATIENT].astype(str).to_numpy() == pid) & ~is_ref
        pseudonym = pseudonymise(pid, pseudonym_key)
        if mine.sum() < min_cells:
            log.warning(
                "cohort: patient %s has %d disease cells (< %d): left out",
                pseudonym,
                int(mine.sum()),
                min_cells,
            )
            continue
        adata = cohort.adata[np.flatnonzero(mine | is_ref)].copy()
        del adata.obs[PATIENT]
        source = dict(adata.uns.get("p4core_source", {}))
        source["design"] = {**source.get("design", {}), "patient": "one (of a cohort)"}
        adata.uns["p4core_source"] = source
        ctx = Context(
            pseudonym=pseudonym, extra={k: v for k, v in cohort.context.extra.items() if k == "tissue"}
        )
        out.append(
            Patient(
                adata,
                ctx,
                description=f"{cohort.description}, one patient of a cohort",
                organism=cohort.organism,
                diagnosis=cohort.diagnosis,
            )
        )
    if not out:
        raise InputError(f"data.patient=all: no disease-group patient has {min_cells} disease cells or more")
    return sorted(out, key=lambda p: p.pseudonym)
