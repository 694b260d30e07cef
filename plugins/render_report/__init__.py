"""Renderer ``html``: the report, one self-contained, offline, interactive HTML file for a clinician and a
patient to read together.

Everything is inside the file: Plotly's JavaScript (from the installed ``plotly`` package), the
data, the page's own script and style, and the sonification of the disease course (MP3 by default,
of the run's sound: ``result.sound``, made once for every renderer that needs it). It loads
nothing from the network. Sections: a plain-language summary, the patient (pseudonymised context,
where the cells were sampled, the affected cell types, the burden over time with the imaging
course), the multicellular disease model (the cell-type graph), the treatments (ranking with
intervals, FDR, P(top-k), the cell types each acts through, indications, flags; pairs), the futures
(courses untreated vs treated with ensemble bands), the sound with its legend, and methods with
provenance. Selecting a drug highlights its targets and cell types and draws its course; selecting a
cell type filters the ranking.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4core.errors import require
from p4core.hooks import hookimpl
from p4core.io import atomic_path, write_text
from p4core.model import CohortResult, RunResult

AUDIO_FORMATS = ("mp3", "wav", "none")


@dataclass
class ReportConfig:
    file: str = "report.html"
    #: drugs listed in the ranking table (drugs.csv has them all)
    rows: int = 200
    #: drugs shown in the interval plot
    forest: int = 30
    #: the best drugs whose disease course the course stage simulates for the report (in its own batch,
    #: same twins and parameters), so that selecting any of them draws its course; 0 = the run's only
    courses: int = 10
    #: the sonification in the page: ``mp3`` (about 70 kbit/s), ``wav`` (as rendered; ~10x larger)
    #: or ``none``
    audio: str = "mp3"
    #: pairs listed
    pairs: int = 20

    def __post_init__(self) -> None:
        require(
            Path(self.file).name == self.file and self.file.endswith(".html"),
            "render.html.file",
            f"must be a plain file name ending in .html, got {self.file!r}",
        )
        require(self.rows >= 1, "render.html.rows", f"must be >= 1, got {self.rows}")
        require(self.forest >= 1, "render.html.forest", f"must be >= 1, got {self.forest}")
        require(self.courses >= 0, "render.html.courses", f"must be >= 0, got {self.courses}")
        require(self.pairs >= 0, "render.html.pairs", f"must be >= 0, got {self.pairs}")
        require(
            self.audio in AUDIO_FORMATS,
            "render.html.audio",
            f"must be one of {list(AUDIO_FORMATS)}, got {self.audio!r}",
        )


def sonification(result: RunResult, fmt: str) -> dict[str, Any] | None:
    """The run's sound (``result.sound``, made once for every renderer): the score's legend, its
    instruments' names and the tempo, and under ``"encoded"`` a function that gives the encoded sound as
    a data URI (``uri``, ``mime``, ``bytes``). The page calls it last: an encoding started in the
    background (``needs`` ``audio:<fmt>``) then has the time the rest of the page takes."""
    sound = result.sound
    if fmt == "none" or sound is None or sound.pcm is None:
        return None
    pcm, rate = sound.pcm, sound.sample_rate

    def encoded() -> dict[str, Any]:
        from p4core.audio import encode

        payload = encode(pcm, rate, fmt)
        mime = "audio/wav" if fmt == "wav" else "audio/mpeg"
        return {
            "uri": f"data:{mime};base64," + base64.b64encode(payload).decode("ascii"),
            "mime": mime,
            "bytes": len(payload),
        }

    return {
        "encoded": encoded,
        "seconds": len(pcm) / rate,
        "legend": sound.legend,
        "labels": sound.labels,
        "tempo": float(sound.tempo),
        "preset": sound.preset,
    }


def render(result: RunResult, outdir: Path, cfg: ReportConfig) -> list[Path]:
    """report.html, and <stem>_courses.csv with the courses simulated for it (columns as in
    trajectories.csv), so that every number the page shows is in a file of the run."""
    from .page import build_page

    html, extra = build_page(result, cfg, sonification(result, cfg.audio))
    files = [write_text(outdir / cfg.file, html)]
    if extra is not None and len(extra):
        path = outdir / f"{Path(cfg.file).stem}_courses.csv"
        with atomic_path(path) as tmp:
            extra.to_csv(tmp, index=False)
        files.append(path)
    return files


def render_cohort(cohort: CohortResult, outdir: Path, cfg: ReportConfig) -> list[Path]:
    """cohort.html: the patients side by side (each patient's own report is in patients/<pseudonym>/)."""
    from .cohort import build_cohort_page

    return [write_text(outdir / "cohort.html", build_cohort_page(cohort, cfg.file))]


@hookimpl
def p4core_register_renderers(register):
    register(
        "html",
        render,
        schema=ReportConfig,
        description="report.html: self-contained interactive report (Plotly, offline, with the sound)",
        courses=lambda node: int(node.courses),
        needs=lambda node: {"sound", "audio", f"audio:{node.audio}"} if node.audio != "none" else set(),
        cohort=render_cohort,
    )
