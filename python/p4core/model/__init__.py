"""The public data model: plain objects that flow between the pipeline stages.

Each can be saved and loaded (AnnData / Parquet / JSON), so any stage can be run on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError

EDGE_KINDS = ("transcriptional", "signalling", "ligand_receptor")
NETWORK_COLUMNS = ("source", "target", "sign", "weight", "kind", "reference")
DRUG_COLUMNS = ("drug", "target", "action", "sign", "strength")

# obs columns every Patient has after loading (the loader maps the user's keys onto these)
CELL_TYPE, CONDITION, SAMPLE = "p4_cell_type", "p4_condition", "p4_sample"
#: optional obs column: the donor of each cell (a paired design measures a donor in both conditions)
DONOR = "p4_donor"
REFERENCE, DISEASE = "reference", "disease"


@dataclass
class Network:
    """Signed, weighted, directed edges ``source -> target`` (HGNC symbols).

    ``edges`` has the columns source, target, sign (+1/-1), weight (> 0), kind
    (transcriptional, signalling, ligand_receptor) and reference (provenance), and optionally
    ``share``: a *mechanism fact* (e.g. glucocorticoid-receptor transrepression of NF-kB) carries
    this share of its source's normalised outgoing weight, split over the source's mechanism
    facts, and stays out of the degree normalisation of the others (NaN: an ordinary edge).
    """

    edges: pd.DataFrame
    name: str = "network"

    def __post_init__(self) -> None:
        missing = [c for c in NETWORK_COLUMNS if c not in self.edges.columns]
        if missing:
            raise InputError(
                f"network {self.name!r}: missing columns {missing}; expected {list(NETWORK_COLUMNS)}"
            )
        bad_kind = sorted(set(self.edges["kind"]) - set(EDGE_KINDS))
        if bad_kind:
            raise InputError(
                f"network {self.name!r}: unknown edge kind(s) {bad_kind}; use one of {EDGE_KINDS}"
            )

    @property
    def genes(self) -> list[str]:
        return sorted(set(self.edges["source"]) | set(self.edges["target"]))

    def __repr__(self) -> str:
        counts = self.edges["kind"].value_counts().to_dict()
        return f"Network({self.name!r}, {len(self.genes)} genes, {len(self.edges)} edges {counts})"


@dataclass
class DrugLibrary:
    """Drugs and their mechanism targets, one row per (drug, target).

    ``targets`` has at least drug, target (HGNC), action, sign (-1 inhibits, +1 activates) and
    strength (0-1]; optional columns (atc, approval, area, indications, ...) are kept for reports.
    """

    targets: pd.DataFrame
    name: str = "drugs"

    def __post_init__(self) -> None:
        missing = [c for c in DRUG_COLUMNS if c not in self.targets.columns]
        if missing:
            raise InputError(
                f"drug library {self.name!r}: missing columns {missing}; expected {list(DRUG_COLUMNS)}"
            )

    @property
    def drugs(self) -> list[str]:
        return list(dict.fromkeys(self.targets["drug"]))

    def info(self) -> pd.DataFrame:
        """One row per drug: targets joined with '+', and the optional annotation columns."""
        t = self.targets
        extra = [c for c in t.columns if c not in DRUG_COLUMNS]
        agg: dict[str, Any] = {c: "first" for c in extra}
        if "correction" in agg:  # every target's citation, not only the first row's
            agg["correction"] = lambda x: " | ".join(dict.fromkeys(v for v in x if v))
        info = (
            t.groupby("drug", sort=False).agg(agg)
            if extra
            else pd.DataFrame(index=pd.Index(self.drugs, name="drug"))
        )
        sign = {1: "+", -1: "-"}
        info["targets"] = t.groupby("drug", sort=False).apply(
            lambda g: " ".join(
                f"{sign.get(int(s), '?')}{tg}" for tg, s in zip(g["target"], g["sign"], strict=True)
            ),
            include_groups=False,
        )
        return info

    def __repr__(self) -> str:
        return (
            f"DrugLibrary({self.name!r}, {len(self.drugs)} drugs, {self.targets['target'].nunique()} targets)"
        )


@dataclass
class Knowledge:
    """A network and a drug library, with the provenance of each."""

    network: Network
    drugs: DrugLibrary
    provenance: list[str] = field(default_factory=list)
    #: sign conflicts found while composing resources (source, target, kept_sign, kept_from, ...)
    conflicts: pd.DataFrame | None = None
    #: human-mouse ortholog pairs (hgnc_symbol, mgi_symbol), when the knowledge provides them
    orthologs: pd.DataFrame | None = None
    #: drug-target corrections applied to the library (p4core.knowledge.apply_corrections): the rows,
    #: what each did (``status``, ``was``) and its citation
    corrections: pd.DataFrame | None = None


@dataclass
class Context:
    """Clinical context of a patient (pseudonymous). Extended by data-source plugins."""

    pseudonym: str
    age: float | None = None
    sex: str | None = None
    conditions: list[str] = field(default_factory=list)  # ICD-10 codes
    medications: list[str] = field(default_factory=list)  # ATC codes
    extra: dict[str, Any] = field(default_factory=dict)
    #: clinical events on the course's time axis: dicts with ``time`` (days; 0 = sampling), ``kind``
    #: (diagnosis, imaging, flare, treatment_start, treatment_stop, ...) and ``label``
    events: list[dict[str, Any]] = field(default_factory=list)
    #: year of birth (never the full date) and the index date (the day of sampling, ISO)
    birth_year: int | None = None
    index_date: str | None = None
    #: dated records: diagnoses (code, system, version, date), medications (atc, start, end, source),
    #: observations (loinc, name, value, unit, time), imaging studies (date, modality, findings)
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    medication_records: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    imaging: list[dict[str, Any]] = field(default_factory=list)
    #: derived scores (comorbidity indices, 4C, polygenic scores, ...): name -> dict
    scores: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "age": self.age,
            "sex": self.sex,
            "conditions": list(self.conditions),
            "medications": list(self.medications),
            "events": [dict(e) for e in self.events],
            "birth_year": self.birth_year,
            "index_date": self.index_date,
            "diagnoses": [dict(d) for d in self.diagnoses],
            "medication_records": [dict(m) for m in self.medication_records],
            "observations": [dict(o) for o in self.observations],
            "imaging": [dict(i) for i in self.imaging],
            "scores": dict(self.scores),
            **self.extra,
        }


@dataclass
class Patient:
    """Cells of one patient: counts in ``adata.X`` (cells x genes, gene symbols as var_names) and
    the obs columns ``p4_cell_type``, ``p4_condition`` (reference / disease) and ``p4_sample``."""

    adata: ad.AnnData
    context: Context
    description: str = ""
    #: human | mouse (mouse symbols are mapped through the knowledge's orthologs)
    organism: str = "human"

    @property
    def pseudonym(self) -> str:
        return self.context.pseudonym

    def __repr__(self) -> str:
        obs = self.adata.obs
        return (
            f"Patient({self.pseudonym}, {self.adata.n_obs} cells x {self.adata.n_vars} genes, "
            f"{obs[CELL_TYPE].nunique()} cell types, {obs[SAMPLE].nunique()} samples)"
        )


@dataclass
class TwinReplicate:
    """One twin of the ensemble: its operator and signature over the nodes (cell type, gene)."""

    operator: sp.csr_array  # N x N, a[t, s] = weight of edge s -> t, int32 indices
    signature: np.ndarray  # N, disease signature s[c, g] flattened
    active: np.ndarray  # N bool: node expressed (or latent) in its cell type


@dataclass
class TwinEnsemble:
    """The ensemble of twins of one patient.

    Nodes are ordered cell type by cell type: node ``c * n_genes + g`` is gene g in cell type c.
    """

    celltypes: list[str]
    genes: list[str]
    replicates: list[TwinReplicate]
    celltype_weights: np.ndarray  # C
    de: pd.DataFrame  # differential expression on all cells: celltype, gene, logfc, stat, pval, fdr, ...
    measured: np.ndarray  # G bool: gene measured in the patient's panel (False = latent node)
    params: dict[str, Any] = field(default_factory=dict)
    pseudonym: str = ""
    #: genes, edges, drug targets and drugs matched and dropped (see p4core.twin.matching)
    match_report: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.celltypes) * len(self.genes)

    @property
    def offsets(self) -> np.ndarray:
        g = len(self.genes)
        return np.arange(len(self.celltypes) + 1, dtype=np.int64) * g

    @property
    def node_weights(self) -> np.ndarray:
        """Weight of every node in the reversal score: its cell type's weight. Latent genes (not
        measured) count with signature 0: a response there moves the twin away from the observed
        state, which keeps drugs whose effect lands mostly off the panel from scoring on a sliver."""
        return np.repeat(self.celltype_weights, len(self.genes))

    def __len__(self) -> int:
        return len(self.replicates)

    def to_anndata(self) -> ad.AnnData:
        """Signatures as an AnnData (twins x nodes) with the operators in ``uns``; scverse users open it."""
        var = pd.DataFrame(
            {
                "celltype": np.repeat(self.celltypes, len(self.genes)),
                "gene": np.tile(self.genes, len(self.celltypes)),
            }
        )
        var.index = var["celltype"] + ":" + var["gene"]
        var = var.astype({"celltype": "category", "gene": "category"})
        x = np.stack([r.signature for r in self.replicates])
        adata = ad.AnnData(X=x.astype(np.float32), var=var)
        adata.obs_names = [f"twin{i}" for i in range(len(self))]
        adata.layers["active"] = np.stack([r.active for r in self.replicates]).astype(np.uint8)
        adata.uns["p4core"] = {
            "celltypes": list(self.celltypes),
            "celltype_weights": self.celltype_weights,
            "params": {k: v for k, v in self.params.items() if v is not None},
            "pseudonym": self.pseudonym,
            "operators": {
                f"twin{i}": {
                    "indptr": r.operator.indptr,
                    "indices": r.operator.indices,
                    "data": r.operator.data,
                }
                for i, r in enumerate(self.replicates)
            },
        }
        return adata

    def __repr__(self) -> str:
        nnz = int(np.mean([r.operator.nnz for r in self.replicates])) if self.replicates else 0
        return (
            f"TwinEnsemble({self.pseudonym}, {len(self)} twins, {len(self.celltypes)} cell types x "
            f"{len(self.genes)} genes = {self.n_nodes} nodes, ~{nnz} edges)"
        )


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
    #: pair scores of the best drugs: drug_a, drug_b, score, synergy (pair - better single), complementarity
    pairs: pd.DataFrame | None = None
    #: controls (e.g. the same screen on a degree-preserving shuffle of the network)
    control: dict[str, Any] = field(default_factory=dict)
    #: twins x drugs scores of every view (``combined``, ``marker``, ``programme``; drugs as in ``drugs``)
    views: dict[str, np.ndarray] = field(default_factory=dict)
    #: spread of the marker and programme views over random single genes (the combined view's units)
    scales: dict[str, float] = field(default_factory=dict)

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.table.head(n)


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
    #: the genes carrying the best drugs' scores (see p4core.screen.explain.explain_table; explain.csv)
    explain: pd.DataFrame | None = None
