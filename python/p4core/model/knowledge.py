"""Prior knowledge: the signed network and the drug library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from p4core.errors import InputError
from p4core.model.diseases import DiseaseKnowledge

EDGE_KINDS = ("transcriptional", "signalling", "ligand_receptor")


NETWORK_COLUMNS = ("source", "target", "sign", "weight", "kind", "reference")


DRUG_COLUMNS = ("drug", "target", "action", "sign", "strength")


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
        first = [c for c in extra if c != "correction"]
        info = (
            t.groupby("drug", sort=False)[first].first()
            if first
            else pd.DataFrame(index=pd.Index(self.drugs, name="drug"))
        )
        # per drug in plain Python: a groupby with a Python function per group costs ~0.1 s a call
        sign = {1: "+", -1: "-"}
        targets: dict[Any, list[str]] = {}
        for drug, tg, s in zip(t["drug"], t["target"], t["sign"], strict=True):
            targets.setdefault(drug, []).append(f"{sign.get(int(s), '?')}{tg}")
        if "correction" in extra:  # every target's citation, not only the first row's
            cites: dict[Any, dict[Any, None]] = {}
            for drug, v in zip(t["drug"], t["correction"], strict=True):
                cites.setdefault(drug, {})
                if v:
                    cites[drug][v] = None
            info["correction"] = pd.Series({d: " | ".join(c) for d, c in cites.items()}, dtype=object)
            info = info[extra]
        info["targets"] = pd.Series({d: " ".join(v) for d, v in targets.items()}, dtype=object)
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
    #: the disease ontology, GWAS risk genes and drug indications (the evidence lines' knowledge), when loaded
    diseases: DiseaseKnowledge | None = None
