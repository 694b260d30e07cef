"""Cells without a label are refused with a count, or left out with a warning — never a cell type "nan"."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from p4core.errors import InputError
from p4core.io import patient_from_anndata
from p4core.model import CELL_TYPE


def _cells(n: int = 400, missing: int = 60) -> ad.AnnData:
    rng = np.random.default_rng(0)
    ct = np.where(rng.random(n) < 0.5, "T", "B").astype(object)
    ct[:missing] = np.nan  # the annotation left these cells out
    obs = pd.DataFrame(
        {"ct": pd.Categorical(ct), "cond": np.where(np.arange(n) % 2, "d", "h"), "smp": np.arange(n) % 4},
        index=[f"c{i}" for i in range(n)],
    )
    x = sp.csr_matrix(rng.poisson(1.0, (n, 30)).astype(np.float32))
    return ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=[f"G{i}" for i in range(30)]))


def test_missing_cell_type_labels_are_refused_with_the_count():
    with pytest.raises(
        InputError,
        match=r"60 of 400 cells have no label \(60 in 'ct' \(data.cell_type_key\)\).*drop_unlabelled",
    ):
        patient_from_anndata(
            _cells(), cell_type_key="ct", condition_key="cond", reference="h", patient_id="p"
        )


def test_dropped_with_a_warning_never_a_category_named_nan(caplog):
    p = patient_from_anndata(
        _cells(),
        cell_type_key="ct",
        condition_key="cond",
        reference="h",
        patient_id="p",
        drop_unlabelled=True,
    )
    assert p.adata.n_obs == 340
    assert set(p.adata.obs[CELL_TYPE]) == {"T", "B"}
    assert "leaving out 60 of 400 cells without a label" in caplog.text


def test_missing_sample_and_condition_labels_count_too():
    a = _cells(missing=0)
    a.obs["smp"] = a.obs["smp"].astype(object)
    a.obs.iloc[:5, a.obs.columns.get_loc("smp")] = None
    a.obs["cond"] = a.obs["cond"].astype(object)
    a.obs.iloc[10:13, a.obs.columns.get_loc("cond")] = ""
    with pytest.raises(InputError, match=r"8 of 400 cells have no label \(3 in 'cond'.*5 in 'smp'"):
        patient_from_anndata(
            a, cell_type_key="ct", condition_key="cond", reference="h", sample_key="smp", patient_id="p"
        )


def test_a_file_with_one_condition_says_which_is_missing():
    a = _cells(missing=0)
    a.obs["cond"] = "h"
    with pytest.raises(InputError, match="disease cells are missing"):
        patient_from_anndata(a, cell_type_key="ct", condition_key="cond", reference="h", patient_id="p")
    with pytest.raises(InputError, match="holds only cond='h': its reference cells are missing"):
        patient_from_anndata(a, cell_type_key="ct", condition_key="cond", reference="ctrl", patient_id="p")
