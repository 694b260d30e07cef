"""The disease course: each twin untreated and under treatments, with the clinical context's events.

``simulate`` (scenarios, schedules, the adaptive kernel batch). See docs/design.md.
"""

from p4core.course.params import SimulateParams, parse_treatment
from p4core.course.simulate import check_treatments, simulate

__all__ = ["SimulateParams", "check_treatments", "parse_treatment", "simulate"]
