"""Synthetic screens at scale (benchmarks and the streaming tests): twins made on demand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core.kernel import as_operator
from p4core.model import DrugLibrary, TwinEnsemble, TwinReplicate


class SyntheticTwins(Sequence):
    """``n`` twins of one synthetic patient, each made on demand from ``default_rng([seed, t])``:
    the same signed network (cell types x genes, ligand -> receptor edges between cell types) with
    edge weights jittered per twin, and a jittered signature. Indexing builds the twin; nothing is
    kept, so 1,000 twins cost the memory of one."""

    def __init__(self, n: int, n_genes: int = 1000, n_celltypes: int = 4, seed: int = 0) -> None:
        self.n, self.n_genes, self.n_celltypes, self.seed = n, n_genes, n_celltypes, seed
        rng = np.random.default_rng([seed, 10**6])
        g, c = n_genes, n_celltypes
        regulators = rng.choice(g, size=g // 2, replace=False)  # the other half has no out-edges
        src, dst = [], []
        for ct in range(c):
            s = rng.choice(regulators, size=5 * g)
            src.append(ct * g + s)
            dst.append(ct * g + rng.integers(0, g, size=5 * g))
        ligands, receptors = rng.choice(regulators, size=g // 50), rng.integers(0, g, size=g // 50)
        for a in range(c):
            for b in range(c):
                if a != b:
                    src.append(a * g + ligands)
                    dst.append(b * g + receptors)
        src_a, dst_a = np.concatenate(src), np.concatenate(dst)
        keep = src_a != dst_a
        src_a, dst_a = src_a[keep], dst_a[keep]
        pairs = np.unique(np.stack([dst_a, src_a], 1), axis=0)
        self._rows, self._cols = pairs[:, 0], pairs[:, 1]
        n_nodes = g * c
        d_in = np.bincount(self._rows, minlength=n_nodes)
        d_out = np.bincount(self._cols, minlength=n_nodes)
        self._base = rng.choice([-1.0, 1.0], size=len(pairs)) / np.sqrt(d_in[self._rows] * d_out[self._cols])
        self._signature = np.where(rng.random(n_nodes) < 0.3, rng.normal(size=n_nodes), 0.0)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, t):  # type: ignore[override]
        if isinstance(t, slice):
            return [self[i] for i in range(*t.indices(self.n))]
        if not -self.n <= t < self.n:
            raise IndexError(t)
        t = t % self.n
        rng = np.random.default_rng([self.seed, t])
        n_nodes = self.n_genes * self.n_celltypes
        w = self._base * rng.lognormal(0.0, 0.1, size=len(self._base))
        op = sp.csr_array((w, (self._rows, self._cols)), shape=(n_nodes, n_nodes))
        sig = self._signature * rng.lognormal(0.0, 0.1, size=n_nodes)
        return TwinReplicate(
            as_operator(op, np.float32), sig.astype(np.float32), np.ones(n_nodes, dtype=bool)
        )


def synthetic_screen(
    n_drugs: int, n_twins: int, n_genes: int = 1000, n_celltypes: int = 4, seed: int = 0
) -> tuple[TwinEnsemble, DrugLibrary]:
    """A synthetic patient with lazily made twins and a library of ``n_drugs`` drugs of 1-3 signed
    targets each: for screens at scale (benchmarks/bench_stream.py)."""
    twins = SyntheticTwins(n_twins, n_genes, n_celltypes, seed)
    rng = np.random.default_rng([seed, 10**6 + 1])
    genes = [f"G{i:05d}" for i in range(n_genes)]
    n_t = rng.integers(1, 4, size=n_drugs)
    drug = np.repeat([f"drug{i:06d}" for i in range(n_drugs)], n_t)
    targets = pd.DataFrame(
        {
            "drug": drug,
            "target": [genes[i] for i in rng.integers(0, n_genes, size=len(drug))],
            "action": "inhibitor",
            "sign": -1,
            "strength": 1.0,
        }
    ).drop_duplicates(["drug", "target"])
    ensemble = TwinEnsemble(
        celltypes=[f"type{c}" for c in range(n_celltypes)],
        genes=genes,
        replicates=twins,  # type: ignore[arg-type]
        celltype_weights=np.ones(n_celltypes),
        de=pd.DataFrame(),
        measured=np.ones(n_genes, dtype=bool),
    )
    return ensemble, DrugLibrary(targets, name="synthetic")
