"""An example third-party p4core plugin (install it: ``pip install ./examples/p4core-example-plugin``).

* data source ``counts_csv``: a genes x cells counts table and a cells table (GEO-style supplementary
  files) -> a patient, through :func:`p4core.io.patient_from_anndata` (:mod:`.counts`);
* knowledge source ``sif``: a network in SIF (``A activates B C``) with p4core's drug library or a
  drug TSV (:mod:`.sif`);
* context source ``smoking``: a CSV ``date,status`` of smoking status -> observations and events;
* score ``pack_years``: from ``context.extra['pack_years']`` when present;
* renderer ``context_txt``: the pseudonymised context as plain text;
* config presets ``data=counts_csv`` and ``knowledge=sif`` (``configs/``, declared by
  ``p4core_config_presets``): chosen like p4core's own, without editing p4core's ``configs/``.

Each is one ``@hookimpl`` that registers a factory and a config dataclass (validated by p4core
before any work: a wrong key or type is a clear error).
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying
from p4core.io import write_text
from p4core_example_plugin.counts import CountsCsvConfig, load_counts_csv
from p4core_example_plugin.sif import SifKnowledgeConfig, load_sif


@dataclass
class SmokingConfig:
    path: str = identifying("???")  # a file name may name the patient: redacted wherever stored
    #: the sampling day (day 0), ISO date
    index_date: str | None = None

    def __post_init__(self) -> None:
        require(self.path not in ("", "???"), "context.smoking.path", "is required (a CSV with date,status)")


def load_smoking(cfg, context, pseudonym_key=None):
    path = Path(cfg.path)
    if not path.is_file():
        raise InputError(f"context.smoking.path: {path} does not exist")
    index = dt.date.fromisoformat(cfg.index_date) if cfg.index_date else None
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("status") not in ("never", "former", "current"):
                raise InputError(
                    f"{path}: status must be never, former or current, got {row.get('status')!r}"
                )
            date = dt.date.fromisoformat(row["date"])
            context.observations.append(
                {
                    "loinc": "72166-2",
                    "name": "smoking",
                    "value": row["status"],
                    "unit": None,
                    "date": date.isoformat(),
                }
            )
            if index is not None:
                context.events.append(
                    {
                        "time": float((date - index).days),
                        "kind": "smoking",
                        "label": f"smoking: {row['status']}",
                    }
                )
    return context


def pack_years(context):
    py = context.extra.get("pack_years")
    return None if py is None else {"pack_years": float(py), "heavy": float(py) >= 20}


@dataclass
class TxtConfig:
    file: str = "context.txt"


def render_txt(result, outdir, cfg):
    ctx = result.patient.context.to_dict()
    lines = [f"{k}: {v}" for k, v in ctx.items() if v not in (None, [], {})]
    return [write_text(Path(outdir) / cfg.file, "\n".join(lines) + "\n")]


@hookimpl
def p4core_register_context(register):
    register(
        "smoking",
        load_smoking,
        schema=SmokingConfig,
        description="smoking status history (CSV) [example plugin]",
    )


@hookimpl
def p4core_register_scores(register):
    register("pack_years", pack_years, description="pack-years from the context [example plugin]")


@hookimpl
def p4core_register_renderers(register):
    register(
        "context_txt", render_txt, schema=TxtConfig, description="the context as plain text [example plugin]"
    )


@hookimpl
def p4core_register_sources(register):
    register(
        "counts_csv",
        load_counts_csv,
        schema=CountsCsvConfig,
        description="genes x cells counts table + cells table (CSV/TSV) [example plugin]",
    )


@hookimpl
def p4core_register_knowledge(register):
    register(
        "sif",
        load_sif,
        schema=SifKnowledgeConfig,
        description="a SIF network (A activates B) with p4core's drug library [example plugin]",
    )


@hookimpl
def p4core_config_presets():
    return "pkg://p4core_example_plugin.configs"
