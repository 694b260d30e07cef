"""Data source ``h5ad``: a patient's cells from an AnnData file (raw counts)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import MISSING

from p4core.hooks import hookimpl, identifying, input_path
from p4core.io import read_patient_h5ad
from p4core.model import Patient


@dataclass
class H5adSourceConfig:
    source: str = "h5ad"
    path: str = identifying(MISSING)
    cell_type_key: str = "cell_type"
    condition_key: str = "condition"
    #: value of condition_key for the reference cells
    reference: str = MISSING
    #: value of condition_key for the disease cells (default: every other value)
    disease: str | None = None
    sample_key: str | None = None
    #: obs column with the donor (a donor measured in both conditions makes the design paired);
    #: default: derived when the sample names pair up across the conditions (ctrl101/stim101)
    donor_key: str | None = None
    #: derive the donors from sample names that pair up across the conditions (false: unpaired)
    pair_samples: bool = True
    #: layer with raw counts (default: X)
    layer: str | None = None
    use_raw: bool = False
    #: var column with HGNC symbols when var_names are other identifiers
    gene_symbols: str | None = None
    #: human | mouse (mouse genes are mapped to human through the knowledge's ortholog table)
    organism: str = "human"
    #: the patient's identifier (pseudonymised before any output); default: the file name
    patient_id: str | None = identifying(None, kind="patient_id")
    #: the sampled tissue, e.g. "synovium (knee)" (default: obs["tissue"] of the disease cells, if any)
    tissue: str | None = None
    #: one patient of a cohort file (its id in donor_key, or sample_key without one): its disease cells
    #: against every reference sample; ``all``: every disease-group patient, one twin each (a cohort run)
    patient: str | None = identifying(None, kind="patient_id")
    #: the patient's diagnosis: a Disease Ontology name or synonym, a DOID, ICD10:<code>, or none
    #: (default: the record's ICD-10 codes, mapped through the ontology)
    diagnosis: str | None = None
    #: cells without a cell type, condition, sample or donor label: refused (false) or left out with a
    #: warning that counts them (true)
    drop_unlabelled: bool = False


def load(cfg: H5adSourceConfig, pseudonym_key: str | None = None) -> Patient:
    return read_patient_h5ad(
        cfg.path,
        cell_type_key=cfg.cell_type_key,
        condition_key=cfg.condition_key,
        reference=cfg.reference,
        disease=cfg.disease,
        sample_key=cfg.sample_key,
        donor_key=cfg.donor_key,
        pair_samples_by_name=cfg.pair_samples,
        layer=cfg.layer,
        use_raw=cfg.use_raw,
        gene_symbols=cfg.gene_symbols,
        organism=cfg.organism,
        patient_id=cfg.patient_id,
        pseudonym_key=pseudonym_key,
        tissue=cfg.tissue,
        diagnosis=cfg.diagnosis,
        patient=cfg.patient,
        drop_unlabelled=cfg.drop_unlabelled,
    )


@hookimpl
def p4core_register_sources(register):
    register(
        "h5ad",
        load,
        schema=H5adSourceConfig,
        description="AnnData .h5ad file with raw counts",
        check=lambda cfg: input_path(cfg.path, "data.path", "the path of an .h5ad file"),
    )
