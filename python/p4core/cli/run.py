"""The main command: ``python -m p4core [hydra overrides]`` runs the pipeline in a Hydra job."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from p4core.cli.folder import CURRENT, RunFolder
from p4core.config import register_configs
from p4core.errors import P4coreError, RendererFailed, output_error
from p4core.hooks.manager import Plugins, get_plugins
from p4core.model import CohortResult, RunResult
from p4core.redact import redact_sweep_record, scrub_log_files
from p4core.screen.summary import shown_ranks, tie_key

log = logging.getLogger("p4core")
#: the failed jobs of a sweep (job number, message), reported when the sweep ends
FAILED: list[tuple[int, str]] = []


def summary(result: RunResult, files: list[Path], outdir: Path, n: int, elapsed: float) -> str:
    """The short closing table: the diagnosis and the lines of evidence, then the top drugs with the
    combined probability, tier, the twin's score with its 95% interval, P(top k), FDR and driving
    cell types."""
    t = result.screen.table.head(n)
    k = result.screen.params.get("top_k", 10)
    ev = result.evidence
    lines = [
        "",
        f"p4core: patient {result.patient.pseudonym}, {len(result.ensemble)} twins, "
        f"{len(result.ensemble.celltypes)} cell types, {len(result.screen.drugs)} drugs screened",
    ]
    if ev is not None:
        lines.append(evidence_line(ev))
    prob = ev is not None and "probability" in t.columns
    head = f"{'rank':>4}  {'drug':<22}" + (f" {'P(DM)':>6} {'tier':<4}" if prob else "")
    lines.append(
        head + f" {'twin':>7}  {'95% interval':<17} {f'P(top{k})':>9} {'FDR':>6}  driving cell types"
    )
    whole = result.screen.table  # ties are read over the whole table (a tie may cross the cut)
    keys = [
        tie_key(p, s)
        for p, s in zip(
            whole["probability"] if prob else [None] * len(whole), whole["score_mean"], strict=True
        )
    ]
    shown = dict(zip(whole["drug"], shown_ranks(list(whole["rank"]), keys), strict=True))
    for row in t.itertuples(index=False):
        d = row._asdict()
        mark = " (taken)" if d.get("already_taken") is True else (" (avoid)" if d.get("avoid") else "")
        cells = f" {d['probability']:>6.3f} {str(d.get('tier') or '-'):<4}" if prob else ""
        lines.append(
            f"{shown[d['drug']]:>4}  {(str(d['drug'])[: 22 - len(mark)] + mark):<22}{cells} {d['score_mean']:>7.3f}  "
            f"[{d['ci_low']:>6.3f}, {d['ci_high']:>6.3f}] {d[f'p_top{k}']:>9.2f} {d.get('fdr', float('nan')):>6.3f}"
            f"  {d['drivers']}"
        )
    if prob:
        lines.append(
            "P(DM): probability that the drug is disease-modifying (twin, genetics and precedent combined); "
            "tier: I standard and fits, S standard, X standard but the twin argues against, II related disease, "
            "III genetic support, IV the twin alone; twin: the twin's score"
        )
    ctx = result.patient.context
    if ctx.diagnoses or ctx.medication_records or ctx.imaging or ctx.scores:
        scores = ", ".join(
            f"{k} {v.get('index', v.get('score', ''))}" if isinstance(v, dict) else k
            for k, v in ctx.scores.items()
        )
        lines.append(
            f"context: {_n(len(ctx.conditions), 'condition')}, {_n(len(ctx.medications), 'medication')}, "
            f"{_n(len(ctx.imaging), 'imaging study', 'imaging studies')}, {_n(len(ctx.events), 'event')}; "
            f"scores: {scores or 'none'}"
        )
    logs = [p for p in outdir.glob("*.log") if p not in set(map(Path, files))]  # Hydra's job log
    n = len(files) + len(logs)
    note = f" ({len(files)} results and the run's log)" if logs else ""
    lines.append(f"{n} files written to {outdir} in {elapsed:.1f}s{note}")
    report = [f for f in files if Path(f).suffix == ".html"]
    if report:
        lines.append(f"open {report[0]} in a browser for the interactive report (works offline)")
    return "\n".join(lines)


def cohort_summary(cohort: CohortResult, files: list[Path], outdir: Path, n: int, elapsed: float) -> str:
    """The closing table of a cohort run: each patient's best drugs side by side, the drugs whose rank
    differs most, the programmes that vary most, where the files are."""
    t = cohort.table
    lines = ["", f"p4core: cohort of {len(cohort.patients)} patient(s), one twin each"]
    width = max(22, *(len(p) for p in cohort.patients))
    head = f"{'rank':>4}  " + "  ".join(f"{p:<{width}}" for p in cohort.patients)
    lines.append(head)
    for r in range(1, n + 1):
        cells = []
        for p in cohort.patients:
            row = t[(t["patient"] == p) & (t["rank"] == r)]
            tier = f" [{row['tier'].iloc[0]}]" if "tier" in row and len(row) and row["tier"].iloc[0] else ""
            cells.append(f"{(str(row['drug'].iloc[0]) + tier) if len(row) else '':<{width}}"[:width])
        lines.append(f"{r:>4}  " + "  ".join(cells))
    if len(cohort.differing):
        top = cohort.differing.head(5)
        lines.append(
            "ranks differ most for: "
            + "; ".join(
                f"{d} ({', '.join(str(int(top.loc[i, f'rank:{p}'])) if top.loc[i, f'rank:{p}'] == top.loc[i, f'rank:{p}'] else '-' for p in cohort.patients)})"
                for i, d in zip(top.index, top["drug"], strict=True)
            )
        )
    if len(cohort.varying_programmes):
        v = cohort.varying_programmes.head(3)
        lines.append(
            "programmes that set the patients apart: "
            + "; ".join(
                f"{r.programme} in {r.celltype} ({r.min:+.2f} to {r.max:+.2f})" for r in v.itertuples()
            )
        )
    lines.append(
        f"{len(files)} files written to {outdir} in {elapsed:.1f}s (each patient's in patients/<pseudonym>/)"
    )
    report = [f for f in files if Path(f).name == "cohort.html"]
    if report:
        lines.append(f"open {report[0]} in a browser for the cohort report")
    return "\n".join(lines)


def evidence_line(ev) -> str:  # noqa: ANN001 - EvidenceResult
    """One line: the diagnosis and which lines of evidence are present (and why not)."""
    dx = ev.diagnosis
    head = f"diagnosis: {dx.label} ({dx.doid})" if dx is not None else "diagnosis: none"
    parts = []
    for name, info in ev.lines.items():
        if name == "mechanism":
            continue
        if info.get("present"):
            extra = (
                f"{info.get('risk_genes_in_twin', 0)} of {info.get('risk_genes', 0)} risk genes in the twin"
                if name == "genetics"
                else f"{info.get('other_diseases', 0)} other diseases, {len(info.get('related_diseases', []))} related"
            )
            parts.append(f"{name} ({extra})")
        else:
            parts.append(f"{name} absent ({info.get('reason', '')})")
    return f"{head}; lines: twin, " + ", ".join(parts)


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def redact_multirun_record(sweep_dir: Path, cfg: DictConfig, plugins: Plugins) -> None:
    """Hydra writes the sweep's config, overrides included, to ``multirun.yaml`` before any job runs;
    a file name can name the patient, so every job rewrites it with the identifying values redacted."""
    from omegaconf import OmegaConf

    from p4core.io import write_text

    path = sweep_dir / "multirun.yaml"
    if path.is_file():
        record = OmegaConf.load(path)
        assert isinstance(record, DictConfig)
        write_text(path, OmegaConf.to_yaml(redact_sweep_record(record, cfg, plugins)))


def check_output_folder(path: str | Path, option: str = "hydra.run.dir") -> None:
    """Create ``path`` (with its parents) and prove it writable, or raise a one-line InputError
    naming ``option`` as the way to choose another."""
    import tempfile

    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".p4core-write-test-"):
            pass
    except OSError as exc:
        raise output_error(exc, option) from None


def debug_mode() -> bool:
    import os

    return os.environ.get("P4CORE_DEBUG", "") not in ("", "0")


class OutputFolderCheck(Callback):
    """Hydra callback (configs/config.yaml, ``hydra.callbacks``), before Hydra creates the run folder and
    its log file: every check of the config and of the inputs it names (:func:`p4core.pipeline.preflight`),
    then the folder claimed for this run (:class:`p4core.cli.folder.RunFolder`: not another run's, locked,
    writable). A refusal is one line and leaves nothing behind. A sweep's folder is checked for being
    writable; each job checks itself (:func:`hydra_job`)."""

    def _fail(self, exc: P4coreError) -> None:
        if debug_mode():  # Hydra turns a callback's exception into a warning: show it, then stop
            import traceback

            traceback.print_exception(exc)
        print(f"p4core: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    def on_run_start(self, config: DictConfig, **kwargs: object) -> None:
        from p4core.pipeline import preflight

        folder = RunFolder(str(config.hydra.run.dir), bool(config.get("overwrite", False)))
        try:
            preflight(config)
            folder.claim()
        except P4coreError as exc:
            self._fail(exc)
        except OSError as exc:
            folder.release(ok=False)
            self._fail(output_error(exc, "hydra.run.dir"))
        try:
            check_output_folder(folder.path, "hydra.run.dir")
        except P4coreError as exc:
            folder.release(ok=False)
            self._fail(exc)
        CURRENT[:] = [folder]

    def on_multirun_start(self, config: DictConfig, **kwargs: object) -> None:
        try:
            check_output_folder(str(config.hydra.sweep.dir), "hydra.sweep.dir")
        except P4coreError as exc:
            self._fail(exc)
        FAILED.clear()


def main() -> None:
    """``python -m p4core [overrides]``: register the schema with Hydra, check the overrides (one p4core
    line for a mistake, :mod:`p4core.cli.overrides`), then run the Hydra job; a sweep runs every job and
    ends with the failed ones (exit 1 when any failed)."""
    from p4core.cli.overrides import check_overrides

    register_configs()
    try:
        sys.argv[1:] = check_overrides(sys.argv[1:])
    except P4coreError as exc:
        if debug_mode():
            raise
        print(f"p4core: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    FAILED.clear()
    hydra_job()
    if FAILED:
        lines = "\n".join(f"  job {num}: {msg}" for num, msg in FAILED)
        print(
            f"p4core: {len(FAILED)} job(s) of the sweep failed (their folders were removed):\n{lines}",
            file=sys.stderr,
        )
        raise SystemExit(1)


@hydra.main(version_base="1.3", config_path="pkg://p4core.configs", config_name="config")
def hydra_job(cfg: DictConfig) -> None:
    from hydra.types import RunMode

    from p4core.pipeline import run

    hc = HydraConfig.get()
    outdir = Path(hc.runtime.output_dir)
    sweep = hc.mode == RunMode.MULTIRUN
    t0 = time.perf_counter()
    overwrite = bool(cfg.get("overwrite", False))
    folder = (
        RunFolder.of_job(outdir, overwrite)
        if sweep
        else CURRENT[0]
        if CURRENT
        else RunFolder(outdir, overwrite)
    )
    code, message = 0, ""
    try:
        plugins = get_plugins()
        scrub_log_files(cfg, plugins)  # the run's log file never holds an identifying value
        if sweep:  # each job checks itself; a refused job is reported at the end, the others run
            redact_multirun_record(Path(hc.sweep.dir), cfg, plugins)
            from p4core.pipeline import preflight

            preflight(cfg, plugins)
            folder.claim_job()
        requested = requested_renderers([str(o) for o in hc.overrides.task])
        result, files = run(cfg, outdir, plugins, _startup_seconds(), requested)
    except RendererFailed as exc:  # the other results are published: kept, but the run says so
        code, message = 3, str(exc)
    except P4coreError as exc:
        code, message = 2, str(exc)
        if debug_mode():
            folder.release(ok=False)
            raise
    except OSError as exc:  # an output that cannot be written (disk full, permissions): nothing was kept
        code, message = 2, str(output_error(exc))
        if debug_mode():
            folder.release(ok=False)
            raise
    except KeyboardInterrupt:
        # the kernel returns between blocks of twins; results are only ever moved into the run
        # directory as a complete set at the end, so nothing partial is left behind
        log.error("interrupted: no results written to %s", outdir)
        folder.release(ok=False)
        raise SystemExit(130) from None
    folder.release(ok=code in (0, 3))
    if code:
        log.error("%s", message)  # to stderr (and, when the run's results were kept, its log file)
        if sweep:
            FAILED.append((hc.job.num, message))
            return
        raise SystemExit(code)
    elapsed = time.perf_counter() - t0
    if isinstance(result, CohortResult):
        print(cohort_summary(result, files, outdir, int(cfg.show_top), elapsed))
    else:
        print(summary(result, files, outdir, int(cfg.show_top), elapsed))


def requested_renderers(overrides: list[str]) -> set[str]:
    """The renderers the command line names (``render=[a,b]``, ``render=a``, ``render.a.x=...``): a
    failure of one of these stops the run; the default list's others are left out with a warning."""
    names: set[str] = set()
    for item in overrides:
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key == "render":
            names.update(v.strip() for v in value.strip("[]").split(",") if v.strip())
        elif key.startswith("render."):
            names.add(key.split(".")[1])
    return names


def _startup_seconds() -> float:
    """Seconds from the interpreter's start to now (imports, Hydra's config composition): from when p4core
    began loading, plus the CPU the interpreter had spent before that (its own start-up, CPU-bound). Not
    the process's start time: in a container its clock and the boot clock of /proc differ."""
    from p4core.startclock import START

    t0, before = START
    return time.perf_counter() - t0 + before
