"""Which cell types make the twin, and what may mislead in them.

* ``twin.exclude_celltypes``: cell types the user leaves out (e.g. a contaminant);
* a cell state found only in the disease (no reference cells: plasmablasts, proliferating cells) is
  compared with the reference cell type its cells resemble most (``twin.unmatched=closest``: the highest
  correlation of mean log-expression over the genes both express) instead of being skipped; the match is
  logged and kept in the twin's parameters (``reference_of``);
* likely contaminants and doublet-like clusters are flagged from lineage markers, specific to the cell type
  (at least twice the median share of the other cell types): platelets (two of PPBP, PF4, GP9, ITGA2B in most
  cells), erythrocytes (two of HBB, HBA1, HBA2, ALAS2), doublet-like (two markers of each of two distinct
  lineages — T: CD3E, CD3D; B: MS4A1, CD79A; myeloid: LYZ, CD14 — in most of the cells), and composition changes (a cell type's share of the disease cells against its share of
  the reference cells) are measured: both in ``celltypes.csv`` and the report, with the exclusion to use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.model import CELL_TYPE, CONDITION, DISEASE, Patient

log = logging.getLogger("p4core")

#: lineage markers (HGNC) of contaminants and of the lineages whose co-expression marks a doublet
CONTAMINANTS = {
    "platelets": ("PPBP", "PF4", "GP9", "ITGA2B"),
    "erythrocytes": ("HBB", "HBA1", "HBA2", "ALAS2"),
}
#: lineages with markers no other lineage carries (NK cells share their cytotoxic genes with CD8 T cells)
LINEAGES = {
    "T cell": ("CD3E", "CD3D"),
    "B cell": ("MS4A1", "CD79A"),
    "myeloid": ("LYZ", "CD14"),
}
#: a cell expresses a lineage when it detects any of its markers; a lineage is present in a cell type when
#: at least this share of its cells express it and at least SPECIFIC times the median share of the other
#: cell types (markers every cell type detects, as in simulated data, mark no one)
PRESENT = 0.5
SPECIFIC = 2.0


@dataclass
class Selection:
    """The twin's cell types: for each, its disease cells and the reference cells it is compared with."""

    celltypes: list[str]
    reference_of: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def reference(self, ct: str) -> str:
        return self.reference_of.get(ct, ct)


def select_celltypes(patient: Patient, min_cells: int, exclude: list[str], unmatched: str) -> Selection:
    """The cell types with ``min_cells`` cells on both sides (disease-only ones matched to their closest
    reference type when ``unmatched=closest``), less ``exclude``; the others are skipped with a warning."""
    obs = patient.adata.obs
    known = set(obs[CELL_TYPE].astype(str))
    unknown = sorted(set(exclude) - known)
    if unknown:
        raise InputError(
            f"twin.exclude_celltypes: {unknown} not among the patient's cell types; they are {sorted(known)}"
        )
    counts = pd.crosstab(obs[CELL_TYPE].astype(str), obs[CONDITION])
    for col in ("reference", DISEASE):
        if col not in counts:
            counts[col] = 0
    sel = Selection(celltypes=[], excluded=sorted(set(exclude)))
    refs = [
        str(ct) for ct, row in counts.iterrows() if row["reference"] >= min_cells and str(ct) not in exclude
    ]
    dropped = []
    for ct, row in counts.iterrows():
        ct = str(ct)
        if ct in exclude:
            continue
        if row["reference"] >= min_cells and row[DISEASE] >= min_cells:
            sel.celltypes.append(ct)
        elif row[DISEASE] >= min_cells and unmatched == "closest" and refs:
            match, r = closest_reference(patient, ct, refs)
            sel.celltypes.append(ct)
            sel.reference_of[ct] = match
            log.warning(
                "cell type %s has %d disease and %d reference cells: compared with the reference cells of %s, "
                "which its cells resemble most (r = %.2f; twin.unmatched=skip leaves it out)",
                ct, int(row[DISEASE]), int(row["reference"]), match, r,
            )  # fmt: skip
        else:
            dropped.append(f"{ct} ({row['reference']} reference, {row[DISEASE]} disease cells)")
            sel.skipped.append(ct)
    if dropped:
        log.warning(
            "skipping %d cell type(s) with fewer than twin.min_cells=%d cells in a condition: %s",
            len(dropped),
            min_cells,
            "; ".join(dropped),
        )
    if sel.excluded:
        log.info("cell types excluded (twin.exclude_celltypes): %s", ", ".join(sel.excluded))
    if not sel.celltypes:
        raise InputError(
            f"no cell type has at least twin.min_cells={min_cells} cells in both conditions "
            f"(counts: {counts.to_dict('index')}); lower twin.min_cells or check data.cell_type_key"
        )
    return sel


def _mean_log(x: sp.csr_array, rows: np.ndarray, library: np.ndarray) -> np.ndarray:
    """log1p of the mean expression (counts per 10,000) of ``rows``."""
    scale = 1e4 / np.where(library[rows] > 0, library[rows], 1.0)
    return np.log1p(np.asarray((sp.diags(scale) @ x[rows]).mean(axis=0)).ravel())


def closest_reference(patient: Patient, ct: str, references: list[str]) -> tuple[str, float]:
    """The reference cell type whose reference cells' mean log-expression correlates best with the disease
    cells of ``ct`` (over the genes detected in either), and the correlation."""
    a = patient.adata
    x = sp.csr_array(a.X)
    library = np.asarray(x.sum(axis=1)).ravel().astype(float)
    obs = a.obs
    cts = obs[CELL_TYPE].astype(str).to_numpy()
    dis = obs[CONDITION].to_numpy() == DISEASE
    mine = _mean_log(x, np.flatnonzero((cts == ct) & dis), library)
    best, best_r = references[0], -np.inf
    for ref in references:
        other = _mean_log(x, np.flatnonzero((cts == ref) & ~dis), library)
        use = (mine > 0) | (other > 0)
        r = float(np.corrcoef(mine[use], other[use])[0, 1]) if use.sum() > 2 else -np.inf
        if r > best_r:
            best, best_r = ref, r
    return best, best_r


def celltype_checks(patient: Patient, celltypes: list[str]) -> pd.DataFrame:
    """Per cell type: its share of the disease cells and of the reference cells (``composition_fold``:
    disease over reference share), and ``flag``: a likely contaminant (platelets, erythrocytes: two of their
    markers in most cells) or doublet-like (two lineages each in most cells), specific to the cell type (at
    least ``SPECIFIC`` times the median share of the other cell types), in words; the log names the
    exclusion to use (``twin.exclude_celltypes=[...]``)."""
    a = patient.adata
    obs = a.obs
    cts = obs[CELL_TYPE].astype(str).to_numpy()
    dis = obs[CONDITION].to_numpy() == DISEASE
    genes = pd.Index(a.var_names.astype(str).str.upper())
    x = sp.csr_array(a.X)
    all_types = sorted(set(cts))
    markers = {**CONTAMINANTS, **LINEAGES}
    frac = pd.DataFrame(0.0, index=all_types, columns=list(markers))
    for name, m in markers.items():
        cols = np.flatnonzero(genes.isin(m))
        need = 2  # a platelet detects PPBP and PF4 together, a T cell CD3E and CD3D (one alone: ambient RNA)
        if len(cols) >= need:
            hit = np.asarray((x[:, cols] > 0).sum(axis=1)).ravel() >= need
            frac[name] = pd.Series(hit).groupby(cts).mean().reindex(all_types).fillna(0.0).to_numpy()

    def present(ct: str, name: str) -> bool:
        others = frac.loc[[c for c in all_types if c != ct], name]
        base = float(others.median()) if len(others) else 0.0
        return bool(frac.loc[ct, name] >= PRESENT and frac.loc[ct, name] >= SPECIFIC * base)

    rows: list[dict[str, Any]] = []
    n_dis, n_ref = max(1, int(dis.sum())), max(1, int((~dis).sum()))
    for ct in celltypes:
        at = cts == ct
        share_d, share_r = (at & dis).sum() / n_dis, (at & ~dis).sum() / n_ref
        flags = [
            f"likely {name} (their markers in {100 * frac.loc[ct, name]:.0f}% of its cells)"
            for name in CONTAMINANTS
            if present(ct, name)
        ]
        lineages = [name for name in LINEAGES if present(ct, name)]
        if len(lineages) >= 2:
            flags.append(f"doublet-like ({' and '.join(lineages)} markers each in most of its cells)")
        rows.append(
            {
                "celltype": ct,
                "share_disease": round(float(share_d), 4),
                "share_reference": round(float(share_r), 4),
                "composition_fold": round(float(share_d / share_r), 3) if share_r > 0 else np.inf,
                "flag": "; ".join(flags),
            }
        )
    out = pd.DataFrame(rows)
    for r in out.itertuples():
        if r.flag:
            log.warning(
                "cell type %s: %s; leave it out with twin.exclude_celltypes=[%s]",
                r.celltype,
                r.flag,
                r.celltype,
            )
    return out
