"""Command line: ``python -m p4core [hydra overrides]`` (:mod:`p4core.cli.run`) and its sub-commands.

``python -m p4core benchmark ...`` (drug-recovery benchmark), ``explain ...`` (why a drug ranks where it
does), ``render run=<dir> ...`` (re-render a finished run), ``plugins`` (what is installed), and every
command a plugin registers through
``p4core_register_commands`` (the MIDI plugin's ``midi``).
"""

from __future__ import annotations

import atexit
import gc
import sys

from p4core.cli.run import OutputFolderCheck, main

__all__ = ["OutputFolderCheck", "entry", "main"]


def _plugins_main(argv: list[str]) -> int:
    from p4core.hooks.manager import get_plugins

    plugins = get_plugins()
    print(plugins.describe())
    return 1 if plugins.broken else 0


def _benchmark_main(argv: list[str]) -> int:
    from p4core.evaluate.cli import main as benchmark_main

    return benchmark_main(argv)


def _render_main(argv: list[str]) -> int:
    from p4core.cli.rerender import main as render_main

    return render_main(argv)


def _explain_main(argv: list[str]) -> int:
    from p4core.screen.explain import main as explain_main

    return explain_main(argv)


BUILT_IN = {
    "benchmark": _benchmark_main,
    "explain": _explain_main,
    "plugins": _plugins_main,
    "render": _render_main,
}


def _skip_final_collection() -> None:
    """At interpreter exit: no more cyclic garbage collections. The interpreter's finalisation collects
    every object a run made (pandas frames, the knowledge, the twins), 0.35-0.4 s after a Kang run
    whose results are all written and closed; the memory goes back to the system with the process
    anyway. Objects are still freed by reference counting; only cycles are left to the system."""
    gc.disable()
    gc.freeze()


#: glibc's malloc options for a run (``mallopt``): blocks up to 32 MiB from the heap rather than fresh
#: mappings, and up to 256 MiB of freed heap kept for the next allocations rather than handed back. A run
#: allocates and frees the same sizes over and over (a twin's terms, the Gram's blocks, numpy's
#: temporaries); with glibc's defaults each comes back as fresh pages the kernel must fault in and zero:
#: ~1 s of the Kang run (15.6 -> 14.5 s, peak 0.62 -> 0.71 GB). A value the user set in the environment
#: (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) is left as it is.
MALLOC_OPTIONS = {"MALLOC_MMAP_THRESHOLD_": (-3, 32 << 20), "MALLOC_TRIM_THRESHOLD_": (-1, 256 << 20)}


def _tune_malloc() -> None:
    """Set :data:`MALLOC_OPTIONS` where the C library is glibc (elsewhere: nothing)."""
    import os
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return
    if any(name in os.environ for name in MALLOC_OPTIONS):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    for param, value in MALLOC_OPTIONS.values():
        mallopt(param, value)


def entry() -> None:
    """Console entry point (also ``python -m p4core``): a sub-command by name, else the pipeline."""
    atexit.unregister(_skip_final_collection)  # once, however often entry() runs in one process
    atexit.register(_skip_final_collection)
    _tune_malloc()
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name in ("--version", "-V"):
        from p4core import __version__

        print(f"p4core {__version__}")
        raise SystemExit(0)
    if name in BUILT_IN:
        raise SystemExit(BUILT_IN[name](sys.argv[2:]))
    if name and "=" not in name and not name.startswith("-"):
        from p4core.hooks.manager import get_plugins

        command = get_plugins().components["commands"].get(name)
        if command is not None:
            raise SystemExit(command.factory(sys.argv[2:]))
    main()
