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
