"""The built-in benchmark (kept as ``p4core.benchmark``; the code lives in :mod:`p4core.evaluate`)."""

from __future__ import annotations

import sys

from p4core.evaluate import *  # noqa: F403
from p4core.evaluate import __all__  # noqa: F401
from p4core.evaluate.cli import main

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
