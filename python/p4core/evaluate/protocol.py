"""p4core's scores on the benchmark and the leave-one-disease-out protocol.

A *setting* is a full set of p4core parameters: ``knowledge.*`` overrides (a knowledge to load) and
``screen.*`` overrides. The views (marker, programme) of a disease depend on the knowledge and on
the propagation parameters only; the combination parameters (``marker_weight``, ``ranking``) are
applied afterwards, so a grid over them costs nothing.

Leave-one-disease-out (:func:`lodo_choice`): for every left-out disease, the grid point with the
best mean objective over the *other* diseases is chosen and scored on the left-out one. Only
the other diseases' metrics reach the choice.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.model import Knowledge
from p4core.screen import VIEWS, ScreenParams, combine
from p4core.screen import screen as run_screen

#: screen parameters applied after the views are computed (a grid over them needs no new screen)
COMBINATION_KEYS = frozenset({"marker_weight", "marker_gate", "ranking"})


@dataclass(frozen=True)
class Setting:
    """One full set of p4core parameters: knowledge and screen overrides (sorted key/value pairs)."""

    knowledge: tuple[tuple[str, Any], ...] = ()
    screen: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, knowledge: dict[str, Any] | None = None, screen: dict[str, Any] | None = None) -> Setting:
        return cls(tuple(sorted((knowledge or {}).items())), tuple(sorted((screen or {}).items())))

    def params(self, base: dict[str, Any] | None = None) -> ScreenParams:
        return ScreenParams(**{**(base or {}), **dict(self.screen)})

    def label(self) -> str:
        items = [f"knowledge.{k}={v}" for k, v in self.knowledge] + [
            f"screen.{k}={v}" for k, v in self.screen
        ]
        return " ".join(items) or "shipped defaults"

    def as_dict(self) -> dict[str, Any]:
        return {
            **{f"knowledge.{k}": v for k, v in self.knowledge},
            **{f"screen.{k}": v for k, v in self.screen},
        }

    def merged(self, other: Setting) -> Setting:
        return Setting.of(
            {**dict(self.knowledge), **dict(other.knowledge)}, {**dict(self.screen), **dict(other.screen)}
        )


def knowledge_digest(k: Knowledge) -> str:
    """Digest of what a screen reads of a knowledge (edges with signs and weights, drug targets)."""
    h = hashlib.sha256()
    e = k.network.edges
    cols = [c for c in ("source", "target", "sign", "weight", "kind", "share") if c in e]
    h.update(pd.util.hash_pandas_object(e[cols], index=False).values.tobytes())
    t = k.drugs.targets
    h.update(
        pd.util.hash_pandas_object(t[["drug", "target", "sign", "strength"]], index=False).values.tobytes()
    )
    return h.hexdigest()


class Views:
    """Marker and programme views of every disease for every setting, computed once each.

    ``load(knowledge overrides)`` gives a :class:`Knowledge`; identical knowledges (same digest)
    share their views. Scores are over ``candidates`` (drugs the setting's knowledge does not
    have score 0)."""

    def __init__(
        self,
        load: Callable[[dict[str, Any]], Knowledge],
        candidates: Sequence[str],
        signatures: dict[str, pd.Series],
        base_screen: dict[str, Any],
    ) -> None:
        self.load = load
        self.candidates = list(candidates)
        self.signatures = signatures
        self.base_screen = base_screen
        self._knowledge: dict[tuple, tuple[Knowledge, str]] = {}
        self._views: dict[tuple, dict[str, Any]] = {}

    def knowledge(self, setting: Setting) -> tuple[Knowledge, str]:
        if setting.knowledge not in self._knowledge:
            k = self.load(dict(setting.knowledge))
            self._knowledge[setting.knowledge] = (k, knowledge_digest(k))
        return self._knowledge[setting.knowledge]

    def of(self, setting: Setting, doid: str) -> dict[str, Any]:
        """``marker``, ``programme`` (over the candidates) and ``scales`` of one disease."""
        from p4core.twin.build import twin_from_signature

        k, digest = self.knowledge(setting)
        prop = tuple((key, v) for key, v in setting.screen if key not in COMBINATION_KEYS)
        key = (digest, prop, doid)
        if key not in self._views:
            p = ScreenParams(**{**self.base_screen, **dict(prop), "n_null": 0, "pairs_top": 0})
            twin = twin_from_signature(self.signatures[doid], k, pseudonym=doid)
            res = run_screen(twin, k.drugs, p)
            t = res.table.set_index("drug")
            self._views[key] = {
                "marker": t["score_marker"].reindex(self.candidates).fillna(0.0).to_numpy(dtype=float),
                "programme": t["score_programme"].reindex(self.candidates).fillna(0.0).to_numpy(dtype=float),
                "scales": dict(res.scales),
            }
        return self._views[key]

    def scores(self, setting: Setting, doid: str) -> np.ndarray:
        """p4core's ranking score of every candidate in one disease under ``setting``."""
        v = self.of(setting, doid)
        p = setting.params(self.base_screen)
        if p.ranking == "marker":
            return v["marker"]
        if p.ranking == "programme":
            return v["programme"]
        return combine(v["marker"], v["programme"], v["scales"], p.marker_weight, p.marker_gate)


def grid_settings(grid: dict[str, dict[str, list[Any]]], pinned: Setting) -> list[Setting]:
    """Every combination of the grid's values (``{"knowledge": {...}, "screen": {...}}``), with the
    pinned overrides kept fixed (a pinned key leaves the grid)."""
    pk, ps = dict(pinned.knowledge), dict(pinned.screen)
    axes: list[tuple[str, str, list[Any]]] = []
    for part, pins in (("knowledge", pk), ("screen", ps)):
        for key, values in (grid.get(part) or {}).items():
            if key in pins:
                continue
            if not values:
                raise InputError(f"fit.{part}.{key}: the grid needs at least one value")
            axes.append((part, key, list(values)))
    out = []
    for combo in itertools.product(*[a[2] for a in axes]) if axes else [()]:
        kn, sc = dict(pk), dict(ps)
        for (part, key, _), value in zip(axes, combo, strict=True):
            (kn if part == "knowledge" else sc)[key] = value
        out.append(Setting.of(kn, sc))
    return out


def lodo_choice(objective: np.ndarray, held_out: int | None) -> int:
    """Index of the grid point with the best mean objective over the diseases other than
    ``held_out`` (``objective``: diseases x grid points; None: over all diseases). Ties go to the
    first point in grid order. The held-out row is never read."""
    rows = [i for i in range(objective.shape[0]) if i != held_out]
    if not rows:
        raise InputError("leave-one-disease-out needs at least two evaluated diseases")
    mean = objective[rows].mean(0)
    return int(np.argmax(mean))


__all__ = [
    "COMBINATION_KEYS",
    "Setting",
    "VIEWS",
    "Views",
    "grid_settings",
    "knowledge_digest",
    "lodo_choice",
]
