"""Screens too large for memory: scores streamed to Parquet, one part per block of twins, resumable.

A biobank screen (say 10,000 drugs x 1,000 twins per patient) never holds more than one block of
twins and its scores in memory. Each finished block is written to ``parts/`` atomically (temporary
file, then rename), so a part on disk is always complete; an interrupted screen started again with
the same inputs skips the parts it finds and computes the rest — nothing lost, nothing twice. The
folder's ``manifest.json`` fingerprints the inputs (drugs, parameters, twin count, block size,
operator of the first twin): another screen cannot resume into it by mistake.

Twins can be produced on demand: ``ensemble.replicates`` only needs ``len()`` and indexing
(:class:`p4core.testing.synthetic.SyntheticTwins` makes them from a seed, one at a time).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from p4core.errors import InputError
from p4core.io import atomic_path, write_text
from p4core.model import DrugLibrary, TwinEnsemble
from p4core.progress import progress
from p4core.screen import (
    DrugBlock,
    Plan,
    ScreenParams,
    combine,
    ensemble_summary,
    null_pool,
    null_task,
    ordered_drug_matrix,
    screen_task,
    view_scales,
)

log = logging.getLogger("p4core")

PARTS = "parts"


def _fingerprint(ensemble: TwinEnsemble, names: list[str], p: ScreenParams, twin_block: int) -> dict:
    first = ensemble.replicates[0].operator
    h = hashlib.sha256()
    for arr in (first.indptr, first.indices, first.data, ensemble.replicates[0].signature):
        h.update(np.ascontiguousarray(arr).tobytes())
    return {
        "format": 1,
        "n_twins": len(ensemble),
        "twin_block": twin_block,
        "drugs_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest(),
        "n_drugs": len(names),
        "first_twin_sha256": h.hexdigest(),
        "params": {
            k: v
            for k, v in vars(p).items()
            if k
            in ("alpha", "steps", "latent_weight", "marker_weight", "ranking", "score", "null_pool", "seed")
        },
    }


def _flat(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _part_name(start: int, stop: int) -> str:
    return f"twins-{start:07d}-{stop:07d}.parquet"


def screen_to_parquet(
    ensemble: TwinEnsemble,
    drugs: DrugLibrary,
    out_dir: str | Path,
    params: ScreenParams | None = None,
    twin_block: int = 50,
    drug_block: int = 2000,
) -> pd.DataFrame:
    """Score every drug in every twin, streaming the scores to ``out_dir/parts/*.parquet``
    (columns ``twin``, ``drug``, ``score``; long format), then summarise them into
    ``out_dir/drugs.parquet`` (mean, 95% interval, P(top k), rank interval) and return that table.

    Resumable: run it again on the same ``out_dir`` with the same inputs after an interruption.
    The degree-matched null and pairs are not part of a streamed screen (use :func:`p4core.screen`
    on a subset of twins for those)."""
    p = params or ScreenParams()
    if twin_block < 1 or drug_block < 1:
        raise InputError(f"twin_block and drug_block must be >= 1, got {twin_block} and {drug_block}")
    out = Path(out_dir)
    (out / PARTS).mkdir(parents=True, exist_ok=True)
    target_genes, m, names = ordered_drug_matrix(ensemble, drugs)
    fp = _fingerprint(ensemble, names, p, twin_block)
    manifest = out / "manifest.json"
    if manifest.is_file():
        old = json.loads(manifest.read_text())
        if old != fp:
            flat_old, flat_new = _flat(old), _flat(fp)
            diff = sorted(k for k in flat_new.keys() | flat_old.keys() if flat_old.get(k) != flat_new.get(k))
            raise InputError(
                f"{out} holds another screen (differs in: {', '.join(diff)}); "
                "resume only with the same inputs, or pick a new output folder"
            )
    else:
        write_text(manifest, json.dumps(fp, indent=2) + "\n")
    plan = Plan.of(ensemble, target_genes, p)
    # the views' units: the null pool's spread on the first twin (a streamed screen has no null test)
    scales = view_scales(null_task(plan, [ensemble.replicates[0]], null_pool(ensemble, p)[0]))
    n_tw, n_d = len(ensemble), len(names)
    drug_blocks = [DrugBlock.of(m, np.arange(i, min(n_d, i + drug_block))) for i in range(0, n_d, drug_block)]
    blocks = [(i, min(n_tw, i + twin_block)) for i in range(0, n_tw, twin_block)]
    todo = [(a, b) for a, b in blocks if not (out / PARTS / _part_name(a, b)).is_file()]
    if len(todo) < len(blocks):
        log.info("resuming: %d of %d twin blocks already on disk", len(blocks) - len(todo), len(blocks))
    for a, b in progress(todo, "streaming screen"):
        reps = [ensemble.replicates[t] for t in range(a, b)]
        scores = np.zeros((b - a, n_d))
        for db in drug_blocks:
            mk, pg = screen_task(plan, reps, db)
            views = {
                "marker": mk,
                "programme": pg,
                "combined": combine(mk, pg, scales, p.marker_weight, p.marker_gate, parts=True),
            }
            scores[:, db.cols] = views[p.ranking].sum(2)
        table = pa.table(
            {
                "twin": pa.array(np.repeat(np.arange(a, b, dtype=np.int32), n_d)),
                "drug": pa.array(np.tile(np.arange(n_d, dtype=np.int32), b - a)),
                "score": pa.array(scores.ravel()),
            }
        )
        with atomic_path(out / PARTS / _part_name(a, b)) as tmp:
            pq.write_table(table, tmp)
        del reps, scores, table
    scores = read_scores(out, n_tw, n_d)
    summary = ensemble_summary(scores, names, p.top_k)
    summary = summary.sort_values(["score_mean", "drug"], ascending=[False, True], kind="mergesort")
    summary.insert(0, "rank", np.arange(1, n_d + 1))
    summary = summary.reset_index(drop=True)
    with atomic_path(out / "drugs.parquet") as tmp:
        summary.to_parquet(tmp, index=False)
    return summary


def read_scores(out_dir: str | Path, n_twins: int, n_drugs: int) -> np.ndarray:
    """The twins x drugs score matrix from a streamed screen's parts (checks every cell once)."""
    scores = np.full((n_twins, n_drugs), np.nan)
    seen = np.zeros((n_twins, n_drugs), dtype=np.int8)
    for f in sorted((Path(out_dir) / PARTS).glob("twins-*.parquet")):
        t = pq.read_table(f, columns=["twin", "drug", "score"])
        tw, dr = t["twin"].to_numpy(), t["drug"].to_numpy()
        scores[tw, dr] = t["score"].to_numpy()
        np.add.at(seen, (tw, dr), 1)
    if (seen != 1).any():
        bad = int((seen != 1).sum())
        raise InputError(f"{out_dir}: {bad} (twin, drug) scores are missing or duplicated in {PARTS}/")
    return scores
