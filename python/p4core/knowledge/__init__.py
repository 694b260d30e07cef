"""Loaders for public prior knowledge, their composition, and an on-disk cache.

Formats (see ../shared/data/README.md for the reference copies):

* CollecTRI (Müller-Dott et al., NAR 2023): CSV ``source, target, weight`` (+1/-1), TF -> target.
  The complexes ``AP1`` and ``NFKB`` are expanded to their subunits (below).
* OmniPath signed directed SIF (Türei et al., Mol Syst Biol 2021): TSV ``source, interaction, target``;
  complexes joined with ``_``.
* LIANA ligand-receptor resource (Dimitrov et al., Nat Commun 2022): CSV with ``source_genesymbol``
  (ligand), ``target_genesymbol`` (receptor; subunits joined with ``_``) and ``resource``.
* DrugCentral (Ursu et al., NAR 2017): ``drug_target.tsv`` (+ ``drug_indication.tsv``,
  ``pharm_class.tsv``, ``identifiers.tsv`` when present).
* GMT gene sets and a human-mouse ortholog table.

**Complexes act through their subunits.** An edge into a complex reaches each of its n subunits,
and an edge out of a complex leaves from each subunit, each with weight 1/n: perturbing one
subunit perturbs the complex in proportion, and a complex passes on as much as a single protein.
The same rule applies to multi-subunit ligands and receptors and to DrugCentral's multi-component
targets (``IFNAR1|IFNAR2``: the drug acts on each component with strength 1/n).

**Cache.** Parsed tables are kept as Parquet under ``$P4CORE_CACHE_DIR`` (default
``~/.cache/p4core``), keyed by the SHA-256 of the file's bytes, the loader, its version and its
parameters: a changed file or loader misses the cache, and nothing is cached from a failed parse.

* Disease knowledge (``diseases``): the Disease Ontology, GWAS Catalog risk loci and genes, drug
  indications (DrugCentral's by DOID, or a library's own labels resolved by name).

Modules: ``cache``, ``tables`` (edge lists), ``public`` (the loaders), ``diseases``, ``compose``, ``corrections``. See
docs/design.md.
"""

from p4core.knowledge.cache import LOADER_VERSION, cache_dir, cached, file_digest
from p4core.knowledge.compose import compose_networks
from p4core.knowledge.corrections import CORRECTION_COLUMNS, apply_corrections, read_corrections
from p4core.knowledge.diseases import (
    closest_names,
    indications_from_labels,
    load_disease_knowledge,
    name_index,
    normalise_name,
    read_disease_ontology,
    read_drugcentral_indications,
    read_gwas_catalog,
)
from p4core.knowledge.public import (
    COLLECTRI_COMPLEXES,
    DRUGCENTRAL_ACTIONS,
    read_collectri,
    read_drugcentral,
    read_gmt,
    read_liana,
    read_omnipath_sif,
    read_orthologs,
)
from p4core.knowledge.tables import NET_COLS, expand_complexes

__all__ = [
    "COLLECTRI_COMPLEXES",
    "CORRECTION_COLUMNS",
    "DRUGCENTRAL_ACTIONS",
    "LOADER_VERSION",
    "NET_COLS",
    "apply_corrections",
    "cache_dir",
    "cached",
    "closest_names",
    "compose_networks",
    "expand_complexes",
    "file_digest",
    "indications_from_labels",
    "load_disease_knowledge",
    "name_index",
    "normalise_name",
    "read_disease_ontology",
    "read_drugcentral_indications",
    "read_gwas_catalog",
    "read_collectri",
    "read_corrections",
    "read_drugcentral",
    "read_gmt",
    "read_liana",
    "read_omnipath_sif",
    "read_orthologs",
]
