"""Loading the public knowledge: cold (parse) vs warm (cache), and composing it for the Kang twin.

    python benchmarks/bench_knowledge.py [--root ../shared/data]

Prints the times and the match figures; writes benchmarks/results/knowledge.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = ap.parse_args()
    os.environ["P4CORE_CACHE_DIR"] = tempfile.mkdtemp(prefix="p4core-bench-cache-")
    import p4core
    from p4core.io import read_patient_h5ad

    cfg = p4core.compose(["knowledge=public", f"knowledge.root={args.root}"]).knowledge
    times = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        k = p4core.load_knowledge(cfg)
        times[label] = time.perf_counter() - t0
    patient = read_patient_h5ad(
        Path(args.root) / "scrna" / "kang2018_ifnb_pbmc.h5ad",
        cell_type_key="cluster_id",
        condition_key="group_id",
        reference="ctrl",
        sample_key="sample_id",
    )
    t0 = time.perf_counter()
    twin = p4core.build_twins(patient, k, p4core.TwinParams(n_twins=1))
    times["kang_twin"] = time.perf_counter() - t0
    rep = twin.match_report
    print(f"{'step':<28}{'seconds':>10}")
    for key, label in (
        ("cold", "load knowledge (cold)"),
        ("warm", "load knowledge (warm cache)"),
        ("kang_twin", "build one Kang twin"),
    ):
        print(f"{label:<28}{times[key]:>10.2f}")
    print(
        f"network: {len(k.network.genes)} genes, {len(k.network.edges)} edges; drugs: {len(k.drugs.drugs)}; "
        f"sign conflicts across resources: {rep['edges']['sign_conflicts_between_resources']}"
    )
    print(
        f"Kang: {rep['genes']['measured']} of {rep['genes']['panel']} panel genes matched, "
        f"{rep['genes']['latent']} latent nodes; operator {twin.n_nodes} nodes, "
        f"{twin.replicates[0].operator.nnz} edges; drug targets in network {rep['drug_targets']['in_network']} of "
        f"{rep['drug_targets']['total']} ({rep['drug_targets']['measured']} measured)"
    )
    out = Path(__file__).parent / "results" / "knowledge.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"times_s": times, "match_report": rep}, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
