"""``python -m p4core benchmark key=value ...``: the command line of the benchmark."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from p4core.errors import InputError, P4coreError
from p4core.evaluate.outputs import summary_table, write_model, write_outputs
from p4core.evaluate.run import run_benchmark
from p4core.evaluate.settings import BenchmarkConfig

USAGE = """\
usage: python -m p4core benchmark signatures=PATH indications=PATH knowledge_root=DIR [key=value ...]

Recovery of known disease-modifying drugs: p4core (the twin, human genetics and precedent combined) and
each of its lines against random, direct-counteraction, degree, network-proximity and popularity
baselines on identical candidate sets. Keys (key=value):
  signatures      disease signature table (doid, disease, gene_symbol, effect_size_random[, p_adjusted, pval_random])
  indications     indication table (doid_id, drugbank_id, disease, drug, category DM/SYM/NOT)
  knowledge_root  folder holding knowledge/, drugs/, ontology/ and genetics/ (the public knowledge)
  out             output folder (default outputs/benchmark)
  protocol        fixed (p4core's shipped parameters, default) or lodo (leave-one-disease-out: every
                  fitted choice made on the other diseases, the figures are the left-out ones)
  objective       what a LODO fit maximises (default auroc+p@20)
  fit.screen.K=[..], fit.knowledge.K=[..]
                  the LODO grid of the twin (default: screen.marker_weight 0, 0.05, ..., 1)
  l2              L2 penalty of the combination's logistic regression (default 1)
  model_out       write the combination refitted on all diseases (JSON) for evidence.model=
  screen.K=V, knowledge.K=V
                  an ablation: the twin with that override, as an extra method of the same run
                  (ablate=[a=1&b=2,...] for several overrides in one method)
  seed, n_random, n_boot
                  seed of the random baselines and the bootstrap (0); random rankings and proximity
                  null sets (1000); bootstrap resamples of the diseases (2000)
  diseases        subset by name or DOID, e.g. 'diseases=[rheumatoid arthritis,DOID:8577]'
  fdr             signature genes with FDR < fdr count (default 0.05; 1 = all genes); the FDR is
                  p_adjusted, or Benjamini-Hochberg over pval_random where p_adjusted is missing
  collapse_forms  one positive per indication, other salt/ester forms left out (default true)
  steps, alpha    screen overrides of p4core itself (default: p4core's defaults)
"""


def parse_args(argv: Sequence[str]) -> BenchmarkConfig:
    """``key=value`` overrides merged into :class:`BenchmarkConfig` (unknown key / wrong type: InputError).

    ``screen.*`` and ``knowledge.*`` arguments are ablations: each adds a p4core method with it."""
    items, ablations = [], []
    for a in argv:
        if "=" not in a:
            raise InputError(f"argument {a!r} is not key=value (see python -m p4core benchmark --help)")
        key, value = a.split("=", 1)
        key = key.lstrip("+")
        if key.startswith(("screen.", "knowledge.")):
            ablations.append(f"{key}={value}")
            continue
        if key in ("diseases", "ablate") and value and not value.lstrip().startswith("["):
            value = "[" + value + "]"  # diseases=a,b is the list [a, b]
        items.append(f"{key}={value}")
    schema = OmegaConf.structured(BenchmarkConfig)
    try:
        merged = OmegaConf.merge(schema, OmegaConf.from_dotlist(items))
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        bad_key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
        msg = str(getattr(exc, "msg", None) or exc).strip().splitlines()[0]
        if "not in" in msg or type(exc).__name__ == "ConfigKeyError":
            known = ", ".join(f.name for f in BenchmarkConfig.__dataclass_fields__.values())
            raise InputError(f"unknown key {bad_key!r}; known keys: {known}") from None
        raise InputError(f"bad value for key {bad_key!r}: {msg}") from None
    assert isinstance(cfg, BenchmarkConfig)
    cfg.ablate = [*cfg.ablate, *ablations]
    return cfg


def main(argv: list[str]) -> int:
    """``python -m p4core benchmark [key=value ...]``; returns the exit code."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    root = logging.getLogger("p4core")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("p4core benchmark: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    try:
        cfg = parse_args(argv)
        hints = {
            "signatures": "<path to disease_signatures.tsv.gz>",
            "indications": "<path to indications.tsv>",
            "knowledge_root": "<folder holding knowledge/ and drugs/>",
        }
        missing = [k for k in hints if not getattr(cfg, k)]
        if missing:
            raise InputError(
                f"missing required {', '.join(missing)}: pass " + " ".join(f"{k}={hints[k]}" for k in missing)
            )
        cfg.check()

        def report(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        report(f"p4core benchmark: loading inputs (knowledge from {cfg.knowledge_root}) ...")
        result = run_benchmark(cfg, report=report)
        if not result["n_evaluated"]:
            raise InputError(
                f"no disease could be evaluated ({result['n_skipped']} skipped: "
                + "; ".join(f"{s['disease']}: {s['reason']}" for s in result["skipped"])
                + ")"
            )
        files = write_outputs(result, cfg.out)
        if cfg.model_out:
            files.append(write_model(result, cfg.model_out))
    except (P4coreError, OmegaConfBaseException) as exc:
        msg = " ".join(str(exc).split())
        print(f"p4core benchmark: error: {msg}", file=sys.stderr)
        return 2
    finally:
        root.removeHandler(handler)
    skipped = result["skipped"]
    print(
        f"p4core benchmark ({result['protocol']['name']} protocol): {result['n_evaluated']} of "
        f"{result['n_diseases']} diseases evaluated, {len(skipped)} skipped"
        + (" (" + "; ".join(f"{s['disease']}: {s['reason']}" for s in skipped) + ")" if skipped else "")
        + f"; {result['knowledge']['n_candidates']} candidate drugs; {result['timings']['total_s']:.1f}s"
    )
    print("overall (mean over evaluated diseases, 95% bootstrap intervals over diseases):")
    print(summary_table(result))
    print(f"written: {', '.join(str(f) for f in files)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
