"""The example plugin's own tests: each component against what p4core would hand it."""

from __future__ import annotations

from importlib import resources

import numpy as np
import p4core_example_plugin as example
import pandas as pd
import pytest
from p4core_example_plugin.counts import CountsCsvConfig, load_counts_csv
from p4core_example_plugin.sif import SifKnowledgeConfig, load_sif, read_sif

from p4core.datasets import curated_knowledge, demo_patient
from p4core.errors import InputError
from p4core.hooks.manager import Plugins
from p4core.model import CELL_TYPE, CONDITION, REFERENCE


def write_tables(tmp_path, n_cells=20):
    """A demo patient's cells as the two tables a study would share (genes x cells, cells)."""
    adata = demo_patient("arthritis", n_cells=n_cells, seed=1).adata
    barcodes = [f"AAAC{i:05d}-1" for i in range(adata.n_obs)]
    x = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    pd.DataFrame(x.T.astype(int), index=adata.var_names, columns=barcodes).to_csv(
        tmp_path / "GSM0001_counts.csv"
    )
    cells = pd.DataFrame(
        {"barcode": barcodes, "cell_type": adata.obs[CELL_TYPE].to_numpy(),
         "condition": np.where(adata.obs[CONDITION] == REFERENCE, "healthy", "flare")}
    )  # fmt: skip
    cells.to_csv(tmp_path / "cells.csv", index=False)
    return adata, tmp_path / "GSM0001_counts.csv", tmp_path / "cells.csv"


def test_counts_csv_reads_the_cells_as_p4core_does(tmp_path):
    adata, counts, cells = write_tables(tmp_path)
    patient = load_counts_csv(CountsCsvConfig(counts=str(counts), cells=str(cells), reference="healthy"))
    got = patient.adata
    assert got.n_obs == adata.n_obs and list(got.var_names) == list(adata.var_names)
    assert (
        got.obs[CELL_TYPE].value_counts().sort_index() == adata.obs[CELL_TYPE].value_counts().sort_index()
    ).all()
    assert set(got.obs[CONDITION]) == {REFERENCE, "disease"}
    np.testing.assert_array_equal(got.X.toarray(), adata.X.toarray())
    assert "GSM0001" not in patient.pseudonym and patient.pseudonym.startswith("P-")
    assert got.uns["p4core_source"]["format"] == "counts_csv"


def test_counts_csv_names_what_is_wrong(tmp_path):
    _, counts, cells = write_tables(tmp_path)
    table = pd.read_csv(cells)
    table.iloc[1:].to_csv(cells, index=False)  # one barcode without its row
    with pytest.raises(InputError, match="1 barcode.*AAAC00000-1"):
        load_counts_csv(CountsCsvConfig(counts=str(counts), cells=str(cells), reference="healthy"))
    table.to_csv(cells, index=False)
    with pytest.raises(InputError, match="no reference cells.*'ctrl'"):  # p4core's own check
        load_counts_csv(CountsCsvConfig(counts=str(counts), cells=str(cells), reference="ctrl"))


def test_sif_gives_signs_and_kinds(tmp_path):
    path = tmp_path / "net.sif"
    path.write_text("# a comment\nIFNG activates STAT1 IRF1\nSOCS1 inhibits JAK1\nIFNG binds IFNGR1\n")
    edges = read_sif(path).edges.set_index(["source", "target"])
    assert edges.loc[("IFNG", "IRF1"), "sign"] == 1 and edges.loc[("SOCS1", "JAK1"), "sign"] == -1
    assert edges.loc[("IFNG", "IFNGR1"), "kind"] == "ligand_receptor" and len(edges) == 4
    knowledge = load_sif(SifKnowledgeConfig(network=str(path)))
    assert len(knowledge.drugs.targets) == len(curated_knowledge().drugs.targets)  # p4core's library
    path.write_text("IFNG upregulates STAT1\n")
    with pytest.raises(InputError, match="line 1: unknown interaction 'upregulates'"):
        read_sif(path)


def test_registers_its_components_and_presets():
    plugins = Plugins(entry_points=[], extra={"example": example})
    assert not plugins.broken
    assert "counts_csv" in plugins.components["sources"] and "sif" in plugins.components["knowledge"]
    assert plugins.config_presets() == [("example", "pkg://p4core_example_plugin.configs")]
    configs = resources.files("p4core_example_plugin") / "configs"
    assert (configs / "data" / "counts_csv.yaml").is_file() and (configs / "knowledge" / "sif.yaml").is_file()
