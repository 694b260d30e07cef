"""Lines of evidence beyond the twin, one ranking from all of them, and tiers.

A drug's case for a patient rests on three lines:

* **mechanism** — the twin: how well the drug reverses this patient's disease programme
  (:mod:`p4core.screen`);
* **genetics** — how close its targets sit, through the twin's network, to the genes that carry the
  disease's inherited risk (GWAS), calibrated against random target sets of the same size and degree
  (:mod:`p4core.evidence.genetics`), weighed by the patient's own risk alleles where a genotype is given;
* **precedent** — what is known of the drug in related diseases (similarity from the ontology, GWAS genes
  and signatures only) and whether it is standard for the diagnosis (:mod:`p4core.evidence.precedent`).

:mod:`p4core.evidence.combine` turns them into the probability that the drug is disease-modifying (a
logistic model fitted by leave-one-disease-out on the benchmark's dev split and shipped), and
:mod:`p4core.evidence.tiers` into tiers a clinician reads (standard and fitting this patient, related,
genetic support, the twin alone, and a flag where the twin argues against a standard drug). The
diagnosis comes from ``data.diagnosis`` or the record (:mod:`p4core.evidence.diagnosis`); without one,
the genetics and precedent lines are absent — never zero — and the ranking is the twin's.
"""

from p4core.evidence.combine import LINES, EvidenceModel, fit_logistic, load_model, reliability
from p4core.evidence.diagnosis import describe, icd10_name, icd10_parents, map_icd10, resolve_diagnosis
from p4core.evidence.genetics import GeneGraph, genetics_line, risk_weights
from p4core.evidence.params import EvidenceParams
from p4core.evidence.precedent import disease_units, dm_table, precedent_line
from p4core.evidence.run import evidence, genetics_for, precedent_for, rank_by_evidence
from p4core.evidence.similarity import disease_similarity
from p4core.evidence.tiers import CANDIDATES, STANDARD, TIERS, assign_tiers

__all__ = [
    "CANDIDATES",
    "LINES",
    "STANDARD",
    "TIERS",
    "EvidenceModel",
    "EvidenceParams",
    "GeneGraph",
    "assign_tiers",
    "describe",
    "disease_similarity",
    "disease_units",
    "dm_table",
    "evidence",
    "fit_logistic",
    "genetics_for",
    "genetics_line",
    "icd10_name",
    "icd10_parents",
    "load_model",
    "map_icd10",
    "precedent_for",
    "precedent_line",
    "rank_by_evidence",
    "reliability",
    "resolve_diagnosis",
    "risk_weights",
]
