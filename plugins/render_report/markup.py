"""Small HTML helpers of the report: escaping, number formats, JSON for the page's script."""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def fmt_p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2g}" if value < 0.01 else f"{value:.2f}"


def to_json(obj: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def figure_html(fig: Any) -> dict[str, Any]:
    return json.loads(fig.to_json())


def number(v: Any) -> float | None:
    """A finite float rounded to 6 digits, or None (missing, NaN, not a number)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if not math.isfinite(f) else round(f, 6)


def text_of(v: Any) -> str | None:
    """A stripped string, or None (missing, NaN, empty)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    s = str(v).strip()
    return s or None
