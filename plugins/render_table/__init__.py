"""Renderer ``table``: the ranked drug table (CSV and Parquet) and the trajectories table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from p4core.errors import require
from p4core.hooks import hookimpl
from p4core.io import atomic_path
from p4core.model import CohortResult, RunResult


@dataclass
class TableConfig:
    #: any of csv, parquet
    formats: list[str] = field(default_factory=lambda: ["csv", "parquet"])

    def __post_init__(self) -> None:
        bad = sorted(set(self.formats) - {"csv", "parquet"})
        require(not bad, "render.table.formats", f"has unknown format(s) {bad}; use csv and/or parquet")


def render(result: RunResult, outdir: Path, cfg: TableConfig) -> list[Path]:
    tables = {
        "drugs": result.screen.table,
        "trajectories": result.trajectories.table,
        "signatures": result.ensemble.de,
        "pairs": result.screen.pairs,
        "regulators": result.regulators,
        "celltypes": result.celltypes,
        "explain": result.explain,
    }
    return write_tables(tables, outdir, cfg)


def write_tables(tables: dict, outdir: Path, cfg: TableConfig) -> list[Path]:
    out = []
    for stem, df in tables.items():
        if df is None:
            continue
        for fmt in cfg.formats:
            path = outdir / f"{stem}.{fmt}"
            with atomic_path(path) as tmp:
                if fmt == "csv":
                    df.to_csv(tmp, index=False)
                else:
                    df.to_parquet(tmp, index=False)
            out.append(path)
    return out


def render_cohort(cohort: CohortResult, outdir: Path, cfg: TableConfig) -> list[Path]:
    """A cohort's tables: every patient's rank of every drug (long form), the programmes per patient and
    cell type, the drugs whose rank differs most."""
    return write_tables(
        {
            "cohort": cohort.table,
            "cohort_programmes": cohort.programmes,
            "cohort_differing": cohort.differing,
        },
        outdir,
        cfg,
    )


@hookimpl
def p4core_register_renderers(register):
    register(
        "table",
        render,
        schema=TableConfig,
        description="drugs, pairs, regulators, cell types, trajectories, signatures and explain as CSV/Parquet",
        cohort=render_cohort,
    )
