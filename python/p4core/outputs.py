"""The output stage: the sonification the renderers ask for, the extra courses they ask for, and
the renderers themselves, run into a staging folder and published all or nothing."""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from p4core import peakmem
from p4core.config import validate_node
from p4core.errors import P4coreError, PluginError, RendererFailed
from p4core.hooks.manager import Plugins, get_plugins
from p4core.model import CohortResult, RunResult
from p4core.runstate import save_state, write_manifest

log = logging.getLogger("p4core")


def render(
    result: RunResult,
    outdir: str | Path,
    render_cfg: Any,
    plugins: Plugins | None = None,
    extra: Callable[[Path], list[Path]] | None = None,
    requested: set[str] | None = None,
) -> list[Path]:
    """Run every renderer named in ``render_cfg`` into a staging folder (and ``extra``, a writer of
    more files into it), then move the files into ``outdir``. If anything fails or is interrupted,
    nothing is kept: the run directory never holds a partial set. A renderer that raises (a bug, not
    bad input) stops the run with its name when it is in ``requested`` (None: all are), else it is
    named in a warning and left out."""
    plugins = plugins or get_plugins()
    outdir = Path(outdir)
    failures: list[tuple[str, str]] = []
    with staging_folder(outdir) as staging:
        written = render_into(result, staging, render_cfg, plugins, extra, requested, failures)
        written += finish_folder(result, staging, written)
        files = publish(written, staging, outdir)
    if failures:
        raise renderers_failed(failures, outdir, files)
    return files


def finish_folder(
    result: RunResult, folder: Path, written: list[Path], base: Path | None = None
) -> list[Path]:
    """The run's state for re-rendering and its manifest (the files of the run), into ``folder``."""
    state = save_state(result, folder)
    return [
        state,
        write_manifest(folder, [*written, state], base or folder, {"patient": result.patient.pseudonym}),
    ]


def renderers_failed(failures: list[tuple[str, str]], outdir: Path, files: list[Path]) -> RendererFailed:
    """One line per renderer that failed, with the command that re-renders only them."""
    names = ",".join(n for n, _ in failures)
    why = "; ".join(f"render.{n} failed: {m}" for n, m in failures)
    return RendererFailed(
        f"{why}. The other results are in {outdir} ({len(files)} files); re-render only "
        f"{'it' if len(failures) == 1 else 'them'} from the saved results: python -m p4core render run={outdir} "
        f"render=[{names}] (with any render.* options)",
        files,
    )


@contextlib.contextmanager
def staging_folder(outdir: Path) -> Iterator[Path]:
    """A staging folder inside ``outdir`` (the same file system: publishing is a rename), removed after."""
    outdir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".p4core-staging-", dir=outdir))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _renderers(render_cfg: Any, plugins: Plugins) -> list[tuple[str, Any, Any]]:
    """(name, component, checked node) of every renderer named, those that summarise the run last."""
    names = [str(n) for n in render_cfg or {}]
    names.sort(key=lambda n: plugins.get("renderers", n).last)
    out = []
    for name in names:
        comp = plugins.get("renderers", name)
        out.append((name, comp, validate_node(render_cfg[name], comp.schema, f"render.{name}")))
    return out


def render_into(
    result: RunResult,
    folder: Path,
    render_cfg: Any,
    plugins: Plugins,
    extra: Callable[[Path], list[Path]] | None = None,
    requested: set[str] | None = None,
    failures: list[tuple[str, str]] | None = None,
) -> list[Path]:
    """Every renderer's files (and ``extra``'s) for one run, written into ``folder`` (in a staging folder).
    A renderer that fails costs only its own files: with ``failures`` given, it is recorded there (name,
    reason) and the others go on; without, the failure is raised."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, comp, node in _renderers(render_cfg, plugins):
        t0 = time.perf_counter()
        required = requested is None or name in requested
        before = set(folder.rglob("*"))
        try:
            with peakmem.StagePeak() as peak:
                ok, files = plugins.run_component(comp, required, result, folder, node)
        except (P4coreError, OSError) as exc:
            if failures is None or isinstance(exc, OSError):  # a disk that cannot be written stops the run
                raise
            for f in set(folder.rglob("*")) - before:  # its own partial files
                if f.is_file():
                    f.unlink()
            failures.append((name, str(exc)))
            log.error("render %s failed: %s", name, exc)
            continue
        if not ok:
            continue
        seconds = time.perf_counter() - t0
        result.timings[f"render {name}"] = round(seconds, 3)
        result.memory_mb[f"render {name}"] = peak.mb
        log.info("render %s: %d file(s) in %.2fs", name, len(files), seconds)
        written += [Path(f) for f in files]
    if extra is not None:
        written += extra(folder)
    return written


def render_cohort(cohort: CohortResult, folder: Path, render_cfg: Any, plugins: Plugins) -> list[Path]:
    """The cohort's own files, by every renderer that registered a ``cohort=`` writer (the table's
    cohort.csv/.parquet, the json summary, the html cohort page), into ``folder``."""
    written: list[Path] = []
    for name, comp, node in _renderers(render_cfg, plugins):
        if comp.cohort is None:
            continue
        t0 = time.perf_counter()
        files = comp.cohort(cohort, folder, node)
        log.info("render %s (cohort): %d file(s) in %.2fs", name, len(files), time.perf_counter() - t0)
        written += [Path(f) for f in files]
    return written


def publish(files: list[Path], staging: Path, outdir: Path) -> list[Path]:
    """Move ``files`` (under ``staging``, on the same file system) to the same places under ``outdir``;
    if a move fails or is interrupted, the files moved so far are removed again (all or nothing)."""
    moved: list[Path] = []
    try:
        for f in files:
            dest = outdir / f.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            f.replace(dest)
            moved.append(dest)
    except BaseException:
        for dest in moved:
            dest.unlink(missing_ok=True)
        raise
    return moved


def renderer_needs(cfg: DictConfig, typed: dict[str, Any], plugins: Plugins) -> set[str]:
    """What the active renderers need of the run beyond the stages' results (``sound``, ``audio``)."""
    needs: set[str] = set()
    for name in cfg.render or {}:
        comp = plugins.get("renderers", str(name))
        if comp.needs is not None:
            needs |= set(comp.needs(typed[f"render.{name}"]))
    return needs


def sonify(result: RunResult, cfg: DictConfig, plugins: Plugins, audio: bool) -> Any:
    """The course's sonification for the renderers that need it (``result.sound``), by the registered
    sonifier (the MIDI plugin's), with its config node ``render.<name>`` (its defaults when absent)."""
    sonifiers = plugins.components["sonifiers"]
    if not sonifiers:
        raise PluginError(
            "a renderer needs the sonification but no plugin registers a sonifier (the midi plugin does); "
            "install or enable it, or leave out the renderers that need sound (render.html.audio=none)"
        )
    comp = sonifiers["midi"] if "midi" in sonifiers else next(iter(sonifiers.values()))
    node = validate_node((cfg.get("render") or {}).get(comp.name) or {}, comp.schema, f"render.{comp.name}")
    return comp.factory(result, node, audio=audio)


def course_requests(
    cfg: DictConfig, typed: dict[str, Any], plugins: Plugins, screen_result: Any
) -> list[str]:
    """The best drugs whose courses the active renderers ask for (the most any one asks for: the first n
    of the ranking, those with a target in the model): simulated in the course stage's own batch."""
    n = 0
    for name in cfg.render or {}:
        comp = plugins.get("renderers", str(name))
        if comp.courses is not None:
            n = max(n, int(comp.courses(typed[f"render.{name}"])))
    t = screen_result.table
    top = t.head(n)
    return list(top.loc[top["n_targets_in_model"] > 0, "drug"]) if n else []
