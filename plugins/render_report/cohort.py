"""cohort.html: the patients of a cohort side by side (no script needed: tables with coloured cells)."""

from __future__ import annotations

import numpy as np

import p4core
from p4core.model import CohortResult
from p4core.plugins.render_report.markup import e, fmt

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; line-height: 1.45; }
header { background: #12324f; color: white; padding: .8em 1.5em; }
main { padding: 0 1.5em 2em; max-width: 1280px; }
table { border-collapse: collapse; margin: .5em 0 1.2em; font-size: .92em; }
th, td { border: 1px solid #c8c8c8; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tier { display: inline-block; min-width: 1.9em; text-align: center; font-size: .8em; font-weight: 600;
  border: 1px solid #555; border-radius: 3px; margin-left: .3em; }
.note { color: #444; font-size: .9em; max-width: 75em; }
a { color: #0b5cad; }
"""


def colour(v: float | None, scale: float) -> str:
    """A diverging background (red up, blue down) with dark text: readable at every value."""
    if v is None or not np.isfinite(v) or scale <= 0:
        return ""
    a = min(1.0, abs(v) / scale)
    rgb = (
        (255, int(255 - 120 * a), int(255 - 120 * a))
        if v > 0
        else (int(255 - 120 * a), int(255 - 120 * a), 255)
    )
    return f" style='background: rgb{rgb}'"


def build_cohort_page(cohort: CohortResult, report_file: str, n_top: int = 15) -> str:
    t = cohort.table
    pats = cohort.patients
    has_tier = "tier" in t.columns
    links = " · ".join(f"<a href='patients/{e(p)}/{e(report_file)}'>{e(p)}</a>" for p in pats)
    rows = []
    for r in range(1, n_top + 1):
        cells = []
        for p in pats:
            row = t[(t["patient"] == p) & (t["rank"] == r)]
            if not len(row):
                cells.append("<td></td>")
                continue
            tier = str(row["tier"].iloc[0]) if has_tier and isinstance(row["tier"].iloc[0], str) else ""
            badge = f"<span class='tier'>{e(tier)}</span>" if tier else ""
            cells.append(f"<td>{e(row['drug'].iloc[0])}{badge}</td>")
        rows.append(f"<tr><td class='num'>{r}</td>{''.join(cells)}</tr>")
    best = (
        "<table><caption>Each patient's best drugs (rank 1 is the best; tier in the box)</caption><thead><tr><th>rank</th>"
        + "".join(f"<th scope='col'>{e(p)}</th>" for p in pats)
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    d = cohort.differing
    diff_rows = "".join(
        f"<tr><td>{e(r['drug'])}</td>"
        + "".join(
            f"<td class='num'>{'' if r.get(f'rank:{p}') != r.get(f'rank:{p}') else int(r[f'rank:{p}'])}</td>"
            for p in pats
        )
        + f"<td>{e(r['best_in'])}</td><td class='num'>{fmt(r['spread'], 2)}</td></tr>"
        for r in d.to_dict("records")
    )
    differing = (
        "<table><caption>Drugs whose rank differs most between the patients (among each patient's best 50): rank in "
        "every patient, the patient where it ranks best, the spread of its percentile rank</caption><thead><tr>"
        "<th>drug</th>"
        + "".join(f"<th scope='col'>{e(p)}</th>" for p in pats)
        + f"<th>best in</th><th>spread</th></tr></thead><tbody>{diff_rows}</tbody></table>"
        if len(d)
        else "<p>One patient: nothing to compare.</p>"
    )
    prog = cohort.programmes
    vary = cohort.varying_programmes.head(n_top)
    scale = float(np.nanmax(np.abs(prog["score"].to_numpy()))) if len(prog) else 0.0
    prog_rows = []
    for v in vary.itertuples():
        vals = []
        for p in pats:
            hit = prog[
                (prog["patient"] == p) & (prog["celltype"] == v.celltype) & (prog["programme"] == v.programme)
            ]
            x = float(hit["score"].iloc[0]) if len(hit) else None
            vals.append(f"<td class='num'{colour(x, scale)}>{fmt(x, 2)}</td>")
        prog_rows.append(
            f"<tr><td>{e(v.programme.replace('_', ' '))}</td><td>{e(v.celltype)}</td>{''.join(vals)}</tr>"
        )
    programmes = (
        "<table><caption>Signature programmes that tell the patients apart: the mean log2 fold change of the "
        "programme's genes, patient against the reference samples, per cell type (red: up, blue: down); the "
        "rows vary most between patients</caption><thead><tr><th>programme</th><th>cell type</th>"
        + "".join(f"<th scope='col'>{e(p)}</th>" for p in pats)
        + f"</tr></thead><tbody>{''.join(prog_rows)}</tbody></table>"
        if len(vary)
        else ""
    )
    dx = (cohort.design or {}).get("diagnosis")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, "
        "initial-scale=1'><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src "
        f"'unsafe-inline'\"><title>p4core cohort report</title><style>{STYLE}</style></head><body>"
        f"<header><h1>Cohort report · {len(pats)} patients</h1><p>p4core {e(p4core.__version__)}"
        f"{' · diagnosis: ' + e(dx['name']) if dx else ' · no diagnosis: the rankings are the twins alone'}</p></header>"
        "<main><p class='note'>Each patient is one twin: that patient's disease cells against every reference sample "
        f"(one per patient; the reports: {links}). The same drug can rank very differently: the rows below say "
        "where, and the programmes say why.</p>"
        f"<h2>Each patient's best drugs</h2>{best}<h2>Where the patients differ</h2>{differing}"
        f"<h2>What sets them apart</h2>{programmes}"
        "<p class='note'>cohort.csv lists every patient's rank, score, FDR, probability and tier of every drug; "
        "cohort_programmes.csv every programme in every cell type. Programmes: MSigDB Hallmark gene sets "
        "(Liberzon et al., Cell Syst 2015; CC BY 4.0).</p></main></body></html>\n"
    )
