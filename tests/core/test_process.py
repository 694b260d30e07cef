"""What ``python -m p4core`` sets for its own process: glibc's malloc options."""

from __future__ import annotations

import ctypes
import platform

import pytest

from p4core import cli


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

        def mallopt(param: int, value: int) -> int:
            self.calls.append((param, value))
            return 1

        self.mallopt = mallopt


@pytest.fixture
def libc(monkeypatch):
    fake = FakeLibc()
    monkeypatch.setattr(ctypes, "CDLL", lambda name: fake)
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "libc_ver", lambda: ("glibc", "2.36"))
    for name in cli.MALLOC_OPTIONS:
        monkeypatch.delenv(name, raising=False)
    return fake


def test_malloc_keeps_freed_memory_for_the_run(libc):
    cli._tune_malloc()
    assert libc.calls == [(-3, 32 << 20), (-1, 256 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


def test_malloc_options_set_by_the_user_are_left_alone(libc, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    cli._tune_malloc()
    assert libc.calls == []


def test_malloc_untouched_without_glibc(libc, monkeypatch):
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    cli._tune_malloc()
    assert libc.calls == []
