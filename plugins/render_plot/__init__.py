"""Renderer ``plot``: the disease course as a figure (PNG and/or SVG), one panel per cell type and the
burden, every scenario with its 95% ensemble band, clinical events as vertical lines.

The same global y axis for all panels, as in the MIDI file: activities of different cell types and
scenarios are comparable at a glance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from p4core.errors import require
from p4core.hooks import hookimpl
from p4core.io import atomic_path
from p4core.model import RunResult

#: one panel's size (inches)
PANEL_W, PANEL_H = 4.2, 2.8
#: colour-blind-safe (Okabe-Ito): untreated first, then the treatments
COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


@dataclass
class PlotConfig:
    #: any of png, svg
    formats: list[str] = field(default_factory=lambda: ["png", "svg"])
    file: str = "course"
    dpi: int = 120

    def __post_init__(self) -> None:
        bad = sorted(set(self.formats) - {"png", "svg"})
        require(not bad, "render.plot.formats", f"has unknown format(s) {bad}; use png and/or svg")
        require(
            Path(self.file).name == self.file and "." not in self.file,
            "render.plot.file",
            "must be a plain name without extension",
        )
        require(50 <= self.dpi <= 600, "render.plot.dpi", f"must be 50-600, got {self.dpi}")


def render(result: RunResult, outdir: Path, cfg: PlotConfig) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traj = result.trajectories
    tab = traj.table
    panels = [*traj.celltypes, "burden"] if "burden" in set(tab["celltype"]) else list(traj.celltypes)
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(PANEL_W * cols, PANEL_H * rows), sharex=True, sharey=True, squeeze=False
    )
    lo, hi = float(tab["lower"].min()), float(tab["upper"].max())
    for ax, name in zip(axes.flat, panels, strict=False):
        for k, scen in enumerate(traj.scenarios):
            sub = tab[(tab["scenario"] == scen) & (tab["celltype"] == name)]
            colour = COLOURS[k % len(COLOURS)]
            ax.fill_between(sub["time"], sub["lower"], sub["upper"], color=colour, alpha=0.15, linewidth=0)
            ax.plot(sub["time"], sub["mean"], color=colour, linewidth=1.6, label=scen)
        for ev in traj.events.itertuples(index=False):
            ax.axvline(float(ev.time), color="#777777", linewidth=0.7, linestyle=":")
        ax.set_title(name, fontsize=10, fontweight="bold" if name == "burden" else "normal")
        ax.set_ylim(lo - 0.05, hi + 0.05)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("days (0 = sampling)")
    for ax in axes[:, 0]:
        ax.set_ylabel("disease activity")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False, fontsize=9)
    events = "; ".join(f"day {ev.time:g}: {ev.label}" for ev in traj.events.itertuples(index=False))
    fig.suptitle(f"Disease course, patient {result.patient.pseudonym} (95% bands over twins)", fontsize=11)
    fig.text(0.5, 0.045, f"dotted lines: {events}", ha="center", fontsize=7, color="#555555", wrap=True)
    # fixed margins in inches (what tight_layout found for these fonts), not tight_layout itself: it
    # draws every text of the figure once more only to measure it (~0.3 s of a report's render)
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=0.72 / width,
        right=1 - 0.12 / width,
        top=1 - 0.62 / height,
        bottom=(0.08 * height + 0.5) / height,
        wspace=0.18 / (PANEL_W - 0.3),  # the gaps as a share of a panel's plotting area
        hspace=0.42 / (PANEL_H - 0.42),
    )
    out = []
    for fmt in cfg.formats:
        path = outdir / f"{cfg.file}.{fmt}"
        meta: dict[str, str | None] = {"Title": f"p4core disease course {result.patient.pseudonym}"}
        if fmt == "svg":  # no creation time in the file: the same run gives the same bytes
            meta["Date"] = None
        with atomic_path(path) as tmp, plt.rc_context({"svg.hashsalt": "p4core"}):  # stable element ids
            fig.savefig(tmp, format=fmt, dpi=cfg.dpi, metadata=meta)
        out.append(path)
    plt.close(fig)
    return out


@hookimpl
def p4core_register_renderers(register):
    register(
        "plot", render, schema=PlotConfig, description="figure of the disease course (PNG/SVG, matplotlib)"
    )
