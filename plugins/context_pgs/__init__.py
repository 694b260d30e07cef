"""Context source ``pgs``: a polygenic score from a PGS Catalog scoring file and the patient's VCF.

    python -m p4core context=[pgs] context.pgs.scoring_file=PGS000802_hmPOS_GRCh37.txt \\
        context.pgs.vcf=patient.vcf.gz context.pgs.build=GRCh37

* Scoring files: PGS Catalog format 2.0 (``#key=value`` header, then a tab-separated table with
  ``chr_name``/``chr_position`` or the harmonised ``hm_chr``/``hm_pos``, ``effect_allele``,
  ``other_allele``, ``effect_weight``). The file's build (``HmPOS_build`` or ``genome_build``) must be
  the VCF's (``context.pgs.build``).
* Score = sum of effect-allele dosage x weight, variants matched by chromosome, position and alleles:
  the effect allele as ALT (dosage = ALT count, or ``DS``) or as REF (dosage = 2 - ALT count); alleles
  on the other strand are complemented; strand-ambiguous SNPs (A/T, C/G) are skipped, as are missing
  genotypes and unmatched alleles — every skip is counted in the report.
* Non-additive effect types (``is_dominant``/``is_recessive`` = True, or ``effect_type`` other than
  additive) are refused with a clear message: summing them additively would be wrong.
* The VCF sample name can identify the patient: it is never stored (``context.pgs.sample`` picks a
  column; by default the only one).
* The calls are also kept in memory as ``context.genotype`` (never written): the genetics line weighs
  each GWAS locus by the risk alleles the patient carries at its lead SNP (matched by rsid, the VCF's ID).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from p4core.errors import InputError, require
from p4core.hooks import hookimpl, identifying, input_path
from p4core.model import Context

COMPLEMENT = str.maketrans("ACGT", "TGCA")


@dataclass
class PgsConfig:
    scoring_file: str = "???"
    vcf: str = identifying("???")
    #: genome build of the VCF: GRCh37 or GRCh38
    build: str = "GRCh38"
    #: the VCF sample column; null = the only sample
    sample: str | None = identifying(None, kind="id")

    def __post_init__(self) -> None:
        require(
            self.scoring_file not in ("", "???"),
            "context.pgs.scoring_file",
            "is required (a PGS Catalog scoring file)",
        )
        require(
            self.vcf not in ("", "???"), "context.pgs.vcf", "is required (the patient's VCF, plain or .gz)"
        )
        require(
            self.build in ("GRCh37", "GRCh38"),
            "context.pgs.build",
            f"must be GRCh37 or GRCh38, got {self.build!r}",
        )


def _open(path: Path):
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    return gzip.open(path, "rt") if path.suffix == ".gz" else path.open(encoding="utf-8")


def read_scoring_file(path: str | Path) -> tuple[dict[str, str], pd.DataFrame]:
    """(header, variants with columns chr, pos, effect_allele, other_allele, effect_weight)."""
    p = Path(path)
    header: dict[str, str] = {}
    with _open(p) as f:
        lines = f.readlines()
    for line in lines:
        if line.startswith("#") and "=" in line:
            k, _, v = line.lstrip("#").strip().partition("=")
            header[k] = v
    body = [ln for ln in lines if not ln.startswith("#") and ln.strip()]
    if not body:
        raise InputError(f"{p}: no variant table")
    from io import StringIO

    tab = pd.read_csv(StringIO("".join(body)), sep="\t", dtype=str).fillna("")
    chr_col = "hm_chr" if "hm_chr" in tab and (tab["hm_chr"] != "").all() else "chr_name"
    pos_col = "hm_pos" if "hm_pos" in tab and (tab["hm_pos"] != "").all() else "chr_position"
    missing = {chr_col, pos_col, "effect_allele", "effect_weight"} - set(tab.columns)
    if missing:
        raise InputError(f"{p}: missing columns {sorted(missing)} (PGS Catalog scoring file format 2.0)")
    nonadd = pd.Series(False, index=tab.index)
    for col in ("is_dominant", "is_recessive"):
        if col in tab:
            nonadd |= tab[col].str.lower() == "true"
    if "effect_type" in tab:
        nonadd |= ~tab["effect_type"].str.lower().isin(["", "additive"])
    if nonadd.any():
        raise InputError(
            f"{p}: {int(nonadd.sum())} of {len(tab)} variants have non-additive effect types (dominant/recessive); "
            "p4core sums additive dosages only and refuses rather than summing them wrongly"
        )
    out = pd.DataFrame(
        {
            "chr": tab[chr_col].str.replace("chr", "", regex=False),
            "pos": pd.to_numeric(tab[pos_col], errors="coerce"),
            "effect_allele": tab["effect_allele"].str.upper(),
            "other_allele": tab["other_allele"].str.upper() if "other_allele" in tab else "",
            "effect_weight": pd.to_numeric(tab["effect_weight"], errors="coerce"),
        }
    )
    bad = out["pos"].isna() | out["effect_weight"].isna()
    if bad.any():
        raise InputError(f"{p}: {int(bad.sum())} variants without a numeric position or effect_weight")
    header["_build"] = header.get("HmPOS_build") if chr_col == "hm_chr" else header.get("genome_build", "NR")
    return header, out


def read_vcf(
    path: str | Path, sample: str | None = None
) -> dict[tuple[str, int], tuple[str, list[str], float | None, str]]:
    """(chrom, pos) -> (REF, ALTs, dosage of the first ALT or None when missing, ID)."""
    p = Path(path)
    out: dict[tuple[str, int], tuple[str, list[str], float | None, str]] = {}
    col = None
    with _open(p) as f:
        for line in f:
            if line.startswith("##"):
                continue
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#CHROM"):
                samples = fields[9:]
                if not samples:
                    raise InputError(f"{p}: no sample column (a VCF with genotypes is needed)")
                if sample is None and len(samples) > 1:
                    raise InputError(f"{p}: {len(samples)} samples; pick one with context.pgs.sample")
                if sample is not None and sample not in samples:
                    raise InputError(
                        f"{p}: sample not found (context.pgs.sample); the file has {len(samples)} samples"
                    )
                col = 9 + (samples.index(sample) if sample is not None else 0)
                continue
            if col is None:
                raise InputError(f"{p}: no #CHROM header line before the records")
            if len(fields) <= col:
                raise InputError(f"{p}: a record has no FORMAT/sample fields")
            fmt = fields[8].split(":")
            values = dict(zip(fmt, fields[col].split(":"), strict=False))
            alts = fields[4].upper().split(",")
            dosage: float | None = None
            if "DS" in values and values["DS"] not in (".", ""):
                dosage = float(values["DS"])
            elif "GT" in values:
                gt = values["GT"].replace("|", "/").split("/")
                if "." not in gt:
                    dosage = float(sum(a == "1" for a in gt))
            else:
                raise InputError(f"{p}: FORMAT has neither GT nor DS")
            out[(fields[0].replace("chr", ""), int(fields[1]))] = (fields[3].upper(), alts, dosage, fields[2])
    return out


def genotype_table(
    calls: dict[tuple[str, int], tuple[str, list[str], float | None, str]], build: str
) -> pd.DataFrame:
    """The VCF's calls as the table ``Context.genotype`` holds (chrom, pos, id, ref, alt, dosage, build):
    in memory only, for the genetics line's risk alleles; never written."""
    rows = [(c, p, i, ref, alts[0], d) for (c, p), (ref, alts, d, i) in calls.items()]
    df = pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt", "dosage"])
    df["build"] = build
    return df


def score(variants: pd.DataFrame, genotypes: dict) -> dict:
    """Sum of dosage x weight, with the counts of matched and skipped variants."""
    total = 0.0
    counts = {
        "matched": 0,
        "flipped": 0,
        "not_in_vcf": 0,
        "ambiguous": 0,
        "allele_mismatch": 0,
        "missing_genotype": 0,
    }
    for v in variants.itertuples(index=False):
        g = genotypes.get((str(v.chr), int(v.pos)))
        if g is None:
            counts["not_in_vcf"] += 1
            continue
        ref, alts, dosage = g[:3]
        ea, oa = v.effect_allele, v.other_allele
        if {ea, oa} in ({"A", "T"}, {"C", "G"}):
            counts["ambiguous"] += 1
            continue
        alt = alts[0]
        flipped = False
        if not ({ea, oa} <= {ref, alt} or (oa == "" and ea in (ref, alt))):
            ea, oa = ea.translate(COMPLEMENT), oa.translate(COMPLEMENT)
            flipped = True
            if not ({ea, oa} <= {ref, alt} or (oa == "" and ea in (ref, alt))):
                counts["allele_mismatch"] += 1
                continue
        if dosage is None:
            counts["missing_genotype"] += 1
            continue
        total += (dosage if ea == alt else 2.0 - dosage) * float(v.effect_weight)
        counts["matched"] += 1
        counts["flipped"] += int(flipped)
    return {"score": total, "n_variants": len(variants), **counts}


def load(cfg: PgsConfig, context: Context, pseudonym_key: str | None = None) -> Context:
    header, variants = read_scoring_file(cfg.scoring_file)
    build = header["_build"]
    if build not in (cfg.build, "NR", None):
        raise InputError(
            f"{Path(cfg.scoring_file).name}: positions on {build} but the VCF is {cfg.build} (context.pgs.build); "
            "use the scoring file harmonised to the VCF's build"
        )
    if build in ("NR", None):
        raise InputError(
            f"{Path(cfg.scoring_file).name}: genome build not reported; use a PGS Catalog harmonised file (hmPOS) for {cfg.build}"
        )
    calls = read_vcf(cfg.vcf, cfg.sample)
    res = score(variants, calls)
    name = header.get("pgs_id") or Path(cfg.scoring_file).stem
    context.scores[f"pgs:{name}"] = {"trait": header.get("trait_reported"), "build": build, **res}
    context.genotype = genotype_table(calls, cfg.build)
    return context


@hookimpl
def p4core_register_context(register):
    register(
        "pgs",
        load,
        schema=PgsConfig,
        description="polygenic score: PGS Catalog scoring file x VCF",
        check=_check,
    )


def _check(cfg: PgsConfig) -> None:
    input_path(cfg.scoring_file, "context.pgs.scoring_file", "a PGS Catalog scoring file")
    input_path(cfg.vcf, "context.pgs.vcf", "the patient's VCF")
