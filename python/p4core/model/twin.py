"""The ensemble of twins: per twin an operator and a signature over the nodes (cell type, gene)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class TwinReplicate:
    """One twin of the ensemble: its operator and signature over the nodes (cell type, gene)."""

    operator: sp.csr_array  # N x N, a[t, s] = weight of edge s -> t, int32 indices
    signature: np.ndarray  # N, disease signature s[c, g] flattened
    active: np.ndarray  # N bool: node expressed (or latent) in its cell type


@dataclass
class TwinEnsemble:
    """The ensemble of twins of one patient.

    Nodes are ordered cell type by cell type: node ``c * n_genes + g`` is gene g in cell type c.
    """

    celltypes: list[str]
    genes: list[str]
    replicates: list[TwinReplicate]
    celltype_weights: np.ndarray  # C
    de: pd.DataFrame  # differential expression on all cells: celltype, gene, logfc, stat, pval, fdr, ...
    measured: np.ndarray  # G bool: gene measured in the patient's panel (False = latent node)
    params: dict[str, Any] = field(default_factory=dict)
    pseudonym: str = ""
    #: genes, edges, drug targets and drugs matched and dropped (see p4core.twin.matching)
    match_report: dict[str, Any] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.celltypes) * len(self.genes)

    @property
    def offsets(self) -> np.ndarray:
        g = len(self.genes)
        return np.arange(len(self.celltypes) + 1, dtype=np.int64) * g

    @property
    def node_weights(self) -> np.ndarray:
        """Weight of every node in the reversal score: its cell type's weight. Latent genes (not
        measured) count with signature 0: a response there moves the twin away from the observed
        state, which keeps drugs whose effect lands mostly off the panel from scoring on a sliver."""
        return np.repeat(self.celltype_weights, len(self.genes))

    def __len__(self) -> int:
        return len(self.replicates)

    def to_anndata(self) -> ad.AnnData:
        """Signatures as an AnnData (twins x nodes) with the operators in ``uns``; scverse users open it."""
        var = pd.DataFrame(
            {
                "celltype": np.repeat(self.celltypes, len(self.genes)),
                "gene": np.tile(self.genes, len(self.celltypes)),
            }
        )
        var.index = var["celltype"] + ":" + var["gene"]
        var = var.astype({"celltype": "category", "gene": "category"})
        x = np.stack([r.signature for r in self.replicates])
        adata = ad.AnnData(X=x.astype(np.float32), var=var)
        adata.obs_names = [f"twin{i}" for i in range(len(self))]
        adata.layers["active"] = np.stack([r.active for r in self.replicates]).astype(np.uint8)
        adata.uns["p4core"] = {
            "celltypes": list(self.celltypes),
            "celltype_weights": self.celltype_weights,
            # records (lists of dicts, e.g. the cell-type checks) are not h5ad arrays: celltypes.csv has them
            "params": {
                k: v
                for k, v in self.params.items()
                if v is not None and not (isinstance(v, list) and any(isinstance(x, dict) for x in v))
            },
            "pseudonym": self.pseudonym,
            "operators": {
                f"twin{i}": {
                    "indptr": r.operator.indptr,
                    "indices": r.operator.indices,
                    "data": r.operator.data,
                }
                for i, r in enumerate(self.replicates)
            },
        }
        return adata

    def __repr__(self) -> str:
        nnz = int(np.mean([r.operator.nnz for r in self.replicates])) if self.replicates else 0
        return (
            f"TwinEnsemble({self.pseudonym}, {len(self)} twins, {len(self.celltypes)} cell types x "
            f"{len(self.genes)} genes = {self.n_nodes} nodes, ~{nnz} edges)"
        )
