"""What of the config may be stored with the results: every identifying value replaced.

Which values identify a patient is said by the plugins themselves: each marks the fields of its config
schema with :func:`p4core.hooks.identifying` (a path of patient data, an identifier, a sample name, the
patient's id), and the core's own groups do the same (``privacy.key``, ``privacy.mapping``). One rule
then covers every place the config is stored or shown: :func:`redacted` (``config_resolved.yaml``,
``summary.json``, the report, what hooks and ``RunResult.config`` get), :func:`redact_sweep_record`
(Hydra's ``multirun.yaml``) and :class:`ScrubbingFormatter` (the run's log file).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from p4core.config import CORE_GROUPS
from p4core.errors import P4coreError
from p4core.hooks.fields import identifying_fields
from p4core.hooks.manager import Plugins, get_plugins
from p4core.io.files import file_digest
from p4core.model import Patient

REDACTED = "<redacted>"
EMPTY = (None, "", "???")


def nodes(cfg: Any, plugins: Plugins) -> Iterator[tuple[str, Any, type | None]]:
    """``(where, node, schema)`` for every config node with a known owner: the core's groups and the
    nodes of the data source, the knowledge source, every context source and every renderer."""
    for group, schema in CORE_GROUPS.items():
        if cfg.get(group) is not None:
            yield group, cfg[group], schema
    for group, kind in (("data", "sources"), ("knowledge", "knowledge")):
        node = cfg.get(group)
        if node is not None:
            yield group, node, schema_of(plugins, kind, node.get("source"))
    for section, kind in (("context", "context"), ("render", "renderers")):
        for name, node in (cfg.get(section) or {}).items():
            if node is not None:
                yield f"{section}.{name}", node, schema_of(plugins, kind, str(name))


def schema_of(plugins: Plugins, kind: str, name: Any) -> type | None:
    """The component's schema, or None when it has none or is not installed (then every text value of
    its node counts as identifying)."""
    try:
        return plugins.get(kind, str(name)).schema if name else None
    except P4coreError:
        return None


def identifying_values(cfg: Any, plugins: Plugins | None = None) -> list[tuple[str, str, Any]]:
    """``(dotted key, kind, value)`` of every value set in ``cfg`` that a schema marks as identifying
    (see :mod:`p4core.hooks.fields`); a node without a schema gives all its text values (kind ``id``)."""
    plugins = plugins or get_plugins()
    out: list[tuple[str, str, Any]] = []
    for where, node, schema in nodes(cfg, plugins):
        if schema is None:
            marks = {str(k): "id" for k, v in node.items() if k != "source" and isinstance(v, str)}
        else:
            marks = identifying_fields(schema)
        for key, kind in marks.items():
            value = node.get(key)
            if value in EMPTY or (isinstance(value, list | ListConfig) and not len(value)):
                continue
            if kind == "patient_id" and str(value).lower() == "all":  # data.patient=all names no one
                continue
            out.append((f"{where}.{key}", kind, value))
    return out


def replacement(kind: str, value: Any, patient: Patient | None) -> Any:
    """What a marked value becomes in a stored config."""
    if isinstance(value, list | ListConfig):
        return [replacement(kind, v, patient) for v in value]
    if kind == "patient_id":
        return patient.pseudonym if patient is not None else REDACTED
    if kind == "path" and value not in EMPTY:
        path = Path(str(value))
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        digest = file_digest(files)[:16] if path.exists() else "unavailable"  # cached: read once per run
        return f"<redacted: pass the same file again; sha256 {digest}>"
    return None if value is None else REDACTED


def redacted(cfg: DictConfig, patient: Patient | None = None, plugins: Plugins | None = None) -> DictConfig:
    """The resolved config with every identifying value replaced: paths by a SHA-256 of the files,
    identifiers and keys by ``<redacted>``, the patient's id by the pseudonym (see
    :mod:`p4core.hooks.fields`)."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    assert isinstance(out, DictConfig)
    for key, kind, value in identifying_values(out, plugins):
        OmegaConf.update(out, key, replacement(kind, value, patient), merge=False)
    return out


def identifying_strings(cfg: Any, plugins: Plugins | None = None) -> list[str]:
    """The raw text of every identifying value (and a path's file name), longest first: what the log
    file must never hold."""
    found: set[str] = set()
    for _, kind, value in identifying_values(cfg, plugins):
        for v in value if isinstance(value, list | ListConfig) else [value]:
            if v in EMPTY:
                continue
            found.add(str(v))
            if kind == "path":
                found |= {str(Path(str(v))), Path(str(v)).name}
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        text = text.replace(s, REDACTED)
    return text


class ScrubbingFormatter(logging.Formatter):
    """A log file's formatter that writes every identifying string as ``<redacted>`` (the terminal keeps
    the full message: the person running p4core needs the file name; the run folder must not hold it)."""

    def __init__(self, inner: logging.Formatter | None, secrets: list[str]) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record), self.secrets)


def scrub_log_files(cfg: Any, plugins: Plugins | None = None) -> None:
    """Make every log file handler of this process write with a :class:`ScrubbingFormatter`."""
    secrets = identifying_strings(cfg, plugins)
    if not secrets:
        return
    for lg in (logging.getLogger(), logging.getLogger("p4core")):
        for h in lg.handlers:
            if isinstance(h, logging.FileHandler):
                inner = h.formatter.inner if isinstance(h.formatter, ScrubbingFormatter) else h.formatter
                h.setFormatter(ScrubbingFormatter(inner, secrets))


def redact_sweep_record(record: DictConfig, cfg: Any, plugins: Plugins | None = None) -> DictConfig:
    """Hydra's ``multirun.yaml`` (the sweep's config and overrides, written before any job runs) with the
    identifying keys of this job's config redacted: their values, every override of them (a sweep's
    other values included) and the override-derived folder name."""
    values = identifying_values(cfg, plugins)
    keys = {key for key, _, _ in values}
    for key, kind, value in values:
        if OmegaConf.select(record, key) is not None:
            OmegaConf.update(record, key, replacement(kind, value, None), merge=False)

    def safe(item: str) -> str:
        key = item.split("=", 1)[0].lstrip("+~")
        return f"{key}={REDACTED}" if key in keys else item

    overrides = OmegaConf.select(record, "hydra.overrides.task")
    if overrides is not None:
        OmegaConf.update(record, "hydra.overrides.task", [safe(str(o)) for o in overrides], merge=False)
    dirname = OmegaConf.select(record, "hydra.job.override_dirname")
    if dirname is not None and any(key in str(dirname) for key in keys):  # values hold commas: all of it
        OmegaConf.update(record, "hydra.job.override_dirname", REDACTED, merge=False)
    return record
