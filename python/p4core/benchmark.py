"""The built-in benchmark: recovery of known disease-modifying drugs from disease signatures.

``python -m p4core benchmark signatures=... indications=... knowledge_root=...`` builds, for every
disease of a signature table (gene -> meta-analytic log fold change), a one-cell-type twin on the
public knowledge, screens every drug of the library, and asks how high the disease's known
disease-modifying (DM) drugs rank among all drugs with targets. The same candidate set is ranked
by simple baselines on identical inputs:

``p4core``
    the screen's ``score_mean`` (network propagation, reversal of the signature);
``random``
    the expected metrics of a random ranking (mean over ``n_random`` seeded permutations);
``direct``
    direct counteraction: ``-sum(sign * strength * s[target])`` over the drug's targets;
``proximity``
    scDrugPrio-style network proximity: mean shortest-path distance of the drug's targets to the
    closest signature gene, as a z-score against degree-matched random target sets; score ``-z``;
``proximity_direction``
    ``proximity``, with drugs whose direct effect does not counteract the signature (direct score
    <= 0) ranked below all others (scDrugPrio's direction filter).

Metrics (per disease, then the mean over diseases with at least one positive): AUROC, AUPRC
(average precision), precision at 10/20/50 and the enrichment at 1% false-positive rate. All are
tie-aware (they equal the expectation over random orders of tied drugs, AUPRC the usual step
rule), and are written here in numpy. See docs/benchmark.md.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from scipy import stats

from .errors import InputError, P4coreError
from .io import write_text
from .model import DrugLibrary, Knowledge

log = logging.getLogger("p4core.benchmark")

METHODS = ("p4core", "random", "direct", "proximity", "proximity_direction")
PRECISION_KS = (10, 20, 50)
EF_FPR = 0.01
METRICS = ("auroc", "auprc", *(f"p@{k}" for k in PRECISION_KS), "enrich@1%fpr")
SIGNATURE_COLUMNS = ("doid", "disease", "gene_symbol", "effect_size_random")
INDICATION_COLUMNS = ("doid_id", "drugbank_id", "disease", "drug", "category")

CREDITS = [
    "Disease signatures: STARGEO meta-analyses (Hadley et al., Sci Data 2017), dhimmel/stargeo "
    "(Himmelstein et al., Hetionet), CC0 1.0",
    "Indications: PharmacotherapyDB v1.0 (Himmelstein et al., eLife 2017), CC0 1.0",
    "Drug targets and DrugBank identifiers: DrugCentral 2016 (Ursu et al., NAR 2017), CC BY 4.0",
    "TF regulons: CollecTRI (Müller-Dott et al., NAR 2023), CC BY 4.0",
    "Signalling network: OmniPath (Türei et al., Mol Syst Biol 2021), upstream resources' licences",
    "Ligand-receptor pairs: LIANA consensus resource (Dimitrov et al., Nat Commun 2022), BSD-3 package data",
]

USAGE = """\
usage: python -m p4core benchmark signatures=PATH indications=PATH knowledge_root=DIR [key=value ...]

Recovery of known disease-modifying drugs: p4core's screen against random, direct-counteraction and
network-proximity baselines on identical candidate sets. Keys (Hydra-style key=value):
  signatures      disease signature table (doid, disease, gene_symbol, effect_size_random[, p_adjusted])
  indications     indication table (doid_id, drugbank_id, disease, drug, category DM/SYM/NOT)
  knowledge_root  folder holding knowledge/ and drugs/ (the public knowledge)
  out             output folder (default outputs/benchmark)
  seed            seed of the random baselines (default 0)
  n_random        permutations of the random ranking and null sets of the proximity (default 1000)
  diseases        subset by name or DOID, e.g. 'diseases=[rheumatoid arthritis,DOID:8577]'
  fdr             signature genes with p_adjusted < fdr count (default 0.05)
  collapse_forms  one positive per indication, other salt/ester forms left out (default true)
  steps, alpha    screen overrides (default: p4core's defaults)
"""


@dataclass
class BenchmarkConfig:
    """Settings of ``python -m p4core benchmark`` (Hydra-style ``key=value`` overrides)."""

    #: disease signature table (TSV, may be gzipped)
    signatures: str | None = None
    #: indication table (PharmacotherapyDB layout)
    indications: str | None = None
    #: folder holding knowledge/ and drugs/ (as ../shared/data)
    knowledge_root: str | None = None
    #: output folder
    out: str = "outputs/benchmark"
    #: seed of the random ranking and of the proximity null sets
    seed: int = 0
    #: permutations of the random baseline and null draws of the proximity baseline
    n_random: int = 1000
    #: subset of diseases, by name or DOID (None = all)
    diseases: list[str] | None = None
    #: signature genes with p_adjusted < fdr count as DEGs (the dev file is filtered at 0.05)
    fdr: float = 0.05
    #: one positive per DM indication: other forms (salts, esters) sharing its DrugBank id are left
    #: out of that disease's candidates (neither positive nor negative); false = all forms are positives
    collapse_forms: bool = True
    #: screen overrides (None = p4core's defaults)
    steps: int | None = None
    alpha: float | None = None

    def check(self) -> None:
        if self.n_random < 1:
            raise InputError(f"n_random must be >= 1, got {self.n_random}")
        if not 0 < self.fdr <= 1:
            raise InputError(f"fdr must be in (0, 1], got {self.fdr}")
        self.screen_params()  # validates steps / alpha

    def screen_params(self) -> Any:
        from .screen import ScreenParams

        over: dict[str, Any] = {
            k: v for k, v in (("steps", self.steps), ("alpha", self.alpha)) if v is not None
        }
        return ScreenParams(**over)


# ---------------------------------------------------------------------------------------------
# metrics (tie-aware, numpy)


def _check(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} vs {s.size})")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite")
    if y.all() or not y.any():
        raise ValueError("ranking metrics need at least one positive and one negative")
    return y, s


def roc_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true and false positives at every distinct score, highest score first.

    Returns ``(tp, fp, fpr, tpr)``; tied scores form one step (no arbitrary order among them).
    """
    y, s = _check(labels, scores)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted) != 0), len(s) - 1]  # last index of each tie group
    tp = np.cumsum(y_sorted)[last].astype(float)
    fp = (last + 1) - tp
    return tp, fp, fp / fp[-1], tp / tp[-1]


def auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks: a tie counts one half)."""
    y, s = _check(labels, scores)
    ranks = stats.rankdata(s, method="average")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(labels: Any, scores: Any) -> float:
    """AUPRC as average precision: sum over distinct scores of (recall step) x (precision there)."""
    tp, fp, _, _ = roc_points(labels, scores)
    recall_step = np.diff(np.r_[0.0, tp]) / tp[-1]
    return float(np.sum(recall_step * tp / (tp + fp)))


def precision_at_k(labels: Any, scores: Any, k: int) -> float:
    """Share of positives among the top ``k`` (``k`` capped at the number of drugs).

    A tie group straddling the cut-off contributes its positives in proportion to the places it
    gets (the expectation over random orders of the tied drugs).
    """
    y, s = _check(labels, scores)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = min(int(k), len(s))
    cut = np.sort(s)[::-1][k - 1]
    above, tied = s > cut, s == cut
    hits = y[above].sum() + y[tied].sum() * (k - above.sum()) / tied.sum()
    return float(hits / k)


def enrichment_at_fpr(labels: Any, scores: Any, fpr: float = EF_FPR) -> float:
    """TPR where the FPR first reaches ``fpr``, divided by ``fpr`` (1 = random, 1/fpr = perfect).

    Within a tie group the ROC curve is the straight line between its ends (the expectation over
    orders of the tied drugs), so the TPR is read on it at exactly ``fpr``; without ties this is
    the TPR at the score threshold where the FPR first reaches ``fpr``.
    """
    if not 0 < fpr <= 1:
        raise ValueError(f"fpr must be in (0, 1], got {fpr}")
    _, _, fprs, tprs = roc_points(labels, scores)
    fprs, tprs = np.r_[0.0, fprs], np.r_[0.0, tprs]
    i = int(np.argmax(fprs >= fpr - 1e-12))
    f0, f1, t0, t1 = fprs[i - 1], fprs[i], tprs[i - 1], tprs[i]
    tpr = t1 if f1 <= f0 else t0 + (t1 - t0) * (fpr - f0) / (f1 - f0)
    return float(tpr / fpr)


def ranking_metrics(labels: Any, scores: Any) -> dict[str, float]:
    """All benchmark metrics of one ranking (higher score = ranked higher)."""
    out = {"auroc": auroc(labels, scores), "auprc": average_precision(labels, scores)}
    for k in PRECISION_KS:
        out[f"p@{k}"] = precision_at_k(labels, scores, k)
    out["enrich@1%fpr"] = enrichment_at_fpr(labels, scores, EF_FPR)
    return out


def random_metrics(labels: Any, n_random: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Metrics of ``n_random`` random rankings (permutations), one array per metric."""
    y = np.asarray(labels).astype(bool)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    base = np.arange(len(y), dtype=float)
    for _ in range(n_random):
        for m, v in ranking_metrics(y, rng.permutation(base)).items():
            draws[m].append(v)
    return {m: np.asarray(v) for m, v in draws.items()}


# ---------------------------------------------------------------------------------------------
# inputs


def _read_tsv(path: str | Path, key: str, what: str, columns: Sequence[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{key}={path}: {what} file not found")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        EOFError,
        zlib.error,
    ) as exc:
        raise InputError(
            f"{key}={path}: {what} file could not be read as a tab-separated table: {exc}"
        ) from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} file {path}: missing column(s) {missing}; expected columns {list(columns)}, "
            f"found {list(df.columns)}"
        )
    if df.empty:
        raise InputError(f"{what} file {path} has no rows")
    return df


def read_signatures(path: str | Path, fdr: float = 0.05) -> pd.DataFrame:
    """The signature table: doid, disease, gene_symbol (upper case), effect_size_random (float).

    With a ``p_adjusted`` column only genes with ``p_adjusted < fdr`` are kept (``fdr=1``: all).
    """
    df = _read_tsv(path, "signatures", "signatures", SIGNATURE_COLUMNS)
    df["gene_symbol"] = df["gene_symbol"].str.strip().str.upper()
    df["doid"] = df["doid"].str.strip()
    df["disease"] = df["disease"].str.strip()
    df["effect_size_random"] = pd.to_numeric(df["effect_size_random"], errors="coerce")
    bad = df["effect_size_random"].isna() | (df["gene_symbol"] == "")
    if bad.all():
        raise InputError(f"signatures file {path}: no row has a gene_symbol and a numeric effect_size_random")
    if bad.any():
        log.warning(
            "signatures file %s: %d row(s) without gene or numeric effect size left out", path, bad.sum()
        )
        df = df[~bad]
    if "p_adjusted" in df.columns and fdr < 1:
        padj = pd.to_numeric(df["p_adjusted"], errors="coerce")
        df = df[padj < fdr]
    elif fdr < 0.05:
        raise InputError(f"signatures file {path}: fdr={fdr} needs a p_adjusted column")
    return df.reset_index(drop=True)


def read_indications(path: str | Path) -> pd.DataFrame:
    """The indication table: doid_id, drugbank_id, disease, drug, category (DM / SYM / NOT)."""
    df = _read_tsv(path, "indications", "indications", INDICATION_COLUMNS)
    for c in INDICATION_COLUMNS:
        df[c] = df[c].str.strip()
    df["category"] = df["category"].str.upper()
    return df


def drugbank_index(drugs: DrugLibrary) -> dict[str, set[str]]:
    """DrugBank id -> library drug names (the library's ``drugbank_id`` column, ';'-joined ids)."""
    t = drugs.targets
    index: dict[str, set[str]] = {}
    if "drugbank_id" not in t.columns:
        return index
    pairs = t[["drug", "drugbank_id"]].drop_duplicates()
    for drug, ids in zip(pairs["drug"], pairs["drugbank_id"].fillna(""), strict=True):
        for i in str(ids).split(";"):
            if i.strip():
                index.setdefault(i.strip(), set()).add(drug)
    return index


def map_indications(indications: pd.DataFrame, drugs: DrugLibrary, path: str = "indications") -> pd.DataFrame:
    """Add ``library_drugs`` (sorted list) to every indication row.

    Through DrugBank ids when the library has a ``drugbank_id`` column, else by lower-case drug name.
    Raises :class:`InputError` when no row maps to a library drug.
    """
    index = drugbank_index(drugs)
    out = indications.copy()
    if index:
        out["library_drugs"] = out["drugbank_id"].map(lambda i: sorted(index.get(i, ())))
        how = "drugbank_id (library column drugbank_id)"
    else:
        names = set(drugs.drugs)
        out["library_drugs"] = out["drug"].str.lower().map(lambda d: [d] if d in names else [])
        how = "drug name (the library has no drugbank_id column)"
    if not out["library_drugs"].map(len).any():
        raise InputError(
            f"indications file {path}: none of its {out['drugbank_id'].nunique()} drugs "
            f"(e.g. {list(out['drugbank_id'].head(3))}) is in the drug library {drugs.name!r} "
            f"(matched by {how}); check the ids or the knowledge"
        )
    return out


def dm_positives(
    dm: pd.DataFrame, candidates: set[str], *, collapse: bool = True
) -> tuple[list[str], list[str]]:
    """Positives among ``candidates`` for the DM rows ``dm`` (with ``library_drugs``), and left-out forms.

    A DrugBank id can name several library drugs (DrugCentral lists salts and esters apart, e.g.
    prednisolone, prednisolone acetate, ...). With ``collapse`` each indication gives one positive:
    the form named like the indication (else the shortest name) and the other forms are returned
    to be left out of the candidate set, so one indication is not counted many times.
    """
    pos: set[str] = set()
    forms_out: set[str] = set()
    for name, lib in zip(dm["drug"], dm["library_drugs"], strict=True):
        forms = sorted(d for d in lib if d in candidates)
        if not forms:
            continue
        if not collapse or len(forms) == 1:
            pos.update(forms)
            continue
        exact = [d for d in forms if d == str(name).strip().lower()]
        rep = exact[0] if exact else min(forms, key=lambda d: (len(d), d))
        pos.add(rep)
        forms_out.update(f for f in forms if f != rep)
    return sorted(pos), sorted(forms_out - pos)


def candidate_drugs(knowledge: Knowledge) -> list[str]:
    """Drugs with at least one target of known sign (+1/-1) that is a network gene, sorted."""
    t = knowledge.drugs.targets
    genes = set(knowledge.network.genes)
    ok = (t["sign"].astype(int) != 0) & t["target"].isin(genes)
    return sorted(set(t.loc[ok, "drug"]))


def direct_scores(drugs: DrugLibrary, candidates: Sequence[str], signature: pd.Series) -> np.ndarray:
    """Direct counteraction: ``-sum(sign * strength * s[target])`` (targets outside the signature: 0)."""
    t = drugs.targets[drugs.targets["drug"].isin(set(candidates))]
    s = t["target"].map(signature).fillna(0.0).to_numpy(dtype=float)
    effect = t["sign"].to_numpy(dtype=float) * t["strength"].to_numpy(dtype=float) * s
    total = pd.Series(effect, index=t["drug"].to_numpy()).groupby(level=0).sum()
    return -total.reindex(list(candidates)).fillna(0.0).to_numpy()


def _stable_seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class NetworkProximity:
    """scDrugPrio-style proximity of drug targets to a gene set, on the undirected network.

    ``d(drug)`` is the mean over the drug's network targets of the shortest-path distance to the
    closest gene of the set (one multi-source BFS per set). The null of every drug: ``n_random``
    random target sets of the same size, each target replaced by a random gene of its degree bin
    (``n_bins`` quantile bins of the undirected degree), drawn once per drug from
    ``default_rng([seed, crc32(drug)])`` and reused for every disease. Genes the set cannot reach
    get distance (largest finite distance + 1).
    """

    def __init__(
        self,
        edges: pd.DataFrame,
        drug_targets: dict[str, list[str]],
        *,
        n_random: int = 1000,
        seed: int = 0,
        n_bins: int = 10,
    ) -> None:
        genes = sorted(set(edges["source"]) | set(edges["target"]))
        self.genes = genes
        self.index = {g: i for i, g in enumerate(genes)}
        src = edges["source"].map(self.index).to_numpy(dtype=np.int64)
        tgt = edges["target"].map(self.index).to_numpy(dtype=np.int64)
        keep = src != tgt
        rows, cols = np.r_[src[keep], tgt[keep]], np.r_[tgt[keep], src[keep]]
        n = len(genes)
        adj = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        adj.sum_duplicates()
        adj.data[:] = 1.0
        self.adjacency = adj
        self.degree = np.diff(adj.indptr)
        edges_q = np.unique(np.quantile(self.degree, np.linspace(0, 1, n_bins + 1)))
        self.bin = np.searchsorted(edges_q[1:-1], self.degree, side="right")
        pools = {b: np.flatnonzero(self.bin == b) for b in np.unique(self.bin)}
        self.drugs: list[str] = []
        targets, samples, counts = [], [], []
        for drug, tg in drug_targets.items():
            idx = np.array(sorted({self.index[g] for g in tg if g in self.index}), dtype=np.int64)
            if not len(idx):
                continue
            rng = np.random.default_rng([seed, _stable_seed(drug)])
            draw = np.stack(
                [pools[self.bin[i]][rng.integers(0, len(pools[self.bin[i]]), n_random)] for i in idx]
            )
            self.drugs.append(drug)
            targets.append(idx)
            samples.append(draw)
            counts.append(len(idx))
        self.targets = np.concatenate(targets) if targets else np.zeros(0, np.int64)
        self.samples = np.concatenate(samples) if samples else np.zeros((0, n_random), np.int64)
        self.counts = np.asarray(counts, dtype=float)
        self.starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64) if counts else np.zeros(0, np.int64)

    def distances(self, genes: Sequence[str]) -> np.ndarray:
        """Shortest-path distance of every network gene to the closest of ``genes`` (BFS)."""
        src = [self.index[g] for g in genes if g in self.index]
        dist = np.full(len(self.genes), np.inf)
        if not src:
            return dist
        frontier = np.zeros(len(self.genes), dtype=bool)
        frontier[src] = True
        dist[frontier] = 0
        level = 0
        while frontier.any():
            level += 1
            reached = (self.adjacency @ frontier.astype(float)) > 0
            new = reached & np.isinf(dist)
            dist[new] = level
            frontier = new
        return dist

    def scores(self, genes: Sequence[str]) -> pd.DataFrame:
        """Per drug: ``d`` (mean distance of its targets), null ``mean``/``sd`` and ``z`` (0 when sd = 0)."""
        dist = self.distances(genes)
        finite = dist[np.isfinite(dist)]
        if not len(finite):
            raise InputError("proximity: none of the signature genes is a network gene")
        dist[~np.isfinite(dist)] = finite.max() + 1
        d = np.add.reduceat(dist[self.targets], self.starts) / self.counts
        null = np.add.reduceat(dist[self.samples], self.starts, axis=0) / self.counts[:, None]
        mu, sd = null.mean(1), null.std(1, ddof=1) if null.shape[1] > 1 else np.zeros(len(d))
        z = np.divide(d - mu, sd, out=np.zeros_like(d), where=sd > 0)
        return pd.DataFrame({"d": d, "null_mean": mu, "null_sd": sd, "z": z}, index=self.drugs)


def direction_filtered(proximity_score: np.ndarray, direct: np.ndarray) -> np.ndarray:
    """``proximity_score``, with drugs whose direct score is <= 0 moved below all others (order kept)."""
    p = np.asarray(proximity_score, dtype=float)
    span = float(p.max() - p.min()) + 1.0 if len(p) else 1.0
    return np.where(np.asarray(direct) > 0, p, p - span)


# ---------------------------------------------------------------------------------------------
# the benchmark


def _load_knowledge(root: str) -> Knowledge:
    from .pipeline import compose, load_knowledge

    if not Path(root).is_dir():
        raise InputError(f"knowledge_root={root}: folder not found (it must hold knowledge/ and drugs/)")
    cfg = compose(["knowledge=public"])
    cfg.knowledge.root = str(root)  # set, not an override: any character is fine in the path
    try:
        return load_knowledge(cfg.knowledge)
    except InputError as exc:
        raise InputError(f"knowledge_root={root}: {exc}") from exc


def _select_diseases(sig: pd.DataFrame, wanted: Sequence[str] | None) -> list[tuple[str, str]]:
    pairs = sig[["doid", "disease"]].drop_duplicates("doid")
    all_pairs = list(zip(pairs["doid"], pairs["disease"], strict=True))
    if not wanted:
        return all_pairs
    chosen, unknown = [], []
    for w in wanted:
        key = str(w).strip().lower()
        hit = [(d, n) for d, n in all_pairs if key in (d.lower(), n.lower())]
        if not hit:
            unknown.append(str(w))
        chosen += [h for h in hit if h not in chosen]
    if unknown:
        names = ", ".join(f"{n} ({d})" for d, n in all_pairs)
        raise InputError(f"diseases: {unknown} not in the signatures file; available: {names}")
    return chosen


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """Rank positions, 1 = best (average rank for ties)."""
    return len(scores) + 1 - stats.rankdata(scores, method="average")


def run_benchmark(
    config: BenchmarkConfig,
    *,
    knowledge: Knowledge | None = None,
    signatures: pd.DataFrame | None = None,
    indications: pd.DataFrame | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return its result (the content of ``benchmark.json``).

    ``knowledge``, ``signatures`` and ``indications`` default to loading ``config.knowledge_root``,
    ``config.signatures`` and ``config.indications``. ``report`` receives one progress line per disease.
    """
    from .screen import screen as run_screen
    from .twin import twin_from_signature

    say = report or (lambda _msg: None)
    config.check()
    params = config.screen_params()
    timings: dict[str, Any] = {}
    t_start = time.perf_counter()

    t0 = time.perf_counter()
    if signatures is None:
        if not config.signatures:
            raise InputError("no disease signatures: pass signatures=<path to disease_signatures.tsv.gz>")
        signatures = read_signatures(config.signatures, config.fdr)
    if indications is None:
        if not config.indications:
            raise InputError("no indications: pass indications=<path to indications.tsv>")
        indications = read_indications(config.indications)
    if knowledge is None:
        if not config.knowledge_root:
            raise InputError("no knowledge: pass knowledge_root=<folder holding knowledge/ and drugs/>")
        knowledge = _load_knowledge(config.knowledge_root)
    timings["load_inputs_s"] = round(time.perf_counter() - t0, 3)

    diseases = _select_diseases(signatures, config.diseases)
    indications = map_indications(indications, knowledge.drugs, str(config.indications or "indications"))
    candidates = candidate_drugs(knowledge)
    if len(candidates) < 2:
        raise InputError(
            f"the drug library {knowledge.drugs.name!r} has fewer than 2 drugs with network targets"
        )
    cand_set = set(candidates)
    network_genes = set(knowledge.network.genes)

    t0 = time.perf_counter()
    t = knowledge.drugs.targets
    drug_targets = t[t["drug"].isin(cand_set)].groupby("drug")["target"].agg(list).to_dict()
    prox = NetworkProximity(knowledge.network.edges, drug_targets, n_random=config.n_random, seed=config.seed)
    prox_order = [candidates.index(d) for d in prox.drugs]
    timings["proximity_setup_s"] = round(time.perf_counter() - t0, 3)

    per_disease: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    timings["diseases"] = {}
    for i, (doid, name) in enumerate(diseases, 1):
        td = time.perf_counter()
        rows = signatures[signatures["doid"] == doid]
        sig = rows.groupby("gene_symbol")["effect_size_random"].mean()
        matched = sig.index.isin(list(network_genes))
        dm = indications[(indications["doid_id"] == doid) & (indications["category"] == "DM")]
        dm_lib = sorted({d for lst in dm["library_drugs"] for d in lst})
        positives, aliases = dm_positives(dm, cand_set, collapse=config.collapse_forms)
        keep = ~np.isin(candidates, aliases)
        cands = [c for c, k in zip(candidates, keep, strict=True) if k]
        entry: dict[str, Any] = {
            "doid": doid,
            "disease": name,
            "n_signature_genes": int(len(sig)),
            "n_up": int((sig > 0).sum()),
            "n_down": int((sig < 0).sum()),
            "n_matched": int(matched.sum()),
            "match_rate": round(float(matched.mean()) if len(sig) else 0.0, 4),
            "n_candidates": len(cands),
            "n_dm_indications": int(dm["drugbank_id"].nunique()),
            "n_dm_in_library": int(dm["library_drugs"].map(len).gt(0).sum()),
            "n_positives": len(positives),
            "positives": positives,
            "left_out_forms": aliases,
            "dm_not_in_library": sorted(set(dm.loc[dm["library_drugs"].map(len) == 0, "drug"])),
            "dm_without_network_targets": [d for d in dm_lib if d not in cand_set],
        }
        reason = None
        if entry["n_matched"] == 0:
            reason = f"none of its {len(sig)} signature genes is a network gene (match rate 0)"
        elif not positives:
            reason = "no disease-modifying drug among the candidate drugs"
        elif len(positives) == len(cands):
            reason = "every candidate drug is a positive"
        if reason:
            log.warning("skipping %s (%s): %s", name, doid, reason)
            entry["skipped"] = reason
            skipped.append({"doid": doid, "disease": name, "reason": reason})
            per_disease.append(entry)
            timings["diseases"][name] = round(time.perf_counter() - td, 3)
            say(f"[{i}/{len(diseases)}] {name}: skipped ({reason})")
            continue

        labels = np.isin(cands, positives)
        scores: dict[str, np.ndarray] = {}
        method_time: dict[str, float] = {}

        t0 = time.perf_counter()
        twin = twin_from_signature(sig, knowledge, pseudonym=doid)
        res = run_screen(twin, knowledge.drugs, params)
        sm = res.table.set_index("drug")["score_mean"]
        scores["p4core"] = sm.reindex(cands).fillna(0.0).to_numpy(dtype=float)
        method_time["p4core"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        scores["direct"] = direct_scores(knowledge.drugs, cands, sig)
        method_time["direct"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        degs = list(sig.index[matched])
        pz = prox.scores(degs)
        prox_score = np.zeros(len(candidates))
        prox_score[prox_order] = -pz["z"].to_numpy()
        scores["proximity"] = prox_score[keep]
        method_time["proximity"] = time.perf_counter() - t0
        scores["proximity_direction"] = direction_filtered(scores["proximity"], scores["direct"])

        metrics = {m: ranking_metrics(labels, s) for m, s in scores.items()}
        t0 = time.perf_counter()
        rng = np.random.default_rng([config.seed, _stable_seed(doid)])
        rand = random_metrics(labels, config.n_random, rng)
        method_time["random"] = time.perf_counter() - t0
        metrics["random"] = {m: float(v.mean()) for m, v in rand.items()}
        entry["random_sd"] = {m: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for m, v in rand.items()}
        entry["metrics"] = {m: metrics[m] for m in METHODS}
        entry["auroc_p_vs_random"] = {
            m: float((1 + np.sum(rand["auroc"] >= metrics[m]["auroc"])) / (1 + config.n_random))
            for m in METHODS
            if m != "random"
        }
        entry["positive_ranks"] = {
            m: {d: float(r) for d, r in zip(cands, _rank_of(s), strict=True) if d in positives}
            for m, s in scores.items()
        }
        entry["top10"] = {
            m: [cands[j] for j in np.argsort(-s, kind="mergesort")[:10]] for m, s in scores.items()
        }
        entry["n_direct_positive"] = int((scores["direct"] > 0).sum())
        entry["seconds"] = {m: round(v, 3) for m, v in method_time.items()}
        per_disease.append(entry)
        timings["diseases"][name] = round(time.perf_counter() - td, 3)
        say(
            f"[{i}/{len(diseases)}] {name}: {entry['n_matched']}/{entry['n_signature_genes']} genes matched "
            f"({entry['match_rate']:.0%}), {len(cands)} candidates, {len(positives)} positives; AUROC "
            + " ".join(f"{m} {metrics[m]['auroc']:.3f}" for m in METHODS)
            + f" ({time.perf_counter() - td:.1f}s)"
        )

    evaluated = [e for e in per_disease if "metrics" in e]
    overall = {
        m: {k: float(np.mean([e["metrics"][m][k] for e in evaluated])) for k in METRICS} if evaluated else {}
        for m in METHODS
    }
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    from . import __version__

    return {
        "benchmark": "recovery of known disease-modifying drugs (p4core built-in benchmark)",
        "p4core_version": __version__,
        "config": asdict(config),
        "screen_params": dict(vars(params)),
        "methods": list(METHODS),
        "metrics": list(METRICS),
        "candidate_set": "drugs with at least one target of known sign (+1/-1) that is a network gene",
        "positives": "DM (disease-modifying) indications, mapped through DrugBank ids, among the candidates",
        "knowledge": {
            "provenance": list(knowledge.provenance),
            "network": knowledge.network.name,
            "n_network_genes": len(network_genes),
            "n_network_edges": int(len(knowledge.network.edges)),
            "drug_library": knowledge.drugs.name,
            "n_drugs": len(knowledge.drugs.drugs),
            "n_candidates": len(candidates),
        },
        "n_diseases": len(diseases),
        "mean_match_rate": round(float(np.mean([e["match_rate"] for e in per_disease])), 4)
        if per_disease
        else 0.0,
        "n_evaluated": len(evaluated),
        "n_skipped": len(skipped),
        "skipped": skipped,
        "overall": overall,
        "diseases": per_disease,
        "timings": timings,
        "credits": CREDITS,
    }


def tidy(result: dict[str, Any]) -> pd.DataFrame:
    """The result as a tidy table: disease, method, metric, value (``overall`` = mean over diseases)."""
    rows = []
    for e in result["diseases"]:
        for m, vals in e.get("metrics", {}).items():
            rows += [(e["disease"], m, k, v) for k, v in vals.items()]
    for m, vals in result["overall"].items():
        rows += [("overall", m, k, v) for k, v in vals.items()]
    return pd.DataFrame(rows, columns=["disease", "method", "metric", "value"])


def summary_table(result: dict[str, Any]) -> str:
    """Methods x overall metrics, as fixed-width text."""
    head = f"{'method':<20}" + "".join(f"{m:>14}" for m in METRICS)
    lines = [head]
    for m in METHODS:
        vals = result["overall"].get(m, {})
        lines.append(f"{m:<20}" + "".join(f"{vals.get(k, float('nan')):>14.3f}" for k in METRICS))
    return "\n".join(lines)


def write_outputs(result: dict[str, Any], out: str | Path) -> list[Path]:
    """``benchmark.json`` and ``benchmark.csv`` in ``out``, each written atomically."""
    out = Path(out)
    csv = tidy(result).to_csv(index=False, float_format="%.6g")
    text = json.dumps(result, indent=2, default=_json_default, allow_nan=False) + "\n"
    return [write_text(out / "benchmark.csv", csv), write_text(out / "benchmark.json", text)]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# ---------------------------------------------------------------------------------------------
# command line


def parse_args(argv: Sequence[str]) -> BenchmarkConfig:
    """``key=value`` overrides merged into :class:`BenchmarkConfig` (unknown key / wrong type: InputError)."""
    items = []
    for a in argv:
        if "=" not in a:
            raise InputError(f"argument {a!r} is not key=value (see python -m p4core benchmark --help)")
        key, value = a.split("=", 1)
        key = key.lstrip("+")
        if key == "diseases" and value and not value.lstrip().startswith("["):
            value = "[" + value + "]"  # diseases=a,b is the list [a, b]
        items.append(f"{key}={value}")
    schema = OmegaConf.structured(BenchmarkConfig)
    try:
        merged = OmegaConf.merge(schema, OmegaConf.from_dotlist(items))
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        bad_key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
        msg = str(getattr(exc, "msg", None) or exc).strip().splitlines()[0]
        if "not in" in msg or type(exc).__name__ == "ConfigKeyError":
            known = ", ".join(f.name for f in BenchmarkConfig.__dataclass_fields__.values())
            raise InputError(f"unknown key {bad_key!r}; known keys: {known}") from None
        raise InputError(f"bad value for key {bad_key!r}: {msg}") from None
    assert isinstance(cfg, BenchmarkConfig)
    return cfg


def main(argv: list[str]) -> int:
    """``python -m p4core benchmark [key=value ...]``; returns the exit code."""
    if any(a in ("-h", "--help", "help") for a in argv):
        print(USAGE)
        return 0
    root = logging.getLogger("p4core")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("p4core benchmark: %(levelname)s: %(message)s"))
    root.addHandler(handler)
    try:
        cfg = parse_args(argv)
        hints = {
            "signatures": "<path to disease_signatures.tsv.gz>",
            "indications": "<path to indications.tsv>",
            "knowledge_root": "<folder holding knowledge/ and drugs/>",
        }
        missing = [k for k in hints if not getattr(cfg, k)]
        if missing:
            raise InputError(
                f"missing required {', '.join(missing)}: pass " + " ".join(f"{k}={hints[k]}" for k in missing)
            )
        cfg.check()

        def report(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        report(f"p4core benchmark: loading inputs (knowledge from {cfg.knowledge_root}) ...")
        result = run_benchmark(cfg, report=report)
        if not result["n_evaluated"]:
            raise InputError(
                f"no disease could be evaluated ({result['n_skipped']} skipped: "
                + "; ".join(f"{s['disease']}: {s['reason']}" for s in result["skipped"])
                + ")"
            )
        files = write_outputs(result, cfg.out)
    except (P4coreError, OmegaConfBaseException) as exc:
        msg = " ".join(str(exc).split())
        print(f"p4core benchmark: error: {msg}", file=sys.stderr)
        return 2
    finally:
        root.removeHandler(handler)
    skipped = result["skipped"]
    print(
        f"p4core benchmark: {result['n_evaluated']} of {result['n_diseases']} diseases evaluated, "
        f"{len(skipped)} skipped"
        + (" (" + "; ".join(f"{s['disease']}: {s['reason']}" for s in skipped) + ")" if skipped else "")
        + f"; {result['knowledge']['n_candidates']} candidate drugs; {result['timings']['total_s']:.1f}s"
    )
    print("overall (mean over evaluated diseases):")
    print(summary_table(result))
    print(f"written: {', '.join(str(f) for f in files)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
