"""Built-in knowledge and deterministic demo patients.

The demo patients mirror published cases (docs/design.md, "What it serves"). Each is simulated from *biology*: a
disease programme (a few driver genes switched on in chosen cell types) spreads through the
curated network (inside cell types and from ligands to receptors across them) with its own
random edge strengths and a saturating update, and shifts the negative-binomial expression of
every gene it reaches. Nothing in the generator knows about drugs: which drugs reverse the
disease must emerge from the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.clinical.privacy import pseudonymise
from p4core.errors import InputError
from p4core.io import read_drugs_tsv, read_network_tsv
from p4core.model import (
    CELL_TYPE,
    CONDITION,
    DISEASE,
    REFERENCE,
    SAMPLE,
    Context,
    DiseaseKnowledge,
    DrugLibrary,
    Knowledge,
    Patient,
)


def _data_file(name: str):  # noqa: ANN202 - importlib Traversable
    return resources.files("p4core") / "data" / name


def curated_knowledge() -> Knowledge:
    """The embedded default knowledge: a curated signed network and a library of approved drugs.

    Sources and licences are in the header of ``p4core/data/network.tsv`` and ``drugs.tsv``.
    """
    with (
        resources.as_file(_data_file("network.tsv")) as net,
        resources.as_file(_data_file("drugs.tsv")) as drg,
    ):
        network = read_network_tsv(net, name="p4core-curated-network")
        drugs = read_drugs_tsv(drg, name="p4core-curated-drugs")
    return Knowledge(
        network,
        drugs,
        provenance=[
            "p4core curated network (KEGG/Reactome pathway facts, OmniPath/CollecTRI, cited per edge)",
            "p4core curated drug library (DrugCentral 2016, FDA/EMA labels, IUPHAR/BPS; ATC from WHO)",
        ],
        diseases=builtin_diseases(drugs),
    )


def builtin_diseases(drugs: DrugLibrary) -> DiseaseKnowledge:
    """The built-in disease knowledge: a subset of the Disease Ontology and of the GWAS Catalog's
    confident associations (``p4core/data/diseases``, written by ``tools/make_builtin_diseases.py``),
    with the library's own indication labels resolved by name."""
    from p4core.knowledge.diseases import label_map, load_disease_knowledge

    with resources.as_file(_data_file("diseases")) as folder:
        return load_disease_knowledge(
            folder / "ontology",
            genetics=folder / "genetics",
            drugs=drugs,
            label_map=label_map(),
            use_cache=False,
            provenance=[
                "Disease Ontology 2016 subset (Schriml et al., NAR 2019; CC BY 3.0; dhimmel/disease-ontology)",
                "GWAS Catalog confident associations, 2015 (NHGRI-EBI; CC BY 4.0; dhimmel/gwas-catalog)",
                "Indications: the curated library's label indications, resolved to Disease Ontology terms",
            ],
        )


# Housekeeping genes: real genes outside the network that give cells a realistic library size.
HOUSEKEEPING = [
    "ACTB",
    "GAPDH",
    "B2M",
    "EEF1A1",
    "TPT1",
    "FTL",
    "FTH1",
    "TMSB4X",
    "RPLP0",
    "RPL13A",
    "RPS18",
    "RPS27A",
    "MALAT1",
    "PPIA",
    "UBC",
    "HSP90AB1",
    "YWHAZ",
    "PGK1",
    "TUBA1B",
    "CFL1",
    "MYL6",
    "LDHA",
    "ENO1",
    "HNRNPA1",
]


@dataclass(frozen=True)
class Preset:
    """A demo patient: cell types, where restricted genes are expressed, and the disease drivers."""

    name: str
    tissue: str
    celltypes: tuple[str, ...]
    restricted: dict[str, tuple[str, ...]]
    drivers: tuple[tuple[str, str, float], ...]  # (cell type, gene, strength)
    context: dict = field(default_factory=dict)
    #: the patient's diagnosis (a Disease Ontology name); None: none the ontology names (DRESS)
    diagnosis: str | None = None


_T = ("CD4 T cells", "CD8 T cells")
_MYELOID = ("macrophages",)

_COMMON_RESTRICTED: dict[str, tuple[str, ...]] = {
    # lineage-restricted receptors and ligands (expression facts, e.g. Human Protein Atlas single-cell)
    "CD3E": _T,
    "CD4": ("CD4 T cells", "macrophages"),
    "CD8A": ("CD8 T cells",),
    "ZAP70": _T,
    "LCK": _T,
    "CD28": _T,
    "CTLA4": ("CD4 T cells",),
    "PDCD1": _T,
    "IL2": ("CD4 T cells",),
    "IL2RA": _T,
    "IL17A": ("CD4 T cells",),
    "IL17F": ("CD4 T cells",),
    "RORC": ("CD4 T cells",),
    "IL23R": _T,
    "IFNG": _T,
    "GZMB": ("CD8 T cells",),
    "IL7R": _T,
    "MS4A1": ("B cells",),
    "CD19": ("B cells",),
    "BTK": ("B cells", "macrophages", "dendritic cells"),
    "TNFRSF13C": ("B cells",),
    "CD14": _MYELOID + ("dendritic cells",),
    "CD68": _MYELOID,
    "CSF1R": _MYELOID,
    "CD80": _MYELOID + ("dendritic cells",),
    "CD86": _MYELOID + ("dendritic cells", "B cells"),
    "IL23A": _MYELOID + ("dendritic cells",),
    "IL12B": _MYELOID + ("dendritic cells",),
    "TLR7": ("dendritic cells", "B cells", "macrophages"),
    "TLR9": ("dendritic cells", "B cells"),
    "TNF": _MYELOID + _T,
    "IL1B": _MYELOID + ("dendritic cells",),
    "PECAM1": ("endothelial cells",),
    "VWF": ("endothelial cells",),
    "KDR": ("endothelial cells",),
    "VCAM1": ("endothelial cells", "synovial fibroblasts", "fibroblasts"),
    "COL1A1": ("synovial fibroblasts", "fibroblasts"),
    "PDGFRB": ("synovial fibroblasts", "fibroblasts"),
    "MMP1": ("synovial fibroblasts", "fibroblasts"),
    "MMP3": ("synovial fibroblasts", "fibroblasts"),
    "KRT5": ("keratinocytes", "tumour cells"),
    "KRT14": ("keratinocytes",),
    "EGFR": ("keratinocytes", "tumour cells", "fibroblasts"),
    "CD274": ("tumour cells", "macrophages", "dendritic cells"),
}

PRESETS: dict[str, Preset] = {
    "arthritis": Preset(
        name="arthritis",
        tissue="synovium (knee)",
        celltypes=(
            "synovial fibroblasts",
            "macrophages",
            "CD4 T cells",
            "CD8 T cells",
            "B cells",
            "endothelial cells",
        ),
        restricted=_COMMON_RESTRICTED,
        # TNF and IL-6 programmes (Firestein & McInnes, Immunity 2017): macrophages and T cells
        # make TNF, fibroblasts and macrophages make IL-6, which signals through JAK-STAT3.
        drivers=(
            ("macrophages", "TNF", 1.6),
            ("CD4 T cells", "TNF", 0.8),
            ("macrophages", "IL6", 1.0),
            ("synovial fibroblasts", "IL6", 1.2),
            ("macrophages", "IL1B", 0.8),
        ),
        diagnosis="rheumatoid arthritis",
        context={
            "age": 54,
            "sex": "female",
            "conditions": ["M05.79"],
            "medications": ["L04AX03"],
            "events": [
                {"time": -60.0, "kind": "diagnosis", "label": "diagnosis: seropositive RA (M05.79)"},
                {"time": -60.0, "kind": "treatment_start", "label": "methotrexate (L04AX03)"},
                {"time": -10.0, "kind": "imaging", "label": "ultrasound: synovitis, both wrists"},
            ],
        },
    ),
    "dress": Preset(
        name="dress",
        tissue="skin",
        celltypes=(
            "keratinocytes",
            "CD4 T cells",
            "CD8 T cells",
            "macrophages",
            "dendritic cells",
            "fibroblasts",
        ),
        restricted=_COMMON_RESTRICTED,
        # DRESS: JAK-STAT activation in skin T cells (Kim et al., Nat Med 2020).
        drivers=(
            ("CD4 T cells", "JAK1", 1.2),
            ("CD8 T cells", "JAK1", 1.2),
            ("CD4 T cells", "STAT3", 0.8),
            ("CD8 T cells", "STAT1", 0.8),
            ("CD8 T cells", "IFNG", 0.6),
        ),
        context={"age": 41, "sex": "male", "conditions": ["L27.0"], "medications": ["N03AF01"]},
    ),
    "bladder": Preset(
        name="bladder",
        tissue="urinary bladder tumour",
        celltypes=(
            "tumour cells",
            "CD8 T cells",
            "CD4 T cells",
            "macrophages",
            "fibroblasts",
            "endothelial cells",
        ),
        restricted=_COMMON_RESTRICTED,
        # Surviving tumour cells up-regulate PD-L1 (CD274); PD-1 engagement damps T-cell activation.
        drivers=(
            ("tumour cells", "CD274", 1.8),
            ("macrophages", "CD274", 0.6),
            ("CD8 T cells", "PDCD1", 0.8),
            ("tumour cells", "MYC", 0.4),
        ),
        diagnosis="urinary bladder cancer",
        context={"age": 67, "sex": "male", "conditions": ["C67.9"], "medications": ["L01XA02"]},
    ),
}


def _programme(
    genes: list[str],
    celltypes: tuple[str, ...],
    expressed: np.ndarray,
    knowledge: Knowledge,
    drivers: tuple[tuple[str, str, float], ...],
    rng: np.random.Generator,
    n_iter: int = 12,
) -> np.ndarray:
    """Spread the drivers through the multicellular network: returns z (C x G) in (-1, 1)."""
    gi = {g: i for i, g in enumerate(genes)}
    ci = {c: i for i, c in enumerate(celltypes)}
    e = knowledge.network.edges
    src = e["source"].map(gi).to_numpy()
    tgt = e["target"].map(gi).to_numpy()
    sign = e["sign"].to_numpy(float)
    strength = rng.uniform(0.5, 1.5, size=len(e))
    lr = (e["kind"] == "ligand_receptor").to_numpy()
    n_c, n_g = len(celltypes), len(genes)
    rows, cols, vals = [], [], []
    for c in range(n_c):
        m = ~lr & expressed[c, src] & expressed[c, tgt]
        rows += list(c * n_g + tgt[m])
        cols += list(c * n_g + src[m])
        vals += list(sign[m] * strength[m])
        for c2 in range(n_c):
            m = lr & expressed[c, src] & expressed[c2, tgt]
            rows += list(c2 * n_g + tgt[m])
            cols += list(c * n_g + src[m])
            vals += list(sign[m] * strength[m])
    n = n_c * n_g
    w = sp.csr_array((vals, (rows, cols)), shape=(n, n))
    indeg = np.asarray(abs(w).sum(axis=1)).ravel()
    w = sp.diags_array(1.0 / np.maximum(indeg, 1.0)) @ w  # each gene averages its regulators
    b = np.zeros(n)
    for ct, g, s in drivers:
        if ct in ci and g in gi:
            b[ci[ct] * n_g + gi[g]] += s
    z = np.zeros(n)
    for _ in range(n_iter):
        z = np.tanh(1.5 * (w @ z) + b)
    return z.reshape(n_c, n_g)


def _baseline(
    pr: Preset, knowledge: Knowledge, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The genes (the knowledge's and housekeeping ones), their baseline log-mean expression per cell type
    (lineage-restricted genes off outside their lineages) and which are expressed."""
    net_genes = sorted(set(knowledge.network.genes) | set(knowledge.drugs.targets["target"]))
    genes = net_genes + [g for g in HOUSEKEEPING if g not in set(net_genes)]
    n_c, n_g = len(pr.celltypes), len(genes)
    mu = rng.normal(-0.7, 0.9, size=(n_c, n_g))
    hk = np.isin(genes, HOUSEKEEPING)
    mu[:, hk] = rng.normal(3.0, 0.5, size=(n_c, hk.sum()))
    for g, cts in pr.restricted.items():
        if g in genes:
            j = genes.index(g)
            for c, ct in enumerate(pr.celltypes):
                mu[c, j] = rng.normal(0.8, 0.4) if ct in cts else -5.0
    return genes, mu, mu > -2.0


def demo_patient(
    preset: str = "arthritis",
    n_cells: int = 150,
    seed: int = 0,
    effect: float = 1.5,
    knowledge: Knowledge | None = None,
    pseudonym_key: str | None = None,
    diagnosis: str | None = None,
) -> Patient:
    """Simulate a demo patient: single-cell counts of reference and disease tissue.

    Parameters
    ----------
    preset
        ``arthritis``, ``dress`` or ``bladder``.
    n_cells
        Cells per cell type and condition.
    seed
        Random seed: the same seed gives the same counts.
    effect
        Natural-log fold change of a gene fully switched on by the disease programme.
    diagnosis
        The diagnosis (default: the preset's; see :class:`Preset`).
    """
    if preset not in PRESETS:
        raise InputError(f"data.preset: unknown demo preset {preset!r}; choose one of {sorted(PRESETS)}")
    if n_cells < 2:
        raise InputError(f"data.n_cells must be >= 2, got {n_cells}")
    pr = PRESETS[preset]
    knowledge = knowledge or curated_knowledge()
    rng = np.random.default_rng([seed, sum(map(ord, preset))])
    genes, mu, expressed = _baseline(pr, knowledge, rng)
    z = _programme(genes, pr.celltypes, expressed, knowledge, pr.drivers, rng)
    mu_dis = mu + effect * z

    blocks, obs = [], []
    for cond, m in ((REFERENCE, mu), (DISEASE, mu_dis)):
        for c, ct in enumerate(pr.celltypes):
            lib = rng.lognormal(0.0, 0.3, size=n_cells)
            mean = lib[:, None] * np.exp(m[c])[None, :]
            theta = 4.0
            lam = rng.gamma(theta, mean / theta)
            blocks.append(rng.poisson(lam).astype(np.float32))
            obs += [(ct, cond, f"{pr.name}-{cond}")] * n_cells
    x = sp.csr_matrix(np.vstack(blocks))
    obs_df = pd.DataFrame(obs, columns=[CELL_TYPE, CONDITION, SAMPLE])
    obs_df.index = [f"cell{i}" for i in range(len(obs_df))]
    adata = ad.AnnData(X=x, obs=obs_df, var=pd.DataFrame(index=pd.Index(genes, name="gene")))
    adata.uns["p4core_source"] = {"format": "demo", "preset": preset, "seed": seed, "tissue": pr.tissue}
    ctx = Context(
        pseudonym=pseudonymise(f"demo-{preset}-{seed}", pseudonym_key),
        **pr.context,
        extra={"tissue": pr.tissue},
    )
    return Patient(
        adata,
        ctx,
        description=f"demo patient ({preset}, simulated, seed {seed})",
        diagnosis=diagnosis if diagnosis is not None else pr.diagnosis,
    )


#: the demo cohort's patients: the same synovium, a disease driven by a different pathway in each
COHORT_DRIVERS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "P1": (("CD4 T cells", "JAK1", 1.2), ("CD8 T cells", "JAK1", 1.2), ("CD8 T cells", "STAT1", 0.8)),
    "P2": (("macrophages", "TNF", 1.6), ("CD4 T cells", "TNF", 0.8)),
    "P3": (("synovial fibroblasts", "IL6", 1.4), ("macrophages", "IL6", 1.0)),
}


def demo_cohort(
    n_cells: int = 60,
    seed: int = 0,
    effect: float = 1.5,
    n_reference: int = 2,
    knowledge: Knowledge | None = None,
) -> ad.AnnData:
    """A simulated cohort file: ``n_reference`` healthy donors (``H1``, ...) and three patients of the arthritis
    preset's synovium whose disease is driven by a different pathway each (:data:`COHORT_DRIVERS`: P1
    JAK-STAT in T cells, P2 TNF in macrophages and T cells, P3 IL-6 in fibroblasts and macrophages); each donor
    has its own baseline. Raw counts; obs ``cell_type``, ``condition`` (``healthy``/``patient``), ``donor``.
    ``python -m p4core data=h5ad ... data.donor_key=donor data.patient=all`` runs one twin per patient."""
    pr = PRESETS["arthritis"]
    knowledge = knowledge or curated_knowledge()
    rng = np.random.default_rng([seed, 2024])
    genes, mu, expressed = _baseline(pr, knowledge, rng)
    donors = [(f"H{i + 1}", "healthy", None) for i in range(n_reference)]
    donors += [(name, "patient", drivers) for name, drivers in COHORT_DRIVERS.items()]
    blocks, obs = [], []
    for donor, cond, drivers in donors:
        m = mu + rng.normal(0.0, 0.15, size=mu.shape)  # the donor's own baseline
        if drivers is not None:
            m = m + effect * _programme(genes, pr.celltypes, expressed, knowledge, drivers, rng)
        for c, ct in enumerate(pr.celltypes):
            lib = rng.lognormal(0.0, 0.3, size=n_cells)
            lam = rng.gamma(4.0, lib[:, None] * np.exp(m[c])[None, :] / 4.0)
            blocks.append(rng.poisson(lam).astype(np.float32))
            obs += [(ct, cond, donor)] * n_cells
    obs_df = pd.DataFrame(obs, columns=["cell_type", "condition", "donor"])
    obs_df.index = [f"cell{i}" for i in range(len(obs_df))]
    return ad.AnnData(
        X=sp.csr_matrix(np.vstack(blocks)), obs=obs_df, var=pd.DataFrame(index=pd.Index(genes, name="gene"))
    )
