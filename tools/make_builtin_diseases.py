"""Write the built-in disease knowledge (python/p4core/data/diseases/) from the public releases.

    python tools/make_builtin_diseases.py [../shared/data]

The curated knowledge (``knowledge=curated``, the demo's) carries a small subset of the Disease Ontology
(CC BY 3.0; dhimmel/disease-ontology, commit 052ffcc) and of the GWAS Catalog associations (CC BY 4.0;
dhimmel/gwas-catalog, commit b6ebe8d), in the same layout, read by the same loaders:

* ontology: the 137 DO slim diseases; the names and synonyms of every slim disease, of every term the
  curated library's indication labels name and of every ICD-10 cross-referenced term; the subsumption
  rows of those terms; every ICD-10 cross-reference;
* genetics: the confident (genome-wide significant, replicated) gene associations of every disease;
  the lead SNPs of the demo diseases' loci, with the risk alleles of ``RISK_ALLELES`` (cited).

Nothing here is fitted or chosen by looking at results; rerun after changing the curated library.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "python" / "p4core" / "data" / "diseases"

#: the demo diseases whose lead SNPs the built-in genetics keeps
DEMO_DISEASES = ("DOID:7148", "DOID:11054")
#: risk alleles of lead SNPs (the GWAS Catalog's "strongest SNP-risk allele"; the 2015 processed file
#: does not carry them): rs2476601-A, PTPN22 R620W (Begovich et al., Am J Hum Genet 2004; GWAS Catalog)
RISK_ALLELES = {"rs2476601": "A"}


def main(shared: Path) -> None:
    sys.path.insert(0, str(ROOT / "python"))
    from p4core.datasets import curated_knowledge
    from p4core.knowledge.diseases import indications_from_labels, read_disease_ontology
    from p4core.knowledge.diseases import label_map as read_label_map

    onto, gen = shared / "ontology" / "disease_ontology_2016", shared / "genetics" / "gwas_catalog_2015"
    o = read_disease_ontology(onto, use_cache=False)
    ind, _ = indications_from_labels(
        curated_knowledge().drugs, o["terms"], "labels", o["subsumes"], read_label_map()
    )
    slim = pd.read_csv(onto / "slim-terms.tsv", sep="\t", dtype=str, keep_default_na=False)
    prop = pd.read_csv(onto / "slim-terms-prop.tsv", sep="\t", dtype=str, keep_default_na=False)
    names = pd.read_csv(onto / "term-names.tsv", sep="\t", dtype=str, keep_default_na=False)
    xrefs = pd.concat(
        [
            pd.read_csv(onto / f, sep="\t", dtype=str, keep_default_na=False)
            for f in ("xrefs.tsv", "xrefs-prop-slim.tsv")
        ]
    )
    xrefs = xrefs[xrefs["resource"].str.upper() == "ICD10"].drop_duplicates()
    keep = set(slim["doid"]) | set(ind["doid"]) | set(xrefs["doid_code"])
    (OUT / "ontology").mkdir(parents=True, exist_ok=True)
    (OUT / "genetics").mkdir(parents=True, exist_ok=True)
    slim.to_csv(OUT / "ontology" / "slim-terms.tsv", sep="\t", index=False)
    prop[prop["subsumed_id"].isin(keep)].to_csv(
        OUT / "ontology" / "slim-terms-prop.tsv", sep="\t", index=False
    )
    names[names["doid"].isin(keep)].drop_duplicates().to_csv(
        OUT / "ontology" / "term-names.tsv", sep="\t", index=False
    )
    xrefs.to_csv(OUT / "ontology" / "xrefs.tsv", sep="\t", index=False)
    g = pd.read_csv(gen / "gene-associations.tsv", sep="\t", dtype=str, keep_default_na=False)
    g = g[g["high_confidence"] == "1"]
    g.drop(columns=["doid_name"]).to_csv(OUT / "genetics" / "gene-associations.tsv", sep="\t", index=False)
    s = pd.read_csv(gen / "snp-associations.tsv", sep="\t", dtype=str, keep_default_na=False)
    s = s[s["doid_code"].isin(DEMO_DISEASES) & (s["high_confidence"] == "1")]
    s["mlog"] = pd.to_numeric(s["mlog_pvalue"])
    s = s.sort_values(["doid_code", "locus", "mlog"], ascending=[True, True, False]).drop_duplicates(
        ["doid_code", "locus"]
    )
    s["risk_allele"] = s["lead_snp"].map(RISK_ALLELES).fillna("")
    cols = [
        "doid_code",
        "locus",
        "lead_snp",
        "lead_chrom",
        "lower_coord",
        "upper_coord",
        "mlog_pvalue",
        "pubmed_id",
        "risk_allele",
    ]
    s[cols].to_csv(OUT / "genetics" / "snp-associations.tsv", sep="\t", index=False)
    for p in sorted(OUT.rglob("*.tsv")):
        print(f"{p.relative_to(ROOT)}: {sum(1 for _ in p.open()) - 1} rows, {p.stat().st_size // 1024} kB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
