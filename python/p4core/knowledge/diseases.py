"""Loaders of what is known of diseases: the Disease Ontology, the GWAS Catalog's risk loci and genes,
and drug indications (DrugCentral's, or a library's own indication labels resolved by name).

Formats (the reference copies are described in ../shared/data/README.md):

* Disease Ontology, as processed by dhimmel/disease-ontology (Schriml et al., NAR 2019; CC BY 3.0):
  ``slim-terms.tsv`` (doid, name, source, pathophysiology), ``slim-terms-prop.tsv`` (slim_id,
  subsumed_id, min_distance), ``term-names.tsv`` (doid, name, type), ``xrefs.tsv`` and
  ``xrefs-prop-slim.tsv`` (doid_code, resource, resource_id; only ICD10 rows are kept).
* GWAS Catalog associations, as processed by dhimmel/gwas-catalog (CC BY 4.0):
  ``gene-associations.tsv`` (doid_code, locus, high_confidence, primary, symbol) and, optionally,
  ``snp-associations.tsv`` (doid_code, locus, lead_snp, lead_chrom, lower_coord, upper_coord,
  mlog_pvalue; a ``risk_allele`` column, or the Catalog's ``strongest_snp_risk_allele`` such as
  ``rs2476601-A``, is used when present).
* DrugCentral ``drug_indication.tsv`` (DRUG_NAME, INDICATION_FDB, DOID).
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.knowledge.cache import cached
from p4core.knowledge.tables import read_table, require_columns
from p4core.model import DiseaseKnowledge, DrugLibrary

log = logging.getLogger("p4core")

ONTOLOGY_FILES = ("slim-terms.tsv", "slim-terms-prop.tsv", "term-names.tsv", "xrefs.tsv")
GWAS_GENE_FILE = "gene-associations.tsv"
GWAS_SNP_FILE = "snp-associations.tsv"
DOID = re.compile(r"^DOID:\d+$")


def _folder(path: str | os.PathLike[str], what: str, files: tuple[str, ...]) -> Path:
    d = Path(path)
    if not d.is_dir():
        raise InputError(f"{what} folder not found: {d} (it must hold {', '.join(files)})")
    missing = [f for f in files if not (d / f).is_file()]
    if missing:
        raise InputError(f"{what} folder {d}: missing file(s) {missing}")
    return d


def _ontology_tables(d: Path) -> dict[str, pd.DataFrame]:
    slim = read_table(d / "slim-terms.tsv", "Disease Ontology slim-terms", sep="\t")
    require_columns(slim, ["doid", "name"], d / "slim-terms.tsv", "Disease Ontology slim-terms")
    prop = read_table(d / "slim-terms-prop.tsv", "Disease Ontology slim-terms-prop", sep="\t")
    require_columns(
        prop,
        ["slim_id", "subsumed_id", "min_distance"],
        d / "slim-terms-prop.tsv",
        "Disease Ontology slim-terms-prop",
    )
    names = read_table(d / "term-names.tsv", "Disease Ontology term-names", sep="\t")
    require_columns(names, ["doid", "name", "type"], d / "term-names.tsv", "Disease Ontology term-names")
    xref_paths = [d / f for f in ("xrefs.tsv", "xrefs-prop-slim.tsv") if (d / f).is_file()]
    xrefs = []
    for p in xref_paths:
        x = read_table(p, "Disease Ontology xrefs", sep="\t")
        require_columns(x, ["doid_code", "resource", "resource_id"], p, "Disease Ontology xrefs")
        xrefs.append(x[x["resource"].str.upper() == "ICD10"])
    x = pd.concat(xrefs) if xrefs else pd.DataFrame(columns=["doid_code", "resource", "resource_id"])
    distance = pd.to_numeric(prop["min_distance"], errors="coerce")
    if distance.isna().any():
        raise InputError(f"{d / 'slim-terms-prop.tsv'}: min_distance must be a whole number of is-a steps")
    return {
        "terms": pd.DataFrame(
            {
                "doid": names["doid"].str.strip(),
                "name": names["name"].str.strip(),
                "kind": np.where(names["type"].str.strip() == "name", "name", "synonym"),
            }
        ).drop_duplicates(),
        "diseases": pd.DataFrame(
            {
                "doid": slim["doid"].str.strip(),
                "name": slim["name"].str.strip(),
                "category": slim.get("pathophysiology", pd.Series("", index=slim.index)).str.strip(),
            }
        ),
        "subsumes": pd.DataFrame(
            {
                "slim": prop["slim_id"].str.strip(),
                "doid": prop["subsumed_id"].str.strip(),
                "distance": distance.astype(int),
            }
        ).drop_duplicates(),
        "xrefs": pd.DataFrame(
            {
                "doid": x["doid_code"].str.strip(),
                "system": "ICD10",
                "code": x["resource_id"].str.strip().str.upper(),
            }
        ).drop_duplicates(),
    }


def _once(fn: Any) -> Any:
    """``fn`` called at most once (the tables of a folder are parsed together, cached apart)."""
    memo: list[Any] = []

    def call() -> Any:
        if not memo:
            memo.append(fn())
        return memo[0]

    return call


def _part(parse: Any, key: str) -> pd.DataFrame:
    """One table of a folder parsed once (:func:`_once`)."""
    table: pd.DataFrame = parse()[key]
    return table


def read_disease_ontology(
    folder: str | os.PathLike[str], *, use_cache: bool = True
) -> dict[str, pd.DataFrame]:
    """The Disease Ontology tables (``terms``, ``diseases``, ``subsumes``, ``xrefs``) of a folder in
    dhimmel/disease-ontology's layout (see the module docstring)."""
    d = _folder(folder, "Disease Ontology", ONTOLOGY_FILES[:3])
    paths = sorted(p for p in d.iterdir() if p.name in (*ONTOLOGY_FILES, "xrefs-prop-slim.tsv"))
    parse = _once(lambda: _ontology_tables(d))
    tables = {
        key: cached(f"ontology-{key}", paths, {}, functools.partial(_part, parse, key), use_cache)
        for key in ("terms", "diseases", "subsumes", "xrefs")
    }
    if not len(tables["diseases"]):
        raise InputError(f"Disease Ontology folder {d}: slim-terms.tsv lists no disease")
    tables["subsumes"]["distance"] = tables["subsumes"]["distance"].astype(int)
    return tables


_RISK_ALLELE = re.compile(r"-([ACGT]+)$")


def _gwas_tables(d: Path) -> dict[str, pd.DataFrame]:
    gpath = d / GWAS_GENE_FILE
    g = read_table(gpath, "GWAS gene-associations", sep="\t")
    require_columns(
        g, ["doid_code", "locus", "high_confidence", "primary", "symbol"], gpath, "GWAS gene-associations"
    )
    flags = {}
    for col in ("high_confidence", "primary"):
        v = pd.to_numeric(g[col], errors="coerce")
        if v.isna().any() or not v.isin([0, 1]).all():
            i = int(np.flatnonzero((v.isna() | ~v.isin([0, 1])).to_numpy())[0])
            raise InputError(
                f"GWAS gene-associations file {gpath}: column {col!r} must be 0 or 1; data row {i + 1} has {g[col].iloc[i]!r}"
            )
        flags[col] = v.astype(bool)
    genes = pd.DataFrame(
        {
            "doid": g["doid_code"].str.strip(),
            "locus": g["locus"].str.strip(),
            "gene": g["symbol"].str.strip().str.upper(),
            "confident": flags["high_confidence"],
            "primary": flags["primary"],
        }
    )
    genes = genes[genes["gene"] != ""].drop_duplicates(["doid", "locus", "gene"])
    spath = d / GWAS_SNP_FILE
    if spath.is_file():
        s = read_table(spath, "GWAS snp-associations", sep="\t")
        require_columns(s, ["doid_code", "locus", "lead_snp", "mlog_pvalue"], spath, "GWAS snp-associations")
        if "risk_allele" in s.columns:
            allele = s["risk_allele"].str.strip().str.upper()
        elif "strongest_snp_risk_allele" in s.columns:
            allele = (
                s["strongest_snp_risk_allele"].str.strip().str.upper().str.extract(_RISK_ALLELE)[0].fillna("")
            )
        else:
            allele = pd.Series("", index=s.index)
        loci = pd.DataFrame(
            {
                "doid": s["doid_code"].str.strip(),
                "locus": s["locus"].str.strip(),
                "snp": s["lead_snp"].str.strip(),
                "chrom": s.get("lead_chrom", pd.Series("", index=s.index))
                .str.strip()
                .str.removeprefix("chr"),
                "start": pd.to_numeric(s.get("lower_coord", pd.Series("", index=s.index)), errors="coerce"),
                "end": pd.to_numeric(s.get("upper_coord", pd.Series("", index=s.index)), errors="coerce"),
                "mlog_p": pd.to_numeric(s["mlog_pvalue"], errors="coerce").fillna(0.0),
                "risk_allele": allele.where(allele.str.fullmatch(r"[ACGT]+"), ""),
            }
        )
        # the lead SNP of a locus: its strongest association (a risk allele, where one is given, wins ties)
        loci = loci.sort_values(
            ["doid", "locus", "mlog_p", "risk_allele"], ascending=[True, True, False, False]
        )
        loci = loci.drop_duplicates(["doid", "locus"]).reset_index(drop=True)
    else:
        loci = pd.DataFrame(
            columns=["doid", "locus", "snp", "chrom", "start", "end", "mlog_p", "risk_allele"]
        )
    return {"genes": genes.reset_index(drop=True), "loci": loci}


def read_gwas_catalog(folder: str | os.PathLike[str], *, use_cache: bool = True) -> dict[str, pd.DataFrame]:
    """GWAS risk genes (``genes``: doid, locus, gene, confident, primary) and lead SNPs (``loci``) of a
    folder in dhimmel/gwas-catalog's layout (see the module docstring)."""
    d = _folder(folder, "GWAS Catalog", (GWAS_GENE_FILE,))
    paths = [p for p in (d / GWAS_GENE_FILE, d / GWAS_SNP_FILE) if p.is_file()]
    parse = _once(lambda: _gwas_tables(d))
    out = {
        key: cached(f"gwas-{key}", paths, {}, functools.partial(_part, parse, key), use_cache)
        for key in ("genes", "loci")
    }
    if not len(out["genes"]):
        raise InputError(f"GWAS Catalog folder {d}: {GWAS_GENE_FILE} has no gene rows")
    return out


def read_drugcentral_indications(folder: str | os.PathLike[str], *, use_cache: bool = True) -> pd.DataFrame:
    """DrugCentral's indications with a Disease Ontology id: drug (lower-case name), doid, label, source."""
    path = Path(folder) / "drug_indication.tsv"

    def parse() -> pd.DataFrame:
        t = read_table(path, "DrugCentral drug_indication", sep="\t")
        require_columns(t, ["DRUG_NAME", "INDICATION_FDB", "DOID"], path, "DrugCentral drug_indication")
        doid = t["DOID"].str.strip()
        ok = doid.str.match(DOID.pattern)
        return pd.DataFrame(
            {
                "drug": t.loc[ok, "DRUG_NAME"].str.strip().str.lower(),
                "doid": doid[ok],
                "label": t.loc[ok, "INDICATION_FDB"].str.strip(),
                "source": "DrugCentral 2016",
            }
        ).drop_duplicates(["drug", "doid"])

    if not path.is_file():
        raise InputError(f"DrugCentral indications not found: {path}")
    return cached("drugcentral-indications", [path], {}, parse, use_cache).reset_index(drop=True)


#: British spellings of label texts -> the ontology's (American) spelling, applied word-part by word-part
_SPELLING = (
    ("leukaem", "leukem"),
    ("anaem", "anem"),
    ("aemia", "emia"),
    ("haem", "hem"),
    ("oedema", "edema"),
    ("oesophag", "esophag"),
    ("tumour", "tumor"),
    ("oestrogen", "estrogen"),
    ("paediatric", "pediatric"),
    ("apnoea", "apnea"),
    ("dysmenorrhoea", "dysmenorrhea"),
    ("diarrhoea", "diarrhea"),
    ("waldenstrom", "waldenstroms"),
)


def normalise_name(text: str) -> str:
    """Lower case, apostrophes and punctuation dropped, British spellings made American, whitespace
    collapsed: "Crohn's disease" == "crohns disease"; "Crohn disease" stays apart (matched through
    the ontology's synonyms)."""
    t = str(text).lower().replace("'", "").replace("’", "")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    for uk, us in _SPELLING:
        t = t.replace(uk, us)
    return " ".join(t.split())


@functools.lru_cache(maxsize=8)
def _name_index_cached(key: int, names: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    index: dict[str, set[str]] = {}
    for doid, name in names:
        index.setdefault(normalise_name(name), set()).add(doid)
    return {k: tuple(sorted(v)) for k, v in index.items()}


def name_index(terms: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Normalised name or synonym -> the DOIDs it names."""
    pairs = tuple(zip(terms["doid"], terms["name"], strict=True))
    return _name_index_cached(hash(pairs), pairs)


def label_doids(label: str, index: dict[str, tuple[str, ...]], in_disease: set[str]) -> tuple[str, ...]:
    """The DOIDs a label names (a parenthesised qualifier such as ``(topical)`` dropped): its exact
    name or synonym; else its longest ending that names a term
    subsumed by a disease (``severe asthma`` -> asthma, ``BRAF V600E melanoma`` -> melanoma), never a
    bare generic ending (``carcinoma``, ``pain``) outside the diseases."""
    words = normalise_name(re.sub(r"\([^)]*\)", " ", label)).split()
    hits = index.get(" ".join(words), ())
    if hits:
        return hits
    for k in range(1, len(words)):
        tail = index.get(" ".join(words[k:]), ())
        tail = tuple(d for d in tail if d in in_disease)
        if tail:
            return tail
    return ()


def indications_from_labels(
    drugs: DrugLibrary,
    terms: pd.DataFrame,
    source: str,
    subsumes: pd.DataFrame | None = None,
    label_map: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Indications of a library with an ``indications`` column (';'-separated names, e.g. the curated
    library's label indications) resolved to DOIDs (``label_map``: label -> DOID, curated, first; then
    :func:`label_doids`; ``subsumes``: the terms the diseases subsume, for the ending rule); and the
    labels that named no ontology term."""
    mapped = {normalise_name(k): v for k, v in (label_map or {}).items()}
    t = drugs.targets
    if "indications" not in t.columns:
        return pd.DataFrame(columns=["drug", "doid", "label", "source"]), []
    index = name_index(terms)
    in_disease = set(subsumes["doid"]) if subsumes is not None else set()
    rows, unmatched = [], set()
    for drug, text in t[["drug", "indications"]].drop_duplicates("drug").itertuples(index=False):
        for label in str(text or "").split(";"):
            label = label.strip()
            if not label:
                continue
            key = normalise_name(label)
            hits = (mapped[key],) if key in mapped else label_doids(label, index, in_disease)
            if not hits:
                unmatched.add(label)
                continue
            rows += [(drug, doid, label, source) for doid in hits]
    out = pd.DataFrame(rows, columns=["drug", "doid", "label", "source"]).drop_duplicates(["drug", "doid"])
    return out.reset_index(drop=True), sorted(unmatched)


def label_map(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Curated label -> DOID rows (``p4core/data/diseases/label_doids.tsv`` unless ``path``)."""
    from importlib import resources

    with resources.as_file(resources.files("p4core") / "data" / "diseases" / "label_doids.tsv") as default:
        t = read_table(path or default, "indication label map", sep="\t", comment="#")
    require_columns(t, ["label", "doid"], path or "label_doids.tsv", "indication label map")
    return dict(zip(t["label"].str.strip(), t["doid"].str.strip(), strict=True))


def load_disease_knowledge(
    ontology: str | os.PathLike[str],
    *,
    genetics: str | os.PathLike[str] | None = None,
    indications: pd.DataFrame | None = None,
    drugs: DrugLibrary | None = None,
    label_map: dict[str, str] | None = None,
    use_cache: bool = True,
    provenance: list[str] | None = None,
) -> DiseaseKnowledge:
    """The ontology, the GWAS tables (optional) and indications (optional: a table of drug, doid, label,
    source; or, with ``drugs`` and no table, the library's own ``indications`` labels by name), with a
    match report: loci, genes and diseases kept and dropped, indications matched to the library."""
    o = read_disease_ontology(ontology, use_cache=use_cache)
    known = set(o["terms"]["doid"]) | set(o["diseases"]["doid"])
    report: dict[str, Any] = {
        "ontology": {
            "diseases": len(o["diseases"]),
            "terms": int(o["terms"]["doid"].nunique()),
            "icd10_codes": len(o["xrefs"]),
        }
    }
    genes = loci = None
    if genetics is not None:
        g = read_gwas_catalog(genetics, use_cache=use_cache)
        genes, loci = g["genes"], g["loci"]
        unknown = sorted(set(genes["doid"]) - known)
        if unknown:
            log.warning(
                "GWAS Catalog: %d disease(s) not in the Disease Ontology left out (e.g. %s)",
                len(unknown),
                unknown[:3],
            )
            genes = genes[~genes["doid"].isin(unknown)]
            loci = loci[~loci["doid"].isin(unknown)]
        report["gwas"] = {
            "diseases": int(genes["doid"].nunique()),
            "diseases_dropped": unknown,
            "loci": int(genes[["doid", "locus"]].drop_duplicates().shape[0]),
            "genes": int(genes["gene"].nunique()),
            "confident_genes": int(genes.loc[genes["confident"], "gene"].nunique()),
            "loci_with_lead_snp": len(loci),
            "loci_with_risk_allele": int((loci["risk_allele"] != "").sum()),
        }
    unmatched: list[str] = []
    if indications is None and drugs is not None:
        indications, unmatched = indications_from_labels(
            drugs, o["terms"], "drug library labels", o["subsumes"], label_map
        )
    if indications is not None:
        in_lib = set(drugs.drugs) if drugs is not None else set(indications["drug"])
        off = ~indications["doid"].isin(known)
        report["indications"] = {
            "rows": len(indications),
            "drugs_in_library": int(indications.loc[indications["drug"].isin(in_lib), "drug"].nunique()),
            "library_drugs_without_indication": len(in_lib - set(indications["drug"])),
            "doids_not_in_ontology": int(indications.loc[off, "doid"].nunique()),
            "labels_not_matched": unmatched,
        }
    return DiseaseKnowledge(
        terms=o["terms"],
        diseases=o["diseases"],
        subsumes=o["subsumes"],
        xrefs=o["xrefs"],
        gwas_genes=genes,
        gwas_loci=loci,
        indications=indications,
        provenance=list(provenance or []),
        report=report,
    )


def closest_names(query: str, terms: pd.DataFrame, n: int = 5) -> list[str]:
    """The ontology names closest to ``query`` (for an error message)."""
    names = sorted(set(terms["name"]))
    norm = {normalise_name(x): x for x in names}
    hits = difflib.get_close_matches(normalise_name(query), list(norm), n=n, cutoff=0.6)
    q = normalise_name(query)
    if len(hits) < n and len(q) >= 4:
        hits += [k for k in norm if q in k and k not in hits][: n - len(hits)]
    return [norm[h] for h in hits]
