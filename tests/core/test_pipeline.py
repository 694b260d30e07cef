"""The pipeline as plain functions (no Hydra app), reproducibility, and the model's behaviour."""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest

import p4core
from p4core.datasets import demo_patient
from p4core.errors import InputError


@pytest.fixture(scope="module")
def arthritis(knowledge):
    return demo_patient("arthritis", n_cells=60, knowledge=knowledge)


@pytest.fixture(scope="module")
def ensemble(arthritis, knowledge):
    return p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=4))


def test_configs_ship_inside_the_package():
    root = importlib.resources.files("p4core.configs")
    assert root.joinpath("config.yaml").is_file()
    assert root.joinpath("data", "demo_arthritis.yaml").is_file()
    cfg = p4core.compose(["data=demo_bladder", "twin.n_twins=3"])
    assert cfg.data.preset == "bladder" and cfg.twin.n_twins == 3
    assert set(cfg.render) == {"table", "json", "midi", "plot", "html"}


def test_run_from_python_without_the_cli(tmp_path):
    cfg = p4core.compose(["data.n_cells=40", "twin.n_twins=3", "render=[table]"])
    result, files = p4core.run(cfg, tmp_path)
    names = {f.name for f in files}
    assert {"drugs.csv", "drugs.parquet", "config_resolved.yaml"} <= names
    assert "course.mid" not in names
    written = pd.read_csv(tmp_path / "drugs.csv")  # the table on disk is the result's ranking
    assert list(written["drug"]) == list(result.screen.table["drug"])
    np.testing.assert_allclose(written["score_mean"], result.screen.table["score_mean"], rtol=1e-6)
    assert len(result.screen.drugs) > 80


def test_same_seed_same_numbers(arthritis, knowledge):
    params = p4core.TwinParams(n_twins=3, seed=11)
    a = p4core.screen(p4core.build_twins(arthritis, knowledge, params), knowledge.drugs)
    b = p4core.screen(p4core.build_twins(arthritis, knowledge, params), knowledge.drugs)
    pd.testing.assert_frame_equal(a.table, b.table)  # null p-values, ranks, intervals
    pd.testing.assert_frame_equal(a.pairs, b.pairs)
    c = p4core.screen(
        p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=3, seed=12)), knowledge.drugs
    )
    assert np.array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)


def test_twin_does_not_depend_on_ensemble_size(arthritis, knowledge):
    small = p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=2, seed=5))
    large = p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=4, seed=5))
    assert np.array_equal(small.replicates[1].signature, large.replicates[1].signature)
    assert (small.replicates[1].operator != large.replicates[1].operator).nnz == 0


def test_screen_same_for_one_and_two_threads(ensemble, knowledge):
    try:
        p4core.settings.n_threads = 1
        one = p4core.screen(ensemble, knowledge.drugs)
        p4core.settings.n_threads = 2
        two = p4core.screen(ensemble, knowledge.drugs)
    finally:
        p4core.settings.n_threads = 0
    assert np.array_equal(one.scores, two.scores)


def test_float64_agrees_with_float32(arthritis, knowledge):
    a = p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=2, dtype="float64"))
    b = p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=2, dtype="float32"))
    sa = p4core.screen(a, knowledge.drugs).table.set_index("drug")["score_mean"]
    sb = p4core.screen(b, knowledge.drugs).table.set_index("drug")["score_mean"]
    assert np.allclose(sa, sb[sa.index], atol=1e-4)


def test_screen_table_contract(ensemble, knowledge):
    res = p4core.screen(ensemble, knowledge.drugs, p4core.ScreenParams(top_k=5))
    t = res.table
    for col in (
        "rank",
        "drug",
        "score_mean",
        "ci_low",
        "ci_high",
        "p_top5",
        "rank_low",
        "rank_high",
        "drivers",
        "targets",
        "atc",
        "indications",
    ):
        assert col in t.columns
    parts = t[[f"part:{c}" for c in ensemble.celltypes]].to_numpy()
    assert np.allclose(parts.sum(1), t["score_mean"], atol=1e-9)
    assert res.scores.shape == (len(ensemble), len(t))
    assert t["p_top5"].between(0, 1).all() and t["p_top5"].sum() >= 5 - 1e-9  # ties may share a rank
    # drugs with no target in the model score exactly 0
    assert (t.loc[t["n_targets_in_model"] == 0, "score_mean"] == 0).all()


def test_linearity_pair_equals_sum_of_singles(ensemble, knowledge):
    """Propagation is linear: the response to two targets is the sum of the responses."""
    from p4core import kernel
    from p4core.screen import unit_perturbations

    rep = ensemble.replicates[0]
    gi = {g: i for i, g in enumerate(ensemble.genes)}
    u = unit_perturbations(ensemble, rep.active, np.array([gi["TNF"], gi["JAK1"]]), np.dtype(np.float64))
    a64 = kernel.as_operator(rep.operator, dtype=np.float64)
    x = kernel.propagate(a64, u, 0.8, 8)
    both = kernel.propagate(a64, np.ascontiguousarray(u.sum(1, keepdims=True)), 0.8, 8)
    assert np.allclose(x.sum(1), both[:, 0])


def test_simulation_course(ensemble, knowledge):
    res = p4core.screen(ensemble, knowledge.drugs)
    params = p4core.SimulateParams(n_drugs=2, horizon_days=60)
    traj = p4core.course.simulate(ensemble, res, knowledge.drugs, params)
    t = traj.table[traj.table["celltype"] == "burden"].pivot(index="time", columns="scenario", values="mean")
    pair = f"{res.pairs.iloc[0]['drug_a']} + {res.pairs.iloc[0]['drug_b']}"
    assert traj.scenarios == ["untreated", *traj.scenarios[1:3], pair]  # the two best, then the best pair
    assert t.loc[-params.onset_days, "untreated"] == pytest.approx(0, abs=1e-6)  # starts at the reference
    assert t.loc[0.0, "untreated"] == pytest.approx(1, abs=0.05)  # reaches the observed disease state
    assert (t.loc[: params.treatment_day].nunique(axis=1) == 1).all()  # identical until treatment
    top = traj.scenarios[1]
    assert t.loc[60.0, top] < t.loc[60.0, "untreated"] - 0.05  # the best drug lowers the burden
    # the two treatments have distinct mechanisms
    targets = res.table.set_index("drug")["targets"]
    assert targets[traj.scenarios[1]] != targets[traj.scenarios[2]]


def test_simulation_scenarios_start_day_and_dosing(ensemble, knowledge):
    """A drug started at a chosen day acts from that day; a half-life makes the exposure a dose train
    whose steady-state mean is 1, so the course oscillates around the constant-exposure one."""
    from p4core.course.simulate import exposure

    res = p4core.screen(ensemble, knowledge.drugs)
    drug = res.table["drug"].iloc[0]
    params = p4core.SimulateParams(
        n_drugs=1, pair=False, horizon_days=120, treatments=[f"{drug}@40", f"{drug}@14..50"]
    )
    traj = p4core.course.simulate(ensemble, res, knowledge.drugs, params)
    t = traj.table[traj.table["celltype"] == "burden"].pivot(index="time", columns="scenario", values="mean")
    late = f"{drug} from day 40"
    assert (t.loc[:40, late] == t.loc[:40, "untreated"]).all()
    assert t.loc[120.0, late] < t.loc[120.0, "untreated"] - 0.02
    assert "start " + late in set(traj.events["label"])
    stopped = f"{drug} to day 50"
    assert "stop " + stopped in set(traj.events["label"])
    assert t.loc[120.0, stopped] > t.loc[50.0, stopped] + 0.02  # the disease returns after the stop
    pk = p4core.SimulateParams(half_life_days=2.0, dose_interval_days=7.0)
    half = np.arange(0, 400, 0.01)
    e = exposure(half, 14.0, pk)
    assert (e[half <= 14] == 0).all() and e.max() > 1
    steady = (half > 14 + 7 * 30) & (half <= 14 + 7 * 50)  # whole dosing intervals
    assert e[steady].mean() == pytest.approx(1.0, rel=0.01)
    with pytest.raises(InputError, match="simulate.treatments"):
        p4core.SimulateParams(treatments=["drug@soon"])
    with pytest.raises(InputError, match="stop day"):
        p4core.SimulateParams(treatments=["drug@30..20"])


def test_bad_params_are_clear(arthritis, knowledge):
    with pytest.raises(InputError, match="twin.n_twins"):
        p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=0))
    with pytest.raises(InputError, match="twin.celltype_weight"):
        p4core.build_twins(arthritis, knowledge, p4core.TwinParams(celltype_weight="size"))
    with pytest.raises(InputError, match="data.preset"):
        demo_patient("lupus")


def test_twin_to_anndata(ensemble, tmp_path):
    adata = ensemble.to_anndata()
    assert adata.shape == (len(ensemble), ensemble.n_nodes)
    path = tmp_path / "twins.h5ad"
    adata.write_h5ad(path)
    import anndata as ad

    back = ad.read_h5ad(path)
    assert back.var["gene"].iloc[0] == ensemble.genes[0]


def test_kang_paired_design_is_recognised_and_tested_as_paired(kang_path):
    """Kang: 2 donors x (ctrl, stim). The sample names pair up (ctrl101/stim101), so the design is
    paired: with two donors the signature comes from the donor-stratified rank test, and the canonical
    ISGs are significant in every cell type. Unpaired (data.pair_samples=false) it is the 2-vs-2
    pseudo-bulk Welch test, where they are not; with the donor as a covariate, OLS."""
    import anndata as ad

    from p4core.datasets import curated_knowledge
    from p4core.io import read_patient_h5ad

    keys = dict(
        cell_type_key="cluster_id", condition_key="group_id", reference="ctrl", sample_key="sample_id"
    )
    k = curated_knowledge()
    paired_patient = read_patient_h5ad(kang_path, **keys)
    design = paired_patient.adata.uns["p4core_source"]["design"]
    assert design["paired"] and design["n_donors_in_both_conditions"] == 2
    ens = p4core.build_twins(paired_patient, k, p4core.TwinParams(n_twins=1, bootstrap=False))
    assert set(ens.params["signature_tests"].values()) == {"cell_stratified_rank"}
    de = ens.de
    for gene in ("ISG15", "MX1", "IFIT1"):
        g = de[de["gene"] == gene]
        assert len(g) == 5 and (g["fdr"] < 0.05).all() and (g["logfc"] > 1).all(), gene
    unpaired = read_patient_h5ad(kang_path, **keys, pair_samples_by_name=False)
    plain = p4core.build_twins(unpaired, k, p4core.TwinParams(n_twins=1, bootstrap=False)).de
    assert set(plain["method"]) == {"pseudobulk_welch"}
    assert (plain.loc[plain["gene"] == "ISG15", "fdr"] > 0.05).any()  # 2 vs 2: no power
    a = ad.read_h5ad(kang_path)
    unpaired.adata.obs["donor"] = (
        a.obs.loc[unpaired.adata.obs_names, "sample_id"].astype(str).str[-3:].to_numpy()
    )
    ols = p4core.build_twins(
        unpaired, k, p4core.TwinParams(n_twins=1, bootstrap=False, covariates=["donor"])
    ).de
    assert set(ols["method"]) == {"pseudobulk_ols"}
    # balanced design: the adjusted log fold change equals the unadjusted one, the test differs
    assert np.allclose(plain["logfc"], ols["logfc"], atol=1e-9)
    assert not np.allclose(plain["pval"], ols["pval"])
    donors = read_patient_h5ad(kang_path, **keys, donor_key="sample_id")  # a sample per donor: not paired
    assert not donors.adata.uns["p4core_source"]["design"]["paired"]


def test_unknown_covariate_is_clear(arthritis, knowledge):
    with pytest.raises(InputError, match="twin.covariates: obs has no column"):
        p4core.build_twins(arthritis, knowledge, p4core.TwinParams(n_twins=1, covariates=["batch"]))


def test_one_sample_per_condition_uses_the_cell_level_test(knowledge):
    p = demo_patient("dress", n_cells=40, knowledge=knowledge)
    de = p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1)).de
    assert set(de["method"]) == {"cell_mannwhitney"}


def test_celltype_in_one_condition_only_is_matched_or_skipped(knowledge, caplog):
    from p4core.model import CELL_TYPE, CONDITION

    p = demo_patient("dress", n_cells=40, knowledge=knowledge)
    obs = p.adata.obs
    drop = (obs[CELL_TYPE] == "keratinocytes") & (obs[CONDITION] == "reference")
    p.adata = p.adata[~drop.to_numpy()].copy()
    ens = p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1, unmatched="skip"))
    assert "keratinocytes" not in ens.celltypes and ens.params["celltypes_skipped"] == ["keratinocytes"]
    assert "keratinocytes (0 reference, 40 disease cells)" in caplog.text
    # by default a disease-only cell state is compared with the reference cell type it resembles most
    ens = p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1))
    assert "keratinocytes" in ens.celltypes
    ref = ens.params["reference_of"]["keratinocytes"]
    assert ref in set(ens.celltypes) - {"keratinocytes"}
    assert f"compared with the reference cells of {ref}" in caplog.text


def test_excluded_celltypes_and_flags(knowledge):
    from p4core.errors import InputError

    p = demo_patient("dress", n_cells=40, knowledge=knowledge)
    ens = p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1, exclude_celltypes=["fibroblasts"]))
    assert "fibroblasts" not in ens.celltypes and ens.params["celltypes_excluded"] == ["fibroblasts"]
    checks = {c["celltype"]: c for c in ens.params["celltype_checks"]}
    assert set(checks) == set(ens.celltypes) and not any(c["flag"] for c in checks.values())
    with pytest.raises(InputError, match="twin.exclude_celltypes.*fibroblast'.*they are"):
        p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1, exclude_celltypes=["fibroblast"]))


def test_contaminants_and_doublets_are_flagged():
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    from p4core.io import patient_from_anndata
    from p4core.twin.celltypes import celltype_checks

    rng = np.random.default_rng(0)
    genes = ["CD3E", "CD3D", "MS4A1", "CD79A", "LYZ", "CD14", "PPBP", "PF4", "GP9", "HBB", "ACTB"]
    blocks = {
        "T": ["CD3E", "CD3D"],
        "B": ["MS4A1", "CD79A"],
        "Mono": ["LYZ", "CD14"],
        "Plt": ["PPBP", "PF4"],
        "TxMono": ["CD3E", "CD3D", "LYZ", "CD14"],
    }
    x, obs = [], []
    for cond in ("h", "d"):
        for name, on in blocks.items():
            b = rng.poisson(0.02, size=(40, len(genes))).astype(float)
            b[:, genes.index("ACTB")] += 30
            for g in on:
                b[:, genes.index(g)] += rng.poisson(6, 40)
            x.append(b)
            obs += [(name, cond)] * (40 if name != "Plt" or cond == "d" else 40)
    a = ad.AnnData(
        sp.csr_matrix(np.vstack(x)),
        obs=pd.DataFrame(obs, columns=["ct", "cond"]).set_axis([f"c{i}" for i in range(len(obs))]),
        var=pd.DataFrame(index=genes),
    )
    p = patient_from_anndata(a, cell_type_key="ct", condition_key="cond", reference="h", patient_id="x")
    flags = celltype_checks(p, list(blocks)).set_index("celltype")["flag"]
    assert flags["Plt"].startswith("likely platelets") and flags["TxMono"].startswith(
        "doublet-like (T cell and myeloid"
    )
    assert flags["T"] == flags["B"] == flags["Mono"] == ""


def test_all_zero_genes_give_zero_signature_not_nan(knowledge):
    import scipy.sparse as sp

    p = demo_patient("dress", n_cells=40, knowledge=knowledge)
    x = p.adata.X.toarray()
    zero = [list(p.adata.var_names).index(g) for g in ("STAT1", "IL2")]
    x[:, zero] = 0
    p.adata.X = sp.csr_matrix(x)
    ens = p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=2))
    de = ens.de[ens.de["gene"].isin(["STAT1", "IL2"])]
    assert (de["signature"] == 0).all() and de[["stat", "pval", "fdr"]].notna().all().all()
    res = p4core.screen(ens, knowledge.drugs, p4core.ScreenParams(n_null=50, pairs_top=3))
    assert np.isfinite(res.scores).all()


def test_extra_courses_join_the_batch_and_equal_run_courses(ensemble, knowledge, monkeypatch):
    """A renderer's extra drug is integrated in the run's one batch (one kernel call) and its course
    is the one the drug gets as a scenario of the run (to the integrator's tolerance)."""
    import importlib

    sim = importlib.import_module("p4core.course.simulate")
    res = p4core.screen(ensemble, knowledge.drugs, p4core.ScreenParams(n_null=0))
    a, b = sim.distinct_top(res.table, knowledge.drugs, 2)
    params = p4core.SimulateParams(pair=False, horizon_days=90)
    calls = []
    real = sim.kernel.course_twins
    monkeypatch.setattr(sim.kernel, "course_twins", lambda *x, **k: calls.append(1) or real(*x, **k))
    with_extra = sim.simulate(ensemble, res, knowledge.drugs, params, treatments=[a], extra_drugs=[b, a])
    assert len(calls) == 1 and with_extra.extra_scenarios == [b]  # a is a scenario already
    both = sim.simulate(ensemble, res, knowledge.drugs, params, treatments=[a, b]).table
    got = with_extra.extra.set_index(["time", "celltype"])
    want = both[both["scenario"] == b].set_index(["time", "celltype"])
    assert set(with_extra.table["scenario"]) == {"untreated", a}
    np.testing.assert_allclose(got["mean"], want.loc[got.index, "mean"], atol=2e-3)
    assert (
        np.abs(got["mean"].to_numpy() - got.xs(-params.onset_days, level="time")["mean"].mean()).max() > 0.05
    )


def test_simulation_leaves_out_only_irrelevant_nodes(knowledge, monkeypatch):
    """Nodes that cannot reach the signature are left out of the ODE; the course is unchanged (to the
    integrator's tolerance: the left-out nodes no longer take part in choosing the step)."""
    import importlib

    sim = importlib.import_module("p4core.course.simulate")
    twin = p4core.twin_from_signature(
        pd.Series({"CXCL8": 1.5, "MMP3": 1.0, "IL6": 0.8, "ISG15": -0.5}), knowledge
    )
    rep = twin.replicates[0]
    keep = sim.relevant_nodes(rep.operator, rep.signature != 0)
    assert 0 < keep.sum() < 0.9 * twin.n_nodes  # something is left out
    res = p4core.screen(twin, knowledge.drugs, p4core.ScreenParams(n_null=0, pairs_top=0))
    params = p4core.SimulateParams(horizon_days=30, onset_days=30)
    pruned = sim.simulate(twin, res, knowledge.drugs, params).table
    monkeypatch.setattr(sim, "relevant_nodes", lambda a, support: np.ones(a.shape[0], dtype=bool))
    full = sim.simulate(twin, res, knowledge.drugs, params).table
    cols = ["scenario", "time", "celltype"]
    pd.testing.assert_frame_equal(pruned[cols], full[cols])
    for c in ("mean", "lower", "upper"):
        np.testing.assert_allclose(pruned[c], full[c], atol=5 * params.tolerance)


def test_plugin_config_keeps_values_its_schema_derives():
    """validate_node hands the plugin the values __post_init__ fills in (a preset's polarity)."""
    from p4core.config import validate_node
    from p4core.plugins.render_midi import MidiConfig

    node = validate_node({"preset": "musician"}, MidiConfig, "render.midi")
    assert node.polarity == "disease"
    assert validate_node({"preset": "clinical"}, MidiConfig, "render.midi").polarity == "health"
