"""The numbers behind the report: everything is computed here from a :class:`RunResult`, as plain
JSON-ready structures; figures.py draws them and page.py lays them out."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from p4core.model import RunResult
from p4core.plugins.render_report.evidence import line_facts
from p4core.plugins.render_report.markup import number, text_of
from p4core.screen import distinct_top
from p4core.screen.summary import shown_ranks, tie_key

log = logging.getLogger("p4core")

#: body regions of the schematic (x, y in figures.BODY's coordinates) and the words that place a
#: sampled tissue there; the first region whose pattern matches wins, so specific before general
REGIONS: list[tuple[str, str, float, float]] = [
    ("brain", r"brain|cortex|cerebr|hippocamp|csf|cerebrospinal|neur|glio|retina|eye", 0.0, 9.15),
    ("thyroid", r"thyroid", 0.0, 7.85),
    ("lymph node", r"lymph node|tonsil", 0.55, 7.9),
    ("lung", r"lung|airway|bronch|alveol|pleura|nasal|trache|bal\b|sputum", -0.75, 6.6),
    ("heart", r"heart|cardi|myocard|aorta|coronary", 0.35, 6.2),
    ("breast", r"breast|mammary", 0.8, 6.7),
    ("liver", r"liver|hepat|bile", -0.6, 5.25),
    ("stomach", r"stomach|gastr|oesophag|esophag", 0.55, 5.3),
    ("spleen", r"spleen", 1.05, 5.2),
    ("pancreas", r"pancrea|islet", 0.1, 4.9),
    ("kidney", r"kidney|renal|nephr|glomerul", -0.85, 4.6),
    ("intestine", r"colon|intestin|ileum|jejun|duoden|gut|bowel|rect|caecum|cecum|mucosa", 0.0, 4.05),
    ("bladder", r"bladder|urothel|urin", 0.0, 3.05),
    ("reproductive", r"prostate|ovar|uter|testi|cervix|placent|endometr", 0.0, 2.75),
    ("bone marrow", r"bone marrow|marrow", -0.75, 3.35),
    ("blood", r"blood|pbmc|plasma|serum|periph", -1.95, 4.45),
    ("knee", r"knee|synov|joint|cartilage|menisc", -0.5, 1.15),
    ("hand", r"hand|finger|wrist", 2.25, 3.05),
    ("skin", r"skin|derm|epiderm|keratin|psoria|melan", 1.75, 5.0),
]


def region_of(tissue: str | None) -> dict[str, Any] | None:
    """The body region of a sampled tissue's name (``None`` when no pattern matches)."""
    if not tissue:
        return None
    low = tissue.lower()
    for name, pattern, x, y in REGIONS:
        if re.search(pattern, low):
            return {"region": name, "x": x, "y": y, "tissue": tissue}
    return None


def celltype_graph(result: RunResult, top_pairs: int = 3) -> dict[str, Any]:
    """Cell types (nodes: signature share, genes changed, PageRank) and the ligand -> receptor
    coupling between them (edges: sum of |weight| of the cross-cell-type edges of each twin's
    operator, mean over twins, with the strongest gene pairs)."""
    ens = result.ensemble
    n_c, n_g = len(ens.celltypes), len(ens.genes)
    total = None
    for rep in ens.replicates:  # sum of |A| over twins: one sparse matrix, whatever the ensemble's size
        a = abs(rep.operator).astype(np.float64)
        total = a if total is None else total + a
    coo = (total / max(1, len(ens.replicates))).tocoo() if total is not None else None
    rows = np.zeros(0, np.int64) if coo is None else coo.row.astype(np.int64)  # receiver node
    cols = np.zeros(0, np.int64) if coo is None else coo.col.astype(np.int64)  # sender node
    vals = np.zeros(0) if coo is None else coo.data
    cross = (rows // n_g) != (cols // n_g)
    genes = np.asarray(ens.genes)
    edges = pd.DataFrame(
        {
            "source": cols[cross] // n_g,
            "target": rows[cross] // n_g,
            "ligand": genes[cols[cross] % n_g],
            "receptor": genes[rows[cross] % n_g],
            "weight": vals[cross],
        }
    )
    out_edges = []
    for (s, t), grp in edges.groupby(["source", "target"], sort=True):
        best = grp.sort_values(["weight", "ligand", "receptor"], ascending=[False, True, True]).head(
            top_pairs
        )
        out_edges.append(
            {
                "source": ens.celltypes[int(s)],
                "target": ens.celltypes[int(t)],
                "weight": float(grp["weight"].sum()),
                "n_pairs": int(len(grp)),
                "top": [f"{r.ligand} → {r.receptor}" for r in best.itertuples(index=False)],
            }
        )
    ranking = result.celltypes if result.celltypes is not None else pd.DataFrame({"celltype": ens.celltypes})
    nodes = []
    for row in ranking.to_dict("records"):
        ct = row["celltype"]
        de = ens.de[(ens.de["celltype"] == ct)]
        up = de[(de["fdr"] < 0.05) & (de["logfc"] > 0)].nlargest(5, "logfc")["gene"].tolist()
        down = de[(de["fdr"] < 0.05) & (de["logfc"] < 0)].nsmallest(5, "logfc")["gene"].tolist()
        nodes.append(
            {
                "celltype": ct,
                "share": number(row.get("signature_share")),
                "n_de": int(row.get("n_de", 0) or 0),
                "pagerank": number(row.get("pagerank")),
                "weight": float(ens.celltype_weights[ens.celltypes.index(ct)]),
                "up": up,
                "down": down,
            }
        )
    # the graph draws the strongest couplings (all of them for up to 4 cell types); hover lists them
    shown = min(len(out_edges), max(12, 2 * n_c))
    return {"nodes": nodes, "edges": out_edges, "shown": shown}


def drug_rows(result: RunResult, n_rows: int) -> tuple[list[dict[str, Any]], str]:
    """The ranked drugs shown in the report (the first ``n_rows``), and the name of the P(top-k)
    column. Each row carries its interval, FDR, P(top-k), per-cell-type parts, targets with their
    change in every cell type, indications and flags."""
    scr, ens = result.screen, result.ensemble
    tab = scr.table.head(n_rows)
    ptop = next((c for c in tab.columns if c.startswith("p_top")), "")
    lib = result.knowledge.drugs.targets
    lib = lib[lib["drug"].isin(set(tab["drug"]))]
    de = ens.de.set_index(["celltype", "gene"])["logfc"]
    gene_index = {g: i for i, g in enumerate(ens.genes)}
    active = np.mean([r.active for r in ens.replicates], axis=0) if ens.replicates else None
    target_info: dict[str, dict[str, Any]] = {}
    for gene in sorted(set(lib["target"])):
        g = gene_index.get(gene)
        target_info[gene] = {
            "in_model": g is not None,
            "measured": bool(g is not None and ens.measured[g]),
            "logfc": [number(de.get((ct, gene))) for ct in ens.celltypes],
            "active": [
                None if g is None or active is None else round(float(active[c * len(ens.genes) + g]), 3)
                for c in range(len(ens.celltypes))
            ],
        }
    explained = _explanations(result, tab)
    by_drug: dict[str, list[dict[str, Any]]] = {}  # each drug's targets, in the library's order
    for drug, gene, sign, action in zip(lib["drug"], lib["target"], lib["sign"], lib["action"], strict=True):
        entry = {"gene": str(gene), "sign": int(sign), "action": str(action), **target_info[str(gene)]}
        by_drug.setdefault(str(drug), []).append(entry)
    rows = []
    for r in tab.to_dict("records"):
        rows.append(
            {
                "rank": int(r["rank"]),
                "drug": str(r["drug"]),
                "score": number(r["score_mean"]),
                "ci": [number(r["ci_low"]), number(r["ci_high"])],
                "fdr": number(r.get("fdr")),
                "p_value": number(r.get("p_value")),
                "p_top": number(r.get(ptop)),
                "drivers": [d.strip() for d in str(r.get("drivers") or "").split(",") if d.strip()],
                "parts": [number(r.get(f"part:{ct}")) for ct in scr.celltypes],
                "targets": [dict(t) for t in by_drug.get(str(r["drug"]), [])],
                "atc": text_of(r.get("atc")),
                "approval": text_of(r.get("approval")),
                "indications": [i for i in (text_of(r.get("indications")) or "").split(";") if i],
                "already_taken": bool(r.get("already_taken", False)),
                "avoid": text_of(r.get("avoid")),
                "views": {
                    v: {
                        "score": number(r.get(f"score_{v}")),
                        "rank": number(r.get(f"rank_{v}")),
                        "fdr": number(r.get(f"fdr_{v}")),
                        "z": number(r.get(f"z_{v}")),
                        "p": number(r.get(f"p_{v}")),
                    }
                    for v in ("combined", "marker", "programme")
                },
                "marker_share": number(r.get("marker_share")),
                "evidence": [f for f in (text_of(r.get("evidence_flags")) or "").split("; ") if f],
                "explain": explained.get(str(r["drug"])),
                **line_facts(r),
            }
        )
    return rows, ptop


def _explanations(result: RunResult, tab: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """For the drugs of ``result.explain`` (the run's ``explain.top`` best): the genes carrying their
    score on twin 0 and a sentence on their neighbours in the ranking (p4core.screen.explain)."""
    from p4core.screen.explain import competitor_note

    ex = result.explain
    if ex is None or not len(ex):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for drug, grp in ex.groupby("drug", sort=False):
        out[str(drug)] = {
            "genes": [
                {
                    "gene": str(g.gene),
                    "celltype": str(g.celltype),
                    "target": bool(g.is_target),
                    "signature": number(g.signature),
                    "change": number(g.change),
                    "contribution": number(g.contribution),
                    "share": number(g.share_of_score),
                }
                for g in grp.itertuples(index=False)
            ],
            "neighbours": competitor_note(result.screen.table, str(drug)),
        }
    return out


def courses(result: RunResult, drugs: list[str], max_points: int = 240) -> dict[str, Any]:
    """The disease course of every scenario of the run, plus the single-drug courses of ``drugs`` that
    the course stage simulated for the report (``result.trajectories.extra``, same twins and
    parameters, same batch). Times are thinned to at most ``max_points`` per curve; values rounded to
    4 decimals."""
    traj = result.trajectories
    tables = [traj.table]
    scenarios = list(traj.scenarios)
    wanted = [d for d in dict.fromkeys(drugs) if d not in set(scenarios) and d in set(traj.extra_scenarios)]
    extra = None
    if wanted and traj.extra is not None:
        extra = traj.extra[traj.extra["scenario"].isin(wanted)].reset_index(drop=True)
        tables.append(extra)
        scenarios += [d for d in traj.extra_scenarios if d in set(wanted)]
    tab = pd.concat(tables, ignore_index=True)
    times = np.sort(tab["time"].unique())
    step = max(1, math.ceil(len(times) / max_points))
    keep = set(times[::step]) | {times[-1]}
    tab = tab[tab["time"].isin(keep)]
    series: dict[str, dict[str, Any]] = {}
    for (scen, ct), grp in tab.groupby(["scenario", "celltype"], sort=False):
        g = grp.sort_values("time")
        series.setdefault(str(scen), {})[str(ct)] = {
            "mean": _round(g["mean"]),
            "lower": _round(g["lower"]),
            "upper": _round(g["upper"]),
        }
    events = [
        {"time": float(e.time), "kind": str(e.kind), "label": str(e.label)}
        for e in traj.events.itertuples(index=False)
    ]
    return {
        "extra_table": extra,  # written beside the report (every number traceable)
        "time": [float(t) for t in sorted(keep)],
        "scenarios": scenarios,
        "run_scenarios": list(traj.scenarios),
        "celltypes": [*traj.celltypes, "burden"],
        "series": series,
        "events": events,
        "horizon": float(times[-1]),
        "treatment_day": float(traj.params.get("treatment_day", 0.0)),
    }


def burden_at(course: dict[str, Any], scenario: str) -> dict[str, float] | None:
    """Mean burden and its 95% band at the horizon for one scenario of :func:`courses`."""
    s = course["series"].get(scenario, {}).get("burden")
    if s is None:
        return None
    return {"mean": s["mean"][-1], "lower": s["lower"][-1], "upper": s["upper"][-1]}


def mark_ties(rows: list[dict[str, Any]]) -> None:
    """Drugs with the same ranking value (the same targets and the same evidence, in this model) share a
    rank: ``tie`` is the list of the others and ``shown_rank`` reads "1=" (the table's order among them is
    alphabetical). The ranking value is the combined probability and the twin's score together (a tie in
    one is broken by the other), or the twin's score when the run has no evidence stage."""

    keys = [tie_key(r.get("probability"), r["score"]) for r in rows]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r, k in zip(rows, keys, strict=True):
        groups.setdefault(k, []).append(r)
    for r, k, shown in zip(rows, keys, shown_ranks([r["rank"] for r in rows], keys), strict=True):
        same = groups[k]
        r["tie"] = [o["drug"] for o in same if o is not r] if len(same) > 1 else []
        r["shown_rank"] = shown


def add_courses(rows: list[dict[str, Any]], course: dict[str, Any]) -> None:
    """Each row's burden at the horizon (mean and band) when its course was simulated."""
    for r in rows:
        r["burden"] = burden_at(course, r["drug"])


def plain_summary(
    result: RunResult, rows: list[dict[str, Any]], course: dict[str, Any], top_k: int
) -> dict[str, Any]:
    """The plain-language summary a patient can read: what the model suggests, how sure it is,
    what it cannot know. Every sentence is filled from this run's numbers. The drugs named are those
    the run simulated: the best with no main target shared with a better one (one per mechanism)."""
    scr = result.screen
    n_drugs, n_twins = len(scr.drugs), len(result.ensemble)
    horizon = course["horizon"]
    base = burden_at(course, "untreated")
    by_name = {r["drug"]: r for r in rows}
    named = [by_name[d] for d in distinct_top(scr.table, result.knowledge.drugs, 3) if d in by_name]
    suggests, sure = [], []
    if not named:
        suggests.append(
            f"None of the {n_drugs:,} drugs tested moved this patient's disease pattern back towards "
            "healthy tissue in the model."
        )
    else:

        def name(r: dict[str, Any]) -> str:
            tied = f"; tied with {', '.join(r['tie'])}" if r["tie"] else ""
            chance = "" if r["fdr"] is not None and r["fdr"] < 0.1 else ", which could be chance"
            tier = f"; {r['tier_text']}" if r.get("tier_text") else ""
            fdr = "the twins' FDR" if r.get("probability") is not None else "FDR"
            return f"{r['drug']} (rank {r['shown_rank']} of {n_drugs:,}{tier}; {fdr} {_pct(r['fdr'])}{chance}{tied})"

        combined = result.evidence is not None
        suggests.append(
            f"{n_drugs:,} drugs were tested on {n_twins} computer models (‘twins’) of this patient's sampled "
            "tissue. "
            + (
                "Ranked first by all the evidence together (how well the drug reverses this patient's disease "
                "pattern in the twins, human genetics of the disease, and its use in related diseases), one per "
                "main target: "
                if combined
                else "Predicted to reverse the most of the disease pattern, one per main target: "
            )
            + "; ".join(name(r) for r in named)
            + "."
        )
        courses = [(r, burden_at(course, r["drug"])) for r in named]
        if base and any(b for _, b in courses):
            told = "; ".join(f"{b['mean']:.2f} with {r['drug']} ({_band(b)})" for r, b in courses if b)
            suggests.append(
                f"In the simulated course, {horizon:g} days after sampling the disease burden is {base['mean']:.2f} "
                f"without a new drug ({_band(base)}) and {told}; 1 is the disease as measured at sampling, 0 the "
                "reference tissue."
            )
            finals = {
                s: b
                for s in course["scenarios"]
                if s != "untreated" and (b := burden_at(course, s)) is not None
            }
            lowest = min(finals, key=lambda s: finals[s]["mean"]) if finals else None
            named_best = min(b["mean"] for _, b in courses if b)
            if lowest is not None and finals[lowest]["mean"] < named_best - 0.005:
                what = "the pair" if " + " in lowest else "another drug,"
                suggests.append(
                    f"The lowest simulated burden, though, is {finals[lowest]['mean']:.2f} with {what} {lowest} "
                    f"({_band(finals[lowest])}): the ranking scores how well a drug's effect points against the "
                    "disease pattern, the course how far the burden falls over time, so the two can order drugs "
                    "differently."
                )
        best = named[0]
        lo, hi = best["ci"]
        sure.append(
            f"The twins' score of {best['drug']} is {best['score']:.2f} (0 is no effect on the disease pattern; the score "
            "counts in units of what a random gene does, so 2 is twice a typical random gene's effect); across the "
            f"twins it lies between {lo:.2f} and {hi:.2f}."
        )
        if "marker-driven" in best.get("evidence", []):
            sure.append(
                f"Most of {best['drug']}'s score comes from its own targets being changed in the disease (they are "
                "disease markers), not from reversing what those targets drive; read it as ‘acts on a marker’, "
                "which is weaker evidence of reversing the disease itself."
            )
        if best["p_top"] is not None:
            sure.append(f"It is among the best {top_k} drugs in {100 * best['p_top']:.0f}% of the twins.")
        if best["fdr"] is not None:
            verdict = "unlikely to be chance" if best["fdr"] < 0.1 else "it could well be chance"
            sure.append(
                "Compared with random drugs whose targets are as connected as its own, the chance that this is "
                f"a false finding is estimated at {_pct(best['fdr'])} ({verdict})."
            )
        sure.append(
            "The ranges show how much the answer changes when the patient's cells are resampled; they do not "
            "include the uncertainty of the model itself."
        )
    taken = [r["drug"] for r in rows if r["already_taken"]]
    avoid = [f"{r['drug']} ({r['avoid']})" for r in rows if r["avoid"]]
    if taken:
        sure.append(
            "Already taken by the patient, per the record: "
            + ", ".join(taken)
            + ". The course ‘without a new drug’ assumes that the care at sampling, these included, goes on unchanged."
        )
    if avoid:
        sure.append("Flagged by the site's rules: " + ", ".join(avoid) + ".")
    cannot = [
        "This is a computer model built from one tissue sample at one time. It is not a clinical trial "
        "and has not been tested against outcomes for this patient.",
        "It does not know doses, side effects, drug interactions, costs, how the drug is given, or what "
        "matters most to the patient; those belong in the conversation with the care team.",
        "It only knows the genes and connections in its knowledge sources; a mechanism missing there is "
        "invisible to it. Disease courses are simulations of the model, not forecasts of a person; the course "
        "before sampling is reconstructed from an assumed onset.",
    ]
    return {"suggests": suggests, "sure": sure, "cannot": cannot}


def _band(b: dict[str, float]) -> str:
    if f"{b['lower']:.2f}" == f"{b['upper']:.2f}":
        return "the same in every twin, to two decimals"
    return f"{b['lower']:.2f}–{b['upper']:.2f} over the twins"


def _pct(fdr: float | None) -> str:
    if fdr is None:
        return "–"
    return f"{100 * fdr:.1f}%" if fdr >= 0.001 else "< 0.1%"


def _round(s: pd.Series) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), 4) for v in s.to_numpy(float)]
