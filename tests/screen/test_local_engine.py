"""The local engine runs two tasks at a time: the same numbers, in order, with the caller's settings."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from p4core.engine import LocalEngine
from p4core.pipeline import check_config, compose, load_knowledge, load_patient
from p4core.progress import progress
from p4core.screen import screen
from p4core.settings import current, deterministic_blas, run_settings
from p4core.twin.build import build_twins


class OneAtATime(LocalEngine):
    def map(self, fn, tasks, label):
        return [fn(*args) for args in progress(tasks, label)]


def test_tasks_come_back_in_order_with_the_callers_settings():
    def task(i):
        time.sleep(0.02 * (i % 3 == 0))  # later tasks finish first
        return i, current().n_threads, threading.current_thread().name

    with run_settings(n_threads=1):
        out = LocalEngine().map(task, [(i,) for i in range(7)], "tasks")
    assert [i for i, _, _ in out] == list(range(7))
    assert {n for _, n, _ in out} == {1}  # the run's settings, not the process's
    assert {name.startswith("p4core-task") for _, _, name in out} == {True}


def test_a_tasks_error_reaches_the_caller():
    def task(i):
        if i == 3:
            raise ValueError("task 3")
        return i

    with pytest.raises(ValueError, match="task 3"):
        LocalEngine().map(task, [(i,) for i in range(6)], "tasks")


def test_screen_is_the_same_one_task_at_a_time():
    cfg = compose(["twin.n_twins=6"])
    typed = check_config(cfg)
    knowledge = load_knowledge(cfg.knowledge)
    ensemble = build_twins(load_patient(cfg.data), knowledge, typed["twin"])
    two = screen(ensemble, knowledge.drugs, typed["screen"], LocalEngine())
    one = screen(ensemble, knowledge.drugs, typed["screen"], OneAtATime())
    assert np.array_equal(two.scores, one.scores)
    assert two.table.equals(one.table)
    assert two.pairs.equals(one.pairs)


def blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_blas_stays_on_one_thread_while_any_block_is_open():
    before = blas_threads()
    seen = []
    a = np.random.default_rng(0).random((200, 200))

    def task(i):
        with deterministic_blas():  # nested in the map's own block: changes nothing
            seen.append(blas_threads())
            return float((a @ a).sum())

    with deterministic_blas():
        outer = blas_threads()
        LocalEngine().map(task, [(i,) for i in range(6)], "tasks")
        with deterministic_blas():
            inner = blas_threads()
        after_inner = blas_threads()
    assert outer <= {1} and inner <= {1} and after_inner <= {1}  # the inner block leaves it limited
    assert all(s <= {1} for s in seen)
    assert blas_threads() == before  # lifted by the last to leave
