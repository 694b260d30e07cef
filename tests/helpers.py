"""Helpers the tests share (``from helpers import shared``; ``tests/`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("P4CORE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set P4CORE_SHARED_DATA)")
    return path


def activating_network(sources: list[str], targets: list[str], name: str = "test"):
    """A small network of activating transcriptional edges ``sources[i] -> targets[i]``."""
    import pandas as pd

    from p4core.model import Network

    return Network(
        pd.DataFrame(
            {
                "source": sources,
                "target": targets,
                "sign": 1,
                "weight": 1.0,
                "kind": "transcriptional",
                "reference": name,
            }
        ),
        name=name,
    )


@dataclass
class Completed:
    """What a ``python -m p4core`` process would have given: exit status and its two streams."""

    returncode: int
    stdout: str
    stderr: str


def p4core_in_process(*argv: str) -> Completed:
    """``python -m p4core ARGV`` in this process (the console entry point with ``sys.argv`` set), for
    the tests of config and input errors: no interpreter start-up, the same exit status and messages.
    The log handlers the run's Hydra job installs are closed afterwards."""
    import contextlib
    import io
    import logging
    import sys
    import warnings

    from p4core.cli import entry

    loggers = [logging.getLogger(), logging.getLogger("p4core")]
    before = [list(lg.handlers) for lg in loggers]
    levels = [lg.level for lg in loggers]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    saved = sys.argv
    sys.argv = ["p4core", *argv]
    try:
        # not pytest's "error" filter, which the command never sees: warnings are not its output
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                entry()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved
        for lg, handlers, level in zip(loggers, before, levels, strict=True):
            for h in [h for h in lg.handlers if h not in handlers]:
                lg.removeHandler(h)
                h.close()
            lg.handlers[:] = handlers
            lg.setLevel(level)
    return Completed(code, out.getvalue(), err.getvalue())


def reversing_signatures(knowledge, drugs: list[str]) -> dict:
    """For each drug, the signature that is exactly the opposite of its propagated effect on a bulk twin of
    ``knowledge`` (genes it does not reach left out): a disease the twin can find the drug for."""
    import numpy as np
    import pandas as pd

    from p4core import kernel
    from p4core.screen import ScreenParams, drug_matrix, unit_perturbations
    from p4core.twin.build import twin_from_signature

    genes = sorted(set(knowledge.network.genes))
    twin = twin_from_signature(pd.Series(1.0, index=genes[:1]), knowledge)
    rep, p = twin.replicates[0], ScreenParams()
    tg, m, names = drug_matrix(twin, knowledge.drugs)
    u = unit_perturbations(twin, rep.active, tg, rep.operator.dtype)
    x = kernel.propagate(rep.operator, u, p.alpha, p.steps)
    out = {}
    for drug in drugs:
        sig = pd.Series(-(x @ m[:, names.index(drug)].astype(u.dtype)), index=twin.genes)
        out[drug] = sig[np.abs(sig) > 1e-6]
    return out
