"""The evidence stage's parameters (the config node ``evidence``)."""

from __future__ import annotations

from dataclasses import dataclass

from p4core.errors import require


@dataclass
class EvidenceParams:
    """Config group ``evidence``: the genetics and precedent lines, their combination with the twin, tiers.

    The values marked *dev* were chosen on the benchmark's dev split (docs/benchmark.md, "Lines of
    evidence"); the others follow from the design."""

    #: compute the genetics and precedent lines and the combined ranking (false: the twin alone)
    enabled: bool = True
    #: genetics: only genome-wide significant, replicated associations count (*dev*)
    confident_only: bool = True
    #: genetics: how a target reaches risk genes through the twin's network: ``neighbour`` (its own
    #: risk weight plus its strongest risk partner) or ``diffusion`` (``steps`` damped steps) (*dev*)
    reach: str = "neighbour"
    #: genetics: steps of the diffusion reach
    steps: int = 3
    #: genetics: damping of each step of the diffusion reach
    damping: float = 0.5
    #: genetics: random target sets per drug (matched in size and degree bin) in the null
    n_null: int = 1000
    #: genetics: degree bins of the null
    null_bins: int = 10
    #: precedent: weight of the share of all other diseases a drug is used for (the popularity prior);
    #: 1 - this weight goes to the similarity-weighted share of related diseases (*dev*)
    popularity_weight: float = 0.25
    #: a disease at least this similar (0-1) is *related* (tiers and the report)
    related_similarity: float = 0.5
    #: tiers: the twin *agrees* when its score is positive with p below this (the screen's null)
    agree_p: float = 0.05
    #: tiers: the twin alone makes a candidate when its FDR is below this
    alone_fdr: float = 0.1
    #: tiers: genetic support when the genetics line's FDR is below this
    genetics_fdr: float = 0.1
    #: a fitted combination model (JSON written by ``python -m p4core benchmark ... model_out=``);
    #: null = the model shipped with p4core (fitted on the dev split)
    model: str | None = None
    #: seed of the genetics null
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            self.reach in ("neighbour", "diffusion"),
            "evidence.reach",
            f"must be neighbour or diffusion, got {self.reach!r}",
        )
        require(1 <= self.steps <= 20, "evidence.steps", f"must be in [1, 20], got {self.steps}")
        require(0 < self.damping < 1, "evidence.damping", f"must be in (0, 1), got {self.damping}")
        require(self.n_null >= 20, "evidence.n_null", f"must be >= 20, got {self.n_null}")
        require(self.null_bins >= 1, "evidence.null_bins", f"must be >= 1, got {self.null_bins}")
        for key in ("popularity_weight", "related_similarity", "agree_p", "alone_fdr", "genetics_fdr"):
            v = getattr(self, key)
            require(0 <= v <= 1, f"evidence.{key}", f"must be in [0, 1], got {v}")
