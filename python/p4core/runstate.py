"""What a finished run keeps for re-rendering: ``.p4core/state.pkl`` and the manifest ``.p4core/run.json``.

``python -m p4core render run=<dir> render=[midi] render.midi.mode=sequential`` re-renders a finished run
from its saved results (a musician trying tempos, a clinician a report option, a renderer that failed)
without building the twins or screening again. The state is the run's :class:`~p4core.model.RunResult`
with nothing a renderer does not read and nothing that identifies the patient: no counts and only the
cell type and condition of each cell (no sample or donor names), the context without the genotype, and the
twins' operators as one (their mean: the twins share every edge and its sign, only magnitudes differ).
"""

from __future__ import annotations

import copy
import json
import pickle
import zlib
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.io import atomic_path, write_text
from p4core.model import CELL_TYPE, CONDITION, Patient, RunResult, TwinReplicate

STATE = ".p4core/state.pkl"
MANIFEST = ".p4core/run.json"
#: bumped when the saved state can no longer be read by this version
FORMAT = 1


def light(result: RunResult) -> RunResult:
    """The run's result as the state keeps it (module docstring)."""
    a = result.patient.adata
    obs = a.obs[[c for c in (CELL_TYPE, CONDITION) if c in a.obs.columns]].copy()
    obs.index = [str(i) for i in range(len(obs))]
    context = copy.copy(result.patient.context)
    context.genotype = None
    patient = Patient(
        ad.AnnData(obs=obs),
        context,
        result.patient.description,
        result.patient.organism,
        result.patient.diagnosis,
    )
    ens = copy.copy(result.ensemble)
    reps = ens.replicates
    if reps:
        mean = mean_operator([r.operator for r in reps])
        ens.replicates = [TwinReplicate(mean, r.signature, r.active) for r in reps]
    out = copy.copy(result)
    out.patient, out.ensemble, out.sound = patient, ens, None
    return out


def mean_operator(ops: list[sp.csr_array]) -> sp.csr_array:
    """The mean of the twins' operators, added in order. Operators with one structure (the twins of one
    ensemble share it) are added entry by entry, the same sums a sparse addition makes (its dropped
    zeros are dropped at the end: a zero kept on adds nothing to the next), without one sparse
    addition per twin."""
    first = sp.csr_array(ops[0])
    same = all(
        np.array_equal(op.indptr, first.indptr) and np.array_equal(op.indices, first.indices)
        for op in ops[1:]
    )
    if same and first.has_canonical_format:
        data = first.data.copy()
        for op in ops[1:]:
            data += op.data
        total = sp.csr_array((data, first.indices.copy(), first.indptr.copy()), shape=first.shape)
        total.eliminate_zeros()
    else:
        total = first.copy()
        for op in ops[1:]:
            total = total + op
    return (total / len(ops)).astype(first.dtype)


def save_state(result: RunResult, folder: Path) -> Path:
    """``folder/.p4core/state.pkl`` (zlib-compressed pickle of :func:`light`), written atomically."""
    from p4core import __version__

    path = folder / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = zlib.compress(pickle.dumps({"format": FORMAT, "version": __version__, "result": light(result)}), 1)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def load_state(run: Path) -> RunResult:
    """The saved result of the finished run in ``run`` (one line naming the folder when there is none)."""
    path = Path(run) / STATE
    if not path.is_file():
        raise InputError(
            f"run={run}: no saved results to re-render ({STATE} is missing): give the folder of a finished "
            "p4core run of this version (a cohort's patients are under patients/<pseudonym>/)"
        )
    try:
        state = pickle.loads(zlib.decompress(path.read_bytes()))
    except Exception as exc:  # a broken or foreign file
        raise InputError(
            f"run={run}: {STATE} cannot be read ({type(exc).__name__}); rerun the analysis"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(
            f"run={run}: saved by another p4core version ({state.get('version')}); rerun the analysis"
        )
    return state["result"]


def write_manifest(folder: Path, files: list[Path], base: Path, info: dict[str, Any]) -> Path:
    """``folder/.p4core/run.json``: the run's files (relative to ``base``) and who made them; what marks a
    folder as holding a run's results (:mod:`p4core.cli.folder`)."""
    from p4core import __version__

    rel = sorted({str(Path(f).relative_to(base)) for f in files})
    body = {"p4core_version": __version__, "files": rel, **info}
    path = folder / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text(path, json.dumps(body, indent=1) + "\n")


def read_manifest(run: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((Path(run) / MANIFEST).read_text()))
    except (OSError, ValueError):
        return {}
