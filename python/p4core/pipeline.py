"""Orchestration only: config -> sources -> twins -> screen -> course -> outputs, for one config.

Every stage is a plain function in its own package and can be called from Python without Hydra;
:func:`run` chains them (docs/design.md, "Data flow"). The stage functions are re-exported here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from p4core import peakmem
from p4core.audio import encode_soon
from p4core.clinical.flags import flag_drugs, read_rules
from p4core.clinical.privacy import Pseudonymiser, pseudonyms
from p4core.cohort import assemble, patient_ids, programme_scores, read_programmes, split, summarise
from p4core.config import check_config, compose
from p4core.course.simulate import check_treatments, simulate
from p4core.engine import make_engine
from p4core.errors import InputError
from p4core.evidence import describe, evidence, rank_by_evidence, resolve_diagnosis
from p4core.hooks.manager import Plugins, get_plugins
from p4core.io import atomic_path, write_text
from p4core.model import CohortResult, Diagnosis, Knowledge, Patient, RunResult
from p4core.outputs import (
    course_requests,
    finish_folder,
    publish,
    render,
    render_cohort,
    render_into,
    renderer_needs,
    renderers_failed,
    sonify,
    staging_folder,
)
from p4core.redact import redacted
from p4core.runstate import write_manifest
from p4core.screen import screen
from p4core.screen.controls import celltype_ranking, rank_twin, shuffled_network_control
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
) -> tuple[RunResult | CohortResult, list[Path]]:
    """Run the whole pipeline for ``cfg`` and write the outputs into ``outdir`` (``startup_s``: the
    command's start-up before this call, recorded with the stages' timings). Plugins see only the
    redacted config. A renderer that raises stops the run if it is in ``requested_renderers`` (the
    ones the user named; None: all), else it is left out with a warning; a score that raises is left
    out with a warning, a context source (always named) stops the run with its name.

    The run's thread count and pseudonymisation (key, mapping file) are its own (context
    variables): nothing of them stays behind for the next run in this process."""
    plugins = plugins or get_plugins()
    typed = preflight(cfg, plugins)
    privacy = typed["privacy"]
    with (
        run_settings(n_threads=typed["engine"].n_threads),
        pseudonyms(Pseudonymiser.from_config(privacy.key, privacy.mapping)),
    ):
        return run_stages(cfg, typed, Path(outdir), plugins, startup_s, requested_renderers)


def preflight(cfg: DictConfig, plugins: Plugins | None = None) -> dict[str, Any]:
    """Every check that needs no data, before any work (the command line runs it before the run folder
    exists): the config's nodes and each plugin's ``check=`` of its inputs (:func:`p4core.config.check_config`)
    and the files the core reads itself (``avoid_rules``). Returns the typed config."""
    plugins = plugins or get_plugins()
    typed = check_config(cfg, plugins)
    if cfg.get("avoid_rules"):
        read_rules(cfg.avoid_rules)
    show = cfg.get("show_top", 10)
    if not isinstance(show, int) or isinstance(show, bool) or show < 0:
        raise InputError(f"show_top: rows of the closing table, an integer >= 0, got {show!r}")
    return typed


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


class Timer:
    """The run's stage timings (seconds), each stage logged as it starts."""

    def __init__(self, startup_s: float | None = None) -> None:
        self.timings: dict[str, float] = {} if startup_s is None else {"start-up": round(float(startup_s), 3)}
        self.memory: dict[str, float] = (
            {} if startup_s is None else {"start-up": round(peakmem.high_water_mb(), 1)}
        )

    def __call__(self, label: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        log.info("%s ...", label)
        with peakmem.StagePeak() as peak:
            out = fn(*args)
        self.timings[label] = round(time.perf_counter() - t0, 3)
        self.memory[label] = peak.mb
        return out


def run_stages(
    cfg: DictConfig,
    typed: dict[str, Any],
    outdir: Path,
    plugins: Plugins,
    startup_s: float | None,
    requested_renderers: set[str] | None,
) -> tuple[RunResult | CohortResult, list[Path]]:
    """The stages of :func:`run` for a checked config (``typed``: :func:`check_config`'s objects),
    inside the run's own settings and pseudonymiser: the patient, its context, the knowledge and the
    diagnosis; then one patient's stages and renderers, or the cohort's (``data.patient=all``)."""
    timed = Timer(startup_s)
    key = typed["privacy"].key
    patient = timed("load patient", load_patient, cfg.data, plugins, key)
    cohort_run = bool(patient_ids(patient))
    if cohort_run and cfg.get("context"):
        raise InputError(
            f"context={list(cfg.context)} describes one patient, but data.patient=all runs a cohort; run "
            "data.patient=<id> for the patient the record belongs to"
        )
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
    log.info("%r", patient)
    knowledge = timed("load knowledge", load_knowledge, cfg.knowledge, plugins)
    check_treatments(typed["simulate"], knowledge.drugs)  # before any work
    log.info("%r; %r", knowledge.network, knowledge.drugs)
    given = cfg.data.get("diagnosis")
    diagnosis, dx_record = resolve_diagnosis(
        given or patient.diagnosis, knowledge.diseases, patient.context, "config" if given else "data"
    )
    log.info("%s", describe(diagnosis, dx_record))
    shared = Shared(cfg, typed, plugins, knowledge, diagnosis, dx_record)
    if cohort_run:
        return run_cohort(patient, shared, timed, outdir, requested_renderers)
    safe_cfg = redacted(cfg, patient, plugins)  # all that plugins and the result ever see
    result = patient_stages(patient, shared, safe_cfg, timed)
    files = timed(
        "render",
        render,
        result,
        outdir,
        cfg.render,
        plugins,
        record_files(result, safe_cfg, typed["explain"]),
        requested_renderers,
    )
    return result, files


@dataclass
class Shared:
    """What every patient of a run shares: the config, the plugins, the knowledge and the diagnosis."""

    cfg: DictConfig
    typed: dict[str, Any]
    plugins: Plugins
    knowledge: Knowledge
    diagnosis: Diagnosis | None
    dx_record: dict[str, Any]


def patient_stages(patient: Patient, sh: Shared, safe_cfg: DictConfig, timed: Timer) -> RunResult:
    """One patient's twins, screen, controls, evidence, regulators, course, explanations and sound."""
    cfg, typed, plugins, knowledge = sh.cfg, sh.typed, sh.plugins, sh.knowledge
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
    result_screen = rank_twin(result_screen, typed["screen"].demote_marker_driven)
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
            sh.diagnosis,
            typed["evidence"],
            patient.context.genotype,
        )
        ev.report["diagnosis_record"] = sh.dx_record
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
        timings=timed.timings,
        memory_mb=timed.memory,
        regulators=regs,
        celltypes=celltype_ranking(ensemble),
        explain=explained,
        evidence=ev,
    )
    plugins.call_hook("p4core_result_ready", result=result, cfg=safe_cfg)
    needs = renderer_needs(cfg, typed, plugins)
    if "sound" in needs or "audio" in needs:
        result.sound = timed("sonify", sonify, result, cfg, plugins, "audio" in needs)
        sound = result.sound
        if sound is not None and sound.pcm is not None:  # encodings a renderer will embed, beside the others
            for fmt in sorted(n.split(":", 1)[1] for n in needs if n.startswith("audio:")):
                encode_soon(sound.pcm, sound.sample_rate, fmt)
    return result


def record_files(result: RunResult, safe_cfg: DictConfig, ex: Any) -> Callable[[Path], list[Path]]:
    """The writer of the run's own records (the redacted config, the match report, the twin file, the
    knowledge's sign conflicts), published with the renderers' files."""

    def write(folder: Path) -> list[Path]:
        ensemble, knowledge = result.ensemble, result.knowledge
        files = [
            write_text(folder / "config_resolved.yaml", OmegaConf.to_yaml(safe_cfg)),
            write_text(
                folder / "match_report.json",
                json.dumps(match_report(ensemble, knowledge, result.evidence), indent=2) + "\n",
            ),
        ]
        if ex.save_twin:
            files.append(save_twin(folder / TWIN_FILE, ensemble, knowledge.drugs, result.screen))
        if knowledge.conflicts is not None and len(knowledge.conflicts):
            with atomic_path(folder / "knowledge_conflicts.csv") as tmp:
                knowledge.conflicts.to_csv(tmp, index=False)
            files.append(folder / "knowledge_conflicts.csv")
        return files

    return write


def run_cohort(
    cohort: Patient, sh: Shared, timed: Timer, outdir: Path, requested: set[str] | None
) -> tuple[CohortResult, list[Path]]:
    """``data.patient=all``: every disease-group patient through :func:`patient_stages`, its files in
    ``patients/<pseudonym>/``, then the cohort's files; all published at once (or none)."""
    patients = split(cohort, sh.typed["privacy"].key)
    log.info("cohort: %d patient(s): %s", len(patients), ", ".join(p.pseudonym for p in patients))
    programmes = read_programmes()
    summaries, written = [], []
    failures: list[tuple[str, str]] = []
    with staging_folder(outdir) as staging:
        for i, patient in enumerate(patients, 1):
            log.info("cohort: patient %d/%d (%s)", i, len(patients), patient.pseudonym)
            own = Timer()
            safe_cfg = redacted(sh.cfg, patient, sh.plugins)
            result = patient_stages(patient, sh, safe_cfg, own)
            folder = staging / "patients" / patient.pseudonym
            mine = render_into(
                result,
                folder,
                sh.cfg.render,
                sh.plugins,
                record_files(result, safe_cfg, sh.typed["explain"]),
                requested,
                failures,
            )
            written += mine + finish_folder(result, folder, mine)
            summaries.append(
                summarise(result, programme_scores(patient, programmes, list(result.ensemble.celltypes)))
            )
            timed.timings[f"patient {patient.pseudonym}"] = round(sum(own.timings.values()), 3)
        result_cohort = assemble(
            summaries, {"diagnosis": None if sh.diagnosis is None else sh.diagnosis.to_dict()}
        )
        result_cohort.timings["stages"] = dict(timed.timings)
        written += timed("render cohort", render_cohort, result_cohort, staging, sh.cfg.render, sh.plugins)
        written.append(
            write_text(
                staging / "config_resolved.yaml", OmegaConf.to_yaml(redacted(sh.cfg, None, sh.plugins))
            )
        )
        written.append(write_manifest(staging, written, staging, {"patients": list(result_cohort.patients)}))
        files = publish(written, staging, outdir)
    if failures:
        raise renderers_failed(failures, outdir, files)
    return result_cohort, files
