"""The benchmark run: every method on every disease, the protocol, statistics and outputs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
from p4core.evaluate.lines import ABLATIONS, BenchmarkLines, lodo_combination
from p4core.evaluate.outputs import rank_of
from p4core.evaluate.protocol import Setting, Views, grid_settings, lodo_choice
from p4core.evaluate.settings import CREDITS, METHODS, SIGNATURE_BASELINES, BenchmarkConfig
from p4core.model import Knowledge

log = logging.getLogger("p4core.benchmark")


@dataclass
class DiseaseRun:
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
    items: list[DiseaseRun] = []
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
        item = DiseaseRun(doid, name, sig, entry)
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

    # -- p4core's views under every setting the methods need; the lines of evidence
    views = Views(load, candidates, {d.doid: d.signature for d in evaluated}, base_screen)
    all_signatures = {d.doid: d.signature for d in items if len(d.signature)}
    lines = BenchmarkLines(
        base,
        candidates,
        indications,
        all_signatures,
        lambda doid: _bulk_twin(all_signatures[doid], base),
    )
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
        g, g_info = lines.genetics(d.doid)
        pre = lines.precedent(d.doid, [d.doid])
        sc["p4core:genetics"] = np.zeros(len(d.cands)) if g is None else g[keep]
        sc["p4core:precedent"] = np.zeros(len(d.cands)) if pre is None else pre[keep]
        d.entry["lines"] = {
            "genetics": {k: v for k, v in g_info.items() if k != "risk_genes_not_in_twin"},
            "precedent": {"present": pre is not None},
        }
        timings["diseases"][d.name] = round(time.perf_counter() - td, 3)
        say(
            f"[{i}/{len(items)}] {d.name}: {d.entry['n_matched']}/{d.entry['n_signature_genes']} genes matched "
            f"({d.entry['match_rate']:.0%}), {len(d.cands)} candidates, {d.entry['n_positives']} positives "
            f"({time.perf_counter() - td:.1f}s)"
        )

    t0 = time.perf_counter()
    families: dict[str, Setting] = {
        "p4core:mechanism": Setting(),
        "p4core:marker": Setting.of(screen={"ranking": "marker"}),
        "p4core:programme": Setting.of(screen={"ranking": "programme"}),
    }
    for text, a in zip(config.ablate, config.ablations(), strict=True):
        families[f"p4core:mechanism[{'&'.join(x.strip() for x in text.split('&'))}]"] = a
    fits: dict[str, Any] = {}
    chosen: dict[str, dict[str, Setting]] = {}
    refits: dict[str, Setting] = {}
    for method, pinned in families.items():
        chosen[method], refits[method], fits[method] = _fit_family(config, views, evaluated, pinned)
        for d in evaluated:
            scores[d.doid][method] = views.scores(chosen[method][d.doid], d.doid)[d.keep]
    # p4core: the twin, genetics and precedent combined (LODO: fitted on the other diseases)
    mech = chosen["p4core:mechanism"]

    def mechanism(fold: str, doid: str) -> np.ndarray:
        setting = mech[fold] if fold else refits["p4core:mechanism"]
        return views.scores(setting, doid)[by_doid[doid].keep]

    by_doid = {d.doid: d for d in evaluated}
    combo = lodo_combination(evaluated, mechanism, lines, config.protocol, config.l2)
    for d in evaluated:
        scores[d.doid].update(combo["scores"][d.doid])
    fits["p4core"] = {
        "model": "logistic regression on standardised line scores (p4core.evidence.combine)",
        "l2": config.l2,
        "per_fold": {d.name: combo["per_fold"][d.doid] for d in evaluated if d.doid in combo["per_fold"]},
        "refit_on_all": combo["refit"].to_dict(),
        "mechanism_setting": refits["p4core:mechanism"].as_dict(),
    }
    timings["p4core_fit_s"] = round(time.perf_counter() - t0, 3)

    # -- metrics
    t0 = time.perf_counter()
    methods = [*METHODS, *[m for m in families if m not in METHODS]]
    if config.protocol == "lodo":
        methods += list(ABLATIONS)
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
            m: {c: float(r) for c, r in zip(d.cands, rank_of(s), strict=True) if c in set(entry["positives"])}
            for m, s in sc.items()
        }
        entry["top10"] = {
            m: [d.cands[j] for j in np.argsort(-s, kind="mergesort")[:10]] for m, s in sc.items()
        }
        entry["n_direct_positive"] = int((sc["direct"] > 0).sum())
        if config.protocol == "lodo":
            entry["fit"] = {m: chosen[m][d.doid].as_dict() for m in families}
            entry["fit"]["p4core"] = combo["per_fold"].get(d.doid, {})
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
        for ref in ("p4core", "p4core:mechanism", "p4core:genetics")
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
        "lines": {
            "p4core:mechanism": "the twin alone (the screen's combined view)",
            "p4core:genetics": "genetics score: the largest degree-calibrated reach of the drug's targets to the "
            "disease's GWAS risk genes",
            "p4core:precedent": "use in the indication table's other diseases, weighted by disease similarity from "
            "the ontology, GWAS genes and signatures (the evaluated disease's rows removed)",
            "p4core": "the three lines combined by logistic regression (LODO: fitted on the other diseases)",
        },
        "calibration": combo["calibration"],
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
    config: BenchmarkConfig, views: Views, evaluated: list[DiseaseRun], pinned: Setting
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


def _bulk_twin(signature: pd.Series, knowledge: Knowledge):  # noqa: ANN202 - TwinEnsemble
    from p4core.twin.build import twin_from_signature

    return twin_from_signature(signature, knowledge)
