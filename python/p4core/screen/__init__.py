"""In-silico treatment of every twin with every drug (docs/design.md, "The model").

The model is linear in the perturbation, so each distinct drug target is propagated once per
twin (one column per target gene, set in every cell type where the gene is active), and every
drug's response is a signed, weighted sum of its targets' responses.

Every drug gets three scores (*views*) per twin:

``marker``
    reversal at its own targets: ``-<u_d, s>_W / |s|_W``, the projection of the drug's action on
    its targets onto the disease signature (a drug that inhibits targets up in the disease);
``programme``
    reversal downstream of them: ``-cos_W(x_d, s)`` with ``x_d = sum_{k=1..K} (alpha A)^k u_d`` and
    every node of the drug's own targets left out (the programme the targets drive);
``combined``
    ``w marker / sigma_marker + (1 - w) programme / sigma_programme`` with ``w = marker_weight``;
    each view in units of its spread over single random genes (the null pool), so the weight
    means the same in every patient.

``ranking`` chooses the view that ranks (``score_mean``, ``rank``, ``z``, ``p_value``, ``fdr``);
each view has its own mean, null test and FDR in the table.

The package, in the order of the data: ``params`` (ScreenParams, the views), ``design`` (targets, unit
perturbations, the plan), ``terms`` (the kernel's inner products and the views from them), ``null``
(random target sets), ``pairs``, ``summary`` (intervals, ranks), ``run`` (``screen()``), and the stages
that reuse them: ``regulators``, ``controls``, ``explain``, ``stream``. See docs/design.md.
"""

from p4core.screen.design import (
    DrugBlock,
    Plan,
    degree_bins,
    drug_matrix,
    gene_degree,
    ordered_drug_matrix,
    unit_perturbations,
)
from p4core.screen.null import PoolTwin, null_pool, null_task, null_test, view_scales
from p4core.screen.pairs import pair_screen
from p4core.screen.params import VIEWS, ScreenParams
from p4core.screen.run import screen, screen_task
from p4core.screen.summary import distinct_top, drivers, ensemble_summary, rank_positions
from p4core.screen.terms import (
    OWN_ONLY,
    Combos,
    Layout,
    Terms,
    combine,
    gram_tiles,
    own_responses,
    seeds,
    signature_of,
    terms,
    view_parts,
)

__all__ = [
    "OWN_ONLY",
    "VIEWS",
    "Combos",
    "DrugBlock",
    "Layout",
    "Plan",
    "PoolTwin",
    "ScreenParams",
    "Terms",
    "combine",
    "degree_bins",
    "distinct_top",
    "drivers",
    "drug_matrix",
    "ensemble_summary",
    "gene_degree",
    "gram_tiles",
    "null_pool",
    "null_task",
    "null_test",
    "ordered_drug_matrix",
    "own_responses",
    "pair_screen",
    "rank_positions",
    "screen",
    "screen_task",
    "seeds",
    "signature_of",
    "terms",
    "unit_perturbations",
    "view_parts",
    "view_scales",
]
