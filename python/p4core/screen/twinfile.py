"""The twin a run leaves for later explanations: ``twin.h5ad`` (the first twin, the library's signed targets,
the screen's parameters and scales), written by the run and read by ``python -m p4core explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from p4core import kernel
from p4core.errors import InputError
from p4core.model import DrugLibrary, ScreenResult, TwinEnsemble, TwinReplicate
from p4core.screen.params import ScreenParams

TWIN_FILE = "twin.h5ad"


def _plain(obj: Any) -> Any:
    """A value h5ad can store (None and other odd values dropped from dicts)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items() if v is not None and _plain(v) is not None}
    if isinstance(obj, list | tuple):
        if any(isinstance(v, dict) for v in obj):  # records (e.g. the cell-type checks): not an h5ad array
            return None
        vals = [_plain(v) for v in obj]
        return [v for v in vals if v is not None] or None
    if isinstance(obj, bool | int | float | str | np.generic | np.ndarray):
        return obj
    return None


def save_twin(path: Path, ensemble: TwinEnsemble, drugs: DrugLibrary, screen: ScreenResult) -> Path:
    """``twin.h5ad``: the first twin (signatures as ``X``, activity as a layer, the operator in ``uns``)
    with the drug library's signed targets, the screen's parameters and scales (written atomically)."""
    from p4core.io import atomic_path

    first = TwinEnsemble(
        celltypes=ensemble.celltypes,
        genes=ensemble.genes,
        replicates=ensemble.replicates[:1],
        celltype_weights=ensemble.celltype_weights,
        de=ensemble.de,
        measured=ensemble.measured,
        params=ensemble.params,
        pseudonym=ensemble.pseudonym,
    )
    adata = first.to_anndata()
    uns = adata.uns["p4core"]
    uns["params"] = _plain(uns.get("params", {})) or {}
    uns["measured"] = ensemble.measured.astype(np.uint8)
    t = drugs.targets
    uns["drugs"] = {
        c: t[c].astype(str).to_numpy() if c in ("drug", "target", "action") else t[c].to_numpy()
        for c in ("drug", "target", "action", "sign", "strength")
    }
    if "correction" in t:
        uns["drugs"]["correction"] = t["correction"].astype(str).to_numpy()
    uns["screen"] = {"params": _plain(dict(screen.params)), "scales": dict(screen.scales)}
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp)
    return path


def load_twin(path: Path) -> tuple[TwinEnsemble, DrugLibrary, ScreenParams, dict[str, float]]:
    """The ensemble of one twin, the drug library and the screen's parameters from ``twin.h5ad``."""
    try:
        adata = ad.read_h5ad(path)
        uns = adata.uns["p4core"]
        op = uns["operators"]["twin0"]
        n = adata.n_vars
        a = sp.csr_array((op["data"], op["indices"], op["indptr"]), shape=(n, n))
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a p4core twin file ({exc}); rerun the pipeline to write it") from None
    celltypes = [str(c) for c in uns["celltypes"]]
    genes = list(dict.fromkeys(adata.var["gene"].astype(str)))
    rep = TwinReplicate(
        kernel.as_operator(a, dtype=a.dtype),
        np.asarray(adata.X[0]).ravel(),
        adata.layers["active"][0].astype(bool),
    )
    ens = TwinEnsemble(
        celltypes=celltypes,
        genes=genes,
        replicates=[rep],
        celltype_weights=np.asarray(uns["celltype_weights"]),
        de=pd.DataFrame(),
        measured=np.asarray(uns["measured"]).astype(bool),
        pseudonym=str(uns.get("pseudonym", "")),
    )
    d = uns["drugs"]
    lib = DrugLibrary(
        pd.DataFrame({k: np.asarray(v) for k, v in d.items()}).astype({"sign": int, "strength": float}),
        name="run library",
    )
    sp_params = dict(uns["screen"]["params"])
    fields = set(ScreenParams.__dataclass_fields__)
    params = ScreenParams(
        **{k: v.item() if isinstance(v, np.generic) else v for k, v in sp_params.items() if k in fields}
    )
    scales = {k: float(v) for k, v in uns["screen"]["scales"].items()}
    return ens, lib, params, scales
