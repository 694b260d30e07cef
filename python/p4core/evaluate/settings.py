"""What a benchmark run is asked to do: its methods, grids of settings to fit, and options."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from p4core.errors import InputError
from p4core.evaluate import metrics as M
from p4core.evaluate.protocol import Setting

log = logging.getLogger("p4core.benchmark")


#: methods of every run (ablations are added by name)
METHODS = (
    "p4core",
    "p4core:mechanism",
    "p4core:genetics",
    "p4core:precedent",
    "p4core:marker",
    "p4core:programme",
    "random",
    "direct",
    "degree",
    "proximity",
    "proximity_direction",
    "popularity",
)


#: the signature-based baselines p4core:mechanism (the twin alone) must beat; p4core must beat them and popularity
SIGNATURE_BASELINES = ("random", "direct", "degree", "proximity", "proximity_direction")


CREDITS = [
    "Disease signatures: STARGEO meta-analyses (Hadley et al., Sci Data 2017), dhimmel/stargeo "
    "(Himmelstein et al., Hetionet), CC0 1.0",
    "Indications: PharmacotherapyDB v1.0 (Himmelstein et al., eLife 2017), CC0 1.0",
    "Drug targets and DrugBank identifiers: DrugCentral 2016 (Ursu et al., NAR 2017), CC BY 4.0",
    "TF regulons: CollecTRI (Müller-Dott et al., NAR 2023), CC BY 4.0",
    "Signalling network: OmniPath (Türei et al., Mol Syst Biol 2021), upstream resources' licences",
    "Ligand-receptor pairs: LIANA consensus resource (Dimitrov et al., Nat Commun 2022), BSD-3 package data",
    "Disease Ontology (Schriml et al., NAR 2019), dhimmel/disease-ontology, CC BY 3.0",
    "GWAS Catalog associations (NHGRI-EBI), dhimmel/gwas-catalog (Himmelstein et al., eLife 2017), CC BY 4.0",
]


def _weights() -> list[float]:
    return [round(0.05 * i, 2) for i in range(21)]


@dataclass
class FitGrid:
    """What ``protocol=lodo`` fits on the other diseases (every combination of the lists)."""

    #: ``screen.*`` values
    screen: dict[str, list[Any]] = field(default_factory=lambda: {"marker_weight": _weights()})
    #: ``knowledge.*`` values (each a knowledge of its own), e.g. ``{mechanism_share: [0.35, 0.5, 0.65]}``
    knowledge: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class BenchmarkConfig:
    """Settings of ``python -m p4core benchmark`` (Hydra-style ``key=value`` overrides)."""

    #: disease signature table (TSV, may be gzipped)
    signatures: str | None = None
    #: indication table (PharmacotherapyDB layout)
    indications: str | None = None
    #: folder holding knowledge/ and drugs/ (as ../shared/data)
    knowledge_root: str | None = None
    #: output folder
    out: str = "outputs/benchmark"
    #: ``fixed``: p4core's shipped parameters, nothing fitted; ``lodo``: leave-one-disease-out, every
    #: fitted choice (``fit``) made on the other diseases and scored on the left-out one
    protocol: str = "fixed"
    #: what a fit maximises: the mean over diseases of a sum of metrics
    objective: str = "auroc+p@20"
    fit: FitGrid = field(default_factory=FitGrid)
    #: extra p4core methods, each with its overrides pinned, e.g. ``[knowledge.mechanisms=false]``
    #: (several overrides in one method joined by ``&``); ``screen.*``/``knowledge.*`` arguments add
    #: one method each
    ablate: list[str] = field(default_factory=list)
    #: L2 penalty of the combination's logistic regression
    l2: float = 1.0
    #: write the combination model refitted on all evaluated diseases here (JSON; ``evidence.model=`` of a
    #: run reads it; p4core ships the dev split's as p4core/data/evidence_model.json)
    model_out: str | None = None
    #: seed of the random rankings, the proximity null sets and the bootstrap
    seed: int = 0
    #: permutations of the random ranking and null sets of the proximity (default 1000)
    n_random: int = 1000
    #: bootstrap resamples of the diseases (intervals and paired tests)
    n_boot: int = 2000
    #: subset of diseases, by name or DOID (None = all)
    diseases: list[str] | None = None
    #: signature genes with FDR < fdr count (p_adjusted; BH over pval_random where it is missing)
    fdr: float = 0.05
    #: one positive per DM indication: other forms (salts, esters) sharing its DrugBank id are left
    #: out of that disease's candidates (neither positive nor negative); false = all forms are positives
    collapse_forms: bool = True
    #: screen overrides of p4core itself (None = p4core's defaults)
    steps: int | None = None
    alpha: float | None = None

    def check(self) -> None:
        if self.n_random < 1:
            raise InputError(f"n_random must be >= 1, got {self.n_random}")
        if self.n_boot < 100:
            raise InputError(f"n_boot must be >= 100, got {self.n_boot}")
        if not 0 < self.fdr <= 1:
            raise InputError(f"fdr must be in (0, 1], got {self.fdr}")
        if self.protocol not in ("fixed", "lodo"):
            raise InputError(f"protocol must be fixed or lodo, got {self.protocol!r}")
        try:
            M.parse_objective(self.objective)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.l2 < 0:
            raise InputError(f"l2 must be >= 0, got {self.l2}")
        self.base_screen()
        for a in self.ablations():
            a.params(self.base_screen())  # validates screen values
        for key, values in self.fit.screen.items():
            for v in values:
                ScreenCheck.value(key, v, self.base_screen())

    def base_screen(self) -> dict[str, Any]:
        over = {k: v for k, v in (("steps", self.steps), ("alpha", self.alpha)) if v is not None}
        ScreenCheck.params(over)
        return over

    def ablations(self) -> list[Setting]:
        return [parse_setting(a) for a in self.ablate]


class ScreenCheck:
    """Validation of screen overrides through :class:`ScreenParams` (its messages name the key)."""

    @staticmethod
    def params(over: dict[str, Any]) -> None:
        from p4core.screen import ScreenParams

        try:
            ScreenParams(**over)
        except TypeError as exc:
            raise InputError(f"screen: {exc}") from None

    @staticmethod
    def value(key: str, value: Any, base: dict[str, Any]) -> None:
        ScreenCheck.params({**base, key: value})


def parse_setting(text: str) -> Setting:
    """``knowledge.a=1&screen.b=2`` -> a :class:`Setting` (values parsed as YAML scalars)."""
    import yaml

    kn: dict[str, Any] = {}
    sc: dict[str, Any] = {}
    for item in str(text).split("&"):
        item = item.strip()
        if "=" not in item:
            raise InputError(f"ablate: {item!r} is not key=value (e.g. knowledge.mechanisms=false)")
        key, value = item.split("=", 1)
        part, _, name = key.strip().partition(".")
        if part not in ("knowledge", "screen") or not name:
            raise InputError(
                f"ablate: {key!r} must start with knowledge. or screen. (e.g. screen.marker_weight=0)"
            )
        (kn if part == "knowledge" else sc)[name] = yaml.safe_load(value)
    return Setting.of(kn, sc)
