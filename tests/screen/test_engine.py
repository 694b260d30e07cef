"""engine=dask gives the same numbers as engine=local (a 2-worker LocalCluster of processes)."""

from __future__ import annotations

import numpy as np
import pytest

from p4core.engine import LocalEngine, make_engine
from p4core.engine.params import EngineConfig
from p4core.pipeline import check_config, compose, load_knowledge, load_patient
from p4core.screen import screen
from p4core.twin.build import build_twins

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def demo():
    cfg = compose(["twin.n_twins=12"])
    typed = check_config(cfg)
    knowledge = load_knowledge(cfg.knowledge)
    return build_twins(load_patient(cfg.data), knowledge, typed["twin"]), knowledge.drugs, typed["screen"]


@pytest.mark.slow  # in the full suite; left out of the quick subset (pytest -m "not slow")
def test_dask_matches_local(demo):
    ensemble, drugs, params = demo
    local = screen(ensemble, drugs, params, LocalEngine())
    cfg = EngineConfig(name="dask", n_workers=2, threads_per_worker=1, twin_block=5, drug_block=40)
    with make_engine(cfg) as engine:
        assert len(engine.client.scheduler_info()["workers"]) == 2
        spread = screen(ensemble, drugs, params, engine, cfg)
    assert np.array_equal(local.scores, spread.scores)  # bit for bit, blocks of 5 twins x 40 drugs
    assert local.table.equals(spread.table)  # null test, FDR, parts, ranks
    assert local.pairs.equals(spread.pairs)


def test_drug_blocks_do_not_change_local_numbers(demo):
    ensemble, drugs, params = demo
    whole = screen(ensemble, drugs, params)
    blocked = screen(ensemble, drugs, params, LocalEngine(), EngineConfig(drug_block=7))
    assert whole.table.equals(blocked.table)


def test_worker_threads_follow_the_allotment():
    from p4core.engine import in_worker, kernel_threads

    cfg = EngineConfig(name="dask", n_workers=1, threads_per_worker=1)
    with make_engine(cfg) as engine:
        got = engine.client.submit(in_worker, kernel_threads).result()
    assert got == 1


def test_unknown_engine_is_a_clear_error():
    with pytest.raises(ValueError, match="engine.name"):
        EngineConfig(name="spark")
