"""What of the config may be stored with the results: identifying values replaced."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from p4core.knowledge import file_digest
from p4core.model import Patient


def redacted(cfg: DictConfig, patient: Patient) -> DictConfig:
    """The resolved config with identifying values replaced: ``data.patient_id`` by the pseudonym,
    ``data.path`` (a file name may name the patient) by the SHA-256 of the file's contents, the
    pseudonym key and mapping file, and the identifiers given to context sources."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    assert isinstance(out, DictConfig)
    data = out.get("data") or {}
    if data.get("patient_id"):
        data["patient_id"] = patient.pseudonym
    if data.get("path"):
        path = Path(str(data["path"]))
        digest = file_digest([path])[:16] if path.is_file() else "unavailable"
        data["path"] = f"<redacted: pass the same file again; sha256 {digest}>"
    privacy = out.get("privacy") or {}
    for key in ("key", "mapping"):  # the pseudonym key (and a mapping file's name) stay private
        if privacy.get(key):
            privacy[key] = "<redacted>"
    for node in (out.get("context") or {}).values():  # identifiers given to context sources
        for key in ("lopnr", "patient_id", "identifier", "sample"):
            if node is not None and node.get(key) not in (None, ""):
                node[key] = "<redacted>"
    return out
