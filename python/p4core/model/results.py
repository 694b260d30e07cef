"""What the stages produce: the screen, the courses, the sound, the whole run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from p4core.model.diseases import Diagnosis
from p4core.model.knowledge import Knowledge
from p4core.model.patient import Patient
from p4core.model.twin import TwinEnsemble


@dataclass
class ScreenResult:
    """Scores of every drug in every twin, and their summary.

    ``table`` (one row per drug, ranked) has score_mean, ci_low, ci_high, p_topk, rank_low,
    rank_high, drivers (cell types contributing most), targets and the drug annotations, and for
    each view (combined, marker, programme) its score, rank, z, p and FDR (see :func:`p4core.screen`).
    ``scores`` is twins x drugs of the ranking view, ``parts`` drugs x cell types (mean over twins).
    """

    table: pd.DataFrame
    scores: np.ndarray
    parts: np.ndarray
    drugs: list[str]
    celltypes: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    #: pair scores of the best drugs: drug_a, drug_b, score, gain over the better single (additivity in a
    #: linear score, not synergy), complementarity
    pairs: pd.DataFrame | None = None
    #: controls (e.g. the same screen on a degree-preserving shuffle of the network)
    control: dict[str, Any] = field(default_factory=dict)
    #: twins x drugs scores of every view (``combined``, ``marker``, ``programme``; drugs as in ``drugs``)
    views: dict[str, np.ndarray] = field(default_factory=dict)
    #: spread of the marker and programme views over random single genes (the combined view's units)
    scales: dict[str, float] = field(default_factory=dict)

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.table.head(n)

    def reordered(self, drugs: list[str]) -> ScreenResult:
        """The same result with its rows (table, scores, parts, views) in the order of ``drugs`` (a
        permutation of :attr:`drugs`); ``rank`` follows the new order."""
        if sorted(drugs) != sorted(self.drugs):
            raise ValueError("reordered() needs a permutation of the result's drugs")
        pos = {d: i for i, d in enumerate(self.drugs)}
        order = np.array([pos[d] for d in drugs], dtype=np.int64)
        table = self.table.set_index("drug").loc[drugs].reset_index()
        table["rank"] = np.arange(1, len(drugs) + 1)
        table = table[["rank", *[c for c in table.columns if c != "rank"]]]
        return ScreenResult(
            table=table,
            scores=self.scores[:, order],
            parts=self.parts[order],
            drugs=list(drugs),
            celltypes=list(self.celltypes),
            params=dict(self.params),
            pairs=self.pairs,
            control=self.control,
            views={k: v[:, order] for k, v in self.views.items()},
            scales=dict(self.scales),
        )


@dataclass
class EvidenceResult:
    """The lines of evidence beyond the twin (genetics, precedent), their combination with the twin
    and the tiers (see :mod:`p4core.evidence`).

    ``table`` (index: drug) has the lines' columns (``genetics_*``, ``precedent*``), ``probability``
    (that the drug is disease-modifying, from the combination model), ``tier`` and ``tier_text``.
    ``lines`` says per line whether it is present and why not; ``report`` what was matched."""

    table: pd.DataFrame
    diagnosis: Diagnosis | None
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)

    def present(self, line: str) -> bool:
        return bool(self.lines.get(line, {}).get("present"))


@dataclass
class Trajectories:
    """Disease activity over time per cell type and scenario.

    ``table`` is tidy: scenario, time (days; 0 = sampling), celltype (``burden`` = weighted
    total), mean, lower, upper (95% band over twins). ``events`` lists clinical events
    (time, kind, label).
    """

    table: pd.DataFrame
    events: pd.DataFrame
    scenarios: list[str]
    celltypes: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    #: the courses simulated for renderers beyond the run's scenarios (single drugs from the
    #: treatment day; same columns as ``table``), and their scenario names
    extra: pd.DataFrame | None = None
    extra_scenarios: list[str] = field(default_factory=list)


@dataclass
class Sound:
    """The sonification of the disease course, made once per run for every renderer that needs it: the
    score (a Standard MIDI File's bytes), its audio as 16-bit PCM (n, channels) at ``sample_rate`` (None
    when no active renderer wants audio), the score's legend, and readable names of its instruments and
    earcons (``labels``: ``programs``: {program: name}, ``earcons``: {event kind: name})."""

    midi: bytes
    pcm: np.ndarray | None
    sample_rate: int
    legend: dict[str, Any]
    tempo: float
    preset: str
    labels: dict[str, dict] = field(default_factory=dict)
    #: how the audio was made (``numpy``: p4core's synth; ``fluidsynth``)
    engine: str = "numpy"


@dataclass
class RunResult:
    """Everything a run produced; renderers turn it into files."""

    patient: Patient
    knowledge: Knowledge
    ensemble: TwinEnsemble
    screen: ScreenResult
    trajectories: Trajectories
    config: dict[str, Any] = field(default_factory=dict)
    #: upstream regulators (see p4core.screen.regulators())
    regulators: pd.DataFrame | None = None
    #: cell types ranked by how much they drive the disease (see p4core.celltype_ranking())
    celltypes: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: the peak resident memory of every stage and renderer, MB (p4core.peakmem)
    memory_mb: dict[str, float] = field(default_factory=dict)
    #: the genes carrying the best drugs' scores (see p4core.screen.explain.explain_table; explain.csv)
    explain: pd.DataFrame | None = None
    #: the course's sonification, when an active renderer needs it (see the ``sonifiers`` hook)
    sound: Sound | None = None
    #: the genetics and precedent lines, the combined ranking and the tiers (None: evidence.enabled=false)
    evidence: EvidenceResult | None = None


@dataclass
class CohortResult:
    """Every disease-group patient of a cohort file, one twin each (``data.patient=all``).

    ``table`` is long: patient (pseudonym), drug, rank, score (the twin's), ci_low, ci_high, fdr, and, with
    the evidence stage, probability, tier and rank_mechanism. ``programmes``: patient, celltype, programme,
    score (mean log2 fold change of the programme's genes), n_genes. ``differing``: the drugs whose rank
    differs most between patients (a column ``rank:<patient>`` each, ``spread``, ``best_in``);
    ``varying_programmes``: (celltype, programme) by their spread over patients. Each patient's own
    results are written to ``patients/<pseudonym>/``."""

    patients: list[str]
    table: pd.DataFrame
    programmes: pd.DataFrame
    differing: pd.DataFrame
    varying_programmes: pd.DataFrame
    design: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
