"""Composing several networks into one, with the sign conflicts between resources."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd

from p4core.knowledge.tables import NET_COLS
from p4core.model import Network

log = logging.getLogger("p4core")


def compose_networks(networks: Sequence[Network], name: str = "composed") -> tuple[Network, pd.DataFrame]:
    """Union of networks in priority order.

    An edge present in several resources with the same sign is kept once, its ``reference``
    listing every resource. When resources disagree on the sign, the first network in the list
    wins and the disagreement is returned in the conflict table (source, target, kept, dropped).
    """
    frames = []
    for rank, net in enumerate(networks):
        e = net.edges.copy()
        e["_rank"] = rank
        frames.append(e)
    all_e = pd.concat(frames, ignore_index=True)
    first = all_e.sort_values("_rank", kind="stable").drop_duplicates(["source", "target"], keep="first")
    merged = all_e.merge(first[["source", "target", "sign"]], on=["source", "target"], suffixes=("", "_kept"))
    agree = merged[merged["sign"] == merged["sign_kept"]]
    # each edge's references in order of first appearance; most edges have one (no join needed)
    uniq = agree.drop_duplicates(["source", "target", "reference"])
    n_refs = uniq.groupby(["source", "target"], sort=False)["reference"].transform("size")
    refs = pd.concat(
        [
            uniq.loc[n_refs == 1].set_index(["source", "target"])["reference"],
            uniq.loc[n_refs > 1].groupby(["source", "target"], sort=False)["reference"].agg(";".join),
        ]
    )
    disagree = merged[merged["sign"] != merged["sign_kept"]]
    kept_ref = first.set_index(["source", "target"])["reference"].rename("kept_from")
    disagree = disagree.join(kept_ref, on=["source", "target"])
    conflicts = pd.DataFrame(
        {
            "source": disagree["source"],
            "target": disagree["target"],
            "kept_sign": disagree["sign_kept"].astype(int),
            "kept_from": disagree["kept_from"],
            "dropped_sign": disagree["sign"].astype(int),
            "dropped_from": disagree["reference"],
        }
    ).reset_index(drop=True)
    out = first.drop(columns="_rank").set_index(["source", "target"])
    out["reference"] = refs.reindex(out.index).fillna(out["reference"])
    edges = out.reset_index()[NET_COLS]
    if len(conflicts):
        log.info(
            "%s: %d edge(s) with conflicting signs across resources; the first resource's sign is kept",
            name,
            len(conflicts),
        )
    return Network(edges, name=name), conflicts
