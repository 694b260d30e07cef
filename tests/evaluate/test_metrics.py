"""The benchmark's metrics, proximity and indication mapping, against hand-computed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from p4core import evaluate as B
from p4core.errors import InputError

DEV = ("benchmark", "indications_dev")
TWO = "diseases=[rheumatoid arthritis,ulcerative colitis]"

# ---------------------------------------------------------------------------------------------
# metrics


def test_metrics_hand_computed_no_ties():
    y = [1, 0, 1, 0, 0]
    s = [5, 4, 3, 2, 1]
    # positives at ranks 1 and 3: 5 of the 6 (positive, negative) pairs are ordered right
    assert B.auroc(y, s) == pytest.approx(5 / 6)
    # precision at the two positives: 1/1 and 2/3
    assert B.average_precision(y, s) == pytest.approx((1 + 2 / 3) / 2)
    assert B.precision_at_k(y, s, 1) == 1.0
    assert B.precision_at_k(y, s, 2) == 0.5
    assert B.precision_at_k(y, s, 3) == pytest.approx(2 / 3)
    assert B.precision_at_k(y, s, 10) == pytest.approx(2 / 5)  # k capped at the number of drugs
    # 3 negatives: the first one already passes 1% FPR; TPR there is 1/2 -> 0.5 / 0.01
    assert B.enrichment_at_fpr(y, s, 0.01) == pytest.approx(50.0)
    # FPR first reaches 1/2 at the third negative (2/3), where TPR = 1 -> 1 / 0.5
    assert B.enrichment_at_fpr(y, s, 0.5) == pytest.approx(2.0)
    m = B.ranking_metrics(y, s)
    assert list(m) == list(B.METRICS)
    assert m["p@10"] == m["p@20"] == m["p@50"] == pytest.approx(0.4)


def test_metrics_hand_computed_with_ties():
    y = [1, 0, 0, 1]
    s = [1, 1, 0, 0]
    # pairs: (p1, n2) tie 1/2, (p1, n3) 1, (p4, n2) 0, (p4, n3) tie 1/2 -> 2/4
    assert B.auroc(y, s) == pytest.approx(0.5)
    # two steps of recall 1/2, each at precision 1/2
    assert B.average_precision(y, s) == pytest.approx(0.5)
    # the top place goes to one of two tied drugs, one of them positive
    assert B.precision_at_k(y, s, 1) == pytest.approx(0.5)
    assert B.precision_at_k(y, s, 3) == pytest.approx(1.5 / 3)

    y = [1, 1, 0, 0, 0]
    s = [2, 1, 1, 0, 0]
    assert B.auroc(y, s) == pytest.approx((3 + 2.5) / 6)
    assert B.average_precision(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert B.precision_at_k(y, s, 2) == pytest.approx((1 + 0.5) / 2)
    # ROC: (0, 0) (0, 1/2) (1/3, 1) (1, 1); at FPR 1/6 the tie segment gives TPR 3/4
    assert B.enrichment_at_fpr(y, s, 1 / 6) == pytest.approx(0.75 * 6)
    assert B.enrichment_at_fpr(y, s, 0.5) == pytest.approx(2.0)
    # the order of tied drugs does not matter
    perm = [4, 2, 0, 3, 1]
    yp, sp_ = np.asarray(y)[perm], np.asarray(s)[perm]
    assert B.ranking_metrics(yp, sp_) == pytest.approx(B.ranking_metrics(y, s))


def test_metrics_extremes_and_constant_scores():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    s = -np.arange(10.0)
    assert B.auroc(y, s) == 1.0 and B.average_precision(y, s) == 1.0
    assert B.enrichment_at_fpr(y, s, 0.01) == pytest.approx(100.0)
    assert B.auroc(y, -s) == 0.0
    flat = np.zeros(10)
    assert B.auroc(y, flat) == 0.5
    assert B.average_precision(y, flat) == pytest.approx(0.2)
    assert B.precision_at_k(y, flat, 3) == pytest.approx(0.2)
    assert B.enrichment_at_fpr(y, flat, 0.01) == pytest.approx(1.0)


def test_auroc_matches_pair_counting():
    rng = np.random.default_rng(1)
    y = rng.random(60) < 0.3
    s = rng.integers(0, 8, 60).astype(float)  # many ties
    pairs = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(s[y], s[~y])]
    assert B.auroc(y, s) == pytest.approx(np.mean(pairs))


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="positive and one negative"):
        B.auroc([1, 1], [0.2, 0.1])
    with pytest.raises(ValueError, match="finite"):
        B.average_precision([1, 0], [np.nan, 0.1])
    with pytest.raises(ValueError, match="length"):
        B.precision_at_k([1, 0, 0], [0.1, 0.2], 1)


def test_random_metrics_expectation():
    y = np.zeros(400, dtype=bool)
    y[:20] = True
    draws = B.random_metrics(y, 300, np.random.default_rng(0))
    assert draws["auroc"].mean() == pytest.approx(0.5, abs=0.02)
    assert draws["p@50"].mean() == pytest.approx(0.05, abs=0.01)
    assert draws["enrich@1%fpr"].mean() == pytest.approx(1.0, abs=0.5)


# ---------------------------------------------------------------------------------------------
# pieces


def test_proximity_distances_and_null():
    edges = pd.DataFrame(
        {"source": ["A", "B", "C", "D", "F"], "target": ["B", "C", "D", "E", "G"]}
    )  # path A-B-C-D-E and a separate F-G
    prox = B.NetworkProximity(edges, {"near": ["A", "B"], "far": ["E"], "off": ["G"]}, n_random=50)
    d = dict(zip(prox.genes, prox.distances(["A"]), strict=True))
    assert [d[g] for g in "ABCDE"] == [0, 1, 2, 3, 4] and np.isinf(d["F"])
    z = prox.scores(["A"])
    assert z.loc["near", "d"] == 0.5 and z.loc["far", "d"] == 4
    assert z.loc["off", "d"] == 5  # unreachable: largest finite distance + 1
    assert z.loc["near", "z"] < z.loc["far", "z"]


def test_dm_positives_one_per_indication():
    dm = pd.DataFrame(
        {
            "drug": ["Prednisolone", "Mesalazine"],
            "library_drugs": [["prednisolone", "prednisolone acetate"], ["mesalamine"]],
        }
    )
    cands = {"prednisolone", "prednisolone acetate", "mesalamine", "other"}
    assert B.dm_positives(dm, cands) == (["mesalamine", "prednisolone"], ["prednisolone acetate"])
    assert B.dm_positives(dm, cands, collapse=False) == (
        ["mesalamine", "prednisolone", "prednisolone acetate"],
        [],
    )


def test_map_indications_through_drugbank_ids(knowledge):
    from p4core.model import DrugLibrary

    t = knowledge.drugs.targets.copy()
    t["drugbank_id"] = np.where(t["drug"] == "tofacitinib", "DB08895;DB00000", "")
    lib = DrugLibrary(t, name="with ids")
    ind = pd.DataFrame({"drugbank_id": ["DB08895", "DB99999"], "drug": ["Tofacitinib", "X"]})
    out = B.map_indications(ind, lib)
    assert out["library_drugs"].tolist() == [["tofacitinib"], []]
    with pytest.raises(InputError, match="none of its 1 drugs"):
        B.map_indications(ind.iloc[1:], lib, "ind.tsv")


# ---------------------------------------------------------------------------------------------
# synthetic end to end on the curated knowledge


@pytest.mark.slow  # in the full suite; left out of the quick subset (pytest -m "not slow")
def test_wilcoxon_p_is_scipys_exact_or_permutation_p():
    from scipy import stats

    from p4core.evaluate.metrics import wilcoxon_p

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(3, 12))
        x, y = np.round(rng.normal(size=n), 1), np.round(rng.normal(size=n), 1)  # rounding makes ties
        if rng.random() < 0.3:
            y[:2] = x[:2]  # zero differences
        if not np.any(x != y):
            continue
        want = stats.wilcoxon(x, y, zero_method="wilcox", alternative="two-sided").pvalue
        assert wilcoxon_p(x, y) == pytest.approx(want, abs=1e-12)
    assert wilcoxon_p([1, 2], [1, 2]) == 1.0
    # 10 wins of 10: the two one-sided tails are 1/1024 each
    assert wilcoxon_p(np.arange(1, 11) + 0.5, np.zeros(10)) == pytest.approx(2 / 1024)
