"""The lines of evidence in the benchmark: genetics and precedent per disease, and their combination
with the twin fitted by leave-one-disease-out.

**No answer reaches a score.** The precedent of a disease comes only from the benchmark's own
indication table, with the evaluated disease's rows removed (and, inside a LODO fold, the held-out
disease's too); the knowledge's own indications (DrugCentral's) are dropped before anything is
computed. Both are tested (tests/evaluate/test_lines.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from p4core.evidence import EvidenceModel, EvidenceParams, GeneGraph, fit_logistic, genetics_for, reliability
from p4core.evidence.combine import features
from p4core.evidence.precedent import disease_units, dm_table, precedent_line
from p4core.evidence.similarity import disease_similarity
from p4core.model import Knowledge

#: the combination's ablations: the lines each one keeps
ABLATIONS = {
    "p4core[-mechanism]": ("genetics", "precedent"),
    "p4core[-genetics]": ("mechanism", "precedent"),
    "p4core[-precedent]": ("mechanism", "genetics"),
}


class BenchmarkLines:
    """Genetics and precedent of every benchmark disease over the candidate drugs, computed once each."""

    def __init__(
        self,
        knowledge: Knowledge,
        candidates: Sequence[str],
        indications: pd.DataFrame,
        signatures: dict[str, pd.Series],
        twin_of: Callable[[str], Any],
        params: EvidenceParams | None = None,
    ) -> None:
        self.p = params or EvidenceParams()
        self.candidates = list(candidates)
        # the knowledge's own indications never reach a benchmark score
        self.dk = dataclasses.replace(knowledge.diseases, indications=None) if knowledge.diseases else None
        self.drugs = knowledge.drugs
        self.dm = dm_table(indications)
        self.signatures = signatures
        self.twin_of = twin_of
        self.graph: GeneGraph | None = None
        self._genetics: dict[str, tuple[np.ndarray | None, dict[str, Any]]] = {}
        self._precedent: dict[tuple[str, frozenset[str]], np.ndarray | None] = {}
        self._similarity: dict[str, pd.Series] = {}
        self.units = sorted(set(disease_units(self.dm["doid"], self.dk)) | {self.unit(d) for d in signatures})

    def unit(self, doid: str) -> str:
        return (self.dk.disease_of(doid) if self.dk is not None else None) or doid

    def genetics(self, doid: str) -> tuple[np.ndarray | None, dict[str, Any]]:
        """The genetics score of every candidate (0: no target in the network), or None when absent."""
        if doid not in self._genetics:
            if self.graph is None and self.dk is not None and self.dk.gwas_genes is not None:
                self.graph = GeneGraph.of(
                    self.twin_of(doid), self.p.null_bins
                )  # the same for every bulk twin
            table, info = genetics_for(None, self.drugs, self.dk, self.unit(doid), self.p, graph=self.graph)  # type: ignore[arg-type]
            z = (
                None
                if table is None
                else table["genetics_score"].reindex(self.candidates).fillna(0.0).to_numpy()
            )
            self._genetics[doid] = (z, info)
        return self._genetics[doid]

    def similarity(self, unit: str) -> pd.Series:
        """The similarity of ``unit`` to every other disease of the benchmark (inputs only; computed once)."""
        if unit not in self._similarity:
            others = [u for u in self.units if u != unit]
            if self.dk is None:
                self._similarity[unit] = pd.Series(0.0, index=others)
            else:
                sig = {self.unit(d): s for d, s in self.signatures.items()}
                self._similarity[unit] = disease_similarity(unit, others, self.dk, sig)["similarity"]
        return self._similarity[unit]

    def precedent(self, doid: str, exclude: Sequence[str]) -> np.ndarray | None:
        """The precedent of every candidate for ``doid`` from the indication table without the rows of
        ``doid`` and of ``exclude`` (None when no other disease is left)."""
        key = (doid, frozenset({doid, *exclude}))
        if key not in self._precedent:
            ind = self.dm[~self.dm["doid"].isin(key[1])]
            if not len(ind):
                self._precedent[key] = None
            else:
                unit = self.unit(doid)
                line = precedent_line(
                    self.candidates,
                    ind,
                    unit,
                    self.similarity(unit),
                    self.p.popularity_weight,
                    self.dk,
                    describe=False,
                )
                self._precedent[key] = line["precedent"].to_numpy()
        return self._precedent[key]


def lodo_combination(
    diseases: list[Any],
    mechanism: Callable[[str, str], np.ndarray],
    lines: BenchmarkLines,
    protocol: str,
    l2: float = 1.0,
) -> dict[str, Any]:
    """Scores of ``p4core`` (the combination) and its ablations for every evaluated disease, the held-out
    probabilities and the model refitted on all diseases.

    ``mechanism(fold, disease)``: the twin's score of ``disease``'s candidates under the setting chosen
    in ``fold`` (the held-out disease; ``""`` = the refit on all). ``diseases``: items with ``doid``,
    ``keep`` (mask over the candidates) and ``labels``."""

    def rows(
        fold: str, members: list[Any], exclude: Sequence[str]
    ) -> tuple[list[dict[str, np.ndarray | None]], list[np.ndarray]]:
        out, ys = [], []
        for o in members:
            g, _ = lines.genetics(o.doid)
            pre = lines.precedent(o.doid, exclude)
            out.append(
                {
                    "mechanism": mechanism(fold, o.doid),
                    "genetics": None if g is None else g[o.keep],
                    "precedent": None if pre is None else pre[o.keep],
                }
            )
            ys.append(o.labels)
        return out, ys

    scores: dict[str, dict[str, np.ndarray]] = {d.doid: {} for d in diseases}
    probs: dict[str, np.ndarray] = {}
    models: dict[str, dict[str, Any]] = {}
    shipped = None
    if protocol == "fixed":
        from p4core.evidence import load_model

        shipped = load_model()
    for d in diseases:
        test, _ = rows(d.doid, [d], [d.doid])
        if shipped is not None:
            model = shipped
        else:
            train, ys = rows(d.doid, [o for o in diseases if o.doid != d.doid], [d.doid])
            model = EvidenceModel.fit(train, ys, l2)
            models[d.doid] = {"+".join(k): v["coef"] for k, v in model.fits.items()}
            for name, keep in ABLATIONS.items():
                scores[d.doid][name] = _fit_predict(train, ys, test[0], keep, l2)
        present = {k: v for k, v in test[0].items() if v is not None}
        scores[d.doid]["p4core"] = model.logit(present)
        probs[d.doid] = model.probability(present)
    all_rows, all_ys = rows("", diseases, [])
    refit = EvidenceModel.fit(all_rows, all_ys, l2, info={"fitted_on": [d.doid for d in diseases]})
    y = np.concatenate([d.labels for d in diseases]).astype(float)
    p = np.concatenate([probs[d.doid] for d in diseases])
    table, brier = reliability(p, y)
    return {
        "scores": scores,
        "per_fold": models,
        "refit": refit,
        "calibration": {
            "held_out": protocol == "lodo",
            "brier": brier,
            "brier_base_rate": float(np.mean((y.mean() - y) ** 2)),
            "mean_probability": float(p.mean()),
            "positive_share": float(y.mean()),
            "reliability": table.to_dict(orient="records"),
        },
    }


def _fit_predict(
    train: list[dict[str, np.ndarray | None]],
    ys: list[np.ndarray],
    test: dict[str, np.ndarray | None],
    keep: tuple[str, ...],
    l2: float,
) -> np.ndarray:
    """Logit of a logistic model on the lines ``keep`` (training diseases lacking one are left out)."""
    xs, yy = [], []
    for r, y in zip(train, ys, strict=True):
        f = features({k: r.get(k) for k in keep})
        if set(f) == set(keep):
            xs.append(np.column_stack([f[k] for k in keep]))
            yy.append(y)
    f = features({k: test.get(k) for k in keep})
    if not xs or set(f) != set(keep):
        return np.zeros(len(next(v for v in test.values() if v is not None)))
    b0, b = fit_logistic(np.vstack(xs), np.concatenate(yy).astype(float), l2)
    return b0 + np.column_stack([f[k] for k in keep]) @ b
