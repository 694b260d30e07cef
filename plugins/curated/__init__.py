"""Knowledge plugin ``curated``: the embedded default network and drug library of p4core.

Paths in the config replace either file with a user's own table of the same format.
"""

from __future__ import annotations

from dataclasses import dataclass

from p4core.datasets import curated_knowledge
from p4core.errors import InputError
from p4core.hooks import hookimpl, input_path
from p4core.io import read_drugs_tsv, read_network_tsv
from p4core.model import Knowledge


@dataclass
class CuratedKnowledgeConfig:
    source: str = "curated"
    #: a network TSV (source, target, sign, kind[, weight, reference]) replacing the built-in one
    network: str | None = None
    #: a drug TSV (drug, target, sign[, action, strength, ...]) replacing the built-in one
    drugs: str | None = None


def load(cfg: CuratedKnowledgeConfig) -> Knowledge:
    k = curated_knowledge()
    for key, reader in (("network", read_network_tsv), ("drugs", read_drugs_tsv)):
        path = getattr(cfg, key)
        if not path:
            continue
        try:
            setattr(k, key, reader(path))
        except InputError as exc:
            raise InputError(f"knowledge.{key}: {exc}") from None
        k.provenance.append(f"{key} replaced by {getattr(k, key).name}")
    return k


@hookimpl
def p4core_register_knowledge(register):
    register(
        "curated",
        load,
        schema=CuratedKnowledgeConfig,
        check=_check,
        description="built-in curated network (immune, IFN, JAK-STAT, TNF, IL-6, IL-17/23, PD-1, PPAR, "
        "proliferation) and approved-drug library",
    )


def _check(cfg: CuratedKnowledgeConfig) -> None:
    input_path(cfg.network, "knowledge.network", "a network TSV (source, target, sign)")
    input_path(cfg.drugs, "knowledge.drugs", "a drug library TSV (drug, target, sign)")
