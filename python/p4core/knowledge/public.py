"""Loaders of the public resources: CollecTRI, OmniPath, LIANA, DrugCentral, GMT gene sets, orthologs."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.knowledge.cache import cached
from p4core.knowledge.tables import dedupe_edges, expand_complexes, read_table, require_columns, signed_edges
from p4core.model import DrugLibrary, Network

log = logging.getLogger("p4core")


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


def read_collectri(path: str | os.PathLike[str], *, use_cache: bool = True) -> Network:
    """CollecTRI TF -> target network (transcriptional edges; AP1 and NFKB expanded)."""
    path = Path(path)
    parse = functools.partial(
        signed_edges, path, "CollecTRI", ",", "weight", "transcriptional", "\0", COLLECTRI_COMPLEXES
    )
    return Network(cached("collectri", [path], {}, parse, use_cache), name="CollecTRI")


def read_omnipath_sif(path: str | os.PathLike[str], *, use_cache: bool = True) -> Network:
    """OmniPath signed directed signalling network (SIF: source, interaction, target)."""
    path = Path(path)
    parse = functools.partial(signed_edges, path, "OmniPath", "\t", "interaction", "signalling", "_")
    return Network(cached("omnipath", [path], {}, parse, use_cache), name="OmniPath")


def read_liana(
    path: str | os.PathLike[str], resource: str = "consensus", *, use_cache: bool = True
) -> Network:
    """Ligand -> receptor pairs of one LIANA resource (multi-subunit receptors expanded)."""
    path = Path(path)

    def parse() -> pd.DataFrame:
        df = read_table(path, "LIANA", sep=",")
        require_columns(df, ["source_genesymbol", "target_genesymbol", "resource"], path, "LIANA")
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
        return dedupe_edges(expand_complexes(df, sep="_"), "LIANA")[0]

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
        t = read_table(targets_path, "DrugCentral drug_target", sep="\t")
        require_columns(
            t, ["DRUG_ID", "DRUG_NAME", "GENE", "ACTION_TYPE"], targets_path, "DrugCentral drug_target"
        )
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
            ind = read_table(d / "drug_indication.tsv", "DrugCentral drug_indication", sep="\t")
            ind = (
                ind[ind["DRUG_ID"].isin(ids)]
                .groupby("DRUG_ID")["INDICATION_FDB"]
                .agg(lambda x: ";".join(dict.fromkeys(v for v in x if v)))
            )
            df["indications"] = df["drug_id"].map(ind).fillna("")
        if (d / "pharm_class.tsv").is_file():
            pc = read_table(d / "pharm_class.tsv", "DrugCentral pharm_class", sep="\t")
            pc = (
                pc[pc["DRUG_ID"].isin(ids) & pc["TYPE"].isin(["EPC", "MoA"])]
                .groupby("DRUG_ID")["CLASS"]
                .agg(lambda x: ";".join(dict.fromkeys(x)))
            )
            df["pharm_class"] = df["drug_id"].map(pc).fillna("")
        if (d / "identifiers.tsv").is_file():
            xi = read_table(d / "identifiers.tsv", "DrugCentral identifiers", sep="\t")
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
    df = read_table(path, "ortholog", sep="\t")
    require_columns(df, ["hgnc_symbol", "mgi_symbol"], path, "ortholog")
    return df[(df["hgnc_symbol"] != "") & (df["mgi_symbol"] != "")][
        ["hgnc_symbol", "mgi_symbol"]
    ].drop_duplicates()
