"""Null-connectome families: a registry of named generators with documented invariants.

Every family takes a prepared :class:`Source` (the real connectome after any configured,
recorded thresholding, plus its full pairwise length matrix) and a seed, and returns one
null. Lengths are NOT a family's business: every network, real or null, gets its edge
lengths from :mod:`encephagen.nulls.lengths` (one rule).

Families (``FAMILIES[name].invariants`` holds the same text, tests check each claim):

============== ==================================================================================
real           the source itself (null_index 0): the real network treated exactly as nulls are
degree         Maslov-Sneppen double-edge swaps (bctpy randmio_und / randmio_dir scheme, compiled):
               degree (directed: in- and out-degree) exact, edge count exact, weight values exact
               (weights travel with edges), strength approximate
degree_connected  as ``degree`` and every null stays (weakly) connected (randmio_und_connected)
strength       Rubinov & Sporns (2011) as bctpy null_model_und_sign / null_model_dir_sign:
               degree-preserving swaps, then the original weights placed in the order of expected
               weight s_i s_j; degree exact, weight values exact, strength approximate (Pearson
               r with the real strengths typically >= 0.99). On a complete graph only the weight
               placement runs (recorded: 0 swaps requested) -- still a real randomisation
er             Erdos-Renyi G(n, m): m edges placed uniformly at random (same density), carrying a
               random permutation of the real weight values; edge count and weight values exact
weight_perm    topology fixed, weights permuted over the existing edges: binary adjacency exact,
               weight values exact (the only meaningful null for dense or complete matrices)
richclub       swaps restricted so that the number of rich-rich, feeder and local edges is kept
               (rich club = nodes with degree above the (1 - rich_fraction) degree quantile) and
               each class keeps its weights: degree exact, rich-club coefficient at the club's
               level exact, weight values per class exact
geometry       swaps restricted to keep the number of edges in each of ``n_bins`` length bins
               (equal-count bins of the real edges' lengths; after Betzel & Bassett 2018), each
               bin keeping its weights: degree exact, edges per length bin exact, so the
               edge-length distribution is kept up to within-bin spread
============== ==================================================================================

Refusal: a family that cannot act raises :class:`NullRefusal` with the reason (complete
graph for swap families and ER, disconnected source for degree_connected, no disjoint edge
pair i.e. star-like graphs, fewer achieved swaps than ``min_swaps_per_edge`` x edges, one
weight value for weight_perm, no rich club). :func:`generate_batch` turns that into an
error or, when asked, a recorded skip -- never a copy of the input.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from encephagen.connectome import Connectome, n_components
from encephagen.nulls import fast
from encephagen.nulls.io import NullBatch
from encephagen.nulls.lengths import edge_lengths, pair_lengths
from encephagen.seeds import derive_seed, numpy_rng

log = logging.getLogger(__name__)

THRESHOLD_METHODS = ("none", "density", "absolute")


class NullRefusal(RuntimeError):
    """A family cannot act on a source; ``reason`` says why (recorded when skipped)."""

    def __init__(self, family: str, source: str, reason: str):
        self.family, self.source, self.reason = family, source, reason
        super().__init__(f"null family {family!r} cannot act on {source!r}: {reason}")


# --------------------------------------------------------------------------- source
@dataclass(frozen=True)
class Source:
    """The matrix nulls are made from, its full pairwise lengths, and how it was obtained."""

    name: str
    weights: np.ndarray
    directed: bool
    pair_lengths: np.ndarray
    labels: tuple[str, ...]
    length_rule: Mapping = field(default_factory=dict)
    threshold: Mapping = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @property
    def adjacency(self) -> np.ndarray:
        return self.weights != 0

    @property
    def n_edges(self) -> int:
        a = self.adjacency
        return int(a.sum() if self.directed else np.triu(a, 1).sum())

    @property
    def max_edges(self) -> int:
        n = self.n
        return n * (n - 1) if self.directed else n * (n - 1) // 2

    @property
    def density(self) -> float:
        return self.n_edges / self.max_edges

    def real_lengths(self) -> np.ndarray:
        return edge_lengths(self.weights, self.pair_lengths)


def apply_threshold(W: np.ndarray, threshold: Mapping | None, directed: bool, name: str
                    ) -> tuple[np.ndarray, dict]:
    """Explicit thresholding (only where a config asks); returns (matrix, record).

    ``{"method": "density", "value": p}`` keeps the strongest ``round(p * max_edges)`` edges
    (bctpy ``threshold_proportional``; ties at the cut broken by bctpy's sort);
    ``{"method": "absolute", "value": w}`` keeps edges with weight >= w; ``none`` / None
    keeps all.
    """
    W = np.asarray(W, dtype=np.float64)
    th = dict(threshold or {"method": "none"})
    method = th.get("method", "none")
    if method not in THRESHOLD_METHODS:
        raise ValueError(f"{name}: threshold method must be one of {THRESHOLD_METHODS}, got {method!r}")
    before = int((W != 0).sum())
    if method == "none":
        out = W.copy()
    else:
        if "value" not in th:
            raise ValueError(f"{name}: threshold method {method!r} needs a 'value'")
        value = float(th["value"])
        if method == "density":
            if not 0 < value <= 1:
                raise ValueError(f"{name}: density threshold must be in (0, 1], got {value}")
            import bct

            out = bct.threshold_proportional(W, value, copy=True)
        else:
            if value < 0:
                raise ValueError(f"{name}: absolute threshold must be >= 0, got {value}")
            out = np.where(W >= value, W, 0.0)
    after = int((out != 0).sum())
    rec = {"method": method, "value": th.get("value"), "nonzero_before": before, "nonzero_after": after}
    if method != "none":
        log.info("%s: thresholded (%s %s): %d -> %d nonzero entries", name, method, th.get("value"),
                 before, after)
    return out, rec


def prepare_source(connectome: Connectome, threshold: Mapping | None = None, name: str | None = None
                   ) -> Source:
    """Validate the connectome, apply the (recorded) threshold, build the pair lengths."""
    name = name or connectome.name
    W = np.asarray(connectome.weights, dtype=np.float64)
    connectome.validate(isolated="allow", source=name)
    W, th = apply_threshold(W, threshold, connectome.directed, name)
    P, rule = pair_lengths(connectome.lengths, connectome.distances, name=name)
    return Source(name=name, weights=W, directed=bool(connectome.directed), pair_lengths=P,
                  labels=tuple(connectome.labels), length_rule=rule, threshold=th)


# --------------------------------------------------------------------------- results
@dataclass
class NullResult:
    weights: np.ndarray
    swaps_requested: int = 0
    swaps_achieved: int = 0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    invariants: Mapping[str, str]
    defaults: Mapping[str, Any]
    reference: str
    func: Callable[[Source, int, Mapping], NullResult]
    check: Callable[[Source, Mapping], str | None]


def null_seed(master_seed: int, atlas: str, family: str, null_index: int) -> int:
    """The seed of null ``null_index`` of ``family`` on ``atlas`` (independent of batching)."""
    return derive_seed(master_seed, atlas, family, int(null_index))


# --------------------------------------------------------------------------- checks
def _check_swappable(src: Source, p: Mapping) -> str | None:
    k = src.n_edges
    if k >= src.max_edges:
        return (f"complete graph ({k} of {src.max_edges} possible edges): no edge swap can change it "
                f"(bctpy would return it unchanged); use weight_perm or a configured threshold")
    if k < 2:
        return f"only {k} edge(s): nothing to swap"
    return None


def _check_connected(src: Source, p: Mapping) -> str | None:
    r = _check_swappable(src, p)
    if r:
        return r
    c = n_components(src.weights)
    if c > 1:
        return f"the source has {c} (weakly) connected components; connectedness cannot be preserved"
    return None


def _check_er(src: Source, p: Mapping) -> str | None:
    if src.n_edges >= src.max_edges:
        return "complete graph: an Erdos-Renyi graph of the same density is the same complete graph"
    if src.n_edges == 0:
        return "no edges"
    return None


def _check_perm(src: Source, p: Mapping) -> str | None:
    vals = src.weights[src.adjacency if src.directed else np.triu(src.adjacency, 1)]
    if np.unique(vals).size < 2:
        return "all edges carry the same weight: permuting weights changes nothing"
    return None


def _check_strength(src: Source, p: Mapping) -> str | None:
    if src.n_edges < 2:
        return f"only {src.n_edges} edge(s)"
    return None


def _check_none(src: Source, p: Mapping) -> str | None:
    return None


# --------------------------------------------------------------------------- helpers
def _degree(src: Source) -> np.ndarray:
    A = src.adjacency
    return (A.sum(0) + A.sum(1)) if src.directed else A.sum(0)


def rich_club_classes(src: Source, rich_fraction: float) -> tuple[np.ndarray, dict]:
    """Pair classes 0 local (periphery-periphery), 1 feeder, 2 rich (club-club)."""
    if not 0 < rich_fraction < 1:
        raise ValueError(f"rich_fraction must be in (0, 1), got {rich_fraction}")
    deg = _degree(src)
    k_level = float(np.quantile(deg, 1 - rich_fraction))
    # ties at the top (dense graphs): lower the level to the next distinct degree until the
    # club has at least two members
    levels = np.unique(deg)[::-1]
    for lv in levels[1:]:
        if (deg > k_level).sum() >= 2:
            break
        k_level = float(min(k_level, lv))
    club = deg > k_level
    C = club[:, None].astype(np.int64) + club[None, :].astype(np.int64)
    return C, {"k_level": k_level, "club": np.flatnonzero(club).tolist(), "club_size": int(club.sum())}


def length_bin_classes(src: Source, n_bins: int) -> tuple[np.ndarray, dict]:
    """Pair classes = equal-count bins of the real edges' lengths (all pairs binned)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    A = src.adjacency if src.directed else np.triu(src.adjacency, 1)
    el = src.pair_lengths[A]
    inner = np.quantile(el, np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 else np.array([])
    C = np.digitize(src.pair_lengths, inner).astype(np.int64)
    return C, {"bin_edges_mm": inner.tolist()}


def _refuse_if_short(name: str, src: Source, res: dict, p: Mapping) -> None:
    k = res["k"]
    need = float(p["min_swaps_per_edge"]) * k
    if res["aborted"]:
        raise NullRefusal(name, src.name, f"no two disjoint edges found in {res['max_degenerate']} "
                          f"draws in a row (star-like graph); {res['achieved']} swaps made")
    if res["achieved"] == 0 or res["achieved"] < need:
        raise NullRefusal(name, src.name,
                          f"only {res['achieved']} of {res['requested']} requested swaps achieved "
                          f"({res['achieved'] / max(k, 1):.2f} per edge, minimum {p['min_swaps_per_edge']} "
                          f"per edge); the graph is too dense or constrained to randomise")


def _swap_info(res: dict) -> dict:
    return {"attempts": res["attempts"], "edges": res["k"], "max_attempts_per_iteration": res["max_attempts"]}


# --------------------------------------------------------------------------- generators
def _real(src: Source, seed: int, p: Mapping) -> NullResult:
    return NullResult(src.weights.copy(), 0, 0, {"note": "the source network itself"})


def _degree_gen(connected: bool):
    name = "degree_connected" if connected else "degree"

    def gen(src: Source, seed: int, p: Mapping) -> NullResult:
        res = fast.rewire(src.weights, p["itr"], seed, src.directed, connected=connected,
                          max_degenerate=p.get("max_degenerate"))
        _refuse_if_short(name, src, res, p)
        return NullResult(res["weights"], res["requested"], res["achieved"], _swap_info(res))

    return gen


def _strength(src: Source, seed: int, p: Mapping) -> NullResult:
    ss = np.random.SeedSequence(int(seed)).generate_state(2, dtype=np.uint64)
    s_bin, s_wei = int(ss[0] >> np.uint64(1)), int(ss[1] >> np.uint64(1))
    if src.n_edges >= src.max_edges:
        A, req, ach, info = src.weights, 0, 0, {"note": "complete graph: weights re-placed only "
                                                        "(as bctpy null_model_und_sign)"}
    else:
        res = fast.rewire(src.weights, p["itr"], s_bin, src.directed,
                          max_degenerate=p.get("max_degenerate"))
        _refuse_if_short("strength", src, res, p)
        A, req, ach, info = res["weights"], res["requested"], res["achieved"], _swap_info(res)
    W = fast.assign_strength_weights(src.weights, A, s_wei, src.directed, wei_freq=p["wei_freq"])
    return NullResult(W, req, ach, info)


def _er(src: Source, seed: int, p: Mapping) -> NullResult:
    rng = numpy_rng(seed)
    n = src.n
    if src.directed:
        off = np.flatnonzero(~np.eye(n, dtype=bool).ravel())
        vals = src.weights[src.adjacency]
        pick = rng.choice(off, size=vals.size, replace=False)
        W = np.zeros(n * n)
        W[pick] = rng.permutation(vals)
        W = W.reshape(n, n)
    else:
        iu = np.triu_indices(n, 1)
        vals = src.weights[iu][src.weights[iu] != 0]
        pick = rng.choice(iu[0].size, size=vals.size, replace=False)
        W = np.zeros((n, n))
        W[iu[0][pick], iu[1][pick]] = rng.permutation(vals)
        W = W + W.T
    return NullResult(W, 0, 0, {"components": n_components(W)})


def _weight_perm(src: Source, seed: int, p: Mapping) -> NullResult:
    rng = numpy_rng(seed)
    if src.directed:
        W = src.weights.copy()
        mask = src.adjacency
        W[mask] = rng.permutation(W[mask])
    else:
        n = src.n
        iu = np.triu_indices(n, 1)
        up = src.weights[iu]
        nz = up != 0
        up = up.copy()
        up[nz] = rng.permutation(up[nz])
        W = np.zeros((n, n))
        W[iu] = up
        W = W + W.T
    return NullResult(W, 0, 0, {})


def _classed(name: str, classes: Callable[[Source, Mapping], tuple[np.ndarray, dict]]):
    def gen(src: Source, seed: int, p: Mapping) -> NullResult:
        C, info = classes(src, p)
        res = fast.rewire(src.weights, p["itr"], seed, src.directed, pair_class=C,
                          max_degenerate=p.get("max_degenerate"))
        _refuse_if_short(name, src, res, p)
        info = dict(info)
        info.update(_swap_info(res))
        return NullResult(res["weights"], res["requested"], res["achieved"], info)

    return gen


def _check_richclub(src: Source, p: Mapping) -> str | None:
    r = _check_swappable(src, p)
    if r:
        return r
    _, info = rich_club_classes(src, p["rich_fraction"])
    if info["club_size"] < 2:
        return (f"no rich club: {info['club_size']} node(s) have degree above the "
                f"{1 - p['rich_fraction']:.2f} quantile ({info['k_level']})")
    return None


_SWAP_DEFAULTS = {"itr": 10, "min_swaps_per_edge": 0.5, "max_degenerate": None}

FAMILIES: dict[str, Family] = {}


def _register(f: Family) -> None:
    FAMILIES[f.name] = f


_register(Family(
    "real", "the source network itself, treated like every null", {"everything": "exact (it is the source)"},
    {}, "-", _real, _check_none))
_register(Family(
    "degree", "degree-preserving rewiring (Maslov-Sneppen)",
    {"degree": "exact (directed: in- and out-degree)", "edge count": "exact", "weight values": "exact",
     "strength": "approximate (not targeted)"},
    _SWAP_DEFAULTS, "Maslov & Sneppen 2002; bctpy randmio_und/randmio_dir", _degree_gen(False),
    _check_swappable))
_register(Family(
    "degree_connected", "degree-preserving rewiring that keeps the graph connected",
    {"degree": "exact", "edge count": "exact", "weight values": "exact",
     "connectedness": "exact (one weakly connected component)"},
    _SWAP_DEFAULTS, "bctpy randmio_und_connected", _degree_gen(True), _check_connected))
_register(Family(
    "strength", "degree- and strength-preserving (Rubinov-Sporns weight placement)",
    {"degree": "exact", "weight values": "exact", "strength": "approximate (Pearson r >= 0.95 on tvb96/schaefer100)"},
    {**_SWAP_DEFAULTS, "wei_freq": 0.1}, "Rubinov & Sporns 2011; bctpy null_model_und_sign",
    _strength, _check_strength))
_register(Family(
    "er", "Erdos-Renyi, same density and weight values",
    {"edge count": "exact", "weight values": "exact"}, {}, "Erdos & Renyi 1959", _er, _check_er))
_register(Family(
    "weight_perm", "weights permuted on the fixed topology",
    {"binary adjacency": "exact", "degree": "exact", "weight values": "exact"}, {}, "-", _weight_perm,
    _check_perm))
_register(Family(
    "richclub", "degree-preserving swaps keeping rich-club, feeder and local edge counts",
    {"degree": "exact", "rich-club coefficient at the club level": "exact",
     "edges per class (rich/feeder/local)": "exact", "weight values per class": "exact"},
    {**_SWAP_DEFAULTS, "rich_fraction": 0.15}, "Colizza et al. 2006; van den Heuvel & Sporns 2011",
    _classed("richclub", lambda s, p: rich_club_classes(s, p["rich_fraction"])), _check_richclub))
_register(Family(
    "geometry", "degree-preserving swaps within edge-length bins",
    {"degree": "exact", "edges per length bin": "exact", "weight values per bin": "exact",
     "edge-length distribution": "approximate (within-bin spread)"},
    {**_SWAP_DEFAULTS, "n_bins": 10}, "Betzel & Bassett 2018 (PNAS); Betzel et al. 2016",
    _classed("geometry", lambda s, p: length_bin_classes(s, int(p["n_bins"]))), _check_swappable))


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown null family {name!r}; known: {sorted(FAMILIES)}") from None


def family_params(name: str, params: Mapping | None = None) -> dict:
    """The family's defaults updated with ``params`` (unknown keys are an error naming them)."""
    fam = get_family(name)
    p = dict(fam.defaults)
    for k, v in (params or {}).items():
        if k not in p:
            raise ValueError(f"null family {name!r} has no parameter {k!r}; it takes {sorted(p) or 'none'}")
        p[k] = v
    return p


def check_family(src: Source, family: str, params: Mapping | None = None) -> str | None:
    """Why ``family`` cannot act on ``src`` (None when it can)."""
    return get_family(family).check(src, family_params(family, params))


def generate_null(src: Source, family: str, seed: int, params: Mapping | None = None) -> NullResult:
    """One null of ``family`` from ``src`` with ``seed``; raises :class:`NullRefusal`."""
    fam = get_family(family)
    p = family_params(family, params)
    reason = fam.check(src, p)
    if reason:
        raise NullRefusal(family, src.name, reason)
    return fam.func(src, int(seed), p)


def generate_batch(src: Source, family: str, null_indices: Sequence[int], master_seed: int,
                   params: Mapping | None = None, on_refusal: str = "error", progress: bool = False,
                   atlas: str | None = None) -> NullBatch:
    """Nulls ``null_indices`` of ``family`` (seeds from (master_seed, atlas, family, index)).

    ``on_refusal='skip'`` returns an empty batch with ``status='skipped'`` and the reason;
    ``'error'`` raises :class:`NullRefusal`.
    """
    if on_refusal not in ("error", "skip"):
        raise ValueError(f"on_refusal must be 'error' or 'skip', got {on_refusal!r}")
    atlas = atlas or src.name
    idx = np.asarray(list(null_indices), dtype=np.int64)
    if family == "real" and not np.array_equal(idx, [0]):
        raise ValueError(f"family 'real' has exactly one network, null_index 0; asked for {idx.tolist()}")
    p = family_params(family, params)
    n = src.n
    weights = np.zeros((idx.size, n, n))
    seeds = np.array([null_seed(master_seed, atlas, family, i) for i in idx], dtype=np.int64)
    req = np.zeros(idx.size, dtype=np.int64)
    ach = np.zeros(idx.size, dtype=np.int64)
    status, reason = "ok", ""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=idx.size, desc=f"{atlas} {family}", unit="null")
    t0 = time.perf_counter()
    try:
        for q, (i, s) in enumerate(zip(idx, seeds)):
            res = generate_null(src, family, int(s), p)
            weights[q], req[q], ach[q] = res.weights, res.swaps_requested, res.swaps_achieved
            if bar is not None:
                bar.update(1)
    except NullRefusal as exc:
        if on_refusal == "error":
            raise
        log.warning("%s", exc)
        status, reason = "skipped", exc.reason
        weights = np.zeros((0, n, n))
        idx, seeds, req, ach = (np.zeros(0, dtype=np.int64) for _ in range(4))
    finally:
        if bar is not None:
            bar.close()
    log.info("%s %s: %d nulls in %.2f s (%s)", atlas, family, idx.size, time.perf_counter() - t0, status)
    lengths = edge_lengths(weights, src.pair_lengths)
    return NullBatch(
        family=family, source=atlas, directed=src.directed, labels=src.labels, weights=weights,
        lengths=lengths, null_index=idx, seed=seeds, swaps_requested=req, swaps_achieved=ach,
        source_weights=src.weights, pair_lengths=src.pair_lengths, status=status, reason=reason,
        master_seed=int(master_seed), params={**p, "family_summary": get_family(family).summary,
                                              "reference": get_family(family).reference},
        threshold=dict(src.threshold), length_rule=dict(src.length_rule))
