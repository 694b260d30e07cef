"""The sources stage: the patient and the prior knowledge, each read by the plugin its config names."""

from __future__ import annotations

from typing import Any

from p4core.config import source_name, validate_node
from p4core.hooks.manager import Plugins, get_plugins
from p4core.model import Knowledge, Patient


def load_patient(data_cfg: Any, plugins: Plugins | None = None, pseudonym_key: str | None = None) -> Patient:
    """Load the patient with the data source named by ``data_cfg.source``."""
    plugins = plugins or get_plugins()
    comp = plugins.get("sources", source_name(data_cfg, "data"))
    node = validate_node(data_cfg, comp.schema, "data")
    return comp.factory(node, pseudonym_key=pseudonym_key)


def load_knowledge(knowledge_cfg: Any, plugins: Plugins | None = None) -> Knowledge:
    """Load prior knowledge with the plugin named by ``knowledge_cfg.source``."""
    plugins = plugins or get_plugins()
    comp = plugins.get("knowledge", source_name(knowledge_cfg, "knowledge"))
    return comp.factory(validate_node(knowledge_cfg, comp.schema, "knowledge"))
