"""Why a drug ranks where it does: the genes that carry its score, its views, its null, its neighbours.

For a drug on twin 0 (the ensemble's first twin), every node's contribution to the three views is
computed from the dense responses: at the drug's own target nodes the marker term
``-w s u / |s|_W`` and elsewhere the programme term ``-w s x / (|x|_W |s|_W)`` (the programme's response
with the own target nodes left out); the combined contribution adds them with the screen's weight and
scales, so a drug's contributions sum to its combined score on that twin. The ranks, intervals, null
tests and flags are the ensemble's (``drugs.csv``).

``python -m p4core explain run=<run directory> drug=<name>`` explains any drug of a finished run from
the run's ``twin.h5ad`` and ``drugs.csv``; the run itself writes ``explain.csv`` for its best drugs
(``explain.top``), and the report shows the same for a selected drug.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from p4core import kernel
from p4core.errors import InputError
from p4core.model import DrugLibrary, ScreenResult, TwinEnsemble, TwinReplicate
from p4core.screen import ScreenParams, drug_matrix, unit_perturbations
from p4core.screen.twinfile import TWIN_FILE, load_twin


def contributions(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    names: Sequence[str],
    params: ScreenParams,
    scales: dict[str, float],
    twin: int = 0,
) -> dict[str, pd.DataFrame]:
    """Per drug of ``names``: every node with a non-zero contribution on twin ``twin`` (gene,
    celltype, signature, change, is_target, marker, programme, contribution), best first."""
    rep: TwinReplicate = ensemble.replicates[twin]
    genes, m, lib_names = drug_matrix(ensemble, drugs)
    index = {d: i for i, d in enumerate(lib_names)}
    cols = [index[d] for d in names if d in index]
    n_g = len(ensemble.genes)
    w = ensemble.node_weights.astype(float) * np.where(
        np.tile(ensemble.measured, len(ensemble.celltypes)), 1.0, params.latent_weight
    )
    s = rep.signature.astype(float)
    if params.score == "correlation":
        for c in range(len(ensemble.celltypes)):
            sl = slice(c * n_g, (c + 1) * n_g)
            s[sl] -= np.average(s[sl], weights=w[sl]) if w[sl].sum() > 0 else 0.0
    s_norm = float(np.sqrt(np.sum(w * s**2)))
    out: dict[str, pd.DataFrame] = {}
    for b0 in range(0, len(cols), 64):
        block = cols[b0 : b0 + 64]
        coef = m[:, block]
        used = np.flatnonzero((coef != 0).any(1))
        u1 = unit_perturbations(ensemble, rep.active, genes[used], rep.operator.dtype)
        u = np.ascontiguousarray(u1 @ coef[used].astype(u1.dtype))
        x = kernel.propagate(rep.operator, u, params.alpha, params.steps).astype(float) - u
        for j, col in enumerate(block):
            own = np.zeros(len(s), dtype=bool)
            for g in genes[np.flatnonzero(m[:, col])]:
                own[g::n_g] = True
            xd = np.where(own, 0.0, x[:, j])
            if params.score == "correlation":  # centred as the screen does (own nodes count as zeros)
                for c in range(len(ensemble.celltypes)):
                    sl = slice(c * n_g, (c + 1) * n_g)
                    if w[sl].sum() > 0:
                        xd[sl] = xd[sl] - np.average(xd[sl], weights=w[sl])
            norm = float(np.sqrt(np.sum(w * xd**2)))
            mk = -w * s * u[:, j] / s_norm if s_norm > 0 else np.zeros(len(s))
            pg = -w * s * xd / (norm * s_norm) if norm > 0 and s_norm > 0 else np.zeros(len(s))
            comb = (
                params.marker_weight * mk / scales["marker"]
                + (1 - params.marker_weight) * pg / scales["programme"]
            )
            nz = np.flatnonzero((comb != 0) | (mk != 0) | (pg != 0))
            df = pd.DataFrame(
                {
                    "gene": np.array(ensemble.genes)[nz % n_g],
                    "celltype": np.array(ensemble.celltypes)[nz // n_g],
                    "signature": s[nz],
                    "change": np.where(own[nz], u[nz, j], xd[nz]),
                    "is_target": own[nz],
                    "marker": mk[nz],
                    "programme": pg[nz],
                    "contribution": comb[nz],
                }
            )
            out[lib_names[col]] = df.sort_values(
                "contribution", ascending=False, kind="mergesort"
            ).reset_index(drop=True)
    return out


def explain_table(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    result: ScreenResult,
    params: ScreenParams,
    top: int,
    n_genes: int,
) -> pd.DataFrame:
    """``explain.csv``: for each of the ``top`` best drugs, the ``n_genes`` genes that carry most of
    its score and the ``n_genes // 3`` that oppose it most (twin 0), with their share of the score."""
    names = [d for d in result.table["drug"].head(top)]
    per = contributions(ensemble, drugs, names, params, result.scales)
    rank = result.table.set_index("drug")["rank"]
    frames = []
    for d in names:
        df = per.get(d)
        if df is None or not len(df):
            continue
        total = float(df["contribution"].sum())
        pos = df[df["contribution"] > 0].head(n_genes)
        neg = df[df["contribution"] < 0].tail(max(1, n_genes // 3)).iloc[::-1]
        sel = pd.concat([pos, neg])
        sel = sel.assign(
            drug=d,
            rank=int(rank[d]),
            role=np.where(sel["contribution"] > 0, "carries", "opposes"),
            share_of_score=sel["contribution"] / total if total else np.nan,
            score_twin0=total,
        )
        frames.append(sel)
    cols = [
        "drug",
        "rank",
        "role",
        "gene",
        "celltype",
        "is_target",
        "signature",
        "change",
        "marker",
        "programme",
        "contribution",
        "share_of_score",
        "score_twin0",
    ]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def _fmt(v: Any, spec: str = ".3f") -> str:
    try:
        return "n/a" if v is None or not np.isfinite(float(v)) else format(float(v), spec)
    except (TypeError, ValueError):
        return str(v)


def _line_note(o: pd.Series, row: pd.Series) -> str:
    """Which line of evidence sets two drugs of a combined ranking apart (the largest difference in the
    model's standardised units is not known here: the raw line scores are compared)."""
    parts = [f"P(DM) {_fmt(o.get('probability'))} vs {_fmt(row.get('probability'))}"]
    for col, name in (("score_mean", "twin"), ("genetics_score", "genetics"), ("precedent", "precedent")):
        if (
            col in o.index
            and np.isfinite(float(o.get(col, np.nan)))
            and np.isfinite(float(row.get(col, np.nan)))
        ):
            parts.append(f"{name} {_fmt(o.get(col))} vs {_fmt(row.get(col))}")
    return "; ".join(parts)


def competitor_note(table: pd.DataFrame, drug: str) -> str:
    """Why the drugs ranked just above and below ``drug`` are there: in a combined ranking, its lines
    of evidence; in the twin's, which view differs most."""
    t = table.reset_index(drop=True)
    hit = np.flatnonzero(t["drug"].to_numpy() == drug)
    if not len(hit):
        return ""
    i = int(hit[0])
    row = t.iloc[i]
    notes = []
    for j, where in ((i - 1, "above"), (i + 1, "below")):
        if not 0 <= j < len(t):
            continue
        o = t.iloc[j]
        dm = float(o.get("score_marker", np.nan)) - float(row.get("score_marker", np.nan))
        dp = float(o.get("score_programme", np.nan)) - float(row.get("score_programme", np.nan))
        same = o["targets"] == row["targets"] if "targets" in t else False
        if "probability" in t.columns and not (same and o["probability"] == row["probability"]):
            why = _line_note(o, row)
        elif same:
            why = "it has the same targets (a tie broken by name)"
        elif np.isfinite(dm) and np.isfinite(dp):
            lead = "marker" if abs(dm) >= abs(dp) else "programme"
            why = (
                f"its {lead} view is {'higher' if (dm if lead == 'marker' else dp) > 0 else 'lower'} "
                f"(marker {_fmt(o.get('score_marker'))} vs {_fmt(row.get('score_marker'))}, programme "
                f"{_fmt(o.get('score_programme'))} vs {_fmt(row.get('score_programme'))})"
            )
        else:
            why = ""
        notes.append(
            f"{o['drug']} ranks {where} (rank {int(o['rank'])}, score {_fmt(o['score_mean'])}): {why}"
        )
    return "; ".join(notes)


def explain_record(
    row: pd.Series, table: pd.DataFrame, genes: pd.DataFrame, drugs: DrugLibrary
) -> dict[str, Any]:
    """Everything the CLI and the report say about one drug, as plain data."""
    t = drugs.targets[drugs.targets["drug"] == row["drug"]]
    views = {}
    for v in ("combined", "marker", "programme"):
        p = row.get(f"p_{v}", np.nan)
        views[v] = {
            "score": row.get(f"score_{v}", np.nan),
            "rank": row.get(f"rank_{v}", np.nan),
            "z": row.get(f"z_{v}", np.nan),
            "p": p,
            "fdr": row.get(f"fdr_{v}", np.nan),
            "percentile_in_null": 100 * (1 - float(p)) if np.isfinite(float(p)) else np.nan,
        }
    parts = {c.split(":", 1)[1]: row[c] for c in row.index if str(c).startswith("part:")}
    raw = row.get("evidence_flags", "")
    flags = [f for f in (raw if isinstance(raw, str) else "").split("; ") if f]
    for col, word in (("already_taken", "already taken"), ("avoid", "avoid")):
        val = row.get(col)
        if isinstance(val, bool | np.bool_) and val or (isinstance(val, str) and val):
            flags.append(word if isinstance(val, bool | np.bool_) else f"{word}: {val}")
    return {
        "drug": row["drug"],
        "rank": int(row["rank"]),
        "score": row["score_mean"],
        "ci": [row.get("ci_low"), row.get("ci_high")],
        "marker_share": row.get("marker_share"),
        "targets": [
            {
                "target": r.target,
                "action": r.action,
                "sign": int(r.sign),
                "strength": float(r.strength),
                "correction": getattr(r, "correction", "") or "",
            }
            for r in t.itertuples()
        ],
        "celltypes": parts,
        "views": views,
        "flags": flags,
        "competitors": competitor_note(table, row["drug"]),
        "genes": genes.to_dict("records"),
        "evidence": evidence_record(row),
    }


def evidence_record(row: pd.Series) -> dict[str, Any] | None:
    """The lines of evidence of one drug row (None: the run had no evidence stage); an absent line
    is None, never zero."""
    if "probability" not in row.index:
        return None
    tier = row.get("tier")
    return {
        "rank_mechanism": row.get("rank_mechanism"),
        "probability": row.get("probability"),
        "tier": tier if isinstance(tier, str) else "",
        "tier_text": row.get("tier_text") if isinstance(row.get("tier_text"), str) else "",
        "genetics": None
        if "genetics_score" not in row.index
        else {k: row.get(f"genetics_{k}") for k in ("score", "z", "p", "fdr", "genes")},
        "precedent": None
        if "precedent" not in row.index
        else {
            "score": row.get("precedent"),
            "standard": bool(row.get("precedent_standard")),
            "related": row.get("precedent_related") if isinstance(row.get("precedent_related"), str) else "",
        },
    }


def explain_text(rec: dict[str, Any]) -> str:
    """The explanation of one drug in words (the CLI's output)."""
    lines = [
        f"{rec['drug']}: rank {rec['rank']}, score {_fmt(rec['score'])} [95% {_fmt(rec['ci'][0])}, {_fmt(rec['ci'][1])}]"
    ]
    tg = ", ".join(
        f"{'-' if x['sign'] < 0 else '+'}{x['target']} ({x['action'].replace('_', ' ')}, strength {x['strength']:g})"
        + (" [corrected]" if x["correction"] else "")
        for x in rec["targets"]
    )
    lines.append(f"targets: {tg or 'none'}")
    v = rec["views"]
    lines.append(
        "views: "
        + "; ".join(
            f"{name} {_fmt(x['score'])} (rank {_fmt(x['rank'], '.0f')}, z {_fmt(x['z'], '.2f')}, p {_fmt(x['p'], '.4f')}, "
            f"FDR {_fmt(x['fdr'], '.3f')}, at percentile {_fmt(x['percentile_in_null'], '.1f')} of its null)"
            for name, x in v.items()
        )
    )
    lines.append(f"marker share of the combined score: {_fmt(rec['marker_share'], '.0%')}")
    ct = sorted(rec["celltypes"].items(), key=lambda kv: -float(kv[1]))
    lines.append("cell types (part of the score): " + ", ".join(f"{c} {_fmt(p)}" for c, p in ct))
    lines.append(f"flags: {', '.join(rec['flags']) or 'none'}")
    ev = rec.get("evidence")
    if ev:
        g, p = ev["genetics"], ev["precedent"]
        lines.append(
            f"evidence: P(disease-modifying) {_fmt(ev['probability'])}, tier {ev['tier'] or 'none'}"
            + (f" ({ev['tier_text']})" if ev["tier_text"] else "")
            + f"; the twin alone ranks it {_fmt(ev['rank_mechanism'], '.0f')}"
        )
        lines.append(
            "  genetics: "
            + (
                f"score {_fmt(g['score'])}, z {_fmt(g['z'], '.2f')}, FDR {_fmt(g['fdr'], '.3f')}"
                + (
                    f", risk genes at or next to its best target: {g['genes']}"
                    if isinstance(g["genes"], str) and g["genes"]
                    else ""
                )
                if g
                else "absent"
            )
        )
        lines.append(
            "  precedent: "
            + (
                ("standard for the diagnosis; " if p["standard"] else "")
                + f"score {_fmt(p['score'])}"
                + (f"; used for related diseases: {p['related']}" if p["related"] else "")
                if p
                else "absent"
            )
        )
    if rec["competitors"]:
        lines.append(f"neighbours: {rec['competitors']}")
    lines.append("genes carrying the score on twin 0 (contribution to the combined score):")
    lines.append(
        f"  {'gene':<12}{'cell type':<22}{'target':>7}{'signature':>11}{'change':>10}{'contrib.':>10}{'share':>8}"
    )
    for g in rec["genes"]:
        lines.append(
            f"  {g['gene']:<12}{g['celltype'][:21]:<22}{'yes' if g['is_target'] else '':>7}{g['signature']:>11.3f}"
            f"{g['change']:>10.3f}{g['contribution']:>10.3f}{_fmt(g.get('share_of_score'), '.0%'):>8}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# command line

USAGE = """\
usage: python -m p4core explain run=<run directory> drug=<name> [genes=15] [csv=<file.csv>] [json=<file.json>]

Why a drug of a finished run ranks where it does: its targets, the cell types it acts in, the genes that
carry its score (twin 0), its marker and programme views with their nulls, its flags and its neighbours
in the ranking. Reads the run's drugs.csv and twin.h5ad."""


def explain_run(run: Path, drug: str, n_genes: int = 15) -> dict[str, Any]:
    """The explanation record of ``drug`` in the finished run ``run``."""
    run = Path(run)
    table_path, twin_path = run / "drugs.csv", run / TWIN_FILE
    for p in (table_path, twin_path):
        if not p.is_file():
            raise InputError(
                f"run={run}: no {p.name} (is it a p4core run directory? twin.h5ad is written with "
                "explain.save_twin=true, the default)"
            )
    table = pd.read_csv(table_path)
    key = drug.strip().lower()
    hit = table[table["drug"].str.lower() == key]
    if hit.empty:
        import difflib

        close = difflib.get_close_matches(key, table["drug"].str.lower().tolist(), n=3)
        raise InputError(
            f"drug={drug!r} is not in {table_path}" + (f"; did you mean {', '.join(close)}?" if close else "")
        )
    row = hit.iloc[0]
    ens, lib, params, scales = load_twin(twin_path)
    per = contributions(ens, lib, [row["drug"]], params, scales).get(row["drug"], pd.DataFrame())
    if len(per):
        total = float(per["contribution"].sum())
        pos = per[per["contribution"] > 0].head(n_genes)
        neg = per[per["contribution"] < 0].tail(max(1, n_genes // 3)).iloc[::-1]
        per = pd.concat([pos, neg]).assign(
            share_of_score=lambda d: d["contribution"] / total if total else np.nan
        )
    return explain_record(row, table, per, lib)


def main(argv: list[str]) -> int:
    """``python -m p4core explain key=value ...``; returns the exit code."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    if not argv:
        print("p4core: explain: name a finished run and a drug (run=<dir> drug=<name>)", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2
    try:
        opts: dict[str, str] = {}
        for a in argv:
            if "=" not in a:
                raise InputError(f"argument {a!r} is not key=value (see python -m p4core explain --help)")
            k, v = a.split("=", 1)
            if k not in ("run", "drug", "genes", "csv", "json"):
                raise InputError(f"unknown key {k!r}; known keys: run, drug, genes, csv, json")
            opts[k] = v
        for k in ("run", "drug"):
            if not opts.get(k):
                raise InputError(
                    f"missing {k}=...; e.g. python -m p4core explain run=outputs/<date>/<time> drug=tofacitinib"
                )
        try:
            n_genes = int(opts.get("genes", 15))
        except ValueError:
            raise InputError(f"genes={opts['genes']!r} must be a whole number") from None
        if n_genes < 1:
            raise InputError(f"genes={n_genes} must be >= 1")
        rec = explain_run(Path(opts["run"]), opts["drug"], n_genes)
        from p4core.io import write_text

        if opts.get("csv"):
            write_text(Path(opts["csv"]), pd.DataFrame(rec["genes"]).to_csv(index=False, float_format="%.6g"))
        if opts.get("json"):
            write_text(Path(opts["json"]), json.dumps(_jsonable(rec), indent=2) + "\n")
    except InputError as exc:
        print(f"p4core explain: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    print(explain_text(rec))
    return 0


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
