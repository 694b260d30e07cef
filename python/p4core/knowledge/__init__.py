"""Loaders for public prior knowledge, their composition, and an on-disk cache.

Formats (see ../shared/data/README.md for the reference copies):

* CollecTRI (Müller-Dott et al., NAR 2023): CSV ``source, target, weight`` (+1/-1), TF -> target.
  The complexes ``AP1`` and ``NFKB`` are expanded to their subunits (below).
* OmniPath signed directed SIF (Türei et al., Mol Syst Biol 2021): TSV ``source, interaction, target``;
  complexes joined with ``_``.
* LIANA ligand-receptor resource (Dimitrov et al., Nat Commun 2022): CSV with ``source_genesymbol``
  (ligand), ``target_genesymbol`` (receptor; subunits joined with ``_``) and ``resource``.
* DrugCentral (Ursu et al., NAR 2017): ``drug_target.tsv`` (+ ``drug_indication.tsv``,
  ``pharm_class.tsv``, ``identifiers.tsv`` when present).
* GMT gene sets and a human-mouse ortholog table.

**Complexes act through their subunits.** An edge into a complex reaches each of its n subunits,
and an edge out of a complex leaves from each subunit, each with weight 1/n: perturbing one
subunit perturbs the complex in proportion, and a complex passes on as much as a single protein.
The same rule applies to multi-subunit ligands and receptors and to DrugCentral's multi-component
targets (``IFNAR1|IFNAR2``: the drug acts on each component with strength 1/n).

**Cache.** Parsed tables are kept as Parquet under ``$P4CORE_CACHE_DIR`` (default
``~/.cache/p4core``), keyed by the SHA-256 of the file's bytes, the loader, its version and its
parameters: a changed file or loader misses the cache, and nothing is cached from a failed parse.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.io import atomic_path
from p4core.model import DrugLibrary, Network

log = logging.getLogger("p4core")

LOADER_VERSION = "2"
NET_COLS = ["source", "target", "sign", "weight", "kind", "reference"]

#: CollecTRI's complex names and their subunits (decoupleR documentation of CollecTRI)
COLLECTRI_COMPLEXES = {
    "AP1": ["JUN", "JUNB", "JUND", "FOS", "FOSB", "FOSL1", "FOSL2"],
    "NFKB": ["NFKB1", "NFKB2", "RELA", "RELB", "REL"],
}

#: DrugCentral ACTION_TYPE -> (sign, strength); sign 0 = unclear, kept but not propagated
DRUGCENTRAL_ACTIONS: dict[str, tuple[int, float]] = {
    "INHIBITOR": (-1, 1.0),
    "ANTAGONIST": (-1, 1.0),
    "BLOCKER": (-1, 1.0),
    "ANTIBODY BINDING": (-1, 1.0),
    "NEGATIVE ALLOSTERIC MODULATOR": (-1, 1.0),
    "ALLOSTERIC ANTAGONIST": (-1, 1.0),
    "INVERSE AGONIST": (-1, 1.0),
    "NEGATIVE MODULATOR": (-1, 1.0),
    "GATING INHIBITOR": (-1, 1.0),
    "ANTISENSE INHIBITOR": (-1, 1.0),
    "AGONIST": (1, 1.0),
    "ACTIVATOR": (1, 1.0),
    "POSITIVE ALLOSTERIC MODULATOR": (1, 1.0),
    "POSITIVE MODULATOR": (1, 1.0),
    "OPENER": (1, 1.0),
    "PARTIAL AGONIST": (1, 0.5),
    "MODULATOR": (0, 1.0),
    "SUBSTRATE": (0, 1.0),
    "RELEASING AGENT": (0, 1.0),
    "OTHER": (0, 1.0),
    "": (0, 1.0),
}


# ---------------------------------------------------------------------------------------------
# cache


def cache_dir() -> Path:
    return Path(os.environ.get("P4CORE_CACHE_DIR") or Path.home() / ".cache" / "p4core")


def file_digest(paths: Sequence[Path]) -> str:
    """SHA-256 over the files' names and contents (remembered per file state: a file is read once)."""
    state = tuple(
        (Path(p).name, str(Path(p).resolve()), os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths
    )
    return _digest(state)


@functools.lru_cache(maxsize=64)
def _digest(state: tuple[tuple[str, str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for name, where, _, _ in state:
        h.update(name.encode())
        with open(where, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def cached(
    name: str, paths: Sequence[Path], params: dict, parse: Callable[[], pd.DataFrame], use_cache: bool = True
) -> pd.DataFrame:
    """``parse()`` once per (file contents, loader, params); later calls read the Parquet copy."""
    if not use_cache:
        return parse()
    key = hashlib.sha256(
        json.dumps([name, LOADER_VERSION, file_digest(paths), params], sort_keys=True).encode()
    ).hexdigest()[:24]
    path = cache_dir() / f"{name}-{key}.parquet"
    if path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception:  # a damaged cache entry is rebuilt, never trusted
            log.warning("cache entry %s is unreadable; parsing again", path)
    df = parse()
    try:
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
    except OSError as exc:
        log.warning("could not write the knowledge cache %s: %s", path, exc)
    return df


# ---------------------------------------------------------------------------------------------
# reading


def _read(path: str | os.PathLike[str], what: str, sep: str, **kw) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file not found: {path}")
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, **kw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{what} file {path} is truncated or not valid gzip ({exc}); download it again"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} file {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"{what} file {path} could not be parsed: {exc}") from None
    if df.empty:
        raise InputError(f"{what} file {path} has a header but no rows")
    return df


def _require(df: pd.DataFrame, cols: Sequence[str], path: str | os.PathLike[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path}: missing column(s) {missing}; expected {list(cols)}, "
            f"found {list(df.columns)}"
        )


def _sign_column(values: pd.Series, col: str, path: str | os.PathLike[str], what: str) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce")
    bad = ~num.isin([1, -1])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{what} file {path}: column {col!r} must be 1 or -1; data row {i + 1} has "
            f"{values.iloc[i]!r} ({int(bad.sum())} such rows)"
        )
    return num.to_numpy(dtype=np.int8)


def expand_complexes(
    df: pd.DataFrame, sep: str = "_", mapping: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """Replace complex sources/targets by their subunits, dividing the weight (see module docs)."""
    mapping = mapping or {}

    def parts(name: str) -> list[str]:
        if name in mapping:
            return mapping[name]
        # OmniPath complexes may hold small molecules (CHEBI_<number>) and stoichiometry
        # suffixes (C4B_2): neither is a gene
        tokens = [t for t in name.split(sep) if t]
        return [t for i, t in enumerate(tokens) if t != "CHEBI" and not t.isdigit()]

    src = df["source"].map(parts)
    tgt = df["target"].map(parts)
    n = src.map(len) * tgt.map(len)
    df, src, tgt, n = df[n > 0], src[n > 0], tgt[n > 0], n[n > 0]
    out = df.assign(source=src, target=tgt, weight=df["weight"] / n)
    out = out.explode("source").explode("target")
    return out[out["source"] != out["target"]].reset_index(drop=True)


def _dedupe(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Merge duplicate (source, target) edges; an edge with both signs in one resource is dropped
    and returned as a conflict."""
    signs = df.groupby(["source", "target"])["sign"].nunique()
    conflict_keys = signs[signs > 1].index
    key = pd.MultiIndex.from_frame(df[["source", "target"]])
    conflicts = df[key.isin(conflict_keys)]
    ok = df[~key.isin(conflict_keys)]
    ok = ok.groupby(["source", "target"], as_index=False, sort=False).agg(
        sign=("sign", "first"),
        weight=("weight", "max"),
        kind=("kind", "first"),
        reference=("reference", "first"),
    )
    if len(conflict_keys):
        log.warning("%s: %d edge(s) carry both signs and were dropped", name, len(conflict_keys))
    return ok[NET_COLS], conflicts


def _signed_edges(
    path: Path,
    what: str,
    sep: str,
    sign_col: str,
    kind: str,
    complex_sep: str,
    mapping: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Parse a signed edge list (columns source, target and a +1/-1 column), complexes expanded."""
    df = _read(path, what, sep=sep)
    _require(df, ["source", "target", sign_col], path, what)
    df = pd.DataFrame(
        {
            "source": df["source"].str.strip().str.upper(),
            "target": df["target"].str.strip().str.upper(),
            "sign": _sign_column(df[sign_col], sign_col, path, what),
            "weight": 1.0,
            "kind": kind,
            "reference": what,
        }
    )
    return _dedupe(expand_complexes(df, sep=complex_sep, mapping=mapping), what)[0]


def read_collectri(path: str | os.PathLike[str], *, use_cache: bool = True) -> Network:
    """CollecTRI TF -> target network (transcriptional edges; AP1 and NFKB expanded)."""
    path = Path(path)
    parse = functools.partial(
        _signed_edges, path, "CollecTRI", ",", "weight", "transcriptional", "\0", COLLECTRI_COMPLEXES
    )
    return Network(cached("collectri", [path], {}, parse, use_cache), name="CollecTRI")


def read_omnipath_sif(path: str | os.PathLike[str], *, use_cache: bool = True) -> Network:
    """OmniPath signed directed signalling network (SIF: source, interaction, target)."""
    path = Path(path)
    parse = functools.partial(_signed_edges, path, "OmniPath", "\t", "interaction", "signalling", "_")
    return Network(cached("omnipath", [path], {}, parse, use_cache), name="OmniPath")


def read_liana(
    path: str | os.PathLike[str], resource: str = "consensus", *, use_cache: bool = True
) -> Network:
    """Ligand -> receptor pairs of one LIANA resource (multi-subunit receptors expanded)."""
    path = Path(path)

    def parse() -> pd.DataFrame:
        df = _read(path, "LIANA", sep=",")
        _require(df, ["source_genesymbol", "target_genesymbol", "resource"], path, "LIANA")
        have = sorted(df["resource"].unique())
        if resource not in have:
            raise InputError(
                f"LIANA file {path}: no resource {resource!r} (knowledge.liana_resource); available: {have}"
            )
        df = df[df["resource"] == resource]
        df = pd.DataFrame(
            {
                "source": df["source_genesymbol"].str.strip().str.upper(),
                "target": df["target_genesymbol"].str.strip().str.upper(),
                "sign": np.int8(1),
                "weight": 1.0,
                "kind": "ligand_receptor",
                "reference": f"LIANA:{resource}",
            }
        )
        return _dedupe(expand_complexes(df, sep="_"), "LIANA")[0]

    return Network(
        cached("liana", [path], {"resource": resource}, parse, use_cache), name=f"LIANA {resource}"
    )


def read_drugcentral(directory: str | os.PathLike[str], *, use_cache: bool = True) -> DrugLibrary:
    """DrugCentral mechanism targets with signed actions, indications, classes and identifiers.

    ``sign`` is -1 (inhibitor, antagonist, blocker, antibody binding, negative allosteric
    modulator, inverse agonist), +1 (agonist, activator, positive modulator, opener; partial
    agonists with strength 0.5) or 0 for unclear actions (modulator, substrate, releasing agent,
    none): those rows are kept and reported but not propagated.
    """
    d = Path(directory)
    targets_path = d / "drug_target.tsv"
    if not d.is_dir():
        raise InputError(f"DrugCentral folder not found: {d} (it must hold drug_target.tsv)")
    extras = [d / n for n in ("drug_indication.tsv", "pharm_class.tsv", "identifiers.tsv")]
    present = [p for p in extras if p.is_file()]

    def parse() -> pd.DataFrame:
        t = _read(targets_path, "DrugCentral drug_target", sep="\t")
        _require(t, ["DRUG_ID", "DRUG_NAME", "GENE", "ACTION_TYPE"], targets_path, "DrugCentral drug_target")
        action = t["ACTION_TYPE"].str.strip().str.upper()
        unknown = sorted(set(action) - set(DRUGCENTRAL_ACTIONS))
        if unknown:
            log.warning("DrugCentral: unknown ACTION_TYPE(s) %s kept as unclear (sign 0)", unknown)
        if "SWISSPROT" in t.columns:  # keep human targets (SwissProt entry names end in _HUMAN)
            human = t["SWISSPROT"].str.upper().str.endswith("_HUMAN") | (t["SWISSPROT"] == "")
            if (~human).any():
                log.info(
                    "DrugCentral: %d target rows of other organisms (bacteria, viruses, ...) left out",
                    int((~human).sum()),
                )
            t, action = t[human], action[human]
        sign = action.map(lambda a: DRUGCENTRAL_ACTIONS.get(a, (0, 1.0))[0])
        strength = action.map(lambda a: DRUGCENTRAL_ACTIONS.get(a, (0, 1.0))[1])
        genes = t["GENE"].str.strip().str.upper().str.split("|")
        n = genes.map(lambda g: len([x for x in g if x]))
        df = pd.DataFrame(
            {
                "drug": t["DRUG_NAME"].str.strip().str.lower(),
                "drug_id": t["DRUG_ID"],
                "target": genes,
                "action": action.str.lower().str.replace(" ", "_"),
                "sign": sign.astype(np.int8),
                "strength": strength / n.clip(lower=1),
                "chembl_id": t.get("CHEMBL_ID", ""),
                "target_name": t.get("TARGET_NAME", ""),
            }
        ).explode("target")
        df["target"] = df["target"].fillna("")
        df = df[df["target"] != ""]  # rows without a gene symbol (no HGNC target)
        ids = df["drug_id"].unique()
        if (d / "drug_indication.tsv").is_file():
            ind = _read(d / "drug_indication.tsv", "DrugCentral drug_indication", sep="\t")
            ind = (
                ind[ind["DRUG_ID"].isin(ids)]
                .groupby("DRUG_ID")["INDICATION_FDB"]
                .agg(lambda x: ";".join(dict.fromkeys(v for v in x if v)))
            )
            df["indications"] = df["drug_id"].map(ind).fillna("")
        if (d / "pharm_class.tsv").is_file():
            pc = _read(d / "pharm_class.tsv", "DrugCentral pharm_class", sep="\t")
            pc = (
                pc[pc["DRUG_ID"].isin(ids) & pc["TYPE"].isin(["EPC", "MoA"])]
                .groupby("DRUG_ID")["CLASS"]
                .agg(lambda x: ";".join(dict.fromkeys(x)))
            )
            df["pharm_class"] = df["drug_id"].map(pc).fillna("")
        if (d / "identifiers.tsv").is_file():
            xi = _read(d / "identifiers.tsv", "DrugCentral identifiers", sep="\t")
            xi = xi[xi["DRUG_ID"].isin(ids) & (xi["ID_TYPE"] == "DRUGBANK_ID")]
            db = xi.groupby("DRUG_ID")["IDENTIFIER"].agg(lambda x: ";".join(sorted(set(x))))
            df["drugbank_id"] = df["drug_id"].map(db).fillna("")
        df = df.groupby(["drug", "target", "sign"], as_index=False, sort=False).agg(
            {
                c: ("max" if c == "strength" else "first")
                for c in df.columns
                if c not in ("drug", "target", "sign")
            }
        )
        return df.reset_index(drop=True)

    lib = DrugLibrary(
        cached("drugcentral", [targets_path, *present], {}, parse, use_cache), name="DrugCentral 2016"
    )
    return lib


def read_gmt(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Gene sets from a GMT file: ``name<TAB>description<TAB>gene...`` per line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gene-set file not found: {path}")
    sets: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            fields = line.rstrip("\n\r").split("\t")
            if not line.strip():
                continue
            if len(fields) < 3:
                raise InputError(
                    f"GMT file {path}, line {i}: expected name, description and genes separated by tabs"
                )
            sets[fields[0]] = [g.strip().upper() for g in fields[2:] if g.strip()]
    if not sets:
        raise InputError(f"GMT file {path} has no gene sets")
    return sets


def read_orthologs(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Human-mouse ortholog pairs: columns ``hgnc_symbol`` and ``mgi_symbol`` (many-to-many)."""
    df = _read(path, "ortholog", sep="\t")
    _require(df, ["hgnc_symbol", "mgi_symbol"], path, "ortholog")
    return df[(df["hgnc_symbol"] != "") & (df["mgi_symbol"] != "")][
        ["hgnc_symbol", "mgi_symbol"]
    ].drop_duplicates()


# ---------------------------------------------------------------------------------------------
# composition


def compose_networks(networks: Sequence[Network], name: str = "composed") -> tuple[Network, pd.DataFrame]:
    """Union of networks in priority order.

    An edge present in several resources with the same sign is kept once, its ``reference``
    listing every resource. When resources disagree on the sign, the first network in the list
    wins and the disagreement is returned in the conflict table (source, target, kept, dropped).
    """
    frames = []
    for rank, net in enumerate(networks):
        e = net.edges.copy()
        e["_rank"] = rank
        frames.append(e)
    all_e = pd.concat(frames, ignore_index=True)
    first = all_e.sort_values("_rank", kind="stable").drop_duplicates(["source", "target"], keep="first")
    merged = all_e.merge(first[["source", "target", "sign"]], on=["source", "target"], suffixes=("", "_kept"))
    agree = merged[merged["sign"] == merged["sign_kept"]]
    refs = agree.groupby(["source", "target"], sort=False)["reference"].agg(
        lambda r: ";".join(dict.fromkeys(r))
    )
    disagree = merged[merged["sign"] != merged["sign_kept"]]
    kept_ref = first.set_index(["source", "target"])["reference"].rename("kept_from")
    disagree = disagree.join(kept_ref, on=["source", "target"])
    conflicts = pd.DataFrame(
        {
            "source": disagree["source"],
            "target": disagree["target"],
            "kept_sign": disagree["sign_kept"].astype(int),
            "kept_from": disagree["kept_from"],
            "dropped_sign": disagree["sign"].astype(int),
            "dropped_from": disagree["reference"],
        }
    ).reset_index(drop=True)
    out = first.drop(columns="_rank").set_index(["source", "target"])
    out["reference"] = refs.reindex(out.index).fillna(out["reference"])
    edges = out.reset_index()[NET_COLS]
    if len(conflicts):
        log.info(
            "%s: %d edge(s) with conflicting signs across resources; the first resource's sign is kept",
            name,
            len(conflicts),
        )
    return Network(edges, name=name), conflicts


# ---------------------------------------------------------------------------------------------
# drug-target corrections


CORRECTION_COLUMNS = ("drug", "target", "action", "sign", "strength", "change", "approval", "reference")


def read_corrections(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A corrections table (``#`` comments allowed): drug, target, action, sign (-1/1), strength,
    change (``correct`` | ``add``), approval (year), reference (the citation of the row)."""
    path = Path(path)
    df = _read(path, "drug corrections", sep="\t", comment="#")
    _require(df, CORRECTION_COLUMNS, path, "drug corrections")
    df["drug"] = df["drug"].str.strip().str.lower()
    df["target"] = df["target"].str.strip().str.upper()
    df["sign"] = _sign_column(df["sign"], "sign", path, "drug corrections").astype(np.int8)
    df["strength"] = pd.to_numeric(df["strength"], errors="coerce")
    if df["strength"].isna().any() or (df["strength"] <= 0).any():
        raise InputError(f"drug corrections file {path}: column 'strength' must be positive numbers")
    bad = sorted(set(df["change"]) - {"correct", "add"})
    if bad:
        raise InputError(f"drug corrections file {path}: column 'change' must be correct or add, got {bad}")
    if (df["reference"].str.strip() == "").any():
        i = int(np.flatnonzero((df["reference"].str.strip() == "").to_numpy())[0])
        raise InputError(
            f"drug corrections file {path}: data row {i + 1} has no reference (one citation per row)"
        )
    return df[list(CORRECTION_COLUMNS)].reset_index(drop=True)


def apply_corrections(drugs: DrugLibrary, corrections: pd.DataFrame) -> tuple[DrugLibrary, pd.DataFrame]:
    """The library with the corrections applied, and what each row did (``status``, ``was``).

    ``correct`` replaces the sign, action and strength of the drug's row for the target (and adds the
    row when the drug has other targets but not this one); ``add`` adds a drug the library lacks
    (a drug already there is left as it is, and the row says so). Annotation columns of an added
    drug are empty but ``approval`` and ``correction`` (the citation)."""
    t = drugs.targets.copy()
    for col in ("correction", "approval"):
        if col not in t.columns:
            t[col] = ""
    have = set(t["drug"])
    added_drugs = {d for d, ch in zip(corrections["drug"], corrections["change"], strict=True) if ch == "add"}
    status, was = [], []
    new_rows = []
    for row in corrections.itertuples(index=False):
        at = (t["drug"] == row.drug) & (t["target"] == row.target)
        if row.change == "add" and row.drug in have:
            status.append("not added: the library already has this drug")
            was.append("")
            continue
        if row.change == "correct" and row.drug not in have:
            status.append("not applied: the drug is not in the library")
            was.append("")
            continue
        if at.any():
            old = t.loc[at].iloc[0]
            was.append(f"{old['action']} (sign {int(old['sign'])}, strength {float(old['strength']):g})")
            t.loc[at, ["action", "sign", "strength", "correction"]] = [
                str(row.action).replace(" ", "_"),
                int(row.sign),
                float(row.strength),
                str(row.reference),
            ]
            status.append("corrected")
            continue
        base = t[t["drug"] == row.drug]
        extra = {c: (base[c].iloc[0] if len(base) else "") for c in t.columns}
        extra.update(
            drug=row.drug,
            target=row.target,
            action=str(row.action).replace(" ", "_"),
            sign=int(row.sign),
            strength=float(row.strength),
            correction=str(row.reference),
        )
        if row.drug in added_drugs:
            extra["approval"] = str(row.approval)
        new_rows.append(extra)
        was.append("")
        status.append("added (new drug)" if row.drug in added_drugs else "added (target the drug lacked)")
    if new_rows:
        t = pd.concat([t, pd.DataFrame(new_rows)], ignore_index=True)
    for c in t.columns:  # annotation columns of added drugs: empty, not NaN
        if t[c].dtype == object:
            t[c] = t[c].fillna("")
    t["sign"] = t["sign"].astype(np.int8)
    applied = corrections.assign(status=status, was=was)
    return DrugLibrary(t, name=drugs.name + " + p4core corrections"), applied
