"""The report's sections as HTML: the patient's context, the ranking, pairs, the sound and its legend,\nmethods and provenance."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import p4core
from p4core.model import RunResult
from p4core.plugins.render_report.evidence import synergy_note, tier_badge
from p4core.plugins.render_report.markup import e, fmt, fmt_p, number

#: credits shown in every report (data and software the results rest on)
CREDITS = (
    "Plotly.js (MIT licence), embedded from the plotly Python package.",
    "Networks and drug targets: the sources named under Knowledge, each credited per edge or per drug "
    "(e.g. OmniPath, CollecTRI, DrugCentral, IUPHAR/BPS Guide to Pharmacology; ATC codes from WHO).",
    "Comorbidity coding: Quan et al. 2005 and 2011, Charlson et al. 1987, Ludvigsson et al. 2021; "
    "ISARIC 4C: Knight et al. 2020, where used.",
)


def record_list(
    title: str,
    records: list[dict[str, Any]],
    plain: list[str],
    code: str,
    when: tuple[str, str, str],
    name_of: Callable[[str], str | None] = lambda c: None,
) -> str:
    """Dated records as a list, one line per code (with or without its dot): what a clinician reads first —
    the name (the record's own, else ``name_of(code)``) —, the code beside it and the earliest date; the
    codes with their names when the context has no dated records."""
    field, before, after = when
    recs = dedupe_records(records, lambda r: str(r.get(code, "")).replace(".", "").upper())

    def item(c: Any, display: Any, date: Any = None) -> str:
        name = display or name_of(str(c)) or ""
        head = (
            f"<strong>{e(name)}</strong> <span class='code'>({e(c)})</span>"
            if name
            else f"<strong>{e(c)}</strong>"
        )
        return f"<li>{head}{before + e(date) + after if date else ''}</li>"

    items = [item(r.get(code), r.get("display"), r.get(field)) for r in recs] or [
        item(c, None) for c in plain
    ]
    return f"<h4>{e(title)}</h4><ul>{''.join(items)}</ul>" if items else ""


#: readable names of the built-in scores (others are shown by their key)
SCORE_NAMES = {
    "charlson": "Charlson comorbidity index (the run's weights)",
    "charlson_quan2011": "Charlson index, Quan 2011 weights",
    "charlson_charlson1987": "Charlson index, Charlson 1987 weights",
    "charlson_swedish2021": "Charlson index, Swedish adaptation (Ludvigsson 2021)",
    "isaric4c": "ISARIC 4C mortality score",
}


@functools.cache
def CONDITION_NAMES() -> dict[str, str]:  # noqa: N802 - a constant, read once
    """Comorbidity keys (Quan's ``rheumd``, ...) to their names, from the shipped Charlson table."""
    from p4core.clinical.scores import table

    return dict(zip(table("charlson_quan2005")["key"], table("charlson_quan2005")["condition"], strict=True))


def dedupe_records(records: list[dict[str, Any]], key: Any) -> list[dict[str, Any]]:
    """One record per key: the first with a description, with the earliest date of them all."""
    best: dict[str, dict[str, Any]] = {}
    for rec in records:
        k = key(rec)
        old = best.get(k)
        if old is None:
            best[k] = dict(rec)
            continue
        if not old.get("display") and rec.get("display"):
            old["display"] = rec["display"]
        for f in ("date", "start"):
            if rec.get(f) and (not old.get(f) or str(rec[f]) < str(old[f])):
                old[f] = rec[f]
    return list(best.values())


def context_html(
    ctx: dict[str, Any],
    tissue: str | None,
    n_cells: int,
    names: dict[str, Callable[[str], str | None]] | None = None,
) -> str:
    """The patient panel (``names``: readable names of ICD-10 and ATC codes, ``{"icd10": f, "atc": f}``)."""
    names = names or {}
    rows = [
        ("Pseudonym", ctx.get("pseudonym")),
        ("Age", None if ctx.get("age") is None else f"{ctx['age']:g} years"),
        ("Sex", ctx.get("sex")),
        ("Year of birth", ctx.get("birth_year")),
        ("Sampling date (day 0)", ctx.get("index_date")),
        ("Sampled tissue", tissue),
        ("Cells analysed", f"{n_cells:,}"),
    ]
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows if v not in (None, ""))
    parts = [f'<dl class="facts">{dl}</dl>']
    for title, records, plain, code, when in (
        ("Diagnoses", ctx.get("diagnoses"), ctx.get("conditions"), "code", ("date", " (", ")")),
        (
            "Medications",
            ctx.get("medication_records"),
            ctx.get("medications"),
            "atc",
            ("start", " since ", ""),
        ),
    ):
        namer = names.get("icd10" if code == "code" else "atc", lambda c: None)
        parts.append(record_list(title, records or [], plain or [], code, when, namer))
    scores = ctx.get("scores") or {}
    if scores:
        score_rows = []
        for name, v in scores.items():
            if isinstance(v, dict):
                value = v.get("index", v.get("score", v.get("total")))
                detail = v.get("trait") or ", ".join(
                    CONDITION_NAMES().get(str(c), str(c).replace("_", " "))
                    for c in (v.get("conditions", []) or [])
                )
                if v.get("age_adjusted") is not None:  # Charlson 1994's age points
                    value = (
                        f"{value}; age-adjusted {v['age_adjusted']} (+{v['age_points']} for age {v['age']:g})"
                    )
                if v.get("mortality_pct") is not None:  # ISARIC 4C
                    detail = (
                        f"observed in-hospital mortality at this score {v['mortality_pct']:g}%; risk group "
                        f"{v.get('risk_group')} (pooled {v.get('risk_group_mortality_pct', float('nan')):g}%)"
                    )
            else:
                value, detail = v, ""
            score_rows.append(
                f"<tr><th scope='row'>{e(SCORE_NAMES.get(name, name.replace('_', ' ')))}</th>"
                f"<td>{e(value)}</td><td>{e(detail)}</td></tr>"
            )
        parts.append(
            "<h4>Scores</h4><table class='small'><thead><tr><th scope='col'>score</th><th scope='col'>value</th>"
            f"<th scope='col'>from</th></tr></thead><tbody>{''.join(score_rows)}</tbody></table>"
        )
    obs = ctx.get("observations") or []
    if obs:
        items = "".join(
            f"<li>{e(o.get('name'))}: {e(o.get('value'))} {e(o.get('unit') or '')}"
            f"{' (' + e(o.get('date')) + ')' if o.get('date') else ''}</li>"
            for o in obs
        )
        parts.append(f"<h4>Observations</h4><ul>{items}</ul>")
    return "".join(parts)


def drug_table(
    rows: list[dict[str, Any]], ptop: str, n_total: int, horizon: float, base: dict[str, float] | None
) -> str:
    k = ptop.replace("p_top", "") or "k"
    head = (
        "<thead><tr><th scope='col'>Rank</th><th scope='col'><span class='sr-only'>Compare</span>"
        "<span aria-hidden='true' title='compare'>+</span></th><th scope='col'>Drug</th>"
        "<th scope='col'>Tier · P(DM)</th><th scope='col'>Twin score [95% interval]</th>"
        f"<th scope='col'>FDR</th><th scope='col'>Rank: own targets · downstream</th><th scope='col'>P(top {e(k)})</th>"
        f"<th scope='col'>Burden on day {horizon:g}</th><th scope='col'>Acts through</th>"
        "<th scope='col'>Targets</th><th scope='col'>Known indications</th></tr></thead>"
    )
    body = []
    for r in rows:
        flags = [f"<span class='flag evidence'>{e(f)}</span>" for f in r.get("evidence", [])]
        if r["already_taken"]:
            flags.append("<span class='flag taken'>already taken</span>")
        if r["avoid"]:
            flags.append(f"<span class='flag avoid'>avoid: {e(r['avoid'])}</span>")
        targets = " ".join(
            f"<span class='target' title='{e(r_action(t['action']))}'>{'−' if t['sign'] < 0 else '+'}{e(t['gene'])}</span>"
            for t in r["targets"]
        )
        ind = "; ".join(r["indications"])
        sig = r["fdr"] is not None and r["fdr"] < 0.1
        b = r.get("burden")
        burden = (
            f"{b['mean']:.2f} <span class='ci'>[{b['lower']:.2f}, {b['upper']:.2f}]</span>"
            if b
            else "<span class='muted' title='course not simulated for this report'>–</span>"
            "<span class='sr-only'>course not simulated</span>"
        )
        tie = f" title='same score as {e(', '.join(r['tie']))}'" if r["tie"] else ""
        disabled = "" if b else " disabled title='no simulated course'"
        body.append(
            f"<tr data-drug='{e(r['drug'])}' data-drivers='{e('|'.join(r['drivers']))}'>"
            f"<td class='num'{tie}>{e(r['shown_rank'])}</td>"
            f"<td><input type='checkbox' class='compare' data-drug='{e(r['drug'])}' "
            f"aria-label='compare {e(r['drug'])}'{disabled}></td>"
            f"<td><button type='button' class='drug' data-drug='{e(r['drug'])}'>{e(r['drug'])}</button>"
            f"{'<br>' + ''.join(flags) if flags else ''}</td>"
            f"<td class='num'>{tier_badge(r.get('tier', ''))} {fmt(r.get('probability'), 3)}</td>"
            f"<td class='num'>{fmt(r['score'])} <span class='ci'>[{fmt(r['ci'][0])}, {fmt(r['ci'][1])}]</span></td>"
            f"<td class='num{' sig' if sig else ''}'>{fmt_p(r['fdr'])}</td>"
            f"<td class='num'>{view_ranks(r)}</td>"
            f"<td class='num'>{fmt(r['p_top'], 2)}</td><td class='num'>{burden}</td>"
            f"<td class='drivers'><span title='{e(', '.join(r['drivers']))}'>{e(', '.join(r['drivers']) or '–')}</span></td>"
            f"<td>{targets}</td><td class='ind'><span title='{e(ind)}'>{e(ind) or '–'}</span></td></tr>"
        )
    caption = (
        f"The first {len(rows)} of {n_total} drugs (drugs.csv lists all), ranked by P(DM): the probability that the "
        "drug is disease-modifying, from the twin, human genetics and its use in related diseases combined (a line "
        "that is absent is left out). Tier: see above. Twin score: reversal of the disease "
        "signature, mean over twins with its 95% interval, in units of a random gene's effect; it adds the "
        "reversal at the drug's own targets (they are changed in the disease: acting on markers) and the reversal "
        "of what they drive downstream, and the two have their own ranks. “1=” marks drugs with the same score "
        "(same targets). “marker-driven”: mostly its own targets, nothing downstream significant; “same on a "
        "shuffled network”: the network's wiring adds nothing to its score. "
        "FDR: Benjamini–Hochberg over the degree-matched null. Burden: the simulated disease burden at the "
        f"horizon with the drug (without a new drug: {fmt(base['mean'] if base else None, 2)}); – where the course was "
        "not simulated."
    )
    # the note stands outside the scrolling box (a caption would scroll sideways with the table)
    return (
        f"<p id='ranking-note' class='note'>{e(caption)}</p>"
        "<div class='table-wrap' tabindex='0' role='region' aria-label='ranked drugs, scrollable'>"
        "<table id='drug-table' class='ranking' aria-describedby='ranking-note'>"
        f"{head}<tbody>{''.join(body)}</tbody></table></div>"
    )


def view_ranks(r: dict[str, Any]) -> str:
    v = r.get("views") or {}
    m, p = (v.get("marker") or {}).get("rank"), (v.get("programme") or {}).get("rank")
    if m is None and p is None:
        return "–"
    return f"{int(m) if m is not None else '–'} · {int(p) if p is not None else '–'}"


def r_action(action: str) -> str:
    return str(action).replace("_", " ")


def pairs_data(result: RunResult, n: int) -> list[dict[str, Any]]:
    pairs = result.screen.pairs
    if pairs is None or not len(pairs) or n == 0:
        return []
    return [
        {
            "scenario": f"{r.drug_a} + {r.drug_b}",
            "drugs": [str(r.drug_a), str(r.drug_b)],
            "rank": int(r.rank),
            "score": number(r.score_mean),
            "ci": [number(r.ci_low), number(r.ci_high)],
            "gain": number(r.gain_mean),
            "gain_ci": [number(r.gain_ci_low), number(r.gain_ci_high)],
            "p_gain": number(r.p_gain),
        }
        for r in pairs.head(n).itertuples(index=False)
    ]


def pairs_table(result: RunResult, n: int, course_names: set[str]) -> str:
    pairs = result.screen.pairs
    if pairs is None or not len(pairs) or n == 0:
        return "<p>No pairs were scored in this run (screen.pairs_top = 0).</p>"
    rows = []
    for r in pairs.head(n).itertuples(index=False):
        scen = f"{r.drug_a} + {r.drug_b}"
        name = (
            f"<button type='button' class='drug' data-drug='{e(scen)}'>{e(scen)}</button>"
            if scen in course_names
            else e(scen)
        )
        rows.append(
            f"<tr><td class='num'>{int(r.rank)}</td><td>{name}</td>"
            f"<td class='num'>{fmt(r.score_mean)} <span class='ci'>[{fmt(r.ci_low)}, {fmt(r.ci_high)}]</span></td>"
            f"<td class='num'>{fmt(r.gain_mean)} <span class='ci'>[{fmt(r.gain_ci_low)}, {fmt(r.gain_ci_high)}]</span></td>"
            f"<td class='num'>{fmt(r.p_gain, 2)}</td><td class='num'>{fmt(r.complementarity, 2)}</td></tr>"
        )
    return (
        "<table class='ranking small' id='pairs-table'><caption>Pairs of the best drugs. Gain: the pair's "
        "score above its better drug's (95% interval over twins) — the score is linear, so this is additivity, "
        "not synergy; P(gain): share of twins where it is positive; complementarity: 1 − overlap of the two "
        "drugs' cell-type profiles. Synergy is read on the simulated course of the best pair, against Bliss "
        "independence and the highest single agent (below the table).</caption><thead><tr><th scope='col'>Rank</th>"
        "<th scope='col'>Pair</th><th scope='col'>Score [95%]</th><th scope='col'>Gain [95%]</th><th scope='col'>P(gain)</th>"
        f"<th scope='col'>Complementarity</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + synergy_note(result.trajectories.params.get("synergy"))
    )


def sound_html(sound: dict[str, Any] | None) -> str:
    if sound is None:
        return "<p>The sound was left out of this report (render.html.audio=none).</p>"
    labels = sound.get("labels") or {}
    PROGRAM_NAMES, EARCON_NAMES = labels.get("programs", {}), labels.get("earcons", {})  # noqa: N806
    leg = sound["legend"]
    seconds_per_tick = 60.0 / sound["tempo"] / leg["time"]["ticks_per_beat"]
    segs = "".join(
        f"<li><button type='button' class='seek' data-seconds='{seg['start_tick'] * seconds_per_tick:.3f}' "
        f"data-scenario='{e(next((v for v in seg['voices'].values() if v != 'untreated'), 'untreated'))}'>"
        + e(
            " | ".join(
                f"{scenario_label(v)} ({side})" if len(seg["voices"]) > 1 else scenario_label(v)
                for side, v in seg["voices"].items()
            )
        )
        + f"</button> <span class='muted'>from {seg['start_tick'] * seconds_per_tick:.0f} s</span></li>"
        for seg in leg["segments"]
    )
    pitch = leg["pitch"]
    higher = (
        "more disease" if pitch["polarity"] == "disease" else "healthier (a health index: falling = worse)"
    )
    voices = "".join(
        f"<tr><th scope='row'>{e(v['celltype'])}{'' if v['side'] == 'centre' else ' (' + e(v['side']) + ')'}"
        f"{'<br><span class=muted>' + e(', '.join(v['members'])) + '</span>' if v.get('members') else ''}</th>"
        f"<td>{e(PROGRAM_NAMES.get(v['program'], 'program ' + str(v['program'])))}</td>"
        f"<td>from {note_name(v['base_note'])}</td><td>{pan_words(v['pan'])}</td></tr>"
        for v in leg["voices"]
    )
    harmony = leg.get("harmony") or {}
    earcons = ", ".join(f"{k.replace('_', ' ')}: {EARCON_NAMES.get(k, k)}" for k in leg["earcons"])
    return f"""
<audio id="course-audio" controls preload="auto" src="{sound["uri"]}" aria-describedby="sound-legend">
  Your browser cannot play the embedded audio ({e(sound["mime"])}).</audio>
<p id="now-playing" role="status" aria-live="polite" class="muted">Press play: a line on the course plot follows the sound.</p>
<h4>Scenarios, one after the other</h4>
<ol class="segments">{segs}</ol>
<div id="sound-legend">
<h4>What you hear</h4>
<ul>
<li><strong>Pitch</strong> of each voice: {e(pitch["quantity"])}; higher = {e(higher)}. One scale for all
voices and scenarios ({len(pitch["scale"])} steps), so voices and scenarios compare by ear.</li>
<li><strong>Loudness</strong> (expression) follows the same value; <strong>vibrato depth</strong> (modulation) the
width of the 95% band over twins: wider = less certain.</li>
<li><strong>Harmony pad</strong>: {
        e(harmony.get("quantity", "disease burden"))
    }; the chord grows more tense as
it rises.</li>
<li><strong>Percussion</strong> marks events: {e(earcons)}.</li>
<li>One beat = {leg["time"]["days_per_beat"]:g} days; the course runs from day {leg["time"]["t0_days"]:g} to
{leg["time"]["t1_days"]:g}. Preset: {e(sound["preset"])}. Embedded as {e(sound["mime"])},
{sound["bytes"] / 1e6:.1f} MB, {sound["seconds"]:.0f} s; course.mid of the run holds the score.</li>
</ul>
<table class="small"><caption>Voices: one instrument per cell type, each a little higher than the one before{
        ("; " + e(leg["voice_selection"]["rule"])) if leg.get("voice_selection", {}).get("grouped") else ""
    }</caption>
<thead><tr><th scope="col">cell type</th><th scope="col">instrument</th><th scope="col">lowest note</th><th scope="col">stereo</th></tr></thead>
<tbody>{voices}</tbody></table>
</div>"""


def scenario_label(name: str) -> str:
    return "without a new drug" if name == "untreated" else name


def note_name(note: int) -> str:
    """MIDI note number as a name, e.g. 43 -> G2 (middle C = C4)."""
    return ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")[note % 12] + str(note // 12 - 1)


def pan_words(pan: int) -> str:
    if pan < 43:
        return "left"
    return "centre" if pan <= 85 else "right"


def methods_html(result: RunResult, plotly_js: str) -> str:
    ens, scr = result.ensemble, result.screen
    conf = result.config
    a = result.patient.adata
    params = {g: conf.get(g) for g in ("twin", "screen", "simulate", "regulators") if conf.get(g) is not None}
    param_html = "".join(
        f"<details><summary>{e(g)}</summary><pre>{e(json.dumps(v, indent=1, default=str))}</pre></details>"
        for g, v in params.items()
    )
    prov = "".join(f"<li>{e(p)}</li>" for p in result.knowledge.provenance)
    mr = ens.match_report or {}
    g, ed, dt, dr = (mr.get(k) or {} for k in ("genes", "edges", "drug_targets", "drugs"))
    matched = (
        f"{g.get('panel_genes_used', '?')} of {g.get('panel', '?')} measured genes in the knowledge, "
        f"{g.get('latent', 0)} latent genes; {ed.get('total', '?')} edges; {dt.get('in_network', '?')} of "
        f"{dt.get('total', '?')} drug targets in the network; {dr.get('with_signed_target_in_network', '?')} of "
        f"{dr.get('total', '?')} drugs with a signed target in it (match_report.json has the details)"
        if mr
        else ""
    )
    control = scr.control.get("shuffled_network") or {}
    ctrl = (
        f"<li>Control: the same screen on a degree-preserving shuffle of the network gives a Spearman correlation of "
        f"{fmt(control.get('spearman_real_vs_shuffled'), 2)} with the real ranking; the best 10 drugs score "
        f"{fmt(control.get('top10_mean_score_real'))} on the real network and "
        f"{fmt(control.get('top10_mean_score_shuffled'))} on the shuffled one.</li>"
        if control
        else ""
    )
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    return f"""
<ul>
<li>Data: {e(result.patient.description)}; {a.n_obs:,} cells, {len(ens.celltypes)} cell types, {a.n_vars:,} genes
({int(ens.measured.sum()):,} in the model measured).</li>
<li>Twins: {len(ens)} resampled twins (seed {e(ens.params.get("seed"))}); each has its own network weights fitted to
its cells and its own disease signature. Intervals and P(top-k) are over these twins.</li>
<li>Screen: {len(scr.drugs):,} drugs; each drug's signed effect on its targets is propagated through the twin's
network (damped series, {e(scr.params.get("steps", conf.get("screen", {}).get("steps")))} steps). Two views: at the
drug's own targets (−⟨u, s⟩/|s|: are its targets changed in the disease, the way it counteracts?) and downstream
(−cos between the propagated response, the drug's own target nodes left out, and the disease signature); the score
adds them with weight {e(scr.params.get("marker_weight"))} on the first, each in units of a random gene's effect
(the view's spread over the null pool), weighted by cell type. Null: random target sets matched in size, degree
and action, scored the same way; FDR by Benjamini–Hochberg, for each view. The genes listed for a drug carry its
score on the first twin (explain.csv).</li>
<li>Course: dx/dt = γ(tanh(βAx + r(t)d + e(t)u) − x) per twin, calibrated to the observed disease state at day 0;
bands are the 2.5–97.5% quantiles over twins.</li>
{ctrl}
<li>Matching of genes, edges and targets: {e(matched) or "–"}.</li>
<li>Software: p4core {e(p4core.__version__)}, Plotly.js {e(plotly_version(plotly_js))}. Run time: {e(timings)}.</li>
</ul>
<h4>Knowledge sources</h4><ul>{prov}</ul>
<h4>Parameters</h4>{param_html}
<h4>Credits</h4><ul>{"".join(f"<li>{e(c)}</li>" for c in CREDITS)}</ul>
<p class="muted">Identifiers are pseudonymised; the report holds no name, record number or file name of the patient.
Research software: not a medical device.</p>"""


def plotly_version(js: str) -> str:
    import re

    import plotly

    found = re.search(r"plotly\.js v([0-9][0-9.]*)", js[:400])
    return f"{found.group(1) if found else '?'} (plotly {plotly.__version__})"
