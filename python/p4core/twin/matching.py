"""Matching the patient's genes, the network and the drug targets, with a report of what was lost.

The report (``TwinEnsemble.match_report``, written as ``match_report.json`` in the run
directory) says how many genes, edges and drug targets matched, and which were dropped and why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.model import Knowledge, Patient

EXAMPLES = 25


def _examples(items: Any) -> list[str]:
    return sorted(map(str, items))[:EXAMPLES]


def gene_columns(
    patient: Patient, genes: list[str], knowledge: Knowledge
) -> tuple[sp.csr_array, dict[str, Any]]:
    """A (n_var x n_genes) 0/1 matrix that sums the patient's columns into each knowledge gene.

    Human data match by (upper-case) symbol. Mouse data go through the knowledge's ortholog
    table: mouse genes with one human ortholog are used (several mouse genes of one human gene are
    summed); mouse genes with several human orthologs are ambiguous and dropped (reported).
    """
    var = [str(v).upper() for v in patient.adata.var_names]
    col = {g: i for i, g in enumerate(var)}
    info: dict[str, Any] = {"organism": patient.organism}
    if patient.organism == "mouse":
        if knowledge.orthologs is None:
            raise InputError(
                "data.organism=mouse needs a human-mouse ortholog table: use knowledge=public "
                "(knowledge.orthologs) or give the knowledge an ortholog file"
            )
        o = knowledge.orthologs.assign(mgi=knowledge.orthologs["mgi_symbol"].str.upper())
        o = o[o["mgi"].isin(col)]
        n_human = o.groupby("mgi")["hgnc_symbol"].nunique()
        ambiguous = set(n_human[n_human > 1].index)
        o = o[~o["mgi"].isin(ambiguous)]
        pairs = [(col[m], h) for m, h in zip(o["mgi"], o["hgnc_symbol"], strict=True)]
        info.update(
            mouse_genes_with_human_ortholog=int(o["mgi"].nunique()),
            mouse_genes_ambiguous=len(ambiguous),
            mouse_ambiguous_examples=_examples(ambiguous),
        )
    else:
        pairs = [(i, g) for i, g in enumerate(var)]
    gi = {g: j for j, g in enumerate(genes)}
    pairs = [(i, gi[g]) for i, g in pairs if g in gi]
    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    cols = np.array([p[1] for p in pairs], dtype=np.int64)
    agg = sp.csr_array((np.ones(len(pairs)), (rows, cols)), shape=(len(var), len(genes)))
    info["panel_genes_used"] = int(len(np.unique(rows)))
    return agg, info


def match_report(
    patient: Patient, knowledge: Knowledge, genes: list[str], measured: np.ndarray, info: dict[str, Any]
) -> dict[str, Any]:
    """Counts of matched and dropped genes, edges, drug targets and drugs, with examples."""
    gset = set(np.array(genes)[measured])
    e = knowledge.network.edges
    src_m, tgt_m = e["source"].isin(gset), e["target"].isin(gset)
    net_genes = set(knowledge.network.genes)
    t = knowledge.drugs.targets
    targets = set(t["target"])
    in_net = targets & net_genes
    signed = t[t["sign"] != 0]
    drugs = set(t["drug"])
    with_signed_in_net = set(signed.loc[signed["target"].isin(net_genes), "drug"])
    only_unclear = drugs - set(signed["drug"])
    no_target_in_net = drugs - set(t.loc[t["target"].isin(net_genes), "drug"])
    n_var = patient.adata.n_vars
    source_info = dict(patient.adata.uns.get("p4core_genes", {}))
    latent = sorted(set(genes) - gset)
    return {
        "genes": {
            "panel": int(n_var),
            **source_info,
            **info,
            "knowledge_genes": len(genes),
            "measured": int(measured.sum()),
            "latent": len(latent),
            "latent_examples": latent[:EXAMPLES],
            "panel_genes_not_in_knowledge": int(n_var - info.get("panel_genes_used", 0)),
        },
        "edges": {
            "total": int(len(e)),
            "both_genes_measured": int((src_m & tgt_m).sum()),
            "through_latent_genes": int((~src_m | ~tgt_m).sum()),
            "by_kind": {k: int(v) for k, v in e["kind"].value_counts().items()},
            "sign_conflicts_between_resources": 0
            if knowledge.conflicts is None
            else int(len(knowledge.conflicts)),
        },
        "drug_targets": {
            "total": len(targets),
            "in_network": len(in_net),
            "measured": len(targets & gset),
            "not_in_network": len(targets - net_genes),
            "not_in_network_examples": _examples(targets - net_genes),
            "why_not_in_network": "no edge in the network: the drug acts on the target itself only",
        },
        "drugs": {
            "total": len(drugs),
            "with_signed_target_in_network": len(with_signed_in_net),
            "only_unclear_actions": len(only_unclear),
            "only_unclear_actions_examples": _examples(only_unclear),
            "why_unclear": "action type without a sign (modulator, substrate, releasing agent, other): "
            "kept in the table, not propagated, score 0",
            "no_target_in_network": len(no_target_in_net),
            "no_target_in_network_examples": _examples(no_target_in_net),
        },
        "corrections": []
        if knowledge.corrections is None
        else [
            {
                "drug": r.drug,
                "target": r.target,
                "change": r.change,
                "status": r.status,
                "was": r.was,
                "now": f"{r.action} (sign {int(r.sign)}, strength {float(r.strength):g})",
                "approval": int(r.approval) if str(r.approval).isdigit() else r.approval,
                "reference": r.reference,
            }
            for r in knowledge.corrections.itertuples(index=False)
        ],
    }


def check_targets_reach_network(knowledge: Knowledge) -> None:
    t = knowledge.drugs.targets
    if not set(t["target"]) & set(knowledge.network.genes):
        raise InputError(
            f"none of the {t['target'].nunique()} targets of the drug library {knowledge.drugs.name!r} is a gene of "
            f"the network {knowledge.network.name!r} (e.g. {sorted(set(t['target']))[:3]}); both must use HGNC symbols"
        )
