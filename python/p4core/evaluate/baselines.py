"""Baselines that see the same inputs and rank the same candidates as p4core.

``direct`` (counteraction at the targets), ``degree`` (the hub bias), ``proximity`` and
``proximity_direction`` (scDrugPrio-style network proximity), ``popularity`` (how many other
diseases of the indication table the drug is disease-modifying for: the prior that inflates
cross-validated results in this task).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.model import DrugLibrary


def stable_seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def direct_scores(drugs: DrugLibrary, candidates: Sequence[str], signature: pd.Series) -> np.ndarray:
    """Direct counteraction: ``-sum(sign * strength * s[target])`` (targets outside the signature: 0)."""
    t = drugs.targets[drugs.targets["drug"].isin(set(candidates))]
    s = t["target"].map(signature).fillna(0.0).to_numpy(dtype=float)
    effect = t["sign"].to_numpy(dtype=float) * t["strength"].to_numpy(dtype=float) * s
    total = pd.Series(effect, index=t["drug"].to_numpy()).groupby(level=0).sum()
    return -total.reindex(list(candidates)).fillna(0.0).to_numpy()


def undirected_degree(edges: pd.DataFrame) -> pd.Series:
    """Distinct neighbours of every gene in the network taken as undirected (self-loops left out)."""
    e = edges[edges["source"] != edges["target"]]
    pairs = pd.concat(
        [e[["source", "target"]], e[["target", "source"]].set_axis(["source", "target"], axis=1)]
    ).drop_duplicates()
    return pairs.groupby("source").size()


def degree_scores(drugs: DrugLibrary, candidates: Sequence[str], degree: pd.Series) -> np.ndarray:
    """The hub bias: the undirected degree of the drug's best-connected signed network target."""
    t = drugs.targets[drugs.targets["drug"].isin(set(candidates)) & (drugs.targets["sign"] != 0)]
    deg = t["target"].map(degree).fillna(0.0)
    best = pd.Series(deg.to_numpy(), index=t["drug"].to_numpy()).groupby(level=0).max()
    return best.reindex(list(candidates)).fillna(0.0).to_numpy(dtype=float)


def popularity_scores(
    candidates: Sequence[str], dm: dict[str, set[str]], exclude: Sequence[str]
) -> np.ndarray:
    """How many diseases of ``dm`` (DOID -> DM drugs) other than ``exclude`` list the drug as DM."""
    others = [d for doid, d in dm.items() if doid not in set(exclude)]
    return np.array([sum(c in d for d in others) for c in candidates], dtype=float)


class NetworkProximity:
    """scDrugPrio-style proximity of drug targets to a gene set, on the undirected network.

    ``d(drug)`` is the mean over the drug's network targets of the shortest-path distance to the
    closest gene of the set (one multi-source BFS per set). The null of every drug: ``n_random``
    random target sets of the same size, each target replaced by a random gene of its degree bin
    (``n_bins`` quantile bins of the undirected degree), drawn once per drug from
    ``default_rng([seed, crc32(drug)])`` and reused for every disease. Genes the set cannot reach
    get distance (largest finite distance + 1).
    """

    def __init__(
        self,
        edges: pd.DataFrame,
        drug_targets: dict[str, list[str]],
        *,
        n_random: int = 1000,
        seed: int = 0,
        n_bins: int = 10,
    ) -> None:
        genes = sorted(set(edges["source"]) | set(edges["target"]))
        self.genes = genes
        self.index = {g: i for i, g in enumerate(genes)}
        src = edges["source"].map(self.index).to_numpy(dtype=np.int64)
        tgt = edges["target"].map(self.index).to_numpy(dtype=np.int64)
        keep = src != tgt
        rows, cols = np.r_[src[keep], tgt[keep]], np.r_[tgt[keep], src[keep]]
        n = len(genes)
        adj = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        adj.sum_duplicates()
        adj.data[:] = 1.0
        self.adjacency = adj
        self.degree = np.diff(adj.indptr)
        edges_q = np.unique(np.quantile(self.degree, np.linspace(0, 1, n_bins + 1)))
        self.bin = np.searchsorted(edges_q[1:-1], self.degree, side="right")
        pools = {b: np.flatnonzero(self.bin == b) for b in np.unique(self.bin)}
        self.drugs: list[str] = []
        targets, samples, counts = [], [], []
        for drug, tg in drug_targets.items():
            idx = np.array(sorted({self.index[g] for g in tg if g in self.index}), dtype=np.int64)
            if not len(idx):
                continue
            rng = np.random.default_rng([seed, stable_seed(drug)])
            draw = np.stack(
                [pools[self.bin[i]][rng.integers(0, len(pools[self.bin[i]]), n_random)] for i in idx]
            )
            self.drugs.append(drug)
            targets.append(idx)
            samples.append(draw)
            counts.append(len(idx))
        self.targets = np.concatenate(targets) if targets else np.zeros(0, np.int64)
        self.samples = np.concatenate(samples) if samples else np.zeros((0, n_random), np.int64)
        self.counts = np.asarray(counts, dtype=float)
        self.starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64) if counts else np.zeros(0, np.int64)

    def distances(self, genes: Sequence[str]) -> np.ndarray:
        """Shortest-path distance of every network gene to the closest of ``genes`` (BFS)."""
        src = [self.index[g] for g in genes if g in self.index]
        dist = np.full(len(self.genes), np.inf)
        if not src:
            return dist
        frontier = np.zeros(len(self.genes), dtype=bool)
        frontier[src] = True
        dist[frontier] = 0
        level = 0
        while frontier.any():
            level += 1
            reached = (self.adjacency @ frontier.astype(float)) > 0
            new = reached & np.isinf(dist)
            dist[new] = level
            frontier = new
        return dist

    def scores(self, genes: Sequence[str]) -> pd.DataFrame:
        """Per drug: ``d`` (mean distance of its targets), null ``mean``/``sd`` and ``z`` (0 when sd = 0)."""
        dist = self.distances(genes)
        finite = dist[np.isfinite(dist)]
        if not len(finite):
            raise InputError("proximity: none of the signature genes is a network gene")
        dist[~np.isfinite(dist)] = finite.max() + 1
        d = np.add.reduceat(dist[self.targets], self.starts) / self.counts
        null = np.add.reduceat(dist[self.samples], self.starts, axis=0) / self.counts[:, None]
        mu, sd = null.mean(1), null.std(1, ddof=1) if null.shape[1] > 1 else np.zeros(len(d))
        z = np.divide(d - mu, sd, out=np.zeros_like(d), where=sd > 0)
        return pd.DataFrame({"d": d, "null_mean": mu, "null_sd": sd, "z": z}, index=self.drugs)


def direction_filtered(proximity_score: np.ndarray, direct: np.ndarray) -> np.ndarray:
    """``proximity_score``, with drugs whose direct score is <= 0 moved below all others (order kept)."""
    p = np.asarray(proximity_score, dtype=float)
    span = float(p.max() - p.min()) + 1.0 if len(p) else 1.0
    return np.where(np.asarray(direct) > 0, p, p - span)
