"""The course stage's parameters (the config node ``simulate``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from p4core.errors import InputError, require


@dataclass
class SimulateParams:
    """Config group ``simulate``: the disease course (days; day 0 = sampling)."""

    #: treatments simulated: the best drugs with distinct mechanisms
    n_drugs: int = 2
    #: days from disease onset to sampling
    onset_days: float = 120.0
    #: days simulated after sampling
    horizon_days: float = 180.0
    #: day the treatments start
    treatment_day: float = 14.0
    #: local error tolerance of the integrator (per step, relative to 1 + |x|; the step is chosen by it)
    tolerance: float = 1e-4
    #: longest step (days)
    max_step_days: float = 60.0
    #: spacing of the recorded course (days)
    record_days: float = 1.0
    #: coupling through the network
    beta: float = 0.8
    #: relaxation rate (1/day)
    gamma: float = 0.2
    #: drug input at a fully engaged target (tanh units)
    drug_gain: float = 2.0
    #: growth of the disease drive per year after sampling, untreated
    progression: float = 0.25
    #: the observed disease state as a fraction of saturation
    state_scale: float = 0.8
    #: also simulate the best pair of the screen (both drugs from ``treatment_day``)
    pair: bool = True
    #: more treatments, each ``drug`` or ``drug@day`` (its own start day), or a pair ``a+b@day``
    treatments: list[str] = field(default_factory=list)
    #: one-compartment dosing: half-life (days) of the drug's effect; null = constant exposure
    half_life_days: float | None = None
    #: dosing interval (days) when ``half_life_days`` is set
    dose_interval_days: float = 7.0
    #: burden level marked as an event when a scenario's mean crosses it; null = none
    threshold: float | None = 0.5

    def __post_init__(self) -> None:
        require(self.n_drugs >= 0, "simulate.n_drugs", f"must be >= 0, got {self.n_drugs}")
        require(self.onset_days > 0, "simulate.onset_days", f"must be > 0, got {self.onset_days}")
        require(self.horizon_days > 0, "simulate.horizon_days", f"must be > 0, got {self.horizon_days}")
        require(
            0 <= self.treatment_day < self.horizon_days,
            "simulate.treatment_day",
            f"must be in [0, simulate.horizon_days={self.horizon_days}), got {self.treatment_day}",
        )
        require(
            1e-10 <= self.tolerance <= 1e-1,
            "simulate.tolerance",
            f"must be in [1e-10, 0.1], got {self.tolerance}",
        )
        require(self.max_step_days > 0, "simulate.max_step_days", f"must be > 0, got {self.max_step_days}")
        require(self.record_days > 0, "simulate.record_days", f"must be > 0, got {self.record_days}")
        require(
            (self.onset_days + self.horizon_days) / self.record_days <= 1e6,
            "simulate.record_days",
            "is too small for the simulated period (more than a million records)",
        )
        require(self.beta >= 0, "simulate.beta", f"must be >= 0, got {self.beta}")
        require(0 < self.gamma <= 10, "simulate.gamma", f"must be in (0, 10] per day, got {self.gamma}")
        require(self.drug_gain >= 0, "simulate.drug_gain", f"must be >= 0, got {self.drug_gain}")
        require(
            0 < self.state_scale < 1, "simulate.state_scale", f"must be in (0, 1), got {self.state_scale}"
        )
        require(
            self.half_life_days is None or self.half_life_days > 0,
            "simulate.half_life_days",
            f"must be > 0 days or null, got {self.half_life_days}",
        )
        require(
            self.dose_interval_days > 0,
            "simulate.dose_interval_days",
            f"must be > 0, got {self.dose_interval_days}",
        )
        for spec in self.treatments:
            parse_treatment(spec, self.treatment_day)


def parse_treatment(spec: str, default_day: float) -> tuple[list[str], float, float | None]:
    """``"drug"``, ``"drug@day"``, ``"drug@start..stop"`` or ``"a+b@day"`` -> (drugs, start, stop)."""
    name, _, when = str(spec).partition("@")
    drugs = [d.strip() for d in name.split("+") if d.strip()]
    require(
        bool(drugs),
        "simulate.treatments",
        f"entry {spec!r} names no drug; write drug, drug@day, drug@start..stop or a+b@day",
    )
    first, dots, last = when.partition("..")
    try:
        start = float(first) if first else default_day
        stop = float(last) if dots else None
    except ValueError:
        raise InputError(
            f"simulate.treatments: {spec!r}: after '@' write a day or start..stop (numbers of days)"
        ) from None
    require(
        stop is None or stop > start, "simulate.treatments", f"{spec!r}: the stop day must follow the start"
    )
    return drugs, start, stop
