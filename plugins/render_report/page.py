"""The page: every section, the data and the script assembled into one self-contained file."""

from __future__ import annotations

import logging
from importlib.resources import files
from string import Template
from typing import Any

import numpy as np

import p4core
from p4core.model import RunResult
from p4core.plugins.render_report.evidence import celltype_notes, options, options_html
from p4core.plugins.render_report.markup import e, figure_html, fmt, to_json
from p4core.plugins.render_report.sections import (
    context_html,
    drug_table,
    methods_html,
    pairs_data,
    pairs_table,
    sound_html,
)

from . import build, figures

log = logging.getLogger("p4core")
ASSETS = files(__package__).joinpath("assets")


def build_page(result: RunResult, cfg: Any, sound: dict[str, Any] | None) -> tuple[str, Any]:
    """The page, and the courses simulated for it (a table like trajectories.csv, or None); ``sound``
    as :func:`~render_report.sonification` gives it (its encoding is asked for last)."""
    from plotly.offline import get_plotlyjs

    ens, scr = result.ensemble, result.screen
    plotly_js = get_plotlyjs()
    ctx = result.patient.context.to_dict()
    tissue = ctx.get("tissue")
    region = build.region_of(tissue)
    if tissue and region is None:
        log.warning(
            "render.html: the sampled tissue %r is not a body region the report knows; the body outline leaves "
            "it unmarked (data.tissue names it, e.g. 'synovium (knee)', 'blood', 'lung')",
            tissue,
        )
    graph = build.celltype_graph(result)
    rows, ptop = build.drug_rows(result, cfg.rows)
    top_k = int(scr.params.get("top_k", 10)) if scr.params else 10
    sim_drugs = [r["drug"] for r in rows[: cfg.courses] if r["targets"]]
    course = build.courses(result, sim_drugs)
    course_names = set(course["scenarios"])
    build.mark_ties(rows)
    build.add_courses(rows, course)
    summary = build.plain_summary(result, rows, course, top_k)
    n_cells = int(result.patient.adata.n_obs)
    figs = {
        "fig-body": figure_html(figures.body_figure(region, n_cells, len(ens.celltypes))),
        "fig-affected": figure_html(figures.affected_figure(graph["nodes"])),
        "fig-burden": figure_html(figures.burden_figure(course, ctx.get("imaging") or [])),
        "fig-graph": figure_html(figures.graph_figure(graph)),
        "fig-forest": figure_html(figures.forest_figure(rows, cfg.forest, top_k)),
    }
    extra_table = course.pop("extra_table")
    data = {
        "pseudonym": result.patient.pseudonym,
        "celltypes": list(ens.celltypes),
        "graph_order": [n["celltype"] for n in graph["nodes"]],
        "drugs": rows,
        "top_k": top_k,
        "course": course,
        "courses": cfg.courses,
        "pairs": pairs_data(result, cfg.pairs),
        "figures": figs,
        "sound": None
        if sound is None
        else {
            "tempo": sound["tempo"],
            "ticks_per_beat": sound["legend"]["time"]["ticks_per_beat"],
            "ticks_per_day": sound["legend"]["time"]["ticks_per_day"],
            "segment_ticks": sound["legend"]["time"]["segment_ticks"],
            "t0": sound["legend"]["time"]["t0_days"],
            "t1": sound["legend"]["time"]["t1_days"],
            "segments": [
                {"start_tick": s["start_tick"], "voices": s["voices"]} for s in sound["legend"]["segments"]
            ],
        },
    }
    best = rows[0]["drug"] if rows else ""
    alt = alternatives(graph, rows, course, region, tissue)
    ct_buttons = "".join(
        f"<li><button type='button' class='celltype' aria-pressed='false' data-celltype='{e(n['celltype'])}'>"
        f"{e(n['celltype'])} <span class='muted'>{100 * (n['share'] or 0):.0f}%</span></button></li>"
        for n in graph["nodes"]
    )
    quantity = "<option value='burden' selected>disease burden (all cell types)</option>" + "".join(
        f"<option value='{e(c)}'>{e(c)}</option>"
        for c in sorted(c for c in course["celltypes"] if c != "burden")
    )
    fill = {
        "title": e(f"p4core twin report · {result.patient.pseudonym}"),
        "style": ASSETS.joinpath("report.css").read_text(encoding="utf-8"),
        "plotly": plotly_js,
        "script": ASSETS.joinpath("report.js").read_text(encoding="utf-8"),
        "data": to_json(data),
        "pseudonym": e(result.patient.pseudonym),
        "subtitle": e(
            " · ".join(
                x
                for x in (
                    f"sampled: {tissue}" if tissue else "",
                    f"day 0 = {ctx['index_date']}" if ctx.get("index_date") else "",
                    f"{len(ens)} twins, {len(scr.drugs):,} drugs",
                    f"p4core {p4core.__version__}",
                )
                if x
            )
        ),
        "options": options_html(options(result)),
        "suggests": "".join(f"<p>{e(s)}</p>" for s in summary["suggests"]),
        "sure": "".join(f"<p>{e(s)}</p>" for s in summary["sure"]) or "<p>No drug scored above zero.</p>",
        "cannot": "".join(f"<li>{e(s)}</li>" for s in summary["cannot"]),
        "context": context_html(ctx, tissue, n_cells, code_names(result)),
        "alt_body": e(alt["body"]),
        "alt_affected": e(alt["affected"]),
        "alt_burden": e(alt["burden"]),
        "alt_graph": e(alt["graph"]),
        "alt_forest": e(alt["forest"]),
        "celltype_buttons": ct_buttons,
        "celltype_notes": celltype_notes(result),
        "drug_table": drug_table(
            rows, ptop, len(scr.drugs), course["horizon"], build.burden_at(course, "untreated")
        ),
        "pairs_table": pairs_table(result, cfg.pairs, course_names),
        "quantity_options": quantity,
        "best": e(best),
        "methods": methods_html(result, plotly_js),
    }
    # last: an encoding started in the background may still run
    fill["sound"] = sound_html(None if sound is None else {**sound, **sound["encoded"]()})
    page = Template(ASSETS.joinpath("template.html").read_text(encoding="utf-8")).substitute(fill)
    return page, extra_table


def code_names(result: RunResult) -> dict[str, Any]:
    """Readable names of the record's codes: ICD-10 through the Disease Ontology's cross-references, ATC
    through the drug library's codes (else the anatomical main group)."""
    from p4core.clinical.codes import atc_index, atc_name
    from p4core.clinical.scores import comorbidity_name
    from p4core.evidence import icd10_name

    dk = result.knowledge.diseases
    info = result.knowledge.drugs.info()
    drug_atc = atc_index(info["atc"]) if "atc" in info.columns else {}
    return {
        "icd10": lambda c: icd10_name(c, dk) or comorbidity_name(c),
        "atc": lambda c: atc_name(c, drug_atc),
    }


def alternatives(
    graph: dict[str, Any],
    rows: list[dict[str, Any]],
    course: dict[str, Any],
    region: dict[str, Any] | None,
    tissue: str | None = None,
) -> dict[str, str]:
    """Text alternatives of the figures (read by screen readers, shown under each figure)."""
    nodes = sorted(graph["nodes"], key=lambda n: -(n["share"] or 0))
    edges = sorted(graph["edges"], key=lambda x: -x["weight"])[:3]
    b = course["series"]["untreated"]["burden"]
    imax = int(np.nanargmax(np.array(b["mean"], dtype=float)))
    return {
        "body": f"A body outline with the sampled tissue marked: {region['tissue']}"
        + ("." if region["region"] in region["tissue"].lower() else f" ({region['region']}).")
        if region
        else f"The sampled tissue, {tissue}, is not a body region the outline knows: it is not marked."
        if tissue
        else "The sampled tissue is not recorded.",
        "affected": "Share of the disease signature per cell type: "
        + "; ".join(f"{n['celltype']} {100 * (n['share'] or 0):.0f}%" for n in nodes)
        + ".",
        "burden": f"Disease burden without a new drug from day {course['time'][0]:g} to {course['time'][-1]:g}: "
        f"{b['mean'][0]:.2f} at the start, {b['mean'][-1]:.2f} at the end, highest {b['mean'][imax]:.2f} on day "
        f"{course['time'][imax]:g}. Events in this period: "
        + "; ".join(
            f"day {x['time']:g} {x['label']}"
            for x in course["events"]
            if course["time"][0] <= x["time"] <= course["time"][-1] and not x["label"].startswith("start ")
        )
        + ".",
        "graph": f"Cell-type graph; node size is the share of the disease signature; arrows: the {graph['shown']} "
        f"strongest of {len(graph['edges'])} ligand–receptor couplings between cell types (hover an arrow for its "
        "gene pairs). Strongest: "
        + "; ".join(f"{x['source']} to {x['target']} ({', '.join(x['top'][:2])})" for x in edges)
        + ". The cell-type buttons beside the figure do what clicking a node does.",
        "forest": "Scores with 95% intervals of the best drugs: "
        + "; ".join(f"{r['drug']} {fmt(r['score'])} [{fmt(r['ci'][0])}, {fmt(r['ci'][1])}]" for r in rows[:5])
        + ". The table lists them all.",
    }
