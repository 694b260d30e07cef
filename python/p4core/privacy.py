"""Pseudonymisation: patient identifiers never leave p4core in clear text.

Every output (file names, tables, JSON, MIDI metadata, logs) carries the pseudonym only. The
pseudonym is a keyed hash (HMAC-SHA256) of the identifier, so it is stable across runs with the
same key and cannot be reversed without the key. Set ``privacy.key`` (or ``P4CORE_PSEUDONYM_KEY``)
to a site secret in production; the default key only protects against casual reading.
"""

from __future__ import annotations

import hashlib
import hmac
import os

DEFAULT_KEY = "p4core-default-pseudonym-key"


def pseudonymise(identifier: str, key: str | None = None) -> str:
    """Return a stable pseudonym such as ``P-3F9A1C07B2`` for a patient identifier."""
    key = key or os.environ.get("P4CORE_PSEUDONYM_KEY") or DEFAULT_KEY
    digest = hmac.new(key.encode(), str(identifier).encode(), hashlib.sha256).hexdigest()
    return "P-" + digest[:10].upper()
