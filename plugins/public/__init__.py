"""Knowledge plugin ``public``: CollecTRI + OmniPath + LIANA + DrugCentral, composed.

Paths are relative to ``knowledge.root`` unless absolute; set a path to null to leave that
resource out. The curated mechanism layer (``knowledge.mechanisms``; p4core/data/mechanisms.tsv)
adds the transrepression facts public priors miss (glucocorticoid and PPAR receptors on NF-kB
and AP-1) and wins sign conflicts. Sign conflicts between resources are resolved by
``knowledge.priority`` and reported in ``knowledge_conflicts.csv`` in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import MISSING

from p4core import knowledge as K
from p4core.errors import InputError, require
from p4core.hooks import hookimpl, input_path
from p4core.io import read_network_tsv
from p4core.model import Knowledge, Network

RESOURCES = ("mechanisms", "liana", "omnipath", "collectri")


@dataclass
class PublicKnowledgeConfig:
    source: str = "public"
    #: folder the relative paths below start from (e.g. a copy of the upstream releases)
    root: str = MISSING
    collectri: str | None = "knowledge/collectri_human.csv"
    omnipath: str | None = "knowledge/omnipath_signed_directed.tsv"
    liana: str | None = "knowledge/liana_ligand_receptor.csv"
    #: LIANA resource column value (consensus = LIANA's default human set)
    liana_resource: str = "consensus"
    #: folder with DrugCentral's drug_target.tsv (+ drug_indication, pharm_class, identifiers)
    drugcentral: str = "drugs/drugcentral_2016"
    #: human-mouse ortholog table (hgnc_symbol, mgi_symbol), for mouse data
    orthologs: str | None = "knowledge/orthologs_human_mouse.tsv"
    #: Disease Ontology folder (dhimmel/disease-ontology layout): diagnoses, disease classes, ICD-10
    #: cross-references; null = no diagnosis can be resolved (the genetics and precedent lines are absent)
    ontology: str | None = "ontology/disease_ontology_2016"
    #: GWAS Catalog folder (dhimmel/gwas-catalog layout: gene-associations.tsv, snp-associations.tsv);
    #: null = no genetics line
    genetics: str | None = "genetics/gwas_catalog_2015"
    #: use DrugCentral's drug_indication.tsv (indications by DOID) for the precedent line
    indications: bool = True
    #: compose the curated mechanism layer over the public networks
    mechanisms: bool = True
    #: apply p4core's drug-target corrections (p4core/data/corrections.tsv: signs DrugCentral gets wrong
    #: in vivo, such as plerixafor and fingolimod, and approved drugs newer than DrugCentral 2016, such as
    #: the JAK inhibitors baricitinib, upadacitinib and filgotinib; one citation per row)
    corrections: bool = True
    #: share of a source gene's (normalised) outgoing weight carried by its curated mechanism facts (0.5:
    #: as much as all its edges from the high-throughput resources together). Chosen by
    #: leave-one-disease-out on the benchmark's dev split (docs/benchmark.md)
    mechanism_share: float = 0.5
    #: which resource's sign wins a conflict, first first
    priority: list[str] = field(default_factory=lambda: list(RESOURCES))
    #: keep parsed resources in $P4CORE_CACHE_DIR (keyed by file hash)
    cache: bool = True

    def __post_init__(self) -> None:
        bad = sorted(set(self.priority) ^ set(RESOURCES))
        require(
            not bad, "knowledge.priority", f"must list each of {list(RESOURCES)} once, got {self.priority}"
        )
        require(
            0 < self.mechanism_share < 1,
            "knowledge.mechanism_share",
            f"must be in (0, 1), got {self.mechanism_share}",
        )
        require(
            any((self.collectri, self.omnipath, self.liana)),
            "knowledge",
            "needs at least one of knowledge.collectri, knowledge.omnipath, knowledge.liana",
        )
        require(
            self.ontology is not None or self.genetics is None,
            "knowledge.genetics",
            "needs knowledge.ontology (GWAS associations are keyed by Disease Ontology ids)",
        )
        for key in ("collectri", "omnipath", "liana", "drugcentral", "orthologs", "ontology", "genetics"):
            if getattr(self, key):
                _path(self, key)  # a missing file fails here, before any work


def _path(cfg: PublicKnowledgeConfig, key: str) -> Path:
    p = Path(getattr(cfg, key))
    p = p if p.is_absolute() else Path(cfg.root) / p
    if not p.exists():
        raise InputError(f"knowledge.{key}: not found: {p} (set knowledge.root or knowledge.{key})")
    return p


def mark_mechanisms(network: Network, mechanisms: Network, share: float) -> None:
    """Mark the curated mechanism edges as *mechanism facts* with ``share`` (in place): when the
    twin's operator is built, a source's facts carry ``share`` of its normalised outgoing weight
    and stay out of everyone else's degree normalisation (see :func:`p4core.twin.operator.build_operator`).

    Without this, four transrepression edges of NR3C1 weigh as little as four of its ~300 CollecTRI
    and OmniPath edges, and the model still predicts that glucocorticoids aggravate inflammation;
    with the facts as heavy ordinary edges, RELA's in-degree grows so much that every other input to
    NF-kB (TNF signalling among them) is scaled down."""
    e = network.edges
    key = pd.MultiIndex.from_frame(e[["source", "target"]])
    is_mech = key.isin(pd.MultiIndex.from_frame(mechanisms.edges[["source", "target"]]))
    e["share"] = np.where(is_mech, float(share), np.nan)
    e.loc[is_mech, "weight"] = 1.0


def _version(cfg: PublicKnowledgeConfig, key: str) -> str:
    """The file a resource came from, named with the start of its SHA-256: the exact version used."""
    path = _path(cfg, key)
    files = sorted(f for f in path.iterdir() if f.is_file()) if path.is_dir() else [path]
    return f"{path.name}{'/' if path.is_dir() else ''}, sha256 {K.file_digest(files)[:12]}"


def load(cfg: PublicKnowledgeConfig) -> Knowledge:
    nets, provenance = {}, []
    if cfg.collectri:
        nets["collectri"] = K.read_collectri(_path(cfg, "collectri"), use_cache=cfg.cache)
        provenance.append(
            f"CollecTRI (Müller-Dott et al., NAR 2023; CC BY 4.0): {_version(cfg, 'collectri')}"
        )
    if cfg.omnipath:
        nets["omnipath"] = K.read_omnipath_sif(_path(cfg, "omnipath"), use_cache=cfg.cache)
        provenance.append(
            f"OmniPath signed directed network (Türei et al., Mol Syst Biol 2021): {_version(cfg, 'omnipath')}"
        )
    if cfg.liana:
        nets["liana"] = K.read_liana(_path(cfg, "liana"), cfg.liana_resource, use_cache=cfg.cache)
        provenance.append(
            f"LIANA ligand-receptor resource '{cfg.liana_resource}' (Dimitrov et al., Nat Commun 2022): "
            f"{_version(cfg, 'liana')}"
        )
    if cfg.mechanisms:
        with resources.as_file(resources.files("p4core") / "data" / "mechanisms.tsv") as mech:
            nets["mechanisms"] = read_network_tsv(mech, name="p4core mechanisms")
        provenance.append("p4core curated mechanism layer (transrepression; cited per edge)")
    network, conflicts = K.compose_networks([nets[r] for r in cfg.priority if r in nets], name="public")
    if "mechanisms" in nets:
        mark_mechanisms(network, nets["mechanisms"], cfg.mechanism_share)
    drugs = K.read_drugcentral(_path(cfg, "drugcentral"), use_cache=cfg.cache)
    provenance.append(f"DrugCentral 2016 (Ursu et al., NAR 2017; CC BY 4.0): {_version(cfg, 'drugcentral')}")
    applied = None
    if cfg.corrections:
        with resources.as_file(resources.files("p4core") / "data" / "corrections.tsv") as path:
            drugs, applied = K.apply_corrections(drugs, K.read_corrections(path))
        provenance.append(
            f"p4core drug-target corrections ({len(applied)} rows, cited per row; listed in match_report.json)"
        )
    orthologs = K.read_orthologs(_path(cfg, "orthologs")) if cfg.orthologs else None
    if cfg.orthologs:
        provenance.append(f"Ensembl human-mouse orthologs: {_version(cfg, 'orthologs')}")
    return Knowledge(
        network,
        drugs,
        provenance=provenance,
        conflicts=conflicts,
        orthologs=orthologs,
        corrections=applied,
        diseases=_diseases(cfg, drugs) if cfg.ontology else None,
    )


def _diseases(cfg: PublicKnowledgeConfig, drugs):  # noqa: ANN202 - DiseaseKnowledge
    """The Disease Ontology, GWAS associations and DrugCentral's indications, with their provenance."""
    lines = [
        f"Disease Ontology (Schriml et al., NAR 2019; CC BY 3.0), dhimmel/disease-ontology: {_version(cfg, 'ontology')}"
    ]
    if cfg.genetics:
        lines.append(
            "GWAS Catalog associations (NHGRI-EBI; CC BY 4.0), dhimmel/gwas-catalog (Himmelstein et al.): "
            f"{_version(cfg, 'genetics')}"
        )
    indications = None
    if cfg.indications:
        indications = K.read_drugcentral_indications(_path(cfg, "drugcentral"), use_cache=cfg.cache)
        lines.append("Indications: DrugCentral 2016 drug_indication.tsv (DOIDs; CC BY 4.0)")
    return K.load_disease_knowledge(
        _path(cfg, "ontology"),
        genetics=_path(cfg, "genetics") if cfg.genetics else None,
        indications=indications,
        drugs=drugs,
        use_cache=cfg.cache,
        provenance=lines,
    )


@hookimpl
def p4core_register_knowledge(register):
    register(
        "public",
        load,
        schema=PublicKnowledgeConfig,
        description="CollecTRI + OmniPath + LIANA + DrugCentral (+ curated mechanism layer), from knowledge.root",
        check=lambda cfg: input_path(cfg.root, "knowledge.root", "the folder of ../shared/data", folder=True),
    )
