"""Exceptions raised by p4core.

Every error caused by the user's input is an :class:`InputError` whose message names the file,
field or parameter and says how to fix it. The command line turns these into a one-paragraph
message and a non-zero exit code, without a traceback.
"""

from __future__ import annotations


class P4coreError(Exception):
    """Base class of all p4core errors."""


class InputError(P4coreError, ValueError):
    """Bad input: a missing file, a missing field, an invalid value. The message says how to fix it."""


def require(ok: bool, field: str, message: str) -> None:
    """Raise an :class:`InputError` ``"<field> <message>"`` unless ``ok`` (config value checks)."""
    if not ok:
        raise InputError(f"{field} {message}")


class PluginError(P4coreError):
    """A plugin failed to load, or a requested component is not provided by any plugin."""


class RendererFailed(P4coreError):
    """Renderers that failed after the work: the run's other results were published (``files``); the
    message names each renderer, why, and the command that re-renders only it from the saved results."""

    def __init__(self, message: str, files: list | None = None) -> None:
        super().__init__(message)
        self.files = list(files or [])


def output_error(exc: OSError, option: str = "hydra.run.dir") -> InputError:
    """A one-line error for an output that cannot be written: the path, the reason and what to do
    (``option``: the setting that chooses another place)."""
    import errno

    path = exc.filename or "the run folder"
    hints = {
        errno.ENOSPC: "the disk is full: free some space or write elsewhere with {option}=<folder>",
        errno.EDQUOT: "the disk quota is exhausted: free some space or write elsewhere with {option}=<folder>",
        errno.EACCES: "no permission to write there: choose a writable folder with {option}=<folder>",
        errno.EPERM: "no permission to write there: choose a writable folder with {option}=<folder>",
        errno.EROFS: "the file system is read-only: choose another folder with {option}=<folder>",
        errno.ENOTDIR: "a file is in the way of the folder: remove it or choose {option}=<folder>",
        errno.EEXIST: "a file is in the way of the folder: remove it or choose {option}=<folder>",
    }
    hint = hints.get(exc.errno or 0, "choose another folder with {option}=<folder>").format(option=option)
    return InputError(f"cannot write {path}: {exc.strerror or exc}; {hint}")
