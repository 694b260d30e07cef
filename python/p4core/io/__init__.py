"""Readers and writers at the boundary: every input is validated here, every output written atomically.

``files`` (atomic writes), ``tables`` (the knowledge TSVs), ``anndata`` (single-cell input), ``counts`` (the
count matrix read a chunk of rows at a time, in memory or backed).
"""

from p4core.io.anndata import (
    harmonise_gene_names,
    pair_samples,
    patient_from_anndata,
    read_patient_h5ad,
)
from p4core.io.counts import check_counts, read_rows
from p4core.io.files import atomic_path, file_digest, write_text
from p4core.io.tables import read_drugs_tsv, read_network_tsv, read_table

__all__ = [
    "atomic_path",
    "check_counts",
    "file_digest",
    "harmonise_gene_names",
    "pair_samples",
    "patient_from_anndata",
    "read_drugs_tsv",
    "read_network_tsv",
    "read_patient_h5ad",
    "read_rows",
    "read_table",
    "write_text",
]
