"""Demo patients: deterministic, and the true mechanism's drugs emerge at the top of the screen."""

from __future__ import annotations

import numpy as np
import pytest

import p4core
from p4core.datasets import PRESETS, demo_patient
from p4core.model import CELL_TYPE, CONDITION

# The mechanism of each published case, as drug *targets* (biology, not drug names): the test
# checks that drugs acting on these targets rank at the top of a library of ~100 drugs.
MECHANISM_TARGETS = {
    "arthritis": {"TNF", "JAK1", "JAK2", "JAK3", "IL6R", "IL6"},
    "dress": {"JAK1", "JAK2", "JAK3", "TYK2"},
    "bladder": {"PDCD1", "CD274"},
}


def test_demo_is_deterministic(knowledge):
    a = demo_patient("dress", n_cells=30, seed=1, knowledge=knowledge)
    b = demo_patient("dress", n_cells=30, seed=1, knowledge=knowledge)
    c = demo_patient("dress", n_cells=30, seed=2, knowledge=knowledge)
    assert (a.adata.X != b.adata.X).nnz == 0
    assert (a.adata.X != c.adata.X).nnz > 0
    assert a.pseudonym == b.pseudonym


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_demo_shape_and_counts(preset, knowledge):
    p = demo_patient(preset, n_cells=40, knowledge=knowledge)
    obs = p.adata.obs
    assert obs[CELL_TYPE].nunique() >= 5
    assert set(obs[CONDITION]) == {"reference", "disease"}
    x = p.adata.X
    assert np.all(x.data >= 0) and np.all(x.data == np.round(x.data))
    assert "demo" not in p.pseudonym.lower()


def mechanism_drugs(knowledge, preset: str) -> set[str]:
    t = knowledge.drugs.targets
    return set(t.loc[t["target"].isin(MECHANISM_TARGETS[preset]) & (t["sign"] < 0), "drug"])


@pytest.fixture(scope="module")
def screens(knowledge):
    out = {}
    for preset in PRESETS:
        patient = demo_patient(preset, knowledge=knowledge)
        ens = p4core.build_twins(patient, knowledge, p4core.TwinParams(n_twins=8))
        out[preset] = p4core.screen(ens, knowledge.drugs)
    return out


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_true_mechanism_ranks_in_top10(preset, knowledge, screens):
    table = screens[preset].table
    expected = mechanism_drugs(knowledge, preset)
    assert expected, "the library must hold drugs of the mechanism"
    top10 = list(table["drug"].head(10))
    hits = [d for d in top10 if d in expected]
    # mechanism drugs fill at least half of the top 10 (by chance: ~0.1 of ~140 drugs' slots)
    assert len(hits) >= 5, (top10, sorted(expected))
    # and they rank far above the library as a whole
    ranks = table.set_index("drug")["rank"]
    assert ranks[sorted(expected)].median() < 0.2 * len(table)
