"""python -m p4core render run=<dir> [render=[midi,html]] [render.midi.tempo=84 ...]: re-render a finished run.

The renderers run again on the run's saved results (:mod:`p4core.runstate`), with the options given, and
their files replace the old ones in the run's folder (all or nothing, under the folder's lock); the twins,
the screen and the course are not computed again. Without ``render=`` every default renderer runs. A
cohort's folder re-renders each patient's results (``patients/<pseudonym>/``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from p4core.errors import InputError, P4coreError, RendererFailed

if TYPE_CHECKING:
    from p4core.hooks.manager import Plugins

USAGE = (
    "usage: python -m p4core render run=<run folder> [render=[table,json,midi,plot,html]] "
    "[render.<name>.<option>=<value> ...]"
)


def parse(argv: list[str]) -> tuple[Path, list[str]]:
    """(the run folder, the render overrides), or a one-line InputError."""
    runs = [a.split("=", 1)[1] for a in argv if a.startswith("run=")]
    rest = [a for a in argv if not a.startswith("run=")]
    if len(runs) != 1 or not runs[0]:
        raise InputError(f"render: name the finished run once, run=<folder>; {USAGE}")
    bad = [a for a in rest if not a.lstrip("+").startswith("render")]
    if bad:
        raise InputError(
            f"render: {bad[0]!r} is not a renderer option; only render=[...] and render.<name>.<option>=... "
            "apply to a finished run (run the analysis again to change anything else)"
        )
    return Path(runs[0]), rest


def rerender(run: Path, overrides: list[str]) -> list[Path]:
    """Re-render ``run`` (a patient's folder, or each patient's of a cohort) with ``overrides``."""
    from p4core.runstate import read_manifest

    if not run.is_dir():
        raise InputError(f"run={run}: not a folder (give the folder of a finished p4core run)")
    patients = read_manifest(run).get("patients")
    folders = [run / "patients" / p for p in patients] if patients else [run]
    files: list[Path] = []
    failed: list[RendererFailed] = []
    for folder in folders:
        try:
            files += rerender_one(folder, overrides)
        except RendererFailed as exc:
            failed.append(exc)
            files += exc.files
    if failed:
        raise RendererFailed("; ".join(str(e) for e in failed), files)
    return files


def plugin_renderers(overrides: list[str], plugins: Plugins) -> list[str]:
    """``render=[...]`` naming a plugin's renderer that ships no preset (a third-party one configured with
    ``+render.<name>.<option>=``): the name becomes ``+render.<name>={}`` so that the run's hint works."""
    from p4core.config import group_options

    out: list[str] = []
    for item in overrides:
        key, _, value = item.partition("=")
        if key != "render" or not value.startswith("["):
            out.append(item)
            continue
        names = [n.strip() for n in value.strip("[]").split(",") if n.strip()]
        presets = set(group_options("render"))
        extra = [n for n in names if n not in presets and n in plugins.components["renderers"]]
        out.append(f"render=[{','.join(n for n in names if n not in extra)}]")
        out += [
            f"+render.{n}={{}}" for n in extra if not any(o.startswith(f"+render.{n}.") for o in overrides)
        ]
    return out


def rerender_one(run: Path, overrides: list[str]) -> list[Path]:
    from p4core.cli.folder import RunFolder
    from p4core.cli.overrides import check_overrides
    from p4core.config import compose, validate_node
    from p4core.hooks.manager import get_plugins
    from p4core.outputs import publish, render_into, renderer_needs, renderers_failed, sonify, staging_folder
    from p4core.runstate import MANIFEST, load_state, read_manifest, write_manifest

    result = load_state(run)
    plugins = get_plugins()
    cfg = compose(check_overrides(plugin_renderers(overrides, plugins), plugins))
    typed: dict = {}
    for name in cfg.render or {}:
        comp = plugins.get("renderers", str(name))
        typed[f"render.{name}"] = validate_node(cfg.render[name], comp.schema, f"render.{name}")
        if comp.check is not None:
            comp.check(typed[f"render.{name}"])
    folder = RunFolder(run, overwrite=True)
    folder.lock()
    ok = False
    try:
        needs = renderer_needs(cfg, typed, plugins)
        if "sound" in needs or "audio" in needs:
            result.sound = sonify(result, cfg, plugins, "audio" in needs)
        failures: list[tuple[str, str]] = []
        with staging_folder(run) as staging:
            written = render_into(
                result, staging, cfg.render, plugins, None, {str(n) for n in cfg.render}, failures
            )
            written += stored_config(run, staging, cfg, result, plugins, failures)
            old = read_manifest(run)
            keep = [run / f for f in old.get("files", []) if (run / f).exists() and f != MANIFEST]
            mine = [staging / f.relative_to(staging) for f in written]
            manifest = write_manifest(
                staging,
                [*(staging / f.relative_to(run) for f in keep), *mine],
                staging,
                {k: v for k, v in old.items() if k not in ("files", "p4core_version")},
            )
            files = publish([*written, manifest], staging, run)
        ok = True
    finally:
        folder.release(ok=ok)
    if failures:
        raise renderers_failed(failures, run, files)
    return files


def stored_config(
    run: Path, staging: Path, cfg: Any, result: Any, plugins: Any, failures: list
) -> list[Path]:
    """The run's ``config_resolved.yaml`` with the re-rendered renderers' options as they are now (redacted
    by the same rule), so that the stored config says how the files beside it were made."""
    from omegaconf import OmegaConf

    from p4core.io import write_text
    from p4core.redact import redacted

    path = run / "config_resolved.yaml"
    failed = {name for name, _ in failures}
    done = [str(n) for n in cfg.render or {} if str(n) not in failed]
    if not path.is_file() or not done:
        return []
    stored = OmegaConf.load(path)
    new = redacted(cfg, result.patient, plugins)
    OmegaConf.set_struct(stored, False)
    for name in done:
        stored.render[name] = new.render[name]
    return [write_text(staging / path.name, OmegaConf.to_yaml(stored))]


def main(argv: list[str]) -> int:
    """The sub-command: one line and exit 2 for bad input, 3 when a renderer failed again."""
    import logging

    from p4core.cli.run import debug_mode

    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0] + "\n\n" + USAGE)
        return 0 if argv else 2
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s][%(levelname)s] %(message)s", stream=sys.stderr
    )
    t0 = time.perf_counter()
    try:
        run, overrides = parse(argv)
        files = rerender(run, overrides)
    except RendererFailed as exc:
        print(f"p4core: {exc}", file=sys.stderr)
        return 3
    except P4coreError as exc:
        if debug_mode():
            raise
        print(f"p4core: {exc}", file=sys.stderr)
        return 2
    print(f"{len(files)} files re-rendered into {run} in {time.perf_counter() - t0:.1f}s")
    return 0
