"""No answer reaches a benchmark score: the knowledge's own indications (DrugCentral's, or the curated
library's labels) are never read, and the evaluated disease's rows of the indication table never reach
its own score, under either protocol."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from helpers import reversing_signatures

from p4core import evaluate as B

#: real Disease Ontology ids, so that the ontology, the GWAS genes and the label indications all apply
DISEASES = {
    "DOID:7148": ("rheumatoid arthritis", "tofacitinib"),
    "DOID:8577": ("ulcerative colitis", "adalimumab"),
    "DOID:8893": ("psoriasis", "ustekinumab"),
    "DOID:1612": ("breast cancer", "palbociclib"),
}
INDICATIONS = {
    "DOID:7148": ["Tofacitinib", "Methotrexate", "Adalimumab"],
    "DOID:8577": ["Adalimumab", "Infliximab", "Tofacitinib"],
    "DOID:8893": ["Ustekinumab", "Adalimumab", "Secukinumab"],
    "DOID:1612": ["Palbociclib", "Trastuzumab", "Tamoxifen"],
}


def synthetic(knowledge):
    """Each disease's signature is the opposite of one drug's propagated effect (the twin can find it)."""
    sigs = reversing_signatures(knowledge, [drug for _, drug in DISEASES.values()])
    frames = [
        pd.DataFrame(
            {
                "doid": doid,
                "disease": name,
                "gene_symbol": sigs[drug].index,
                "effect_size_random": sigs[drug].values,
            }
        )
        for doid, (name, drug) in DISEASES.items()
    ]
    ind = pd.DataFrame(
        [(doid, "", DISEASES[doid][0], drug, "DM") for doid, drugs in INDICATIONS.items() for drug in drugs],
        columns=["doid_id", "drugbank_id", "disease", "drug", "category"],
    )
    return pd.concat(frames, ignore_index=True), ind


def scores_of(res, doid):
    return res["_scores"][doid][3]


def first_run(knowledge, protocol):
    sig, ind = synthetic(knowledge)
    cfg = B.BenchmarkConfig(protocol=protocol, n_random=20, n_boot=100)
    cfg.fit.screen = {"marker_weight": [0.5, 0.75]}
    return sig, ind, cfg, B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=ind)


@pytest.mark.parametrize("protocol", ["fixed", "lodo"])
def test_the_knowledge_own_indications_never_reach_a_score(knowledge, protocol):
    sig, ind, cfg, res = first_run(knowledge, protocol)
    assert res["n_evaluated"] == 4
    # the most leaking indications there could be: every drug for every evaluated disease
    drugs = knowledge.drugs.drugs
    leak = pd.DataFrame(
        [(d, doid, "leak", "test") for d in drugs for doid in DISEASES],
        columns=["drug", "doid", "label", "source"],
    )
    leaky = dataclasses.replace(knowledge, diseases=dataclasses.replace(knowledge.diseases, indications=leak))
    res2 = B.run_benchmark(cfg, knowledge=leaky, signatures=sig, indications=ind)
    for doid in DISEASES:
        a, b = scores_of(res, doid), scores_of(res2, doid)
        assert set(a) == set(b)
        for method in a:
            assert np.array_equal(a[method], b[method]), (doid, method)
    assert res["diseases"][0]["lines"]["genetics"]["present"]  # rheumatoid arthritis has GWAS genes


@pytest.mark.parametrize("protocol", ["fixed", "lodo"])
def test_the_left_out_disease_rows_never_reach_its_score(knowledge, protocol):
    sig, ind, cfg, res = first_run(knowledge, protocol)
    # give rheumatoid arthritis entirely different indications
    changed = ind[ind["doid_id"] != "DOID:7148"]
    extra = pd.DataFrame(
        [
            ("DOID:7148", "", "rheumatoid arthritis", d, "DM")
            for d in ("Secukinumab", "Trastuzumab", "Infliximab")
        ],
        columns=ind.columns,
    )
    res2 = B.run_benchmark(cfg, knowledge=knowledge, signatures=sig, indications=pd.concat([changed, extra]))
    e1 = next(e for e in res["diseases"] if e["doid"] == "DOID:7148")
    e2 = next(e for e in res2["diseases"] if e["doid"] == "DOID:7148")
    assert e1["positives"] != e2["positives"]  # the answer changed ...
    a, b = scores_of(res, "DOID:7148"), scores_of(res2, "DOID:7148")
    for method in ("p4core", "p4core:mechanism", "p4core:genetics", "p4core:precedent", "direct", "degree"):
        assert np.array_equal(a[method], b[method]), method  # ... its scores did not
    # another disease's precedent does read rheumatoid arthritis's rows (they are not its answer)
    assert not np.array_equal(
        scores_of(res, "DOID:8577")["p4core:precedent"], scores_of(res2, "DOID:8577")["p4core:precedent"]
    )
