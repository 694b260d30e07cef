"""How related two diseases are, from inputs only: the ontology, inherited risk and expression.

Never from drug-disease labels or literature co-occurrence, which would encode the answer the
precedent line is judged on. Each component is in [0, 1]; the similarity is their mean over the
components that can be computed for the pair (a missing GWAS or signature leaves its component out):

* **ontology**: 1 when both diseases are in the same class of the Disease Ontology (``category``:
  immunologic, neoplastic, metabolic, ...; the class ``unspecific`` says nothing shared) or share an
  ICD-10 category (the first three characters of a cross-referenced code), else 0;
* **genetics**: the cosine of the two diseases' GWAS gene sets (genes of confident loci), divided by the 99th percentile of
  that cosine over all pairs of diseases of the GWAS table (so 1 = as related as the most related
  1% of pairs), capped at 1;
* **signature**: the Pearson correlation of the two disease signatures over the union of their genes
  (a gene missing from one counts 0), clipped at 0 (benchmark only: a patient run has no disease
  signatures of other diseases).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.model import DiseaseKnowledge

UNSHARED_CATEGORIES = {"", "unspecific", "nan", "none"}


def _icd_categories(dk: DiseaseKnowledge) -> dict[str, set[str]]:
    """Per disease, the ICD-10 categories of the codes of every term it subsumes."""
    sub = dk.subsumes[["slim", "doid"]]
    x = dk.xrefs.merge(sub, on="doid", how="inner")
    direct = dk.xrefs.rename(columns={"doid": "slim"})
    allx = pd.concat([x[["slim", "code"]], direct[["slim", "code"]]])
    return {d: {c[:3] for c in g["code"]} for d, g in allx.groupby("slim")}


def ontology_similarity(doid: str, others: Sequence[str], dk: DiseaseKnowledge) -> np.ndarray:
    cat = dict(zip(dk.diseases["doid"], dk.diseases["category"].astype(str).str.lower(), strict=True))
    icd = _icd_categories(dk)
    mine, my_icd = cat.get(doid, ""), icd.get(doid, set())
    out = np.zeros(len(others))
    for i, o in enumerate(others):
        same = mine not in UNSHARED_CATEGORIES and cat.get(o, "") == mine
        out[i] = 1.0 if same or (my_icd & icd.get(o, set())) else 0.0
    return out


def genetic_similarity(doid: str, others: Sequence[str], dk: DiseaseKnowledge) -> np.ndarray:
    """Scaled cosine of GWAS gene sets (NaN where either disease has no GWAS genes)."""
    out = np.full(len(others), np.nan)
    if dk.gwas_genes is None:
        return out
    g = dk.gwas_genes.loc[dk.gwas_genes["confident"], ["doid", "gene"]].drop_duplicates()
    diseases = sorted(set(g["doid"]))
    if doid not in diseases or len(diseases) < 2:
        return out
    di = {d: i for i, d in enumerate(diseases)}
    genes = {x: i for i, x in enumerate(sorted(set(g["gene"])))}
    b = sp.csr_array(
        (np.ones(len(g)), (g["doid"].map(di).to_numpy(), g["gene"].map(genes).to_numpy())),
        shape=(len(diseases), len(genes)),
    )
    n = np.asarray(b.sum(axis=1)).ravel()
    inter = (b @ b.T).toarray()
    cos = inter / np.sqrt(np.outer(n, n))
    pairs = cos[np.triu_indices(len(diseases), 1)]
    scale = float(np.quantile(pairs, 0.99)) if len(pairs) else 0.0
    if scale <= 0:
        scale = 1.0
    row = cos[di[doid]]
    for i, o in enumerate(others):
        if o in di:
            out[i] = min(1.0, row[di[o]] / scale)
    return out


def signature_similarity(
    doid: str, others: Sequence[str], signatures: dict[str, pd.Series] | None
) -> np.ndarray:
    """Pearson correlation over the union of genes (missing = 0), clipped at 0 (NaN: no signature)."""
    out = np.full(len(others), np.nan)
    if not signatures or doid not in signatures:
        return out
    mine = signatures[doid]
    for i, o in enumerate(others):
        if o not in signatures:
            continue
        x = pd.concat([mine, signatures[o]], axis=1, join="outer").fillna(0.0).to_numpy(dtype=float)
        if len(x) < 3 or x[:, 0].std() == 0 or x[:, 1].std() == 0:
            out[i] = 0.0
            continue
        out[i] = max(0.0, float(np.corrcoef(x[:, 0], x[:, 1])[0, 1]))
    return out


def disease_similarity(
    doid: str,
    others: Sequence[str],
    dk: DiseaseKnowledge,
    signatures: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """One row per other disease: ``ontology``, ``genetics``, ``signature`` (NaN: not computable) and
    ``similarity``, their mean over the computable ones."""
    others = list(others)
    df = pd.DataFrame(
        {
            "ontology": ontology_similarity(doid, others, dk),
            "genetics": genetic_similarity(doid, others, dk),
            "signature": signature_similarity(doid, others, signatures),
        },
        index=pd.Index(others, name="doid"),
    )
    df["similarity"] = df[["ontology", "genetics", "signature"]].mean(axis=1, skipna=True).fillna(0.0)
    return df
