"""The pipeline as plain functions: load -> build twins -> screen -> simulate -> render.

Every stage can be called from Python without Hydra; :func:`run` chains them for one config.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from p4core.clinical.flags import flag_drugs, read_rules
from p4core.clinical.privacy import set_mapping
from p4core.config import PrivacyConfig, validate_node
from p4core.course.params import SimulateParams
from p4core.course.simulate import check_treatments, simulate
from p4core.engine import make_engine
from p4core.engine.params import EngineConfig
from p4core.errors import InputError, PluginError
from p4core.hooks.manager import Plugins, get_plugins
from p4core.io import atomic_path, write_text
from p4core.knowledge import file_digest
from p4core.model import Knowledge, Patient, RunResult
from p4core.screen import ScreenParams, screen
from p4core.screen.explain import TWIN_FILE, explain_table, save_twin
from p4core.screen.params import ExplainParams, RegulatorParams
from p4core.screen.regulators import celltype_ranking, regulators, shuffled_network_control
from p4core.settings import settings
from p4core.twin.build import build_twins
from p4core.twin.params import TwinParams

log = logging.getLogger("p4core")


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The run config for ``overrides`` (Hydra syntax), as ``python -m p4core`` would compose it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from p4core.config import register_configs

    register_configs()
    with initialize_config_module(config_module="p4core.configs", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides))


def _source_name(node: Any, group: str) -> str:
    name = node.get("source") if node is not None else None
    if not name:
        raise InputError(
            f"config {group}: no 'source' given; pick one with {group}=<preset> "
            f"(see `python -m p4core plugins`)"
        )
    return str(name)


CORE_GROUPS = {
    "regulators": RegulatorParams,
    "twin": TwinParams,
    "screen": ScreenParams,
    "simulate": SimulateParams,
    "engine": EngineConfig,
    "privacy": PrivacyConfig,
    "explain": ExplainParams,
}


def check_config(cfg: DictConfig, plugins: Plugins | None = None) -> dict[str, Any]:
    """Validate every config node, the core groups and those owned by plugins, before any work.

    Returns the typed objects of the core groups and the typed nodes of the plugins'."""
    plugins = plugins or get_plugins()
    typed: dict[str, Any] = {}
    for group, schema in CORE_GROUPS.items():
        typed[group] = OmegaConf.to_object(validate_node(cfg[group], schema, group))
    for group, kind in (("data", "sources"), ("knowledge", "knowledge")):
        comp = plugins.get(kind, _source_name(cfg[group], group))
        typed[group] = validate_node(cfg[group], comp.schema, group)
    for name in cfg.get("context") or {}:
        comp = plugins.get("context", str(name))
        typed[f"context.{name}"] = validate_node(cfg.context[name], comp.schema, f"context.{name}")
    for name in cfg.render or {}:
        comp = plugins.get("renderers", str(name))
        typed[f"render.{name}"] = validate_node(cfg.render[name], comp.schema, f"render.{name}")
    return typed


def load_patient(data_cfg: Any, plugins: Plugins | None = None, pseudonym_key: str | None = None) -> Patient:
    """Load the patient with the data source named by ``data_cfg.source``."""
    plugins = plugins or get_plugins()
    comp = plugins.get("sources", _source_name(data_cfg, "data"))
    node = validate_node(data_cfg, comp.schema, "data")
    return comp.factory(node, pseudonym_key=pseudonym_key)


def load_knowledge(knowledge_cfg: Any, plugins: Plugins | None = None) -> Knowledge:
    """Load prior knowledge with the plugin named by ``knowledge_cfg.source``."""
    plugins = plugins or get_plugins()
    comp = plugins.get("knowledge", _source_name(knowledge_cfg, "knowledge"))
    return comp.factory(validate_node(knowledge_cfg, comp.schema, "knowledge"))


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
    outdir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".p4core-staging-", dir=outdir))
    try:
        written: list[Path] = []
        names = [str(n) for n in render_cfg or {}]
        # renderers that summarise the run (summary.json with every stage's timing) go last
        names.sort(key=lambda n: plugins.get("renderers", n).last)
        for name in names:
            comp = plugins.get("renderers", name)
            node = validate_node(render_cfg[name], comp.schema, f"render.{name}")
            t0 = time.perf_counter()
            required = requested is None or name in requested
            ok, files = plugins.run_component(comp, required, result, staging, node)
            if not ok:
                continue
            seconds = time.perf_counter() - t0
            result.timings[f"render {name}"] = round(seconds, 3)
            log.info("render %s: %d file(s) in %.2fs", name, len(files), seconds)
            written += [Path(f) for f in files]
        if extra is not None:
            written += extra(staging)
        return publish(written, staging, outdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


def redacted(cfg: DictConfig, patient: Patient) -> DictConfig:
    """The resolved config with identifying values replaced: ``data.patient_id`` by the pseudonym,
    ``data.path`` (a file name may name the patient) by the SHA-256 of the file's contents, the
    pseudonym key and mapping file, and the identifiers given to context sources."""
    out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    assert isinstance(out, DictConfig)
    data = out.get("data") or {}
    if data.get("patient_id"):
        data["patient_id"] = patient.pseudonym
    if data.get("path"):
        path = Path(str(data["path"]))
        digest = file_digest([path])[:16] if path.is_file() else "unavailable"
        data["path"] = f"<redacted: pass the same file again; sha256 {digest}>"
    privacy = out.get("privacy") or {}
    for key in ("key", "mapping"):  # the pseudonym key (and a mapping file's name) stay private
        if privacy.get(key):
            privacy[key] = "<redacted>"
    for node in (out.get("context") or {}).values():  # identifiers given to context sources
        for key in ("lopnr", "patient_id", "identifier", "sample"):
            if node is not None and node.get(key) not in (None, ""):
                node[key] = "<redacted>"
    return out


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


def run(
    cfg: DictConfig,
    outdir: str | Path,
    plugins: Plugins | None = None,
    startup_s: float | None = None,
    requested_renderers: set[str] | None = None,
) -> tuple[RunResult, list[Path]]:
    """Run the whole pipeline for ``cfg`` and write the outputs into ``outdir`` (``startup_s``: the
    command's start-up before this call, recorded with the stages' timings). Plugins see only the
    redacted config. A renderer that raises stops the run if it is in ``requested_renderers`` (the
    ones the user named; None: all), else it is left out with a warning; a score that raises is left
    out with a warning, a context source (always named) stops the run with its name."""
    plugins = plugins or get_plugins()
    typed = check_config(cfg, plugins)
    settings.n_threads = typed["engine"].n_threads
    timings: dict[str, float] = {} if startup_s is None else {"start-up": round(float(startup_s), 3)}

    def timed(label: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        log.info("%s ...", label)
        out = fn(*args)
        timings[label] = round(time.perf_counter() - t0, 3)
        return out

    key = typed["privacy"].key
    set_mapping(typed["privacy"].mapping)
    patient = timed("load patient", load_patient, cfg.data, plugins, key)
    for name in cfg.get("context") or {}:  # nodes validated by check_config; asked for by name
        comp = plugins.get("context", str(name))
        _, patient.context = timed(
            f"context {name}",
            plugins.run_component,
            comp,
            True,
            typed[f"context.{name}"],
            patient.context,
            key,
        )
    for name, comp in plugins.components["scores"].items():  # scores from the whole context
        ok, value = plugins.run_component(comp, False, patient.context)
        if ok and value is not None:
            patient.context.scores[name] = value
    safe_cfg = redacted(cfg, patient)  # all that plugins and the result ever see
    log.info("%r", patient)
    knowledge = timed("load knowledge", load_knowledge, cfg.knowledge, plugins)
    check_treatments(typed["simulate"], knowledge.drugs)  # before any work
    log.info("%r; %r", knowledge.network, knowledge.drugs)
    ensemble = timed("build twins", build_twins, patient, knowledge, typed["twin"])
    plugins.call_hook("p4core_twin_built", ensemble=ensemble, cfg=safe_cfg)
    with make_engine(typed["engine"]) as engine:
        result_screen = timed(
            "screen", screen, ensemble, knowledge.drugs, typed["screen"], engine, typed["engine"]
        )
    timed(
        "shuffled-network control",
        shuffled_network_control,
        ensemble,
        knowledge,
        result_screen,
        typed["screen"],
        typed["screen"].seed,
    )
    rules = read_rules(cfg.avoid_rules) if cfg.get("avoid_rules") else None
    result_screen.table = flag_drugs(result_screen.table, patient.context, rules)
    regs = None
    if typed["regulators"].enabled:
        regs = timed(
            "regulators",
            regulators,
            ensemble,
            knowledge,
            typed["regulators"],
            typed["screen"],
            result_screen.scales,
        )
    traj = timed(
        "simulate",
        simulate,
        ensemble,
        result_screen,
        knowledge.drugs,
        typed["simulate"],
        None,
        patient.context.events,
        course_requests(cfg, typed, plugins, result_screen),
    )
    ex = typed["explain"]
    explained = (
        timed(
            "explain",
            explain_table,
            ensemble,
            knowledge.drugs,
            result_screen,
            typed["screen"],
            ex.top,
            ex.genes,
        )
        if ex.top
        else None
    )
    result = RunResult(
        patient,
        knowledge,
        ensemble,
        result_screen,
        traj,
        config=dict(OmegaConf.to_container(safe_cfg, resolve=True)),  # type: ignore[arg-type]
        timings=timings,
        regulators=regs,
        celltypes=celltype_ranking(ensemble),
        explain=explained,
    )
    plugins.call_hook("p4core_result_ready", result=result, cfg=safe_cfg)
    needs = renderer_needs(cfg, typed, plugins)
    if "sound" in needs or "audio" in needs:
        result.sound = timed("sonify", sonify, result, cfg, plugins, "audio" in needs)

    def run_files(folder: Path) -> list[Path]:
        """The run's own records, written with the renderers' files (published with them)."""
        files = [
            write_text(folder / "config_resolved.yaml", OmegaConf.to_yaml(safe_cfg)),
            write_text(folder / "match_report.json", json.dumps(ensemble.match_report, indent=2) + "\n"),
        ]
        if ex.save_twin:
            files.append(save_twin(folder / TWIN_FILE, ensemble, knowledge.drugs, result_screen))
        if knowledge.conflicts is not None and len(knowledge.conflicts):
            with atomic_path(folder / "knowledge_conflicts.csv") as tmp:
                knowledge.conflicts.to_csv(tmp, index=False)
            files.append(folder / "knowledge_conflicts.csv")
        return files

    files = timed("render", render, result, outdir, cfg.render, plugins, run_files, requested_renderers)
    return result, files
