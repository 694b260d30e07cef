"""Helpers for tests and benchmarks: plain numpy/scipy implementations of the kernel's model
(:mod:`p4core.testing.reference`), the ground truth the compiled kernel is tested against."""
