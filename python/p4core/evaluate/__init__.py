"""The built-in benchmark: recovery of known disease-modifying drugs from disease signatures.

``python -m p4core benchmark signatures=... indications=... knowledge_root=...`` builds, for every
disease of a signature table (gene -> meta-analytic log fold change), a one-cell-type twin on the
public knowledge, screens every drug of the library, and asks how high the disease's known
disease-modifying (DM) drugs rank among all drugs with targets, against baselines that see the same
inputs and rank the same candidates. ``protocol=lodo`` fits every data-driven choice on the other
diseases. See docs/benchmark.md.

Modules: :mod:`.metrics` (tie-aware metrics, bootstrap, paired tests), :mod:`.data` (inputs),
:mod:`.baselines`, :mod:`.protocol` (p4core's settings and leave-one-disease-out), :mod:`.settings`
(what a run is asked), :mod:`.run` (the run), :mod:`.outputs` (tables and files), :mod:`.cli`.
"""

from p4core.evaluate.baselines import (
    NetworkProximity,
    degree_scores,
    direct_scores,
    direction_filtered,
    popularity_scores,
    undirected_degree,
)
from p4core.evaluate.cli import USAGE, main, parse_args
from p4core.evaluate.data import (
    INDICATION_COLUMNS,
    SIGNATURE_COLUMNS,
    Signatures,
    candidate_drugs,
    dm_positives,
    drugbank_index,
    load_public_knowledge,
    map_indications,
    read_indications,
    read_signature_table,
    read_signatures,
)
from p4core.evaluate.metrics import (
    EF_FPR,
    METRICS,
    PRECISION_KS,
    auroc,
    average_precision,
    bootstrap_ci,
    enrichment_at_fpr,
    paired_test,
    precision_at_k,
    random_metrics,
    ranking_metrics,
    roc_points,
)
from p4core.evaluate.outputs import score_table, summary_table, tidy, write_outputs
from p4core.evaluate.protocol import Setting, Views, grid_settings, lodo_choice
from p4core.evaluate.run import run_benchmark
from p4core.evaluate.settings import CREDITS, METHODS, SIGNATURE_BASELINES, BenchmarkConfig, FitGrid

__all__ = [
    "CREDITS",
    "EF_FPR",
    "INDICATION_COLUMNS",
    "METHODS",
    "METRICS",
    "PRECISION_KS",
    "SIGNATURE_BASELINES",
    "SIGNATURE_COLUMNS",
    "USAGE",
    "BenchmarkConfig",
    "FitGrid",
    "NetworkProximity",
    "Setting",
    "Signatures",
    "Views",
    "auroc",
    "average_precision",
    "bootstrap_ci",
    "candidate_drugs",
    "degree_scores",
    "direct_scores",
    "direction_filtered",
    "dm_positives",
    "drugbank_index",
    "enrichment_at_fpr",
    "grid_settings",
    "load_public_knowledge",
    "lodo_choice",
    "main",
    "map_indications",
    "paired_test",
    "parse_args",
    "popularity_scores",
    "precision_at_k",
    "random_metrics",
    "ranking_metrics",
    "read_indications",
    "read_signature_table",
    "read_signatures",
    "roc_points",
    "run_benchmark",
    "score_table",
    "summary_table",
    "tidy",
    "undirected_degree",
    "write_outputs",
]
