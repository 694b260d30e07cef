"""Public knowledge: loaders, complexes, composition, cache, identifiers and the match report."""

from __future__ import annotations

import gzip
import shutil

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from helpers import shared

import p4core
from p4core import knowledge as K
from p4core.errors import InputError
from p4core.io import read_patient_h5ad
from p4core.model import CELL_TYPE, CONDITION, SAMPLE, Context, DrugLibrary, Knowledge, Network, Patient

KANG = dict(cell_type_key="cluster_id", condition_key="group_id", reference="ctrl", sample_key="sample_id")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("P4CORE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def public():
    root = shared()
    cfg = p4core.compose(["knowledge=public", f"knowledge.root={root}"])
    return p4core.load_knowledge(cfg.knowledge)


@pytest.fixture(scope="module")
def kang_twin(public):
    patient = read_patient_h5ad(shared("scrna", "kang2018_ifnb_pbmc.h5ad"), **KANG)
    return p4core.build_twins(patient, public, p4core.TwinParams(n_twins=1))


# -- loaders ------------------------------------------------------------------------------------


def test_everything_loads_and_composes(public):
    kinds = public.network.edges["kind"].value_counts()
    assert (
        kinds["transcriptional"] > 40_000
        and kinds["signalling"] > 20_000
        and kinds["ligand_receptor"] > 4_000
    )
    refs = public.network.edges["reference"]
    assert refs.str.contains("CollecTRI").any() and refs.str.contains("OmniPath").any()
    assert refs.str.contains("LIANA:consensus").any() and refs.str.contains("De Bosscher").any()
    assert len(public.drugs.drugs) > 1300
    assert public.conflicts is not None and {"kept_from", "dropped_from"} <= set(public.conflicts.columns)
    assert not public.network.edges["source"].str.fullmatch(r"\d+|CHEBI").any()  # no small molecules as genes


def test_signalling_path_of_interferon_is_there(public):
    e = public.network.edges.set_index(["source", "target"])
    for edge in [("IFNB1", "IFNAR1"), ("IFNB1", "IFNAR2"), ("JAK1", "STAT1"), ("TYK2", "STAT2")]:
        assert edge in e.index, edge
    assert e.loc[("IFNB1", "IFNAR1"), "kind"] == "ligand_receptor"  # LIANA first: crosses cell types


def test_mechanism_layer_wins_sign(public):
    e = public.network.edges.set_index(["source", "target"])
    assert e.loc[("NR3C1", "RELA"), "sign"] == -1
    assert "De Bosscher 2003" in e.loc[("NR3C1", "RELA"), "reference"]


def test_complexes_act_through_subunits():
    df = pd.DataFrame(
        {
            "source": ["A_B", "CHEBI_123_X", "L"],
            "target": ["C", "Y", "R1_R2_2"],
            "sign": [1, -1, 1],
            "weight": 1.0,
            "kind": "signalling",
            "reference": "t",
        }
    )
    out = K.expand_complexes(df).set_index(["source", "target"])["weight"].to_dict()
    assert out == {("A", "C"): 0.5, ("B", "C"): 0.5, ("X", "Y"): 1.0, ("L", "R1"): 0.5, ("L", "R2"): 0.5}


def test_collectri_complexes_expanded(public):
    src = set(public.network.edges["source"])
    assert "AP1" not in src and "NFKB" not in src
    assert {"JUN", "FOS", "RELA", "NFKB1"} <= src


def test_drugcentral_actions_and_annotations(public):
    t = public.drugs.targets.set_index(["drug", "target"])
    assert t.loc[("tofacitinib", "JAK1"), "sign"] == -1
    assert t.loc[("adalimumab", "TNF"), "action"] == "antibody_binding"
    assert t.loc[("adalimumab", "TNF"), "drugbank_id"] == "DB00051"
    ifn = t.loc["interferon beta-1a"]
    assert (
        set(ifn.index) == {"IFNAR1", "IFNAR2"} and (ifn["sign"] == 1).all() and (ifn["strength"] == 0.5).all()
    )
    assert "rheumatoid" in t.loc[("adalimumab", "TNF"), "indications"].lower()
    unclear = public.drugs.targets[public.drugs.targets["sign"] == 0]
    assert len(unclear) > 10 and set(unclear["action"]) <= {
        "modulator",
        "substrate",
        "releasing_agent",
        "other",
        "",
    }
    assert not public.drugs.targets["target"].str.contains(";| ").any()  # no non-human targets


def test_liana_resource_selectable():
    path = shared("knowledge", "liana_ligand_receptor.csv")
    assert len(K.read_liana(path, "cellphonedb").edges) != len(K.read_liana(path).edges)
    with pytest.raises(InputError, match="no resource 'nope'.*available: .*consensus"):
        K.read_liana(path, "nope")


def test_gmt_and_orthologs():
    sets = K.read_gmt(shared("knowledge", "msigdb_hallmark.gmt"))
    assert len(sets) == 50 and "ISG15" in sets["HALLMARK_INTERFERON_ALPHA_RESPONSE"]
    orth = K.read_orthologs(shared("knowledge", "orthologs_human_mouse.tsv"))
    assert ("STAT1", "Stat1") in set(zip(orth["hgnc_symbol"], orth["mgi_symbol"], strict=True))


# -- the Kang twin on the public knowledge -------------------------------------------------------


def test_jak1_inhibitor_reaches_interferon_stimulated_genes(kang_twin):
    """IFNAR1/2, TYK2, STAT2 and IRF9 are not in Kang's panel; the path runs through latent nodes."""
    from p4core import kernel
    from p4core.screen import unit_perturbations

    ens, rep = kang_twin, kang_twin.replicates[0]
    gi = {g: i for i, g in enumerate(ens.genes)}
    for g in ("IFNAR1", "IFNAR2", "TYK2", "STAT2", "IRF9"):
        assert not ens.measured[gi[g]]
    u = -unit_perturbations(ens, rep.active, np.array([gi["JAK1"]]), np.dtype(np.float32))
    x = kernel.propagate(rep.operator, u, 0.8, 8)[:, 0]
    n_g = len(ens.genes)
    for c, ct in enumerate(ens.celltypes):
        for g in ("ISG15", "MX1", "IFIT1"):
            assert x[c * n_g + gi[g]] < -1e-5, (ct, g, x[c * n_g + gi[g]])


def test_match_report_on_kang(kang_twin, public):
    rep = kang_twin.match_report
    kang = ad.read_h5ad(shared("scrna", "kang2018_ifnb_pbmc.h5ad"))
    knowledge_genes = set(public.network.genes) | set(public.drugs.targets["target"])
    expected = len(set(kang.var_names.str.upper()) & knowledge_genes)
    assert rep["genes"]["measured"] == expected == rep["genes"]["panel_genes_used"]
    assert rep["genes"]["latent"] == len(knowledge_genes) - expected
    assert rep["genes"]["panel_genes_not_in_knowledge"] == kang.n_vars - expected
    assert rep["edges"]["total"] == len(public.network.edges)
    assert rep["drugs"]["total"] == len(public.drugs.drugs)


def test_match_report_hand_checked():
    net = Network(
        pd.DataFrame(
            {
                "source": ["A", "B", "L"],
                "target": ["B", "L", "C"],
                "sign": [1, 1, -1],
                "weight": 1.0,
                "kind": "signalling",
                "reference": "t",
            }
        )
    )
    drugs = DrugLibrary(
        pd.DataFrame(
            {
                "drug": ["d1", "d2", "d3"],
                "target": ["A", "Z", "B"],
                "sign": [-1, -1, 0],
                "strength": 1.0,
                "action": ["inhibitor", "inhibitor", "modulator"],
            }
        )
    )
    rng = np.random.default_rng(0)
    n = 80
    obs = pd.DataFrame(
        {CELL_TYPE: ["T"] * n, CONDITION: ["reference", "disease"] * (n // 2), SAMPLE: ["s"] * n},
        index=[f"c{i}" for i in range(n)],
    )
    adata = ad.AnnData(
        sp.csr_matrix(rng.poisson(3, (n, 4)).astype(np.float32)),
        obs=obs,
        var=pd.DataFrame(index=["A", "B", "C", "Q"]),
    )
    ens = p4core.build_twins(
        Patient(adata, Context("P-1")), Knowledge(net, drugs), p4core.TwinParams(n_twins=1)
    )
    r = ens.match_report
    assert (r["genes"]["measured"], r["genes"]["latent"], r["genes"]["panel_genes_not_in_knowledge"]) == (
        3,
        2,
        1,
    )
    assert r["genes"]["latent_examples"] == ["L", "Z"]
    assert (r["edges"]["both_genes_measured"], r["edges"]["through_latent_genes"]) == (1, 2)
    assert (r["drug_targets"]["total"], r["drug_targets"]["in_network"], r["drug_targets"]["measured"]) == (
        3,
        2,
        2,
    )
    assert r["drug_targets"]["not_in_network_examples"] == ["Z"]
    assert r["drugs"]["with_signed_target_in_network"] == 1
    assert r["drugs"]["only_unclear_actions_examples"] == ["d3"]
    assert r["drugs"]["no_target_in_network_examples"] == ["d2"]


def test_biologic_on_a_ligand_reaches_receiver_cells(knowledge):
    """Anti-TNF acts on TNF where it is made (macrophages, T cells) and reaches fibroblasts,
    which do not make TNF, through TNF -> TNFRSF1A."""
    from p4core import kernel
    from p4core.datasets import demo_patient
    from p4core.screen import unit_perturbations

    ens = p4core.build_twins(
        demo_patient("arthritis", n_cells=60, knowledge=knowledge), knowledge, p4core.TwinParams(n_twins=1)
    )
    rep, n_g = ens.replicates[0], len(ens.genes)
    gi = {g: i for i, g in enumerate(ens.genes)}
    fib = ens.celltypes.index("synovial fibroblasts")
    assert not rep.active[fib * n_g + gi["TNF"]] and rep.active[fib * n_g + gi["TNFRSF1A"]]
    u = -unit_perturbations(ens, rep.active, np.array([gi["TNF"]]), np.dtype(np.float32))
    assert u[fib * n_g + gi["TNF"], 0] == 0
    x = kernel.propagate(rep.operator, u, 0.8, 8)[:, 0]
    assert x[fib * n_g + gi["TNFRSF1A"]] < 0 and x[fib * n_g + gi["RELA"]] < 0


# -- identifiers --------------------------------------------------------------------------------


def test_ensembl_var_names_use_symbol_column(tmp_path):
    kang = ad.read_h5ad(shared("scrna", "kang2018_ifnb_pbmc.h5ad"))
    kang.var_names = kang.var["ENSEMBL"].astype(str)
    kang.var_names_make_unique()
    path = tmp_path / "ens.h5ad"
    kang.write_h5ad(path)
    p = read_patient_h5ad(path, **KANG)
    assert "ISG15" in p.adata.var_names and p.adata.uns["p4core_genes"]["symbols_from"] == "var['SYMBOL']"
    del kang.var["SYMBOL"]
    kang.write_h5ad(path)
    with pytest.raises(InputError, match="Ensembl IDs.*data.gene_symbols"):
        read_patient_h5ad(path, **KANG)


def test_mouse_data_through_orthologs(tmp_path, public):
    kang = ad.read_h5ad(shared("scrna", "kang2018_ifnb_pbmc.h5ad"))
    orth = public.orthologs
    one_to_one = orth[
        ~orth["hgnc_symbol"].duplicated(keep=False) & ~orth["mgi_symbol"].duplicated(keep=False)
    ]
    one = one_to_one.set_index("hgnc_symbol")["mgi_symbol"]
    kang = kang[:, kang.var_names.isin(one.index)].copy()
    kang.var_names = one[kang.var_names].to_numpy()
    path = tmp_path / "mouse.h5ad"
    kang.write_h5ad(path)
    human_n = kang.n_vars
    p = read_patient_h5ad(path, organism="mouse", **KANG)
    assert p.adata.var_names[0][0].isupper()
    ens = p4core.build_twins(p, public, p4core.TwinParams(n_twins=1))
    assert ens.match_report["genes"]["organism"] == "mouse"
    assert ens.match_report["genes"]["measured"] >= 0.95 * min(
        human_n, ens.match_report["genes"]["panel_genes_used"]
    )
    gi = {g: i for i, g in enumerate(ens.genes)}
    assert ens.measured[gi["STAT1"]] and ens.measured[gi["ISG15"]]


def test_mouse_without_orthologs_is_clear(knowledge):
    from p4core.datasets import demo_patient

    p = demo_patient("dress", n_cells=30, knowledge=knowledge)
    p.organism = "mouse"
    with pytest.raises(InputError, match="data.organism=mouse needs"):
        p4core.build_twins(p, knowledge, p4core.TwinParams(n_twins=1))


# -- cache --------------------------------------------------------------------------------------


def test_cache_hit_and_invalidation(tmp_path):
    src = tmp_path / "collectri.csv"
    src.write_text('"source","target","weight"\n"STAT1","IRF1",1\n"AP1","MMP1",1\n')
    a = K.read_collectri(src)
    cache = list((tmp_path / "cache").glob("collectri-*.parquet"))
    assert len(cache) == 1
    assert K.read_collectri(src).edges.equals(a.edges)
    assert len(list((tmp_path / "cache").glob("collectri-*.parquet"))) == 1  # hit
    src.write_text('"source","target","weight"\n"STAT1","IRF1",-1\n')
    b = K.read_collectri(src)
    assert b.edges["sign"].tolist() == [-1]  # a changed file misses the cache
    assert len(list((tmp_path / "cache").glob("collectri-*.parquet"))) == 2


# -- bad input ----------------------------------------------------------------------------------


def no_cache(tmp_path):
    return not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


@pytest.mark.parametrize(
    "content,needle",
    [
        ('"source","tgt","weight"\n"A","B",1\n', r"missing column\(s\) \['target'\]"),
        ('"source","target","weight"\n"A","B",2\n', "'weight' must be 1 or -1; data row 1 has '2'"),
        ('"source","target","weight"\n', "header but no rows"),
        ("", "is empty"),
    ],
)
def test_bad_collectri(tmp_path, content, needle):
    path = tmp_path / "c.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=needle):
        K.read_collectri(path)
    assert no_cache(tmp_path)


def test_unknown_sign_in_omnipath(tmp_path):
    path = tmp_path / "o.tsv"
    path.write_text("source\tinteraction\ttarget\nA\t+\tB\n")
    with pytest.raises(InputError, match="'interaction' must be 1 or -1"):
        K.read_omnipath_sif(path)


def test_truncated_gzip(tmp_path):
    data = shared("knowledge", "collectri_human.csv").read_bytes()
    path = tmp_path / "collectri.csv.gz"
    path.write_bytes(gzip.compress(data)[:20_000])
    with pytest.raises(InputError, match="truncated or not valid gzip"):
        K.read_collectri(path)
    assert no_cache(tmp_path)


def test_conflicting_signs_within_a_resource_are_dropped_and_reported(tmp_path, caplog):
    path = tmp_path / "o.tsv"
    path.write_text("source\tinteraction\ttarget\nA\t1\tB\nA\t-1\tB\nA\t1\tC\n")
    net = K.read_omnipath_sif(path)
    assert net.edges[["source", "target"]].values.tolist() == [["A", "C"]]
    assert "carry both signs" in caplog.text


def test_conflicting_signs_in_a_user_network_are_an_error(tmp_path):
    from p4core.io import read_network_tsv

    path = tmp_path / "n.tsv"
    path.write_text("source\ttarget\tsign\tkind\nA\tB\t1\tsignalling\nA\tB\t-1\tsignalling\n")
    with pytest.raises(InputError, match="A -> B appears with both signs"):
        read_network_tsv(path)


def test_conflicts_across_resources_reported():
    e = dict(weight=1.0, kind="signalling")
    a = Network(pd.DataFrame({"source": ["A"], "target": ["B"], "sign": [1], "reference": ["R1"], **e}))
    b = Network(
        pd.DataFrame(
            {"source": ["A", "A"], "target": ["B", "C"], "sign": [-1, 1], "reference": ["R2"] * 2, **e}
        )
    )
    net, conflicts = K.compose_networks([a, b])
    assert net.edges.set_index(["source", "target"])["sign"].to_dict() == {("A", "B"): 1, ("A", "C"): 1}
    assert conflicts.iloc[0][["kept_from", "dropped_from", "kept_sign", "dropped_sign"]].tolist() == [
        "R1",
        "R2",
        1,
        -1,
    ]


def test_drugs_with_no_target_in_network(knowledge):
    from p4core.datasets import demo_patient

    drugs = DrugLibrary(
        pd.DataFrame(
            {"drug": ["x"], "target": ["NOTAGENE"], "sign": [-1], "strength": [1.0], "action": ["inhibitor"]}
        )
    )
    with pytest.raises(InputError, match="none of the 1 targets of the drug library"):
        p4core.build_twins(
            demo_patient("dress", n_cells=30, knowledge=knowledge),
            Knowledge(knowledge.network, drugs),
            p4core.TwinParams(n_twins=1),
        )


def test_missing_drugcentral_folder(tmp_path):
    with pytest.raises(InputError, match="DrugCentral folder not found"):
        K.read_drugcentral(tmp_path / "nope")
    d = tmp_path / "dc"
    shutil.copytree(shared("drugs", "drugcentral_2016"), d)
    (d / "drug_target.tsv").write_text("DRUG_ID\tDRUG_NAME\n1\tx\n")
    with pytest.raises(InputError, match="missing column"):
        K.read_drugcentral(d)


def test_mechanism_facts_carry_their_share_and_leave_other_inputs_alone(public):
    """NR3C1's curated transrepression facts carry knowledge.mechanism_share of its normalised
    outgoing weight in the operator; every other input of RELA keeps the weight it has without them."""
    import pandas as pd

    from p4core.twin.build import twin_from_signature

    e = public.network.edges
    nr = e[e["source"] == "NR3C1"]
    facts = ["RELA", "NFKB1", "JUN", "FOS", "TSC22D3", "DUSP1", "NFKBIA"]
    mech = nr["target"].isin(facts)
    assert (nr.loc[mech, "share"] == 0.5).all() and nr.loc[~mech, "share"].isna().all()
    sig = pd.Series(1.0, index=["TNF"])
    op = twin_from_signature(sig, public, dtype="float64").replicates[0].operator
    genes = twin_from_signature(sig, public).genes
    gi = {g: i for i, g in enumerate(genes)}
    col = abs(op[:, [gi["NR3C1"]]]).toarray().ravel()
    on_facts = col[[gi[g] for g in facts]].sum()
    assert on_facts / col.sum() == pytest.approx(0.5)  # the share of what leaves NR3C1
    without = Knowledge(
        p4core.model.Network(e[e["share"].isna()].drop(columns="share"), name="no facts"), public.drugs
    )
    op0 = twin_from_signature(sig, without, dtype="float64").replicates[0].operator
    row, row0 = op[[gi["RELA"]], :].toarray()[0], op0[[gi["RELA"]], :].toarray()[0]
    fact_sources = {gi[g] for g in e.loc[e["share"].notna(), "source"]}  # NR3C1, PPARA, PPARG
    others = [i for i in np.flatnonzero(row) if i not in fact_sources]
    assert len(others) > 20
    assert np.allclose(row[others], row0[others])


def test_drug_target_corrections(public, tmp_path):
    """The curated corrections (one citation per row): in-vivo antagonists DrugCentral calls (partial)
    agonists, and JAK inhibitors newer than DrugCentral 2016; knowledge.corrections=false leaves them out."""
    t = public.drugs.targets
    row = lambda d, g: t[(t["drug"] == d) & (t["target"] == g)].iloc[0]  # noqa: E731
    assert row("plerixafor", "CXCR4")["sign"] == -1 and "Mozobil" in row("plerixafor", "CXCR4")["correction"]
    assert row("fingolimod", "S1PR1")["sign"] == -1 and row("fingolimod", "S1PR3")["sign"] == 1
    for drug, genes in {
        "baricitinib": {"JAK1", "JAK2"},
        "upadacitinib": {"JAK1"},
        "filgotinib": {"JAK1"},
    }.items():
        got = t[t["drug"] == drug]
        assert set(got["target"]) == genes and (got["sign"] == -1).all(), drug
        assert got["approval"].astype(str).str.match(r"20(1[7-9]|2\d)").all()
    applied = public.corrections
    assert applied is not None and (applied["reference"].str.len() > 20).all()
    assert set(applied["status"]) <= {"corrected", "added (new drug)", "added (target the drug lacked)"}
    assert (
        applied.set_index(["drug", "target"])
        .loc[("plerixafor", "CXCR4"), "was"]
        .startswith("partial_agonist")
    )
    info = public.drugs.info()
    assert "Mozobil" in info.loc["plerixafor", "correction"]
    assert any("corrections" in p for p in public.provenance)

    root = shared()
    cfg = p4core.compose(["knowledge=public", f"knowledge.root={root}", "knowledge.corrections=false"])
    plain = p4core.load_knowledge(cfg.knowledge)
    pt = plain.drugs.targets
    assert pt.loc[(pt["drug"] == "plerixafor") & (pt["target"] == "CXCR4"), "sign"].iloc[0] == 1
    assert "baricitinib" not in set(pt["drug"]) and plain.corrections is None


def test_corrections_in_the_match_report(kang_twin):
    rows = kang_twin.match_report["corrections"]
    assert {(r["drug"], r["target"]) for r in rows} >= {("plerixafor", "CXCR4"), ("baricitinib", "JAK1")}
    assert all(r["reference"] and r["status"] and r["now"] for r in rows)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("x\tTNF\tinhibitor\t-1\t1.0\tcorrect\t2000\t\n", "no reference"),
        ("x\tTNF\tinhibitor\t2\t1.0\tcorrect\t2000\tref\n", "'sign'"),
        ("x\tTNF\tinhibitor\t-1\t1.0\treplace\t2000\tref\n", "correct or add"),
        ("x\tTNF\tinhibitor\t-1\t-3\tadd\t2000\tref\n", "strength"),
    ],
)
def test_bad_corrections_are_clear(tmp_path, line, words):
    path = tmp_path / "c.tsv"
    path.write_text("# comment\ndrug\ttarget\taction\tsign\tstrength\tchange\tapproval\treference\n" + line)
    with pytest.raises(InputError, match=words):
        K.read_corrections(path)
