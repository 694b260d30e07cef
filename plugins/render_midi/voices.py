"""Which cell types get a voice of their own when there are more than the channels or the register hold.

A General MIDI file has 15 melodic channels (channel 10 is percussion); the pad takes one, and stereo mode
needs a channel per cell type and side. The voices rise by ``register_step`` from ``base_note``, so the
register holds at most ``(127 - base_note - top of the scale) / register_step + 1`` of them. When the cell
types are more than that (fine-grained annotations have 15-40), the ones that carry most of the disease
programme — their share of the burden, the weight of the cell type in the simulated burden — keep their own
voice, and the rest are heard as one voice, the share-weighted mean of their courses. The legend names the
rule, the shares and the members of the grouped voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MELODIC_CHANNELS = 15


def voice_limit(n_sides: int, pad: bool, base_note: int, register_step: int, top: int, cap: int = 0) -> int:
    """The most cell-type voices a file can hold: the channels per side, the register and ``cap`` (0: none)."""
    by_channels = (MELODIC_CHANNELS - int(pad)) // max(n_sides, 1)
    by_register = (127 - base_note - top) // register_step + 1 if register_step > 0 else by_channels
    limit = min(by_channels, by_register)
    return max(1, min(limit, cap) if cap > 0 else limit)


@dataclass
class Voices:
    """The voices' labels (a cell type, or the grouped voice), the grouped voice's members and the
    selection's record for the legend."""

    labels: list[str]
    members: dict[str, list[str]] = field(default_factory=dict)
    legend: dict[str, Any] = field(default_factory=dict)


def choose_voices(celltypes: list[str], shares: dict[str, float] | None, limit: int) -> Voices:
    """All cell types when they fit in ``limit`` voices; else the ``limit - 1`` with the largest share of the
    burden (ties and missing shares: the model's order) and one voice for the rest."""
    shares = {c: float((shares or {}).get(c, 0.0)) for c in celltypes}
    if len(celltypes) <= limit:
        return Voices(list(celltypes), {}, {"rule": "every cell type has its own voice", "shares": shares})
    order = sorted(range(len(celltypes)), key=lambda i: (-shares[celltypes[i]], i))
    own = [celltypes[i] for i in sorted(order[: limit - 1])]
    rest = [c for c in celltypes if c not in own]
    label = f"other {len(rest)} cell types"
    return Voices(
        [*own, label],
        {label: rest},
        {
            "rule": (
                f"{len(celltypes)} cell types, {limit} voices: the {len(own)} with the largest share of the "
                f"disease burden have their own voice; '{label}' plays the share-weighted mean of the rest"
            ),
            "shares": shares,
            "grouped": {label: rest},
        },
    )


def with_groups(table: pd.DataFrame, voices: Voices, shares: dict[str, float] | None) -> pd.DataFrame:
    """``table`` (scenario, time, celltype, mean, lower, upper) with the rows of every grouped voice: the
    share-weighted mean of its members' values (equal weights when their shares are all 0)."""
    if not voices.members:
        return table
    parts = [table]
    for label, members in voices.members.items():
        w = np.array([float((shares or {}).get(m, 0.0)) for m in members])
        w = w if w.sum() > 0 else np.ones(len(members))
        sub = table[table["celltype"].isin(members)].copy()
        sub["w"] = sub["celltype"].map(dict(zip(members, w / w.sum(), strict=True)))
        cols = ["mean", "lower", "upper"]
        for c in cols:
            sub[c] = sub[c] * sub["w"]
        grouped = sub.groupby(["scenario", "time"], sort=False)[cols].sum().reset_index()
        grouped["celltype"] = label
        parts.append(grouped[table.columns])
    return pd.concat(parts, ignore_index=True)
