"""Orchestration only: config -> sources -> twins -> screen -> course -> outputs, for one config.

Every stage is a plain function in its own package and can be called from Python without Hydra;
:func:`run` chains them (docs/design.md, "Data flow"). The stage functions are re-exported here.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from p4core.clinical.flags import flag_drugs, read_rules
from p4core.clinical.privacy import Pseudonymiser, pseudonyms
from p4core.config import check_config, compose
from p4core.course.simulate import check_treatments, simulate
from p4core.engine import make_engine
from p4core.evidence import describe, evidence, rank_by_evidence, resolve_diagnosis
from p4core.hooks.manager import Plugins, get_plugins
from p4core.io import atomic_path, write_text
from p4core.model import RunResult
from p4core.outputs import course_requests, render, renderer_needs, sonify
from p4core.redact import redacted
from p4core.screen import screen
from p4core.screen.controls import celltype_ranking, shuffled_network_control
from p4core.screen.explain import explain_table
from p4core.screen.regulators import regulators
from p4core.screen.twinfile import TWIN_FILE, save_twin
from p4core.settings import run_settings
from p4core.sources import load_knowledge, load_patient
from p4core.twin.build import build_twins

__all__ = ["check_config", "compose", "load_knowledge", "load_patient", "redacted", "render", "run"]

log = logging.getLogger("p4core")


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
    out with a warning, a context source (always named) stops the run with its name.

    The run's thread count and pseudonymisation (key, mapping file) are its own (context
    variables): nothing of them stays behind for the next run in this process."""
    plugins = plugins or get_plugins()
    typed = check_config(cfg, plugins)
    privacy = typed["privacy"]
    with (
        run_settings(n_threads=typed["engine"].n_threads),
        pseudonyms(Pseudonymiser.from_config(privacy.key, privacy.mapping)),
    ):
        return run_stages(cfg, typed, Path(outdir), plugins, startup_s, requested_renderers)


def match_report(ensemble: Any, knowledge: Any, ev: Any) -> dict[str, Any]:
    """What was matched and dropped: genes, edges, drug targets (the twin's), the disease knowledge's
    loci, genes, diseases and indications, and the risk genes the genetics line found in the twin."""
    out = dict(ensemble.match_report)
    if knowledge.diseases is not None:
        out["disease_knowledge"] = knowledge.diseases.report
    if ev is not None and ev.present("genetics"):
        g = ev.lines["genetics"]
        out["genetics"] = {
            k: g.get(k)
            for k in ("risk_genes", "risk_genes_in_twin", "risk_genes_not_in_twin", "loci", "genotype")
        }
    return out


def run_stages(
    cfg: DictConfig,
    typed: dict[str, Any],
    outdir: Path,
    plugins: Plugins,
    startup_s: float | None,
    requested_renderers: set[str] | None,
) -> tuple[RunResult, list[Path]]:
    """The stages of :func:`run` for a checked config (``typed``: :func:`check_config`'s objects),
    inside the run's own settings and pseudonymiser."""
    timings: dict[str, float] = {} if startup_s is None else {"start-up": round(float(startup_s), 3)}

    def timed(label: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        log.info("%s ...", label)
        out = fn(*args)
        timings[label] = round(time.perf_counter() - t0, 3)
        return out

    key = typed["privacy"].key
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
    safe_cfg = redacted(cfg, patient, plugins)  # all that plugins and the result ever see
    log.info("%r", patient)
    knowledge = timed("load knowledge", load_knowledge, cfg.knowledge, plugins)
    check_treatments(typed["simulate"], knowledge.drugs)  # before any work
    log.info("%r; %r", knowledge.network, knowledge.drugs)
    given = cfg.data.get("diagnosis")
    diagnosis, dx_record = resolve_diagnosis(
        given or patient.diagnosis, knowledge.diseases, patient.context, "config" if given else "data"
    )
    log.info("%s", describe(diagnosis, dx_record))
    ensemble = timed("build twins", build_twins, patient, knowledge, typed["twin"])
    plugins.call_hook("p4core_twin_built", ensemble=ensemble, cfg=safe_cfg)
    with make_engine(typed["engine"]) as engine:
        result_screen = timed("screen", screen, ensemble, knowledge.drugs, typed["screen"], engine)
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
    ev = None
    if typed["evidence"].enabled:
        ev = timed(
            "evidence",
            evidence,
            ensemble,
            result_screen,
            knowledge,
            diagnosis,
            typed["evidence"],
            patient.context.genotype,
        )
        ev.report["diagnosis_record"] = dx_record
        result_screen = rank_by_evidence(result_screen, ev)
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
        evidence=ev,
    )
    plugins.call_hook("p4core_result_ready", result=result, cfg=safe_cfg)
    needs = renderer_needs(cfg, typed, plugins)
    if "sound" in needs or "audio" in needs:
        result.sound = timed("sonify", sonify, result, cfg, plugins, "audio" in needs)

    def run_files(folder: Path) -> list[Path]:
        """The run's own records, written with the renderers' files (published with them)."""
        files = [
            write_text(folder / "config_resolved.yaml", OmegaConf.to_yaml(safe_cfg)),
            write_text(
                folder / "match_report.json",
                json.dumps(match_report(ensemble, knowledge, ev), indent=2) + "\n",
            ),
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
