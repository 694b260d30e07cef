"""Streamed screens: Parquet parts per block of twins, resumable after an interruption."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from p4core.errors import InputError
from p4core.screen import ScreenParams, screen
from p4core.screen.stream import read_scores, screen_to_parquet
from p4core.testing.synthetic import SyntheticTwins, synthetic_screen


@pytest.fixture(scope="module")
def small():
    return synthetic_screen(n_drugs=300, n_twins=40, n_genes=200, n_celltypes=3, seed=1)


def test_stream_equals_in_memory_screen(small, tmp_path):
    ensemble, drugs = small
    table = screen_to_parquet(ensemble, drugs, tmp_path / "s", twin_block=8)
    mem = screen(ensemble, drugs, ScreenParams(n_null=0, pairs_top=0))
    streamed = read_scores(tmp_path / "s", len(ensemble), len(drugs.drugs))
    order = [drugs.drugs.index(d) for d in mem.drugs]
    assert np.array_equal(streamed[:, order], mem.scores)
    cols = ["drug", "score_mean", "ci_low", "ci_high", "p_top10", "rank_low", "rank_high"]
    pd.testing.assert_frame_equal(table[cols], mem.table[cols])


class Interrupting(SyntheticTwins):
    """Twins that raise KeyboardInterrupt (a Ctrl-C) when twin ``at`` is requested."""

    def __init__(self, base: SyntheticTwins, at: int) -> None:
        self.__dict__.update(base.__dict__)
        self.at = at

    def __getitem__(self, t):
        if t == self.at:
            raise KeyboardInterrupt
        return super().__getitem__(t)


def test_interrupted_screen_resumes_without_loss_or_duplicates(small, tmp_path):
    ensemble, drugs = small
    reference = screen_to_parquet(ensemble, drugs, tmp_path / "ref", twin_block=8)
    out = tmp_path / "run"
    broken = dataclasses.replace(ensemble, replicates=Interrupting(ensemble.replicates, at=19))
    with pytest.raises(KeyboardInterrupt):
        screen_to_parquet(broken, drugs, out, twin_block=8)
    parts = sorted(p.name for p in (out / "parts").iterdir())
    assert parts == ["twins-0000000-0000008.parquet", "twins-0000008-0000016.parquet"]  # complete parts only
    assert not (out / "drugs.parquet").exists()
    resumed = screen_to_parquet(ensemble, drugs, out, twin_block=8)
    assert len(list((out / "parts").iterdir())) == 5
    pd.testing.assert_frame_equal(resumed, reference)
    # every (twin, drug) exactly once (read_scores raises otherwise)
    assert np.isfinite(read_scores(out, len(ensemble), len(drugs.drugs))).all()


def test_resume_refuses_another_screen(small, tmp_path):
    ensemble, drugs = small
    out = tmp_path / "s"
    screen_to_parquet(ensemble, drugs, out, twin_block=8)
    with pytest.raises(InputError, match="steps"):
        screen_to_parquet(ensemble, drugs, out, ScreenParams(steps=4), twin_block=8)
    with pytest.raises(InputError, match="twin_block"):
        screen_to_parquet(ensemble, drugs, out, twin_block=10)


def test_synthetic_twins_are_made_on_demand_and_reproducible():
    twins = SyntheticTwins(1000, n_genes=100, n_celltypes=2, seed=3)
    assert len(twins) == 1000
    a, b = twins[999], SyntheticTwins(1000, n_genes=100, n_celltypes=2, seed=3)[999]
    assert np.array_equal(a.operator.data, b.operator.data)
    assert not np.array_equal(twins[0].operator.data, a.operator.data)
