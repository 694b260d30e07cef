"""Signature programmes per cell type: what tells the patients of a cohort apart."""

from __future__ import annotations

import os
from importlib import resources

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.model import CELL_TYPE, CONDITION, DISEASE, Patient

#: programme names as shown (the Hallmark set names without their prefix, lower case)
PREFIX = "HALLMARK_"


def read_programmes(path: str | os.PathLike[str] | None = None) -> dict[str, list[str]]:
    """Gene sets (GMT): ``path``, or the ten MSigDB Hallmark sets p4core ships (``p4core/data/programmes.gmt``:
    interferon alpha and gamma responses, inflammatory response, TNF-alpha via NF-kB, IL-6/JAK/STAT3,
    IL-2/STAT5, E2F targets, G2M checkpoint, hypoxia, complement; Liberzon et al. 2015, CC BY 4.0)."""
    if path is None:
        text = (resources.files("p4core") / "data" / "programmes.gmt").read_text(encoding="utf-8")
    else:
        try:
            text = open(path, encoding="utf-8").read()
        except OSError as exc:
            raise InputError(f"programme gene sets {path}: {exc.strerror or exc}") from None
    sets: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3:
            name = fields[0].removeprefix(PREFIX).lower()
            sets[name] = [g.strip().upper() for g in fields[2:] if g.strip()]
    if not sets:
        raise InputError(
            f"programme gene sets {path or 'programmes.gmt'}: no gene set (GMT: name, description, genes)"
        )
    return sets


def programme_scores(
    patient: Patient, programmes: dict[str, list[str]], celltypes: list[str] | None = None, min_genes: int = 5
) -> pd.DataFrame:
    """Per cell type and programme: the mean log2 fold change, patient against reference, of the programme's
    genes (pseudo-bulk CPM + 1 of each side, over every gene the panel measures; not only the network's) and
    how many genes it rests on. Only ``celltypes`` (those of the twin: enough cells on both sides; None:
    every cell type with cells on both sides); programmes with fewer than ``min_genes`` measured genes are
    left out. Columns: celltype, programme, score, n_genes."""
    a = patient.adata
    genes = pd.Index(a.var_names.astype(str).str.upper())
    cols = {name: np.flatnonzero(genes.isin(set(gs))) for name, gs in programmes.items()}
    cols = {k: v for k, v in cols.items() if len(v) >= min_genes}
    if not cols:
        return pd.DataFrame(columns=["celltype", "programme", "score", "n_genes"])
    used = np.unique(np.concatenate(list(cols.values())))
    pos = {g: i for i, g in enumerate(used)}
    x = sp.csr_array(a.X)
    library = np.asarray(x.sum(axis=1)).ravel().astype(float)
    sub = x[:, used]
    obs = a.obs
    rows = []
    for ct in sorted(celltypes if celltypes is not None else obs[CELL_TYPE].astype(str).unique()):
        at = (obs[CELL_TYPE].astype(str) == ct).to_numpy()
        dis = at & (obs[CONDITION].to_numpy() == DISEASE)
        ref = at & ~(obs[CONDITION].to_numpy() == DISEASE)
        if not dis.any() or not ref.any():
            continue
        cpm = []
        for m in (dis, ref):
            total = library[m].sum()
            cpm.append(
                np.asarray(sub[np.flatnonzero(m)].sum(axis=0)).ravel() / (total if total > 0 else 1.0) * 1e6
            )
        lfc = np.log2(cpm[0] + 1.0) - np.log2(cpm[1] + 1.0)
        for name, idx in cols.items():
            rows.append((ct, name, float(lfc[[pos[g] for g in idx]].mean()), len(idx)))
    return pd.DataFrame(rows, columns=["celltype", "programme", "score", "n_genes"])
