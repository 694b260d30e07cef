"""Pseudonymisation: patient identifiers never leave p4core in clear text.

Every output (file names, tables, JSON, MIDI metadata, logs) carries the pseudonym only. The
pseudonym is a keyed hash (HMAC-SHA256) of the identifier, so it is stable across runs with the
same key and cannot be reversed without the key. Set ``privacy.key`` (or ``P4CORE_PSEUDONYM_KEY``)
to a site secret in production; the default key only protects against casual reading.

Alternatively a site's own mapping file (``privacy.mapping``: a CSV with the columns ``identifier``
and ``pseudonym``) is authoritative: every identifier must be in it, and an unknown one is an error
that does not echo it.

The key and the mapping belong to one run: :func:`p4core.pipeline.run` works inside
:func:`pseudonyms` with its own :class:`Pseudonymiser` (a context variable), so a mapping or key
given to one run never reaches another run in the same process. :func:`set_mapping` sets the
process's default for code outside any run.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

DEFAULT_KEY = "p4core-default-pseudonym-key"


@dataclass(frozen=True)
class Pseudonymiser:
    """One run's way to pseudonymise: a site's mapping (identifier -> pseudonym) when given, else
    the keyed hash with ``key`` (None: ``$P4CORE_PSEUDONYM_KEY``, else the built-in default)."""

    key: str | None = None
    mapping: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, key: str | None = None, mapping: str | None = None) -> Pseudonymiser:
        """From the ``privacy`` config node: ``key`` and the path of a ``mapping`` file (or None)."""
        return cls(key=key, mapping=read_mapping(mapping) if mapping else None)

    def __call__(self, identifier: str, key: str | None = None) -> str:
        if self.mapping is not None:
            from p4core.errors import InputError

            found = self.mapping.get(str(identifier).strip())
            if found is None:
                raise InputError(
                    "privacy.mapping: an identifier read from the input is not in the mapping file"
                )
            return found
        key = key or self.key or os.environ.get("P4CORE_PSEUDONYM_KEY") or DEFAULT_KEY
        digest = hmac.new(key.encode(), str(identifier).encode(), hashlib.sha256).hexdigest()
        return "P-" + digest[:10].upper()


_DEFAULT = Pseudonymiser()
_CURRENT: ContextVar[Pseudonymiser | None] = ContextVar("p4core_pseudonymiser", default=None)


def read_mapping(path: str) -> dict[str, str]:
    """A site's mapping file: a CSV with the columns ``identifier`` and ``pseudonym``."""
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
    return {r["identifier"].strip(): r["pseudonym"].strip() for r in rows}


def set_mapping(path: str | None) -> None:
    """Make the mapping file at ``path`` the process's default outside any run (None: back to the
    keyed hash). A run uses its own ``privacy`` config instead (:func:`pseudonyms`)."""
    global _DEFAULT
    _DEFAULT = Pseudonymiser(mapping=read_mapping(path) if path is not None else None)


@contextlib.contextmanager
def pseudonyms(pseudonymiser: Pseudonymiser) -> Iterator[Pseudonymiser]:
    """Inside the block, :func:`pseudonymise` uses ``pseudonymiser``; the previous one is back after."""
    token = _CURRENT.set(pseudonymiser)
    try:
        yield pseudonymiser
    finally:
        _CURRENT.reset(token)


def pseudonymise(identifier: str, key: str | None = None) -> str:
    """Return a stable pseudonym such as ``P-3F9A1C07B2`` for a patient identifier: by the run's
    :class:`Pseudonymiser` (its mapping file's pseudonym, or the keyed hash; ``key`` overrides the
    run's key), or the process's default outside a run."""
    return (_CURRENT.get() or _DEFAULT)(identifier, key)
