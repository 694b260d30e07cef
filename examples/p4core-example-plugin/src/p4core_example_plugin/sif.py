"""Knowledge source ``sif``: a signed network in the Simple Interaction Format, with a drug library.

SIF is what Cytoscape and many pathway resources export: one interaction per line, ``source
interaction target [target ...]``, tab- or space-separated. The interaction says the sign and the edge
kind p4core needs (:data:`INTERACTIONS`). The drug library is p4core's built-in one unless ``drugs``
names a drug TSV (drug, target, sign[, ...]).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from p4core.datasets import curated_knowledge
from p4core.errors import InputError
from p4core.io import read_drugs_tsv
from p4core.model import Knowledge, Network

#: interaction -> (sign, kind)
INTERACTIONS = {
    "activates": (1, "signalling"),
    "inhibits": (-1, "signalling"),
    "induces": (1, "transcriptional"),
    "represses": (-1, "transcriptional"),
    "binds": (1, "ligand_receptor"),
}


@dataclass
class SifKnowledgeConfig:
    source: str = "sif"
    #: the network in SIF: ``source interaction target [target ...]`` per line
    network: str = "???"
    #: a drug TSV (drug, target, sign[, action, strength]); null: p4core's built-in library
    drugs: str | None = None


def read_sif(path: str | Path) -> Network:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"knowledge.network: file not found: {path}")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 3:
            raise InputError(
                f"knowledge.network: {path.name} line {number}: expected 'source interaction target'"
            )
        source, interaction, targets = fields[0], fields[1].lower(), fields[2:]
        if interaction not in INTERACTIONS:
            raise InputError(
                f"knowledge.network: {path.name} line {number}: unknown interaction {fields[1]!r}; "
                f"use one of {', '.join(INTERACTIONS)}"
            )
        sign, kind = INTERACTIONS[interaction]
        rows += [(source.upper(), t.upper(), sign, 1.0, kind, path.name) for t in targets]
    if not rows:
        raise InputError(f"knowledge.network: {path.name} has no interactions")
    edges = pd.DataFrame(rows, columns=["source", "target", "sign", "weight", "kind", "reference"])
    edges = edges.drop_duplicates(["source", "target"], keep="first").reset_index(drop=True)
    return Network(edges, name=path.stem)


def load_sif(cfg: SifKnowledgeConfig) -> Knowledge:
    network = read_sif(cfg.network)
    if cfg.drugs:
        try:
            drugs = read_drugs_tsv(cfg.drugs)
        except InputError as exc:
            raise InputError(f"knowledge.drugs: {exc}") from None
    else:
        drugs = curated_knowledge().drugs
    return Knowledge(
        network, drugs, provenance=[f"network: SIF file ({len(network.edges)} edges)", f"drugs: {drugs.name}"]
    )
