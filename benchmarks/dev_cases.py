"""The dev cases of issue 24, one patient at a time: COMBAT 2022 (COVID-19 PBMC, data.patient=all) and
Kang 2018 (PBMC, IFN-beta), with the figures the defaults are chosen on (with the dev LODO benchmark).

    python benchmarks/dev_cases.py [--twins 20] [--out outputs/dev_cases] [--only combat|kang] [override ...]

COMBAT: per patient, the best rank (and percentile) of each WHO class for severe and critical COVID-19 —
systemic corticosteroids (NR3C1 agonists), IL-6 receptor blockers, JAK inhibitors — and the worst rank of a
glucocorticoid. The clinical truth is the WHO living guideline on COVID-19 therapeutics; the donor ids are
the published dataset's (COMBAT Consortium, Cell 2022; ../shared/data/README.md). Kang: the programme
view's rank and FDR of the seven JAK/TYK2 inhibitors, and the drugs flagged marker-driven ranked above the
first of them. Extra arguments are Hydra overrides applied to both runs (e.g. screen.marker_weight=0.5).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
COMBAT = {
    "S00043": "critical, interferon-high",
    "S00040": "critical, interferon-low",
    "S00016": "mild, interferon-high",
    "S00006": "mild, interferon-low",
}
JAK_TYK2 = [
    "baricitinib",
    "ruxolitinib",
    "tofacitinib",
    "upadacitinib",
    "filgotinib",
    "abrocitinib",
    "deucravacitinib",
]


def classes(targets: pd.DataFrame) -> dict[str, set[str]]:
    """WHO classes by mechanism: NR3C1 agonists, IL6R antagonists, JAK1/2/3 or TYK2 inhibitors."""
    t = targets

    def hits(genes: set[str], sign: int) -> set[str]:
        return set(t.loc[t["target"].isin(genes) & (t["sign"] == sign), "drug"])

    return {
        "corticosteroid": hits({"NR3C1"}, 1),
        "IL-6R blocker": hits({"IL6R"}, -1),
        "JAK inhibitor": hits({"JAK1", "JAK2", "JAK3", "TYK2"}, -1),
    }


def combat(out: Path, twins: int, overrides: list[str]) -> dict:
    import p4core
    from p4core.clinical.privacy import pseudonymise

    cfg = p4core.compose(
        [
            "data=h5ad",
            f"data.path={DATA / 'scrna' / 'combat2022_covid_pbmc_subset.h5ad'}",
            "data.cell_type_key=cell_type",
            "data.condition_key=condition",
            "data.reference=Healthy",
            "data.sample_key=donor",
            "data.donor_key=donor",
            "data.patient=all",
            "knowledge=public",
            f"knowledge.root={DATA}",
            f"twin.n_twins={twins}",
            "render=[table,json]",
            *overrides,
        ]
    )
    t0 = time.perf_counter()
    cohort, _ = p4core.run(cfg, out / "combat")
    seconds = time.perf_counter() - t0
    knowledge = p4core.load_knowledge(cfg.knowledge)
    cls = classes(knowledge.drugs.targets)
    name = {pseudonymise(d): d for d in COMBAT}
    rows, jak = [], {}
    for p in cohort.patients:
        t = cohort.table[cohort.table["patient"] == p].set_index("drug")
        n = len(t)
        row = {"donor": name[p], "patient": COMBAT[name[p]]}
        for c, drugs in cls.items():
            r = t.loc[t.index.intersection(sorted(drugs)), "rank"]
            row[c] = f"{int(r.min())} ({100 * r.min() / n:.1f}%: {r.idxmin()})" if len(r) else "-"
            if c == "JAK inhibitor":
                jak[name[p]] = int(r.min())
        gc = t.loc[t.index.intersection(sorted(cls["corticosteroid"])), "rank"]
        row["worst glucocorticoid"] = f"{int(gc.max())} ({100 * gc.max() / n:.0f}%)"
        row["top 3"] = ", ".join(t.sort_values("rank").index[:3])
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("patient")
    print(
        f"COMBAT (data.patient=all, {twins} twins, {seconds:.0f} s): best rank of each WHO class, of {n} drugs"
    )
    print(table.to_string(index=False))
    top5, top1 = 0.05 * n, 0.01 * n
    checks = {
        "critical: every WHO class in the top 5%": all(
            int(str(r[c]).split()[0]) <= top5
            for r in rows
            if r["patient"].startswith("critical")
            for c in cls
        ),
        "S00043: a JAK inhibitor in the top 1%": jak.get("S00043", n) <= top1,
        "S00043 ranks JAK inhibitors above S00040": jak.get("S00043", n) < jak.get("S00040", 0),
        "critical: no glucocorticoid in the bottom half": all(
            int(r["worst glucocorticoid"].split()[0]) <= n / 2
            for r in rows
            if r["patient"].startswith("critical")
        ),
    }
    for k, v in checks.items():
        print(f"  {'yes' if v else 'NO '}  {k}")
    return {"table": rows, "checks": checks, "seconds": seconds}


def kang(out: Path, twins: int, overrides: list[str]) -> dict:
    import p4core

    cfg = p4core.compose(
        [
            "data=h5ad",
            f"data.path={DATA / 'scrna' / 'kang2018_ifnb_pbmc.h5ad'}",
            "data.cell_type_key=cluster_id",
            "data.condition_key=group_id",
            "data.reference=ctrl",
            "data.sample_key=sample_id",
            "knowledge=public",
            f"knowledge.root={DATA}",
            f"twin.n_twins={twins}",
            "render=[table]",
            *overrides,
        ]
    )
    t0 = time.perf_counter()
    result, _ = p4core.run(cfg, out / "kang")
    seconds = time.perf_counter() - t0
    t = result.screen.table.set_index("drug")
    n = len(t)
    j = t.loc[
        [d for d in JAK_TYK2 if d in t.index], ["rank", "rank_programme", "fdr_programme", "score_programme"]
    ]
    last = int(j["rank"].max())
    marker = t[(t["rank"] < last) & t["evidence_flags"].fillna("").str.contains("marker-driven")]
    print(
        f"Kang ({twins} twins, {seconds:.0f} s): JAK/TYK2 inhibitors, of {n} drugs (top 2% = {0.02 * n:.0f})"
    )
    print(j.sort_values("rank_programme").to_string())
    print(f"  marker-driven drugs above the last JAK/TYK2 inhibitor (rank {last}): {list(marker.index)}")
    ok = bool((j["rank_programme"] <= 0.02 * n).all() and (j["fdr_programme"] < 0.25).all())
    print(f"  {'yes' if ok else 'NO '}  all seven in the top 2% of the programme ranking with FDR < 0.25")
    print(f"  {'yes' if marker.empty else 'NO '}  no marker-driven drug above them")
    return {"jak": j.reset_index().to_dict("records"), "marker_above": list(marker.index), "seconds": seconds}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--twins", type=int, default=20)
    ap.add_argument("--out", default="outputs/dev_cases")
    ap.add_argument("--only", choices=["combat", "kang"])
    args, overrides = ap.parse_known_args(argv)
    out = Path(args.out)
    res = {}
    if args.only in (None, "combat"):
        res["combat"] = combat(out, args.twins, overrides)
    if args.only in (None, "kang"):
        res["kang"] = kang(out, args.twins, overrides)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dev_cases.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
