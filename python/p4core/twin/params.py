"""The twin stage's parameters (the config node ``twin``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from p4core.errors import require


@dataclass
class TwinParams:
    """Config group ``twin``: how the ensemble of twins is built."""

    #: twins in the ensemble (bootstrap replicates)
    n_twins: int = 20
    #: twin t draws from numpy.random.default_rng([seed, t])
    seed: int = 0
    #: cells a cell type needs in each condition; fewer: the cell type is skipped with a warning
    min_cells: int = 20
    #: a gene is active in a cell type when detected in at least this fraction of its cells
    min_expr_frac: float = 0.05
    #: log-normal jitter of the prior edge weights per twin (0 = none)
    edge_noise: float = 0.2
    #: weight of ligand -> receptor edges relative to intracellular ones
    lr_weight: float = 1.0
    #: uniform | abundance (share of disease cells)
    celltype_weight: str = "uniform"
    #: resample cells within (cell type, condition, sample); false = every twin sees all cells
    bootstrap: bool = True
    #: float32 | float64 (kernel precision)
    dtype: str = "float32"
    #: obs columns adjusted for in the pseudo-bulk signature (e.g. [donor, batch])
    covariates: list[str] = field(default_factory=list)
    #: edge strengths inside cell types: ``ridge`` (fitted on the twin's cells, sign-constrained
    #: to the prior) or ``prior`` (the prior weights)
    fit: str = "ridge"
    #: ridge penalty per cell (on standardised expression)
    ridge_lambda: float = 0.05
    #: fitted strength given to a prior edge the cells do not support (relative to the mean fitted one)
    fit_floor: float = 0.1
    #: cells of each cell type the ridge fit uses at most (a seeded draw; the fit is shared by every twin)
    fit_cells: int = 2000
    #: cell types left out of the twin (e.g. a contaminant flagged in celltypes.csv)
    exclude_celltypes: list[str] = field(default_factory=list)
    #: a cell type with disease cells but (almost) no reference cells: ``closest`` compares it with the
    #: reference cells of the cell type it resembles most; ``skip`` leaves it out (with a warning)
    unmatched: str = "closest"

    def __post_init__(self) -> None:
        require(self.n_twins >= 1, "twin.n_twins", f"must be >= 1, got {self.n_twins}")
        require(self.min_cells >= 2, "twin.min_cells", f"must be >= 2, got {self.min_cells}")
        require(
            0 <= self.min_expr_frac <= 1, "twin.min_expr_frac", f"must be in [0, 1], got {self.min_expr_frac}"
        )
        require(self.edge_noise >= 0, "twin.edge_noise", f"must be >= 0, got {self.edge_noise}")
        require(self.lr_weight >= 0, "twin.lr_weight", f"must be >= 0, got {self.lr_weight}")
        require(
            self.celltype_weight in ("uniform", "abundance"),
            "twin.celltype_weight",
            f"must be 'uniform' or 'abundance', got {self.celltype_weight!r}",
        )
        require(
            self.dtype in ("float32", "float64"),
            "twin.dtype",
            f"must be float32 or float64, got {self.dtype!r}",
        )
        require(self.fit in ("ridge", "prior"), "twin.fit", f"must be ridge or prior, got {self.fit!r}")
        require(
            self.unmatched in ("closest", "skip"),
            "twin.unmatched",
            f"must be closest or skip, got {self.unmatched!r}",
        )
        require(self.ridge_lambda >= 0, "twin.ridge_lambda", f"must be >= 0, got {self.ridge_lambda}")
        require(0 <= self.fit_floor <= 1, "twin.fit_floor", f"must be in [0, 1], got {self.fit_floor}")
        require(self.fit_cells >= 10, "twin.fit_cells", f"must be >= 10, got {self.fit_cells}")
