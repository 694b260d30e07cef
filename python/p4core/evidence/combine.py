"""One ranking from the lines: a small logistic model, fitted by leave-one-disease-out on the dev split.

Features, standardised within each ranking (so that a patient's screen and a benchmark disease are on
one scale):

* ``mechanism``: the percentile of the twin's score among the candidate drugs (ties share the mean
  percentile);
* ``genetics``: the percentile of the genetics line's score (a drug without a target in the twin: 0);
* ``precedent``: the precedent score itself (already a share in [0, 1]).

``P(disease-modifying) = 1 / (1 + exp(-(b0 + sum_k b_k x_k)))``. **Absent lines** (no diagnosis, no
GWAS for the disease, no indications) are never filled with zeros: the model keeps one fit per set
of present lines (``mechanism`` is always present), each fitted with the absent lines left out, so
the probability stays calibrated for what is known. With the twin alone the ranking is the twin's.
The fit is an L2-penalised logistic regression (Newton's method; the intercept is not penalised) on
every (disease, candidate) pair of the training diseases, positives = the disease-modifying drugs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.numerics import rankdata

LINES = ("mechanism", "genetics", "precedent")
#: the sets of present lines the model keeps a fit for (mechanism is always present)
PATTERNS = (
    ("mechanism", "genetics", "precedent"),
    ("mechanism", "precedent"),
    ("mechanism", "genetics"),
    ("mechanism",),
)
MODEL_FILE = "evidence_model.json"


def percentile(x: np.ndarray) -> np.ndarray:
    """Mid-rank percentile in (0, 1] (ties share their mean rank); NaN counts as 0 before ranking."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0)
    return rankdata(x) / len(x) if len(x) else x


def features(lines: Mapping[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """The standardised features of the present lines (``lines[name]`` None = absent)."""
    out = {}
    for name, v in lines.items():
        if v is None:
            continue
        if name not in LINES:
            raise ValueError(f"unknown line {name!r}")
        out[name] = (
            np.clip(np.nan_to_num(np.asarray(v, dtype=float)), 0, 1) if name == "precedent" else percentile(v)
        )
    return out


def pattern_of(present: Sequence[str]) -> tuple[str, ...]:
    key = tuple(x for x in LINES if x in set(present))
    if key not in PATTERNS:
        raise ValueError(f"no model for the lines {key}; the mechanism line is always needed")
    return key


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, max_iter: int = 100
) -> tuple[float, np.ndarray]:
    """L2-penalised logistic regression by Newton's method with step halving (the penalised
    log-likelihood never falls; intercept unpenalised): returns (b0, b). Deterministic."""
    n, k = x.shape
    xa = np.c_[np.ones(n), x]
    y = np.asarray(y, dtype=float)
    pen = np.r_[0.0, np.full(k, float(l2))]

    def loss(w: np.ndarray) -> float:
        z = xa @ w
        return float(np.sum(np.logaddexp(0.0, z)) - y @ z + 0.5 * np.sum(pen * w * w))

    w = np.zeros(k + 1)
    base = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    w[0] = np.log(base / (1 - base))
    current = loss(w)
    for _ in range(max_iter):
        p = 0.5 * (1.0 + np.tanh(0.5 * (xa @ w)))  # the logistic function, without overflow
        grad = xa.T @ (p - y) + pen * w
        hess = (xa * (p * (1 - p))[:, None]).T @ xa + np.diag(pen) + 1e-9 * np.eye(k + 1)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8:
            trial = w - t * step
            new = loss(trial)
            if new <= current:
                break
            t *= 0.5
        else:
            break
        w, gain, current = trial, current - new, new
        if gain < 1e-12 * max(1.0, abs(current)):
            break
    return float(w[0]), w[1:]


@dataclass
class EvidenceModel:
    """Fitted coefficients per pattern of present lines, and how they were fitted."""

    fits: dict[tuple[str, ...], dict[str, Any]]
    l2: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        rows: list[dict[str, np.ndarray | None]],
        labels: list[np.ndarray],
        l2: float = 1.0,
        info: dict[str, Any] | None = None,
    ) -> EvidenceModel:
        """One fit per pattern: every training disease contributes its candidates with the lines of the
        pattern (a disease where a line of the pattern is absent is left out of that pattern's fit)."""
        fits: dict[tuple[str, ...], dict[str, Any]] = {}
        for pat in PATTERNS:
            xs, ys = [], []
            for lines, y in zip(rows, labels, strict=True):
                f = features({k: lines.get(k) for k in pat})
                if set(f) != set(pat):
                    continue
                xs.append(np.column_stack([f[k] for k in pat]))
                ys.append(np.asarray(y, dtype=float))
            if not xs or not np.concatenate(ys).any():
                continue
            b0, b = fit_logistic(np.vstack(xs), np.concatenate(ys), l2)
            fits[pat] = {
                "intercept": b0,
                "coef": dict(zip(pat, map(float, b), strict=True)),
                "n_diseases": len(xs),
                "n_rows": int(sum(len(y) for y in ys)),
                "n_positives": int(sum(y.sum() for y in ys)),
            }
        return cls(fits, l2, dict(info or {}))

    def logit(self, lines: Mapping[str, np.ndarray | None]) -> np.ndarray:
        f = features(lines)
        pat = pattern_of(list(f))
        if pat not in self.fits:
            raise InputError(
                f"evidence model: no fit for the lines {'+'.join(pat)}; refit it with the benchmark"
            )
        m = self.fits[pat]
        return m["intercept"] + sum(m["coef"][k] * f[k] for k in pat)

    def probability(self, lines: Mapping[str, np.ndarray | None]) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * self.logit(lines)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "p4core evidence combination: logistic regression on standardised line scores",
            "features": {
                "mechanism": "percentile of the twin's score",
                "genetics": "percentile of the genetics score",
                "precedent": "the precedent score (a share in [0, 1])",
            },
            "l2": self.l2,
            "fits": {"+".join(k): v for k, v in self.fits.items()},
            **self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "evidence model") -> EvidenceModel:
        try:
            fits = {tuple(k.split("+")): dict(v) for k, v in d["fits"].items()}
            for pat, v in fits.items():
                pattern_of(pat)
                float(v["intercept"])
                if set(v["coef"]) != set(pat):
                    raise ValueError(f"coefficients {sorted(v['coef'])} for the lines {'+'.join(pat)}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"{where}: not a p4core evidence model ({exc}); write one with the benchmark's model_out="
            ) from None
        return cls(
            fits,
            float(d.get("l2", 1.0)),
            {k: v for k, v in d.items() if k not in ("fits", "l2", "model", "features")},
        )


def load_model(path: str | None = None) -> EvidenceModel:
    """The model at ``path`` (``evidence.model``), or the one shipped with p4core."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"evidence.model={path}: file not found")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"evidence.model={path}: not JSON ({exc})") from None
        return EvidenceModel.from_dict(d, f"evidence.model={path}")
    text = (resources.files("p4core") / "data" / MODEL_FILE).read_text(encoding="utf-8")
    return EvidenceModel.from_dict(json.loads(text), f"p4core/data/{MODEL_FILE}")


RELIABILITY_EDGES = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def reliability(
    prob: np.ndarray, y: np.ndarray, edges: Sequence[float] = RELIABILITY_EDGES
) -> tuple[pd.DataFrame, float]:
    """Reliability table (bins of the predicted probability: mean predicted, observed share, pairs,
    positives; most pairs have small probabilities, so the bins are finer there) and the Brier score."""
    prob, y = np.asarray(prob, dtype=float), np.asarray(y, dtype=float)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (prob >= lo) & ((prob < hi) | (hi == edges[-1]))
        if m.any():
            rows.append((lo, hi, float(prob[m].mean()), float(y[m].mean()), int(m.sum()), int(y[m].sum())))
    table = pd.DataFrame(rows, columns=["p_low", "p_high", "predicted", "observed", "pairs", "positives"])
    return table, float(np.mean((prob - y) ** 2))
