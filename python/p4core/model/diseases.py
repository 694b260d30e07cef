"""What is known of diseases beyond one patient's cells: the ontology, inherited risk, drug indications.

:class:`DiseaseKnowledge` is loaded with the network and the drug library (``Knowledge.diseases``);
:class:`Diagnosis` is the patient's disease resolved through it (``data.diagnosis`` or the record's
ICD-10 codes). Both are plain tables so that a site can bring its own releases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from p4core.errors import InputError

#: columns of each table of :class:`DiseaseKnowledge`
TERM_COLUMNS = ("doid", "name", "kind")
DISEASE_COLUMNS = ("doid", "name", "category")
SUBSUMES_COLUMNS = ("slim", "doid", "distance")
XREF_COLUMNS = ("doid", "system", "code")
GWAS_GENE_COLUMNS = ("doid", "locus", "gene", "confident", "primary")
GWAS_LOCUS_COLUMNS = ("doid", "locus", "snp", "chrom", "start", "end", "mlog_p", "risk_allele")
INDICATION_COLUMNS = ("drug", "doid", "label", "source")


def _check(df: pd.DataFrame | None, cols: tuple[str, ...], what: str) -> None:
    if df is None:
        return
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"disease knowledge: {what} lacks column(s) {missing}; expected {list(cols)}")


@dataclass
class DiseaseKnowledge:
    """The Disease Ontology (terms, the diseases p4core reasons about and what each subsumes, ICD-10
    cross-references), genes and loci that carry each disease's inherited risk (GWAS), and drug
    indications by disease.

    ``diseases`` are the units of genetics and precedent (the Disease Ontology's "slim" diseases in
    the public release): ``category`` is the ontology's class of the disease (immunologic,
    neoplastic, ...). ``subsumes`` maps every more specific term to its disease (``distance`` in
    is-a steps; each disease subsumes itself at 0). ``gwas_genes`` has one row per (disease, locus,
    gene) with ``confident`` (genome-wide significant and replicated) and ``primary`` (the locus's
    primary gene); ``gwas_loci`` the lead SNP of each locus (``risk_allele`` may be empty: not in
    the source). ``indications`` lists (drug, DOID) pairs with the indication's label and source.
    Any of the last three may be None (not loaded).
    """

    terms: pd.DataFrame
    diseases: pd.DataFrame
    subsumes: pd.DataFrame
    xrefs: pd.DataFrame
    gwas_genes: pd.DataFrame | None = None
    gwas_loci: pd.DataFrame | None = None
    indications: pd.DataFrame | None = None
    provenance: list[str] = field(default_factory=list)
    #: what the loaders matched and dropped (loci, genes, diseases, indications)
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check(self.terms, TERM_COLUMNS, "terms")
        _check(self.diseases, DISEASE_COLUMNS, "diseases")
        _check(self.subsumes, SUBSUMES_COLUMNS, "subsumes")
        _check(self.xrefs, XREF_COLUMNS, "xrefs")
        _check(self.gwas_genes, GWAS_GENE_COLUMNS, "gwas_genes")
        _check(self.gwas_loci, GWAS_LOCUS_COLUMNS, "gwas_loci")
        _check(self.indications, INDICATION_COLUMNS, "indications")

    def name_of(self, doid: str) -> str:
        hit = self.diseases.loc[self.diseases["doid"] == doid, "name"]
        if len(hit):
            return str(hit.iloc[0])
        hit = self.terms.loc[(self.terms["doid"] == doid) & (self.terms["kind"] == "name"), "name"]
        return str(hit.iloc[0]) if len(hit) else doid

    def disease_of(self, doid: str) -> str | None:
        """The disease (slim term) that subsumes ``doid`` most closely, or None."""
        hit = self.subsumes[self.subsumes["doid"] == doid].sort_values(["distance", "slim"])
        return str(hit["slim"].iloc[0]) if len(hit) else None

    def category_of(self, doid: str) -> str | None:
        hit = self.diseases.loc[self.diseases["doid"] == doid, "category"]
        return str(hit.iloc[0]) if len(hit) and str(hit.iloc[0]) else None

    def risk_genes(self, doid: str, confident_only: bool = True) -> pd.DataFrame:
        """The GWAS rows (locus, gene, confident, primary) of one disease (empty if none)."""
        if self.gwas_genes is None:
            return pd.DataFrame(columns=list(GWAS_GENE_COLUMNS))
        g = self.gwas_genes[self.gwas_genes["doid"] == doid]
        return g[g["confident"]] if confident_only else g

    def __repr__(self) -> str:
        n_g = 0 if self.gwas_genes is None else self.gwas_genes["doid"].nunique()
        n_i = 0 if self.indications is None else len(self.indications)
        return (
            f"DiseaseKnowledge({len(self.diseases)} diseases, {self.terms['doid'].nunique()} terms, "
            f"GWAS for {n_g}, {n_i} indications)"
        )


@dataclass
class Diagnosis:
    """The patient's disease: the Disease Ontology term given or mapped, and the disease (slim
    term) whose genetics and indications apply (``disease``; None when no disease subsumes it).

    ``source`` says where it came from (``config``: ``data.diagnosis``; ``record``: the record's
    ICD-10 codes); ``codes`` lists every record code tried and what it mapped to (None: nothing)."""

    doid: str
    name: str
    disease: str | None
    disease_name: str | None
    category: str | None
    source: str
    query: str = ""
    codes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "doid": self.doid,
            "name": self.name,
            "disease": self.disease,
            "disease_name": self.disease_name,
            "category": self.category,
            "source": self.source,
            "query": self.query,
            "codes": [dict(c) for c in self.codes],
        }

    @property
    def label(self) -> str:
        same = self.disease in (None, self.doid)
        return self.name if same else f"{self.name} ({self.disease_name})"
