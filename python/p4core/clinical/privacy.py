"""Pseudonymisation: patient identifiers never leave p4core in clear text.

Every output (file names, tables, JSON, MIDI metadata, logs) carries the pseudonym only. The
pseudonym is a keyed hash (HMAC-SHA256) of the identifier, so it is stable across runs with the
same key and cannot be reversed without the key. Set ``privacy.key`` (or ``P4CORE_PSEUDONYM_KEY``)
to a site secret in production; the default key only protects against casual reading.

Alternatively a site's own mapping file (``privacy.mapping``: a CSV with the columns ``identifier``
and ``pseudonym``) is authoritative: every identifier must be in it, and an unknown one is an error
that does not echo it.
"""

from __future__ import annotations

import hashlib
import hmac
import os

DEFAULT_KEY = "p4core-default-pseudonym-key"
_MAPPING: dict[str, str] | None = None


def set_mapping(path: str | None) -> None:
    """Use the mapping file at ``path`` (None: back to the keyed hash)."""
    global _MAPPING
    if path is None:
        _MAPPING = None
        return
    import csv
    from pathlib import Path

    from p4core.errors import InputError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"privacy.mapping: {p} does not exist (a CSV with identifier,pseudonym)")
    with p.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"identifier", "pseudonym"} <= set(rows[0]):
        raise InputError(f"privacy.mapping: {p} needs the columns identifier and pseudonym")
    _MAPPING = {r["identifier"].strip(): r["pseudonym"].strip() for r in rows}


def pseudonymise(identifier: str, key: str | None = None) -> str:
    """Return a stable pseudonym such as ``P-3F9A1C07B2`` for a patient identifier (or the mapping
    file's pseudonym, see :func:`set_mapping`)."""
    if _MAPPING is not None:
        from p4core.errors import InputError

        found = _MAPPING.get(str(identifier).strip())
        if found is None:
            raise InputError("privacy.mapping: an identifier read from the input is not in the mapping file")
        return found
    key = key or os.environ.get("P4CORE_PSEUDONYM_KEY") or DEFAULT_KEY
    digest = hmac.new(key.encode(), str(identifier).encode(), hashlib.sha256).hexdigest()
    return "P-" + digest[:10].upper()
