"""The benchmark run: every method on every disease, the protocol, statistics and outputs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core.errors import InputError
from p4core.evaluate import metrics as M
from p4core.evaluate.baselines import (
    NetworkProximity,
    degree_scores,
    direct_scores,
    direction_filtered,
    popularity_scores,
    stable_seed,
    undirected_degree,
)
from p4core.evaluate.data import (
    Signatures,
    candidate_drugs,
    dm_positives,
    dm_sets,
    load_public_knowledge,
    map_indications,
    read_indications,
    read_signature_table,
    select_diseases,
)
from p4core.evaluate.protocol import Setting, Views, grid_settings, lodo_choice, lodo_weight
from p4core.io import atomic_path, write_text
from p4core.model import Knowledge

log = logging.getLogger("p4core.benchmark")

#: methods of every run (ablations are added by name)
METHODS = (
    "p4core",
    "p4core:marker",
    "p4core:programme",
    "random",
    "direct",
    "degree",
    "proximity",
    "proximity_direction",
    "popularity",
    "p4core+popularity",
)
#: the signature-based baselines p4core must beat, and the prior p4core+popularity must beat
SIGNATURE_BASELINES = ("random", "direct", "degree", "proximity", "proximity_direction")

CREDITS = [
    "Disease signatures: STARGEO meta-analyses (Hadley et al., Sci Data 2017), dhimmel/stargeo "
    "(Himmelstein et al., Hetionet), CC0 1.0",
    "Indications: PharmacotherapyDB v1.0 (Himmelstein et al., eLife 2017), CC0 1.0",
    "Drug targets and DrugBank identifiers: DrugCentral 2016 (Ursu et al., NAR 2017), CC BY 4.0",
    "TF regulons: CollecTRI (Müller-Dott et al., NAR 2023), CC BY 4.0",
    "Signalling network: OmniPath (Türei et al., Mol Syst Biol 2021), upstream resources' licences",
    "Ligand-receptor pairs: LIANA consensus resource (Dimitrov et al., Nat Commun 2022), BSD-3 package data",
]


def _weights() -> list[float]:
    return [round(0.05 * i, 2) for i in range(21)]


@dataclass
class FitGrid:
    """What ``protocol=lodo`` fits on the other diseases (every combination of the lists)."""

    #: ``screen.*`` values
    screen: dict[str, list[Any]] = field(default_factory=lambda: {"marker_weight": _weights()})
    #: ``knowledge.*`` values (each a knowledge of its own), e.g. ``{mechanism_share: [0.35, 0.5, 0.65]}``
    knowledge: dict[str, list[Any]] = field(default_factory=dict)
    #: weights of p4core's score added to the popularity prior in ``p4core+popularity``
    popularity_weight: list[float] = field(
        default_factory=lambda: [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    )


@dataclass
class BenchmarkConfig:
    """Settings of ``python -m p4core benchmark`` (Hydra-style ``key=value`` overrides)."""

    #: disease signature table (TSV, may be gzipped)
    signatures: str | None = None
    #: indication table (PharmacotherapyDB layout)
    indications: str | None = None
    #: folder holding knowledge/ and drugs/ (as ../shared/data)
    knowledge_root: str | None = None
    #: output folder
    out: str = "outputs/benchmark"
    #: ``fixed``: p4core's shipped parameters, nothing fitted; ``lodo``: leave-one-disease-out, every
    #: fitted choice (``fit``) made on the other diseases and scored on the left-out one
    protocol: str = "fixed"
    #: what a fit maximises: the mean over diseases of a sum of metrics
    objective: str = "auroc+p@20"
    fit: FitGrid = field(default_factory=FitGrid)
    #: extra p4core methods, each with its overrides pinned, e.g. ``[knowledge.mechanisms=false]``
    #: (several overrides in one method joined by ``&``); ``screen.*``/``knowledge.*`` arguments add
    #: one method each
    ablate: list[str] = field(default_factory=list)
    #: weight of p4core's score in p4core+popularity under ``protocol=fixed`` (the LODO choice on dev)
    popularity_weight: float = 0.3
    #: seed of the random rankings, the proximity null sets and the bootstrap
    seed: int = 0
    #: permutations of the random ranking and null sets of the proximity (default 1000)
    n_random: int = 1000
    #: bootstrap resamples of the diseases (intervals and paired tests)
    n_boot: int = 2000
    #: subset of diseases, by name or DOID (None = all)
    diseases: list[str] | None = None
    #: signature genes with FDR < fdr count (p_adjusted; BH over pval_random where it is missing)
    fdr: float = 0.05
    #: one positive per DM indication: other forms (salts, esters) sharing its DrugBank id are left
    #: out of that disease's candidates (neither positive nor negative); false = all forms are positives
    collapse_forms: bool = True
    #: screen overrides of p4core itself (None = p4core's defaults)
    steps: int | None = None
    alpha: float | None = None

    def check(self) -> None:
        if self.n_random < 1:
            raise InputError(f"n_random must be >= 1, got {self.n_random}")
        if self.n_boot < 100:
            raise InputError(f"n_boot must be >= 100, got {self.n_boot}")
        if not 0 < self.fdr <= 1:
            raise InputError(f"fdr must be in (0, 1], got {self.fdr}")
        if self.protocol not in ("fixed", "lodo"):
            raise InputError(f"protocol must be fixed or lodo, got {self.protocol!r}")
        try:
            M.parse_objective(self.objective)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if not self.fit.popularity_weight:
            raise InputError("fit.popularity_weight: the grid needs at least one value")
        self.base_screen()
        for a in self.ablations():
            a.params(self.base_screen())  # validates screen values
        for key, values in self.fit.screen.items():
            for v in values:
                ScreenCheck.value(key, v, self.base_screen())

    def base_screen(self) -> dict[str, Any]:
        over = {k: v for k, v in (("steps", self.steps), ("alpha", self.alpha)) if v is not None}
        ScreenCheck.params(over)
        return over

    def ablations(self) -> list[Setting]:
        return [parse_setting(a) for a in self.ablate]


class ScreenCheck:
    """Validation of screen overrides through :class:`ScreenParams` (its messages name the key)."""

    @staticmethod
    def params(over: dict[str, Any]) -> None:
        from p4core.screen import ScreenParams

        try:
            ScreenParams(**over)
        except TypeError as exc:
            raise InputError(f"screen: {exc}") from None

    @staticmethod
    def value(key: str, value: Any, base: dict[str, Any]) -> None:
        ScreenCheck.params({**base, key: value})


def parse_setting(text: str) -> Setting:
    """``knowledge.a=1&screen.b=2`` -> a :class:`Setting` (values parsed as YAML scalars)."""
    import yaml

    kn: dict[str, Any] = {}
    sc: dict[str, Any] = {}
    for item in str(text).split("&"):
        item = item.strip()
        if "=" not in item:
            raise InputError(f"ablate: {item!r} is not key=value (e.g. knowledge.mechanisms=false)")
        key, value = item.split("=", 1)
        part, _, name = key.strip().partition(".")
        if part not in ("knowledge", "screen") or not name:
            raise InputError(
                f"ablate: {key!r} must start with knowledge. or screen. (e.g. screen.marker_weight=0)"
            )
        (kn if part == "knowledge" else sc)[name] = yaml.safe_load(value)
    return Setting.of(kn, sc)


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """Rank positions, 1 = best (average rank for ties)."""
    from scipy import stats

    return len(scores) + 1 - stats.rankdata(scores, method="average")


@dataclass
class _Disease:
    doid: str
    name: str
    signature: pd.Series
    entry: dict[str, Any]
    #: evaluated (not skipped): then ``keep`` (mask over the candidates), ``labels`` and ``cands``
    ok: bool = False
    keep: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    cands: list[str] = field(default_factory=list)


def run_benchmark(
    config: BenchmarkConfig,
    *,
    knowledge: Knowledge | Callable[[dict[str, Any]], Knowledge] | None = None,
    signatures: pd.DataFrame | Signatures | None = None,
    indications: pd.DataFrame | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its result (the content of ``benchmark.json``).

    ``knowledge`` defaults to ``knowledge=public`` from ``config.knowledge_root`` (with each
    setting's ``knowledge.*`` overrides); a :class:`Knowledge` serves every setting (then no
    ``knowledge.*`` override may be asked for), a callable ``overrides -> Knowledge`` loads each.
    ``signatures`` (a table already filtered, or :class:`Signatures`) and ``indications`` default to
    reading ``config.signatures`` and ``config.indications``. ``report`` receives one progress line
    per disease.
    """
    say = report or (lambda _msg: None)
    config.check()
    base_screen = config.base_screen()
    timings: dict[str, Any] = {}
    t_start = time.perf_counter()
    rng_boot = np.random.default_rng([config.seed, 7])

    t0 = time.perf_counter()
    if signatures is None:
        if not config.signatures:
            raise InputError("no disease signatures: pass signatures=<path to disease_signatures.tsv.gz>")
        signatures = read_signature_table(config.signatures, config.fdr)
    if isinstance(signatures, pd.DataFrame):
        pairs = signatures[["doid", "disease"]].drop_duplicates("doid")
        signatures = Signatures(
            signatures,
            list(zip(pairs["doid"], pairs["disease"], strict=True)),
            {d: {"fdr_source": "as given (already filtered)"} for d in pairs["doid"]},
        )
    if indications is None:
        if not config.indications:
            raise InputError("no indications: pass indications=<path to indications.tsv>")
        indications = read_indications(config.indications)
    load = _loader(config, knowledge)
    base = load({})
    timings["load_inputs_s"] = round(time.perf_counter() - t0, 3)

    diseases = select_diseases(signatures.diseases, config.diseases)
    indications = map_indications(indications, base.drugs, str(config.indications or "indications"))
    dm_all = dm_sets(indications)
    candidates = candidate_drugs(base)
    if len(candidates) < 2:
        raise InputError(f"the drug library {base.drugs.name!r} has fewer than 2 drugs with network targets")
    cand_set = set(candidates)
    network_genes = set(base.network.genes)

    t0 = time.perf_counter()
    t = base.drugs.targets
    drug_targets = t[t["drug"].isin(cand_set)].groupby("drug")["target"].agg(list).to_dict()
    prox = NetworkProximity(base.network.edges, drug_targets, n_random=config.n_random, seed=config.seed)
    prox_order = [candidates.index(d) for d in prox.drugs]
    degree = degree_scores(base.drugs, candidates, undirected_degree(base.network.edges))
    timings["baselines_setup_s"] = round(time.perf_counter() - t0, 3)

    # -- every disease: signature, candidates, positives; the skipped ones with their reason
    rows = signatures.rows
    items: list[_Disease] = []
    skipped: list[dict[str, str]] = []
    for doid, name in diseases:
        sig = rows[rows["doid"] == doid].groupby("gene_symbol")["effect_size_random"].mean()
        matched = sig.index.isin(list(network_genes))
        dm = indications[(indications["doid_id"] == doid) & (indications["category"] == "DM")]
        dm_lib = sorted({d for lst in dm["library_drugs"] for d in lst})
        positives, aliases = dm_positives(dm, cand_set, collapse=config.collapse_forms)
        keep = ~np.isin(candidates, aliases)
        cands = [c for c, k in zip(candidates, keep, strict=True) if k]
        entry: dict[str, Any] = {
            "doid": doid,
            "disease": name,
            **signatures.fdr_source.get(doid, {}),
            "n_signature_genes": int(len(sig)),
            "n_up": int((sig > 0).sum()),
            "n_down": int((sig < 0).sum()),
            "n_matched": int(matched.sum()),
            "match_rate": round(float(matched.mean()) if len(sig) else 0.0, 4),
            "n_candidates": len(cands),
            "n_dm_indications": int(dm["drugbank_id"].nunique()),
            "n_dm_in_library": int(dm["library_drugs"].map(len).gt(0).sum()),
            "n_positives": len(positives),
            "positives": positives,
            "left_out_forms": aliases,
            "dm_not_in_library": sorted(set(dm.loc[dm["library_drugs"].map(len) == 0, "drug"])),
            "dm_without_network_targets": [d for d in dm_lib if d not in cand_set],
        }
        reason = None
        if not len(sig):
            reason = f"no signature gene with FDR < {config.fdr} ({entry.get('fdr_source', 'p_adjusted')})"
        elif entry["n_matched"] == 0:
            reason = f"none of its {len(sig)} signature genes is a network gene (match rate 0)"
        elif not positives:
            reason = "no disease-modifying drug among the candidate drugs"
        elif len(positives) == len(cands):
            reason = "every candidate drug is a positive"
        item = _Disease(doid, name, sig, entry)
        if reason:
            log.warning("skipping %s (%s): %s", name, doid, reason)
            entry["skipped"] = reason
            skipped.append({"doid": doid, "disease": name, "reason": reason})
        else:
            item.ok, item.keep, item.labels, item.cands = True, keep, np.isin(cands, positives), cands
        items.append(item)
    evaluated = [d for d in items if d.ok]
    if config.protocol == "lodo" and len(evaluated) < 2:
        raise InputError(
            f"protocol=lodo needs at least two evaluated diseases, got {len(evaluated)} "
            f"({len(skipped)} skipped)"
        )

    # -- p4core's views under every setting the methods need
    views = Views(load, candidates, {d.doid: d.signature for d in evaluated}, base_screen)
    scores: dict[str, dict[str, np.ndarray]] = {d.doid: {} for d in evaluated}
    timings["diseases"] = {}
    for i, d in enumerate(items, 1):
        if not d.ok:
            say(f"[{i}/{len(items)}] {d.name}: skipped ({d.entry['skipped']})")
            continue
        td = time.perf_counter()
        sc = scores[d.doid]
        keep = d.keep
        sc["direct"] = direct_scores(base.drugs, d.cands, d.signature)
        sc["degree"] = degree[keep]
        pz = prox.scores(list(d.signature.index[d.signature.index.isin(list(network_genes))]))
        ps = np.zeros(len(candidates))
        ps[prox_order] = -pz["z"].to_numpy()
        sc["proximity"] = ps[keep]
        sc["proximity_direction"] = direction_filtered(sc["proximity"], sc["direct"])
        sc["popularity"] = popularity_scores(candidates, dm_all, [d.doid])[keep]
        views.of(Setting(), d.doid)  # the shipped setting, timed with the disease
        timings["diseases"][d.name] = round(time.perf_counter() - td, 3)
        say(
            f"[{i}/{len(items)}] {d.name}: {d.entry['n_matched']}/{d.entry['n_signature_genes']} genes matched "
            f"({d.entry['match_rate']:.0%}), {len(d.cands)} candidates, {d.entry['n_positives']} positives "
            f"({time.perf_counter() - td:.1f}s)"
        )

    t0 = time.perf_counter()
    families: dict[str, Setting] = {
        "p4core": Setting(),
        "p4core:marker": Setting.of(screen={"ranking": "marker"}),
        "p4core:programme": Setting.of(screen={"ranking": "programme"}),
    }
    for text, a in zip(config.ablate, config.ablations(), strict=True):
        families[f"p4core[{'&'.join(x.strip() for x in text.split('&'))}]"] = a
    fits: dict[str, Any] = {}
    chosen: dict[str, dict[str, Setting]] = {}
    refits: dict[str, Setting] = {}
    for method, pinned in families.items():
        chosen[method], refits[method], fits[method] = _fit_family(config, views, evaluated, pinned)
        for d in evaluated:
            scores[d.doid][method] = views.scores(chosen[method][d.doid], d.doid)[d.keep]
    # p4core + popularity: the weight of p4core's score on top of the prior
    pop_fit = _fit_popularity(
        config, evaluated, chosen["p4core"], refits["p4core"], views, candidates, dm_all
    )
    for d in evaluated:
        w = pop_fit["weights"][d.doid]
        scores[d.doid]["p4core+popularity"] = scores[d.doid]["popularity"] + w * scores[d.doid]["p4core"]
    fits["p4core+popularity"] = pop_fit["record"]
    timings["p4core_fit_s"] = round(time.perf_counter() - t0, 3)

    # -- metrics
    t0 = time.perf_counter()
    methods = [*METHODS, *[m for m in families if m not in METHODS]]
    for d in evaluated:
        entry, sc = d.entry, scores[d.doid]
        mt = {m: M.ranking_metrics(d.labels, sc[m]) for m in methods if m != "random"}
        rng = np.random.default_rng([config.seed, stable_seed(d.doid)])
        rand = M.random_metrics(d.labels, config.n_random, rng)
        mt["random"] = {m: float(v.mean()) for m, v in rand.items()}
        entry["random_sd"] = {m: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in rand.items()}
        entry["metrics"] = {m: mt[m] for m in methods}
        entry["auroc_p_vs_random"] = {
            m: float((1 + np.sum(rand["auroc"] >= mt[m]["auroc"])) / (1 + config.n_random))
            for m in methods
            if m != "random"
        }
        entry["positive_ranks"] = {
            m: {
                c: float(r) for c, r in zip(d.cands, _rank_of(s), strict=True) if c in set(entry["positives"])
            }
            for m, s in sc.items()
        }
        entry["top10"] = {
            m: [d.cands[j] for j in np.argsort(-s, kind="mergesort")[:10]] for m, s in sc.items()
        }
        entry["n_direct_positive"] = int((sc["direct"] > 0).sum())
        if config.protocol == "lodo":
            entry["fit"] = {m: chosen[m][d.doid].as_dict() for m in families}
            entry["fit"]["p4core+popularity"] = {"popularity_weight": pop_fit["weights"][d.doid]}
    timings["metrics_s"] = round(time.perf_counter() - t0, 3)

    per_disease = [d.entry for d in items]
    done = [d.entry for d in evaluated]
    overall = {
        m: {k: float(np.mean([e["metrics"][m][k] for e in done])) for k in M.METRICS} if done else {}
        for m in methods
    }
    overall_ci = {
        m: {k: M.bootstrap_ci([e["metrics"][m][k] for e in done], config.n_boot, rng_boot) for k in M.METRICS}
        if done
        else {}
        for m in methods
    }
    paired = {
        ref: {
            other: {
                k: M.paired_test(
                    [e["metrics"][ref][k] for e in done],
                    [e["metrics"][other][k] for e in done],
                    config.n_boot,
                    rng_boot,
                )
                for k in M.METRICS
            }
            for other in methods
            if other != ref
        }
        for ref in ("p4core", "p4core+popularity")
    }
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    from p4core import __version__

    return {
        "benchmark": "recovery of known disease-modifying drugs (p4core built-in benchmark)",
        "p4core_version": __version__,
        "config": asdict(config),
        "protocol": {
            "name": config.protocol,
            "objective": config.objective,
            "description": (
                "leave-one-disease-out: every fitted choice is made on the other diseases and the figures "
                "are the left-out ones"
                if config.protocol == "lodo"
                else "p4core's shipped parameters, nothing fitted"
            ),
        },
        "screen_params": dict(vars(Setting().params(base_screen))),
        "methods": methods,
        "signature_baselines": list(SIGNATURE_BASELINES),
        "metrics": list(M.METRICS),
        "candidate_set": "drugs with at least one target of known sign (+1/-1) that is a network gene",
        "positives": "DM (disease-modifying) indications, mapped through DrugBank ids, among the candidates",
        "popularity": "number of the indication table's other diseases for which the drug is disease-modifying "
        "(in a LODO fit, the left-out disease is never counted)",
        "knowledge": {
            "provenance": list(base.provenance),
            "network": base.network.name,
            "n_network_genes": len(network_genes),
            "n_network_edges": int(len(base.network.edges)),
            "drug_library": base.drugs.name,
            "n_drugs": len(base.drugs.drugs),
            "n_candidates": len(candidates),
        },
        "n_diseases": len(items),
        "mean_match_rate": round(float(np.mean([e["match_rate"] for e in per_disease])), 4)
        if per_disease
        else 0.0,
        "n_evaluated": len(done),
        "n_skipped": len(skipped),
        "skipped": skipped,
        "overall": overall,
        "overall_ci95": overall_ci,
        "paired_tests": paired,
        "fits": fits,
        "diseases": per_disease,
        "timings": timings,
        "credits": CREDITS,
        "_scores": {d.doid: (d.name, d.cands, d.labels, scores[d.doid]) for d in evaluated},
    }


def _loader(
    config: BenchmarkConfig, knowledge: Knowledge | Callable[[dict[str, Any]], Knowledge] | None
) -> Callable[[dict[str, Any]], Knowledge]:
    if isinstance(knowledge, Knowledge):

        def fixed(over: dict[str, Any]) -> Knowledge:
            if over:
                raise InputError(
                    f"knowledge overrides {over} need knowledge_root (a fixed knowledge was given); "
                    "set fit.knowledge={} and leave knowledge.* out of ablate"
                )
            return knowledge

        return fixed
    if callable(knowledge):
        return knowledge
    if not config.knowledge_root:
        raise InputError("no knowledge: pass knowledge_root=<folder holding knowledge/ and drugs/>")
    root = config.knowledge_root
    return lambda over: load_public_knowledge(root, over)


def _fit_family(
    config: BenchmarkConfig, views: Views, evaluated: list[_Disease], pinned: Setting
) -> tuple[dict[str, Setting], Setting, dict[str, Any]]:
    """The setting of one p4core method for every disease (fixed: shipped + pins; LODO: fitted on
    the other diseases), the setting refitted on all diseases, and a record of the fit."""
    if config.protocol == "fixed":
        return {d.doid: pinned for d in evaluated}, pinned, {"setting": pinned.as_dict()}
    grid = grid_settings({"screen": config.fit.screen, "knowledge": config.fit.knowledge}, pinned)
    obj = np.zeros((len(evaluated), len(grid)))
    for i, d in enumerate(evaluated):
        for j, s in enumerate(grid):
            obj[i, j] = M.objective(
                M.ranking_metrics(d.labels, views.scores(s, d.doid)[d.keep]), config.objective
            )
    per = {}
    for i, d in enumerate(evaluated):
        per[d.doid] = grid[lodo_choice(obj, i)]
    refit = grid[lodo_choice(obj, None)]
    return (
        per,
        refit,
        {
            "grid_size": len(grid),
            "refit_on_all": refit.as_dict(),
            "refit_objective": float(obj[:, grid.index(refit)].mean()),
            "per_fold": {d.name: per[d.doid].as_dict() for d in evaluated},
        },
    )


def _fit_popularity(
    config: BenchmarkConfig,
    evaluated: list[_Disease],
    chosen: dict[str, Setting],
    refit_setting: Setting,
    views: Views,
    candidates: list[str],
    dm_all: dict[str, set[str]],
) -> dict[str, Any]:
    """The weight of p4core in p4core+popularity per disease (fixed, or fitted on the other diseases
    with the popularity of each training disease counting neither itself nor the left-out one)."""
    if config.protocol == "fixed":
        w = float(config.popularity_weight)
        return {"weights": {d.doid: w for d in evaluated}, "record": {"popularity_weight": w}}
    names = M.parse_objective(config.objective)

    def score(y: np.ndarray, s: np.ndarray) -> float:
        return float(sum(M.ranking_metrics(y, s)[m] for m in names))

    weights = {}
    for d in evaluated:
        train = [o for o in evaluated if o.doid != d.doid]
        base = [popularity_scores(candidates, dm_all, [o.doid, d.doid])[o.keep] for o in train]
        extra = [views.scores(chosen[d.doid], o.doid)[o.keep] for o in train]
        weights[d.doid] = lodo_weight(
            base, extra, [o.labels for o in train], config.fit.popularity_weight, score
        )
    all_base = [popularity_scores(candidates, dm_all, [o.doid])[o.keep] for o in evaluated]
    all_extra = [views.scores(refit_setting, o.doid)[o.keep] for o in evaluated]
    refit = lodo_weight(
        all_base, all_extra, [o.labels for o in evaluated], config.fit.popularity_weight, score
    )
    return {
        "weights": weights,
        "record": {
            "grid": list(config.fit.popularity_weight),
            "refit_on_all": refit,
            "refit_p4core_setting": refit_setting.as_dict(),
            "per_fold": {d.name: weights[d.doid] for d in evaluated},
        },
    }


def tidy(result: dict[str, Any]) -> pd.DataFrame:
    """The result as a tidy table: disease, method, metric, value (``overall`` = mean over diseases)."""
    rows = []
    for e in result["diseases"]:
        for m, vals in e.get("metrics", {}).items():
            rows += [(e["disease"], m, k, v) for k, v in vals.items()]
    for m, vals in result["overall"].items():
        rows += [("overall", m, k, v) for k, v in vals.items()]
    return pd.DataFrame(rows, columns=["disease", "method", "metric", "value"])


def score_table(result: dict[str, Any]) -> pd.DataFrame:
    """Every method's score and rank of every candidate in every disease, with the positive flag."""
    frames = []
    for doid, (name, cands, labels, sc) in result.get("_scores", {}).items():
        for m, s in sc.items():
            frames.append(
                pd.DataFrame(
                    {
                        "doid": doid,
                        "disease": name,
                        "method": m,
                        "drug": cands,
                        "score": np.asarray(s, dtype=float),
                        "rank": _rank_of(np.asarray(s, dtype=float)),
                        "positive": np.asarray(labels, dtype=bool),
                    }
                )
            )
    cols = ["doid", "disease", "method", "drug", "score", "rank", "positive"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def summary_table(result: dict[str, Any]) -> str:
    """Methods x overall metrics (with 95% intervals of AUROC and P@20), as fixed-width text."""
    head = (
        f"{'method':<36}"
        + "".join(f"{m:>13}" for m in M.METRICS)
        + f"{'AUROC 95% CI':>18}{'P@20 95% CI':>18}"
    )
    lines = [head]
    for m in result["methods"]:
        vals = result["overall"].get(m, {})
        ci = result.get("overall_ci95", {}).get(m, {})
        a, p = ci.get("auroc", [np.nan, np.nan]), ci.get("p@20", [np.nan, np.nan])
        lines.append(
            f"{m:<36}"
            + "".join(f"{vals.get(k, float('nan')):>13.3f}" for k in M.METRICS)
            + f"   [{a[0]:.3f}, {a[1]:.3f}]   [{p[0]:.3f}, {p[1]:.3f}]"
        )
    tests = result.get("paired_tests", {}).get("p4core", {})
    if tests:
        lines.append(
            "p4core against each method (paired over diseases; AUROC / P@20 wins-losses, Wilcoxon p):"
        )
        for other in [*SIGNATURE_BASELINES, "popularity"]:
            if other in tests:
                ta, tp = tests[other]["auroc"], tests[other]["p@20"]
                lines.append(
                    f"  vs {other:<22} AUROC {ta['wins']}-{ta['losses']} p={ta['wilcoxon_p']:.3f}   "
                    f"P@20 {tp['wins']}-{tp['losses']} p={tp['wilcoxon_p']:.3f}"
                )
    pp = result.get("paired_tests", {}).get("p4core+popularity", {}).get("popularity")
    if pp:
        lines.append(
            f"p4core+popularity vs popularity: AUROC {pp['auroc']['mean_diff']:+.3f} "
            f"({pp['auroc']['wins']}-{pp['auroc']['losses']}, Wilcoxon p={pp['auroc']['wilcoxon_p']:.3f})"
        )
    return "\n".join(lines)


def write_outputs(result: dict[str, Any], out: str | Path) -> list[Path]:
    """``benchmark.json``, ``benchmark.csv`` and ``scores.parquet`` in ``out``, each written atomically."""
    out = Path(out)
    csv = tidy(result).to_csv(index=False, float_format="%.6g")
    public = {k: v for k, v in result.items() if not k.startswith("_")}
    text = json.dumps(public, indent=2, default=_json_default, allow_nan=False) + "\n"
    files = [write_text(out / "benchmark.csv", csv)]
    with atomic_path(out / "scores.parquet") as tmp:
        score_table(result).to_parquet(tmp, index=False)
    files.append(out / "scores.parquet")
    files.append(write_text(out / "benchmark.json", text))
    return files


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
