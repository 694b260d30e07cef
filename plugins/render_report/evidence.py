"""The report's lines of evidence and notes: the first screen's options (standard ones ranked by fit, the
candidates to discuss), each drug's evidence facts, what the twin leaves out, the pair's synergy."""

from __future__ import annotations

from typing import Any

from p4core.model import RunResult
from p4core.plugins.render_report.markup import e, fmt, number, text_of


def line_facts(r: dict[str, Any]) -> dict[str, Any]:
    """The evidence columns of one drug row: probability, tier, and the genetics and precedent lines
    (None where the line is absent)."""
    genetics = (
        {
            "score": number(r.get("genetics_score")),
            "z": number(r.get("genetics_z")),
            "fdr": number(r.get("genetics_fdr")),
            "genes": text_of(r.get("genetics_genes")),
        }
        if "genetics_score" in r
        else None
    )
    precedent = (
        {
            "score": number(r.get("precedent")),
            "standard": bool(r.get("precedent_standard")),
            "related": text_of(r.get("precedent_related")),
        }
        if "precedent" in r
        else None
    )
    return {
        "probability": number(r.get("probability")),
        "tier": text_of(r.get("tier")) or "",
        "tier_text": text_of(r.get("tier_text")) or "",
        "genetics": genetics,
        "precedent": precedent,
    }


def options(result: RunResult, n: int = 8) -> dict[str, Any]:
    """The first screen's two lists: the standard options for the diagnosis ranked by how well they fit
    this patient (the twin's score), and the candidates to discuss (tiers II-IV, by the combined
    probability); and what the lines of evidence were (or why one is absent)."""
    ev = result.evidence
    t = result.screen.table
    if ev is None or "tier" not in t.columns:
        return {"diagnosis": None, "standard": [], "candidates": [], "lines": [], "enabled": False}
    dx = ev.diagnosis
    std = t[t["tier"].isin(["I", "S", "X"])].sort_values(["score_mean", "drug"], ascending=[False, True])
    cand = t[t["tier"].isin(["II", "III", "IV"])]

    def item(r: Any) -> dict[str, Any]:
        return {
            "drug": str(r["drug"]),
            "tier": str(r["tier"]),
            "text": str(r["tier_text"]),
            "rank": int(r["rank"]),
            "probability": number(r.get("probability")),
            "score": number(r["score_mean"]),
        }

    lines = []
    for name, info in ev.lines.items():
        if name == "mechanism":
            continue
        lines.append({"line": name, "present": bool(info.get("present")), "reason": info.get("reason")})
    return {
        "enabled": True,
        "diagnosis": None if dx is None else {"name": dx.label, "doid": dx.doid, "source": dx.source},
        "absent_reason": ev.report.get("diagnosis_record", {}).get("reason"),
        "standard": [item(r) for _, r in std.head(n).iterrows()],
        "n_standard": len(std),
        "candidates": [item(r) for _, r in cand.head(n).iterrows()],
        "n_candidates": len(cand),
        "lines": lines,
    }


TIER_WORDS = {
    "I": "standard, fits",
    "S": "standard",
    "X": "standard, against",
    "II": "related disease",
    "III": "genetic support",
    "IV": "the twin alone",
}


def tier_badge(tier: str) -> str:
    if not tier:
        return ""
    return f"<span class='tier tier-{e(tier)}' title='{e(TIER_WORDS.get(tier, tier))}'>{e(tier)}</span>"


def options_html(o: dict[str, Any]) -> str:
    """The first screen: the standard options ranked by fit, the candidates to discuss, and which lines
    of evidence the ranking rests on (an absent line is said to be absent)."""
    if not o.get("enabled"):
        return ""
    dx = o["diagnosis"]
    said = []
    for x in o["lines"]:
        said.append(f"{x['line']}: {'used' if x['present'] else 'absent (' + str(x['reason']) + ')'}")
    head = (
        f"<p>Diagnosis: <strong>{e(dx['name'])}</strong> <span class='muted'>({e(dx['doid'])}, "
        f"{'given' if dx['source'] != 'record' else 'from the record'})</span>. "
        if dx
        else f"<p>No diagnosis <span class='muted'>({e(o.get('absent_reason') or '')})</span>: what is known of the "
        "drugs in this disease and its inherited risk cannot be used; the ranking is the twin's alone. "
    ) + f"Lines of evidence besides the twin — {e('; '.join(said))}.</p>"

    def items(rows: list[dict[str, Any]], empty: str) -> str:
        if not rows:
            return f"<p class='muted'>{e(empty)}</p>"
        return (
            "<ol class='options'>"
            + "".join(
                f"<li>{tier_badge(r['tier'])} <button type='button' class='drug link' data-drug='{e(r['drug'])}'>"
                f"{e(r['drug'])}</button> — {e(r['text'])} <span class='muted'>(rank {r['rank']}, twin score "
                f"{fmt(r['score'])})</span></li>"
                for r in rows
            )
            + "</ol>"
        )

    std_title = (
        f"Standard options for {dx['name']}, ranked by how well they fit this patient"
        if dx
        else "Standard options"
    )
    more_s = (
        f" ({o['n_standard'] - len(o['standard'])} more in the table)"
        if o.get("n_standard", 0) > len(o["standard"])
        else ""
    )
    more_c = (
        f" ({o['n_candidates'] - len(o['candidates'])} more in the table)"
        if o.get("n_candidates", 0) > len(o["candidates"])
        else ""
    )
    return (
        "<div class='options-box'>" + head + "<div class='grid2'>"
        f"<article class='card'><h3>{e(std_title)}{e(more_s)}</h3>"
        + items(
            o["standard"],
            "No drug of the library is indicated for this diagnosis."
            if dx
            else "No diagnosis: standard options cannot be named.",
        )
        + f"</article><article class='card'><h3>Candidates to discuss with the care team{e(more_c)}</h3>"
        + items(
            o["candidates"],
            "No drug reaches a tier: none is used for a related disease with the twin agreeing, has genetic support with the twin agreeing, or is singled out by the twin alone.",
        )
        + "</article></div><p class='note'>Tiers: I standard and the twin reverses this patient's disease; S standard, the "
        "twin does not single it out; X standard but the twin predicts it works against this patient's disease; II used for a "
        "related disease and the twin agrees; III genetic support at its targets and the twin agrees; IV the twin alone. "
        "Standard options are ordered by the twin's score, candidates by the combined probability.</p></div>"
    )


def celltype_notes(result: RunResult) -> str:
    """What the twin leaves out and what may mislead: skipped and excluded cell types, disease-only cell
    states compared with their closest reference type, likely contaminants and composition changes."""
    p = result.ensemble.params
    notes = []
    if p.get("celltypes_skipped"):
        notes.append(
            "Left out of the twin (fewer than twin.min_cells cells on a side): "
            + ", ".join(p["celltypes_skipped"])
            + "."
        )
    if p.get("celltypes_excluded"):
        notes.append(
            "Excluded by the user (twin.exclude_celltypes): " + ", ".join(p["celltypes_excluded"]) + "."
        )
    for ct, ref in (p.get("reference_of") or {}).items():
        notes.append(
            f"{ct} has (almost) no reference cells: it is compared with the reference cells of {ref}, which it resembles most."
        )
    ct_table = result.celltypes
    if ct_table is not None and "flag" in ct_table:
        for r in ct_table.itertuples():
            if isinstance(r.flag, str) and r.flag:
                notes.append(
                    f"{r.celltype}: {r.flag}; it can carry drugs that act on it alone (twin.exclude_celltypes=[{r.celltype}] leaves it out)."
                )
        if "composition_fold" in ct_table:
            big = ct_table[(ct_table["composition_fold"] >= 2) | (ct_table["composition_fold"] <= 0.5)]
            for r in big.itertuples():
                notes.append(
                    f"{r.celltype} makes up {100 * r.share_disease:.0f}% of the disease cells against {100 * r.share_reference:.0f}% "
                    "of the reference cells: a change in composition, which a signature within cell types does not see."
                )
    return "".join(f"<p class='note'>{e(n)}</p>" for n in notes)


def synergy_note(syn: dict[str, Any] | None) -> str:
    """One sentence on the simulated pair: synergy only where it beats Bliss independence and the highest
    single agent on the nonlinear course (intervals over twins)."""
    if not syn:
        return ""

    def part(name: str, label: str) -> str:
        x = syn[name]
        return f"{label} {x['mean']:+.3f} [{x['ci_low']:+.3f}, {x['ci_high']:+.3f}] (above 0 in {100 * x['p_positive']:.0f}% of twins)"

    verdict = (
        "synergy: it beats both references in 95% of the twins"
        if syn["bliss"]["ci_low"] > 0 and syn["highest_single_agent"]["ci_low"] > 0
        else "no synergy shown: the pair does not beat both references in 95% of the twins"
    )
    return (
        f"<p class='note'>On the simulated course, {e(syn['pair'])} lowers the burden at the horizon beyond the "
        f"{e(part('highest_single_agent', 'highest single agent by'))} and beyond "
        f"{e(part('bliss', 'Bliss independence by'))}: {e(verdict)}.</p>"
    )
