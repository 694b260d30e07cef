"""Nothing identifying in what a run stores: every built-in source and context with identifying file
names, identifiers and sample names, and every output of the run grepped for them."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from importlib import resources
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from helpers import p4core_in_process
from omegaconf import OmegaConf

from p4core.datasets import demo_patient
from p4core.hooks import identifying
from p4core.hooks.manager import Plugins
from p4core.model import CELL_TYPE, CONDITION, REFERENCE
from p4core.redact import identifying_strings, redacted

NAME = "JANE_DOE_1970"  # in every file name
MRN = "MRN-JD-7731"  # the record's identifier
SAMPLES = ("JDOE-BIOPSY-A", "JDOE-BIOPSY-B", "JDOE-BIOPSY-C", "JDOE-BIOPSY-D")
VCF_SAMPLE = "JDOE-WGS-01"
LOPNR = "5550001"
SECRETS = (NAME, MRN, VCF_SAMPLE, LOPNR, *SAMPLES)


def demo_file(name: str) -> Path:
    return Path(str(resources.files("p4core") / "data" / "demo_context" / name))


def identifying_inputs(folder: Path) -> dict[str, Path]:
    """The demo patient's cells and whole context, under names that identify her."""
    folder.mkdir()
    adata = demo_patient("arthritis", n_cells=40, seed=3).adata
    rng = np.random.default_rng(0)
    ref = (adata.obs[CONDITION] == REFERENCE).to_numpy()
    sample = np.where(ref, np.array(SAMPLES[:2])[rng.integers(0, 2, adata.n_obs)],
                      np.array(SAMPLES[2:])[rng.integers(0, 2, adata.n_obs)])  # fmt: skip
    obs = pd.DataFrame({"cell_type": adata.obs[CELL_TYPE].to_numpy(), "state": np.where(ref, "healthy", "flare"),
                        "biopsy": sample}, index=[f"c{i}" for i in range(adata.n_obs)])  # fmt: skip
    h5ad = folder / f"{NAME}_scrna.h5ad"
    ad.AnnData(X=adata.X, obs=obs, var=pd.DataFrame(index=adata.var_names)).write_h5ad(h5ad)
    fhir = folder / f"{NAME}_fhir.json"
    fhir.write_text(demo_file("record.json").read_text().replace("DEMO-MRN-0042", MRN))
    files = {"h5ad": h5ad, "fhir": fhir}
    for key in ("npr", "lmed"):
        files[key] = folder / f"{NAME}_{key}.csv"
        shutil.copy(demo_file(f"{key}.csv"), files[key])
    for i, day in enumerate(("2023-12-05", "2024-02-20", "2024-06-03")):
        files[f"ct{i}"] = folder / f"{NAME}_ct_{day}.nii.gz"
        shutil.copy(demo_file(f"ct_{day}.nii.gz"), files[f"ct{i}"])
    files["vcf"] = folder / f"{NAME}.vcf"
    files["vcf"].write_text(demo_file("patient.vcf").read_text().replace("DEMO_SAMPLE", VCF_SAMPLE))
    files["record"] = folder / f"{NAME}_record.yaml"
    files["record"].write_text(f"identifier: {MRN}\nbirth_year: 1970\nsex: female\nindex_date: 2024-03-01\n")
    return files


def leaks(*folders: Path) -> list[str]:
    """Every (file, secret) where a secret appears: raw bytes, gzip members and h5ad tables alike."""
    found = []
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            blobs = [path.read_bytes()]
            if path.suffix == ".gz":
                blobs.append(gzip.decompress(blobs[0]))
            if path.suffix == ".h5ad":
                a = ad.read_h5ad(path)
                blobs.append((a.obs.to_csv() + a.var.to_csv() + json.dumps(a.uns, default=str)).encode())
            if path.suffix == ".parquet":
                blobs.append(pd.read_parquet(path).to_csv().encode())
            found += [
                f"{path.relative_to(folder)}: {s}" for s in SECRETS if any(s.encode() in b for b in blobs)
            ]
    return found


@pytest.mark.slow  # in the full suite; left out of the quick subset (pytest -m "not slow")
def test_every_source_and_context_with_identifying_names_leaves_no_trace(tmp_path):
    f = identifying_inputs(tmp_path / "inputs")
    data = ["data=h5ad", f"data.path={f['h5ad']}", "data.cell_type_key=cell_type", "data.condition_key=state",
            "data.reference=healthy", "data.sample_key=biopsy", f"data.patient_id={MRN}"]  # fmt: skip
    context = ["context=[demo]", f"context.fhir.path={f['fhir']}", f"context.registers.npr={f['npr']}",
               f"context.registers.lmed={f['lmed']}", f"context.registers.lopnr={LOPNR}",
               f"context.imaging.series=[{f['ct0']},{f['ct1']},{f['ct2']}]", f"context.pgs.vcf={f['vcf']}",
               f"context.pgs.sample={VCF_SAMPLE}"]  # fmt: skip
    small = ["twin.n_twins=2", "screen.n_null=20", "regulators.enabled=false"]
    run_a = tmp_path / "a"
    proc = p4core_in_process(f"hydra.run.dir={run_a}", *data, *context, *small)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the demo patient with the plain-YAML record, and a sweep over two identifying files
    run_b, sweep = tmp_path / "b", tmp_path / "sweep"
    proc = p4core_in_process(
        f"hydra.run.dir={run_b}", "context=[record]", f"context.record.path={f['record']}", *small
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    other = f["h5ad"].with_name(f"{NAME}_second.h5ad")
    shutil.copy(f["h5ad"], other)
    proc = p4core_in_process("-m", f"hydra.sweep.dir={sweep}", *data[:1], f"data.path={f['h5ad']},{other}", *data[2:],
                             "context=[record]", f"context.record.path={f['record']}", "render=[json]", *small)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]

    outputs = {p.name for p in run_a.iterdir()}
    assert {"config_resolved.yaml", "summary.json", "report.html", "course.mid", "p4core.log"} <= outputs
    assert (sweep / "multirun.yaml").is_file() and (sweep / "1" / "summary.json").is_file()
    assert leaks(run_a, run_b, sweep) == []
    assert len(leaks(tmp_path / "inputs")) >= len(SECRETS) - 1  # the check finds what is there
    # what was redacted is still recognisable by whoever holds the file, and the run still used it
    stored = OmegaConf.load(run_a / "config_resolved.yaml")
    assert stored.context.imaging.series[0].startswith("<redacted: pass the same file again; sha256 ")
    assert stored.context.registers.lopnr == "<redacted>" and stored.data.patient_id.startswith("P-")
    summary = json.loads((run_a / "summary.json").read_text())
    assert len(summary["patient"]["imaging"]) == 3 and summary["patient"]["diagnoses"]


def test_the_rule_is_the_plugins_marker():
    """A plugin marks its own fields; the core has no list of names. A node without a schema is
    redacted whole."""

    @dataclasses.dataclass
    class Marked:
        source: str = "marked"
        scan: str = identifying("???")
        mrn: str | None = identifying(None, kind="id")
        who: str | None = identifying(None, kind="patient_id")
        label: str = "kept"

    class Plugin:
        @staticmethod
        def p4core_register_sources(register):
            register("marked", lambda cfg, pseudonym_key=None: None, schema=Marked)

        @staticmethod
        def p4core_register_renderers(register):
            register("loose", lambda result, outdir, cfg: [])  # no schema

    from p4core.hooks import hookimpl

    for name in ("p4core_register_sources", "p4core_register_renderers"):
        setattr(Plugin, name, hookimpl(getattr(Plugin, name)))
    plugins = Plugins(entry_points=[], extra={"marked": Plugin})
    cfg = OmegaConf.create({"data": {"source": "marked", "scan": "/x/Jane_Doe.nii", "mrn": "M-1", "who": "X9",
                                     "label": "kept"}, "render": {"loose": {"title": "Jane_Doe notes"}}})  # fmt: skip

    class P:
        pseudonym = "P-0123456789"

    out = redacted(cfg, P(), plugins)  # type: ignore[arg-type]
    assert out.data.scan == "<redacted: pass the same file again; sha256 unavailable>"
    assert (out.data.mrn, out.data.who, out.data.label) == ("<redacted>", "P-0123456789", "kept")
    assert out.render.loose.title == "<redacted>"
    assert "Jane_Doe.nii" in identifying_strings(cfg, plugins) and "kept" not in identifying_strings(
        cfg, plugins
    )


def test_the_file_name_is_on_the_terminal_and_nowhere_else(tmp_path):
    """An error names the patient's file on the terminal (the user needs it); the refused run leaves no
    folder and no log that could keep the name."""
    missing = tmp_path / f"{NAME}_scrna.h5ad"
    run = tmp_path / "run"
    proc = p4core_in_process(
        f"hydra.run.dir={run}", "data=h5ad", f"data.path={missing}", "data.reference=ctrl"
    )
    assert proc.returncode == 2 and NAME in proc.stderr and "file not found" in proc.stderr
    assert not run.exists() and not list(tmp_path.rglob("*.log"))
