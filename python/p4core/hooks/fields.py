"""Field markers for plugin config schemas: what of a node can identify the patient.

A plugin marks the fields of its config dataclass whose values can identify a patient::

    from p4core.hooks import identifying

    @dataclass
    class MyConfig:
        path: str = identifying("???")                 # a file (its name may name the patient)
        mrn: str | None = identifying(None, kind="id")  # an identifier

p4core then redacts those values wherever the config is stored or shown — ``config_resolved.yaml``,
``multirun.yaml``, ``summary.json``, the report, the run's log and the config handed to plugins — by one
rule (:mod:`p4core.redact`), with no list of names in the core. Kinds:

``path``
    a file or folder, or a list of them: replaced by ``<redacted: sha256 ...>`` of its name and contents (so the
    same file can be recognised again by whoever holds it) — never the name;
``id``
    an identifier or a sample name: ``<redacted>``;
``patient_id``
    the patient's identifier: replaced by the run's pseudonym (the word ``all``, every patient of a
    cohort, names no one and is kept);
``secret``
    a key: ``<redacted>``.

A node whose plugin gives no schema cannot be told apart: all its text values are redacted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

#: the key of a field's ``metadata`` that marks it (value: its kind)
MARK = "p4core_identifying"
KINDS = ("path", "id", "patient_id", "secret")


def identifying(
    default: Any = dataclasses.MISSING,
    *,
    kind: str = "path",
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field (as :func:`dataclasses.field`) whose value can identify the patient."""
    if kind not in KINDS:
        raise ValueError(f"identifying(kind=...) must be one of {KINDS}, got {kind!r}")
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata={MARK: kind})
    return dataclasses.field(default=default, metadata={MARK: kind})


def identifying_fields(schema: type | None) -> dict[str, str]:
    """``{field name: kind}`` of the marked fields of a config dataclass (empty for None)."""
    if schema is None or not dataclasses.is_dataclass(schema):
        return {}
    return {f.name: f.metadata[MARK] for f in dataclasses.fields(schema) if MARK in f.metadata}
