"""Twins: from a patient and the prior knowledge to an ensemble of per-patient disease models.

``params`` (TwinParams), ``matching`` (genes and edges of the patient against the knowledge),
``signature`` (per-cell-type differential expression), ``build`` (operator and ensemble). See
docs/design.md.
"""

from p4core.twin.build import build_twins, twin_from_signature
from p4core.twin.operator import PriorEdges, build_operator, prior_edges
from p4core.twin.params import TwinParams

__all__ = ["PriorEdges", "TwinParams", "build_operator", "build_twins", "prior_edges", "twin_from_signature"]
