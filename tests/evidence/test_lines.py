"""The lines of evidence on a synthetic ontology, GWAS table and indication table, checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from p4core.evidence import (
    EvidenceModel,
    EvidenceParams,
    GeneGraph,
    assign_tiers,
    disease_similarity,
    fit_logistic,
    genetics_line,
    precedent_line,
    reliability,
    risk_weights,
)
from p4core.evidence.combine import features, percentile
from p4core.evidence.genetics import degree_bins, gene_z, reach
from p4core.model import DiseaseKnowledge, DrugLibrary


def tiny_diseases(gwas: dict[str, list[str]] | None = None) -> DiseaseKnowledge:
    """Four diseases: A and B immunologic (B shares an ICD-10 category with nothing), C neoplastic, U
    'unspecific'; A subsumes the more specific term A1."""
    diseases = pd.DataFrame(
        {
            "doid": ["DOID:1", "DOID:2", "DOID:3", "DOID:4"],
            "name": ["disease a", "disease b", "disease c", "disease u"],
            "category": ["immunologic", "immunologic", "neoplastic", "unspecific"],
        }
    )
    terms = pd.DataFrame(
        {
            "doid": ["DOID:1", "DOID:2", "DOID:3", "DOID:4", "DOID:11"],
            "name": ["disease a", "disease b", "disease c", "disease u", "disease a1"],
            "kind": "name",
        }
    )
    subsumes = pd.DataFrame(
        {
            "slim": ["DOID:1", "DOID:2", "DOID:3", "DOID:4", "DOID:1"],
            "doid": ["DOID:1", "DOID:2", "DOID:3", "DOID:4", "DOID:11"],
            "distance": [0, 0, 0, 0, 1],
        }
    )
    xrefs = pd.DataFrame({"doid": ["DOID:3", "DOID:4"], "system": "ICD10", "code": ["C50.1", "C50.9"]})
    genes = None
    if gwas:
        rows = [(d, f"{d}-{i}", g, True, True) for d, gs in gwas.items() for i, g in enumerate(gs)]
        genes = pd.DataFrame(rows, columns=["doid", "locus", "gene", "confident", "primary"])
    return DiseaseKnowledge(terms, diseases, subsumes, xrefs, gwas_genes=genes)


def test_ontology_similarity_class_or_icd10_category():
    dk = tiny_diseases()
    sim = disease_similarity("DOID:1", ["DOID:2", "DOID:3", "DOID:4"], dk)
    assert list(sim["ontology"]) == [1.0, 0.0, 0.0]  # same class; other class; 'unspecific' shares nothing
    assert sim["genetics"].isna().all() and sim["signature"].isna().all()  # not computable: left out
    assert list(sim["similarity"]) == [1.0, 0.0, 0.0]
    # C and U share no class but the ICD-10 category C50
    assert disease_similarity("DOID:3", ["DOID:4"], dk)["ontology"].iloc[0] == 1.0


def test_genetic_and_signature_similarity_by_hand():
    # gene sets: A {g1,g2}, B {g1,g2}, C {g1,g3}, U {g4}; cosines: AB 1, AC 0.5, AU 0, BC 0.5, BU 0, CU 0
    dk = tiny_diseases(
        {"DOID:1": ["G1", "G2"], "DOID:2": ["G1", "G2"], "DOID:3": ["G1", "G3"], "DOID:4": ["G4"]}
    )
    # the 99th percentile of the six pair cosines (1, .5, .5, 0, 0, 0) is 0.975 (linear interpolation)
    scale = float(np.quantile([1, 0.5, 0.5, 0, 0, 0], 0.99))
    sig = {
        "DOID:1": pd.Series({"X": 1.0, "Y": -1.0, "Z": 0.5}),
        "DOID:3": pd.Series({"X": 2.0, "Y": -2.0, "W": 1.0}),
    }
    sim = disease_similarity("DOID:1", ["DOID:2", "DOID:3", "DOID:4"], dk, sig)
    assert sim.loc["DOID:2", "genetics"] == pytest.approx(1.0)  # capped at 1
    assert sim.loc["DOID:3", "genetics"] == pytest.approx(0.5 / scale)
    assert sim.loc["DOID:4", "genetics"] == 0.0
    # signatures over the union of genes (X, Y, Z, W), missing = 0
    r = np.corrcoef([1.0, -1.0, 0.5, 0.0], [2.0, -2.0, 0.0, 1.0])[0, 1]
    assert sim.loc["DOID:3", "signature"] == pytest.approx(max(0.0, r))
    assert np.isnan(sim.loc["DOID:2", "signature"])
    # the mean of what can be computed
    assert sim.loc["DOID:3", "similarity"] == pytest.approx((0.0 + 0.5 / scale + max(0.0, r)) / 3)
    assert sim.loc["DOID:2", "similarity"] == pytest.approx((1.0 + 1.0) / 2)


def test_precedent_line_by_hand():
    dk = tiny_diseases()
    ind = pd.DataFrame(
        {
            "drug": ["x", "x", "y", "z", "z", "w"],
            # x: the specific term A1 (counts for A) and B; y: C; z: B and U; w: U only
            "doid": ["DOID:11", "DOID:2", "DOID:3", "DOID:2", "DOID:4", "DOID:4"],
        }
    )
    sim = pd.Series({"DOID:2": 0.8, "DOID:3": 0.2, "DOID:4": 0.0})
    out = precedent_line(["x", "y", "z", "w", "v"], ind, "DOID:1", sim, 0.25, dk, related_min=0.5)
    # other units: B, C, U (3); sum of similarities 1.0
    w = 0.25
    assert out.loc["x", "precedent"] == pytest.approx(w * 1 / 3 + (1 - w) * 0.8 / 1.0)
    assert out.loc["y", "precedent"] == pytest.approx(w * 1 / 3 + (1 - w) * 0.2)
    assert out.loc["z", "precedent"] == pytest.approx(w * 2 / 3 + (1 - w) * 0.8)
    assert out.loc["w", "precedent"] == pytest.approx(w * 1 / 3)
    assert out.loc["v", "precedent"] == 0.0
    assert list(out["precedent_standard"]) == [True, False, False, False, False]  # A1 is subsumed by A
    assert out.loc["x", "precedent_related"] == "disease b (0.80)" and out.loc["y", "precedent_related"] == ""
    assert list(out["precedent_n"]) == [1, 1, 2, 1, 0]  # the diagnosis itself is not counted


def line_graph() -> GeneGraph:
    """A path a - b - c - d - e plus an isolated f (degrees 1, 2, 2, 2, 1, 0)."""
    genes = ["A", "B", "C", "D", "E", "F"]
    i, j = [0, 1, 2, 3], [1, 2, 3, 4]
    adj = sp.csr_array((np.ones(8), (i + j, j + i)), shape=(6, 6))
    degree = np.diff(adj.indptr).astype(float)
    return GeneGraph(genes, adj, degree, degree_bins(degree, 10), {g: k for k, g in enumerate(genes)})


def test_genetics_reach_and_degree_calibration_by_hand():
    g = line_graph()
    # degrees 1,2,2,2,1,0: the isolated gene has a bin of its own (0); the linked genes of degree 1 and
    # of degree 2 fall in two bins (quantile edges 1, 1.2, 1.6, 2 of the linked degrees)
    assert g.bins[5] == 0 and g.bins[0] == g.bins[4] and g.bins[1] == g.bins[2] == g.bins[3] != g.bins[0]
    w = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0])  # the risk gene is C
    h = reach(g, w, 3, 0.5, "neighbour")
    assert list(h) == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # own + the strongest partner
    z = gene_z(g, h)
    # bin {B, C, D} all 1: no spread -> 0; bin {A, E} all 0 -> 0
    assert np.allclose(z, 0.0)
    w2 = np.array([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # the risk gene is A
    h2 = reach(g, w2, 3, 0.5, "neighbour")
    assert list(h2) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    z2 = gene_z(g, h2)
    # bin {A, E}: values 1, 0 -> z +1, -1; bin {B, C, D}: 1, 0, 0 -> mean 1/3, sd sqrt(2)/3
    assert z2[0] == pytest.approx(1.0) and z2[4] == pytest.approx(-1.0)
    assert z2[1] == pytest.approx((1 - 1 / 3) / (np.sqrt(2) / 3))
    # diffusion: sum_k 0.5^k (D^-1/2 A D^-1/2)^k w
    inv = 1 / np.sqrt(np.maximum(g.degree, 1))
    a = g.adjacency.toarray() * inv[:, None] * inv[None, :]
    want = w2 + 0.5 * a @ w2 + 0.25 * a @ a @ w2
    assert np.allclose(reach(g, w2, 2, 0.5, "diffusion"), want)


def test_genetics_line_scores_targets_and_calibrates_against_random_sets():
    g = line_graph()
    lib = DrugLibrary(
        pd.DataFrame(
            {
                "drug": ["hits_a", "hits_e", "two", "off"],
                "target": ["A", "E", "B", "ZZZ"],
                "sign": [-1, -1, -1, -1],
                "action": "inhibitor",
                "strength": 1.0,
            }
        )
    )
    weights = pd.Series({"A": 1.0})
    out, rep = genetics_line(g, lib, weights, mode="neighbour", n_null=200, seed=0)
    assert rep["risk_genes_in_twin"] == 1 and "off" not in out.index  # no target in the twin: no line
    assert out.loc["hits_a", "genetics_score"] == pytest.approx(1.0)
    assert out.loc["hits_e", "genetics_score"] == pytest.approx(-1.0)
    # the null of hits_a draws single genes of its bin {A, E}: max z is +1 or -1 with equal chance
    assert 0.3 < out.loc["hits_a", "genetics_p"] < 0.7
    assert out.loc["hits_e", "genetics_p"] == 1.0  # every draw reaches at least -1
    assert out.loc["hits_a", "genetics_genes"] == "A"
    # the same seed, the same p-values
    again, _ = genetics_line(g, lib, weights, mode="neighbour", n_null=200, seed=0)
    pd.testing.assert_frame_equal(out, again)


def test_genotype_weighs_the_loci():
    genes = pd.DataFrame(
        {
            "locus": ["L1", "L2", "L2"],
            "gene": ["G1", "G2", "G3"],
            "doid": "DOID:1",
            "confident": True,
            "primary": True,
        }
    )
    loci = pd.DataFrame(
        {
            "doid": "DOID:1",
            "locus": ["L1", "L2"],
            "snp": ["rs1", "rs2"],
            "chrom": "1",
            "start": 0,
            "end": 1,
            "mlog_p": 10.0,
            "risk_allele": ["A", "T"],
        }
    )
    w0, r0 = risk_weights(genes, loci, None)
    assert dict(w0) == {"G1": 1.0, "G2": 1.0, "G3": 1.0} and not r0["genotype"]
    calls = pd.DataFrame({"id": ["rs1", "rs2"], "ref": ["G", "T"], "alt": ["A", "C"], "dosage": [2.0, 2.0]})
    w1, r1 = risk_weights(genes, loci, calls)
    # rs1: two copies of the risk allele A (ALT) -> 1.5; rs2: risk allele T is REF, ALT dosage 2 -> 0 copies -> 0.5
    assert dict(w1) == {"G1": 1.5, "G2": 0.5, "G3": 0.5}
    assert r1["called"] == 2 and r1["carried"] == 1
    other = calls.assign(dosage=[0.0, 0.0])
    w2, _ = risk_weights(genes, loci, other)
    assert dict(w2) == {"G1": 0.5, "G2": 1.5, "G3": 1.5}  # the same disease, another patient


def test_fit_logistic_recovers_the_log_odds_by_hand():
    # one binary feature, no penalty: b0 = logit(rate at x=0), b1 = logit(rate at x=1) - b0
    x = np.r_[np.zeros(100), np.ones(100)][:, None]
    y = np.r_[np.ones(10), np.zeros(90), np.ones(40), np.zeros(60)]
    b0, b = fit_logistic(x, y, l2=0.0)
    assert b0 == pytest.approx(np.log(10 / 90), abs=1e-6)
    assert b[0] == pytest.approx(np.log(40 / 60) - np.log(10 / 90), abs=1e-6)
    # a penalty shrinks the slope towards 0
    _, bp = fit_logistic(x, y, l2=50.0)
    assert 0 < bp[0] < b[0]


def test_reliability_table_and_brier_by_hand():
    p = np.r_[np.full(10, 0.1), np.full(4, 0.6)]
    y = np.r_[np.ones(1), np.zeros(9), np.ones(2), np.zeros(2)]
    table, brier = reliability(p, y)
    assert list(table["pairs"]) == [10, 4] and list(table["positives"]) == [1, 2]
    assert table["predicted"].tolist() == pytest.approx([0.1, 0.6]) and table[
        "observed"
    ].tolist() == pytest.approx([0.1, 0.5])
    assert brier == pytest.approx((0.81 + 9 * 0.01 + 2 * 0.16 + 2 * 0.36) / 14)


def test_absent_lines_use_the_fit_without_them():
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for _ in range(4):
        mech, gen, pre = rng.normal(size=200), rng.normal(size=200), rng.uniform(size=200)
        rows.append({"mechanism": mech, "genetics": gen, "precedent": pre})
        labels.append((mech + 2 * pre + rng.normal(size=200) > 2).astype(float))
    model = EvidenceModel.fit(rows, labels)
    assert set(model.fits) == {
        ("mechanism", "genetics", "precedent"),
        ("mechanism", "precedent"),
        ("mechanism", "genetics"),
        ("mechanism",),
    }
    x = rows[0]
    alone = model.logit({"mechanism": x["mechanism"], "genetics": None, "precedent": None})
    m = model.fits[("mechanism",)]
    assert np.allclose(alone, m["intercept"] + m["coef"]["mechanism"] * percentile(x["mechanism"]))
    # with the twin alone the order is the twin's
    assert np.array_equal(
        np.argsort(-alone, kind="stable"), np.argsort(-percentile(x["mechanism"]), kind="stable")
    )
    assert "precedent" not in features({"mechanism": x["mechanism"], "precedent": None})
    restored = EvidenceModel.from_dict(model.to_dict())
    assert np.allclose(restored.logit(x), model.logit(x))


def test_tiers_by_hand():
    t = pd.DataFrame(
        {
            "drug": ["std_fit", "std_against", "std", "related", "genetic", "alone", "none"],
            "score_mean": [2.0, -1.0, 0.5, 1.5, 1.5, 3.0, 0.1],
            "ci_high": [2.5, -0.5, 0.9, 2.0, 2.0, 3.5, 0.4],
            "p_value": [0.001, 0.9, 0.2, 0.01, 0.01, 0.001, 0.4],
            "fdr": [0.01, 1.0, 0.5, 0.05, 0.05, 0.01, 0.8],
            "precedent_standard": [True, True, True, False, False, False, False],
            "precedent_max_similarity": [0.9, 0.0, 0.0, 0.7, 0.1, 0.0, 0.6],
            "precedent_related": ["", "", "", "disease b (0.70)", "", "", "disease c (0.60)"],
            "genetics_fdr": [1.0, 1.0, 1.0, 1.0, 0.01, 1.0, 0.01],
            "genetics_z": [0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 3.0],
            "genetics_genes": ["", "", "", "", "IL23R", "", "IL23R"],
        }
    )
    out = assign_tiers(t, "disease a", EvidenceParams())
    assert list(out["tier"]) == ["I", "X", "S", "II", "III", "IV", ""]
    assert "disease b" in out["tier_text"].iloc[3] and "IL23R" in out["tier_text"].iloc[4]
    # without a diagnosis only the twin alone can give a tier
    assert list(assign_tiers(t, None, EvidenceParams())["tier"]) == ["IV", "", "", "IV", "IV", "IV", ""]
