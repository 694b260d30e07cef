"""Helpers for a component's ``check=`` (run with the config's checks, before any work)."""

from __future__ import annotations

from pathlib import Path

from p4core.errors import InputError


def input_path(value: object, option: str, what: str = "file", *, folder: bool = False) -> None:
    """Raise a one-line :class:`InputError` naming ``option`` when ``value`` (a path; None, empty or "???" are
    left to the schema's own checks) is not an existing file (``folder``: a folder); ``what`` says what the
    option should name (e.g. "the patient's record (YAML)")."""
    if value is None or str(value) in ("", "???"):
        return
    values = value if isinstance(value, list | tuple) else [value]
    for v in values:
        if v is None:
            continue
        p = Path(str(v)).expanduser()
        ok = p.is_dir() if folder else p.is_file()
        if not ok:
            kind = "folder" if folder else "file"
            state = f"not a {kind}" if p.exists() else f"{kind} not found"
            raise InputError(f"{option}: {state}: {p} (give {what})")
