"""Fitting the linearised Hopf model to empirical FC: G sweeps over many networks, held-out
evaluation, real vs null fits, and regional heterogeneity a_j = bias + scale * map_j.

Similarity is computed over the strict upper triangle (i < j), as in
:func:`encephagen.analysis.fc.fc_similarity` (the reference; the batched torch versions here
are tested against it): Pearson r, and Spearman rho with ties given average ranks.

Protocol (no parameter is chosen on the data it is judged on):
* per network, G is chosen on the TRAINING group's FC (``fit_metric``, Pearson by default);
  the reported held-out figure is the TEST group's r at that G (hcp80 -> gw80,
  schaefer100-train706 -> schaefer100-test303);
* heterogeneity: (bias, scale) chosen on the training FC at the homogeneous best G, judged on
  the test FC, against maps shuffled by a spatial-autocorrelation-preserving (variogram) null
  where region distances exist, else a plain permutation null (stated in the output).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from encephagen.hopf import linear as hl

log = logging.getLogger(__name__)

__all__ = ["normalise_sc", "g_grid", "average_ranks", "UpperTarget", "upper_similarity", "SweepResult",
           "sweep", "best_index", "empirical_p", "heterogeneous_a", "normalise_map", "fit_heterogeneity",
           "HeterogeneityResult", "model_fc_at"]

SC_NORMS = ("max", "none")
METRICS = ("pearson", "spearman")


# ----------------------------------------------------------------------------- inputs
def normalise_sc(W, method: str = "max", scale: float = 0.2) -> np.ndarray:
    """Coupling matrix C from weights (..., n, n): ``'max'`` divides each network by its own
    maximum and multiplies by ``scale`` (Deco et al. 2017 use 0.2); ``'none'`` keeps the weights."""
    W = np.asarray(W, dtype=float)
    if method not in SC_NORMS:
        raise hl.HopfParameterError(f"sc normalisation must be one of {SC_NORMS}, got {method!r}")
    if method == "none":
        return W.copy()
    mx = W.max(axis=(-1, -2), keepdims=True)
    if (mx <= 0).any():
        raise hl.HopfParameterError("a connectome has no positive weight; cannot max-normalise")
    return W / mx * float(scale)


def g_grid(start: float, stop: float, num: int, spacing: str = "log") -> np.ndarray:
    """The G values of a sweep (config ``hopf.G``)."""
    if num < 1 or not (0 <= start <= stop):
        raise hl.HopfParameterError(f"hopf.G: need 0 <= start <= stop and num >= 1, got {start}, {stop}, {num}")
    if spacing == "log":
        if start <= 0:
            raise hl.HopfParameterError("hopf.G.start must be > 0 for log spacing")
        return np.geomspace(start, stop, num)
    if spacing == "linear":
        return np.linspace(start, stop, num)
    raise hl.HopfParameterError(f"hopf.G.spacing must be 'log' or 'linear', got {spacing!r}")


# ----------------------------------------------------------------------------- similarity (torch)
def average_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 1..m along the last axis, ties averaged (as scipy.stats.rankdata 'average')."""
    m = x.shape[-1]
    s, idx = torch.sort(x, dim=-1)
    pos = torch.arange(m, device=x.device).expand_as(s)
    new = torch.ones_like(s, dtype=torch.bool)
    new[..., 1:] = s[..., 1:] != s[..., :-1]
    start = torch.cummax(torch.where(new, pos, torch.zeros_like(pos)), dim=-1).values
    last = torch.ones_like(new)
    last[..., :-1] = new[..., 1:]
    end = torch.flip(torch.cummin(torch.flip(torch.where(last, pos, torch.full_like(pos, m)), [-1]), dim=-1).values,
                     [-1])
    r_sorted = (start + end).to(x.dtype) / 2 + 1
    return torch.empty_like(r_sorted).scatter_(-1, idx, r_sorted)


def _centre_norm(v: torch.Tensor) -> torch.Tensor:
    v = v - v.mean(-1, keepdim=True)
    return v / v.norm(dim=-1, keepdim=True)


@dataclass
class UpperTarget:
    """Empirical FCs prepared once: upper triangles, centred and unit-normed (and ranked)."""

    names: tuple[str, ...]
    iu: tuple[torch.Tensor, torch.Tensor]
    pearson: torch.Tensor   # (E, m)
    spearman: torch.Tensor  # (E, m)

    @classmethod
    def build(cls, emp: Mapping[str, np.ndarray], n: int, dtype=torch.float64, device=None) -> "UpperTarget":
        names = tuple(emp)
        iu = torch.triu_indices(n, n, 1, device=device)
        ups = []
        for k in names:
            m = np.asarray(emp[k], dtype=float)
            if m.shape != (n, n):
                raise hl.HopfParameterError(f"empirical FC {k!r} is {m.shape}, networks have {n} regions")
            u = torch.as_tensor(m, dtype=dtype, device=device)[iu[0], iu[1]]
            if not torch.isfinite(u).all():
                raise hl.HopfParameterError(f"empirical FC {k!r} has non-finite values in its upper triangle")
            ups.append(u)
        U = torch.stack(ups)
        return cls(names, (iu[0], iu[1]), _centre_norm(U), _centre_norm(average_ranks(U)))


def upper_similarity(F: torch.Tensor, target: UpperTarget, metrics: Sequence[str] = METRICS) -> dict:
    """{metric: (..., E)} similarity of model FCs F (..., n, n) with each target FC."""
    f = F[..., target.iu[0], target.iu[1]]
    out = {}
    bad = ~torch.isfinite(f).all(-1)
    if bad.any():
        f = torch.where(bad[..., None], torch.zeros_like(f), f)
    for met in metrics:
        g = average_ranks(f) if met == "spearman" else f
        g = g - g.mean(-1, keepdim=True)
        nrm = g.norm(dim=-1, keepdim=True)
        r = (g @ getattr(target, met).to(g.dtype).T) / nrm
        r = torch.where(bad[..., None] | (nrm == 0), torch.full_like(r, float("nan")), r)
        out[met] = r
    return out


# ----------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    """r[metric][target] (B, nG) for networks x G; G (nG,); the targets' names."""

    G: np.ndarray
    r: dict
    targets: tuple[str, ...]
    seconds: float = 0.0
    n_fc: int = 0

    def best(self, target: str, metric: str = "pearson") -> tuple[np.ndarray, np.ndarray]:
        """(index of best G, best r) per network on ``target`` (index -1 / NaN where all NaN)."""
        return best_index(self.r[metric][target])


def best_index(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """argmax along the last axis ignoring NaN (first maximum on ties); -1 and NaN if all NaN."""
    r = np.asarray(r, dtype=float)
    allnan = ~np.isfinite(r).any(-1)
    idx = np.argmax(np.where(np.isfinite(r), r, -np.inf), axis=-1)
    idx = np.where(allnan, -1, idx)
    val = np.where(allnan, np.nan, np.take_along_axis(r, np.maximum(idx, 0)[..., None], -1)[..., 0])
    return idx, val


def sweep(C, G_values, emp: Mapping[str, np.ndarray], a: float = hl.PARAMETERS["a"]["default"], *,
          metrics: Sequence[str] = METRICS, chunk: int | None = None, dtype=torch.float64,
          device=None, progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Analytic FC for every network in C (B, n, n) x every G, compared with each empirical FC.

    Homogeneous ``a < 0`` (omega and sigma do not enter FC, see :mod:`encephagen.hopf.linear`).
    Networks are processed ``chunk`` at a time (one eigendecomposition each; FC of all G as one
    batched matrix product ``Y Y^T`` with the rows of ``Y = V sqrt(D)`` unit-normed, so the
    correlation needs no second pass). ``progress(done, total)`` is called after each chunk.
    """
    for m in metrics:
        if m not in METRICS:
            raise hl.HopfParameterError(f"unknown similarity metric {m!r}; choose from {METRICS}")
    a = float(a)
    if not a < 0:
        raise hl.HopfParameterError(f"hopf.a must be < 0 for a homogeneous sweep, got {a}")
    C = np.asarray(C, dtype=float)
    if C.ndim == 2:
        C = C[None]
    B, n = C.shape[0], C.shape[-1]
    dev = torch.device(device) if device is not None else torch.device("cpu")
    G = torch.as_tensor(np.asarray(G_values, dtype=float), dtype=dtype, device=dev).reshape(-1)
    if (G < 0).any():
        raise hl.HopfParameterError("G values must be >= 0")
    nG = G.numel()
    target = UpperTarget.build(emp, n, dtype=dtype, device=dev)
    if chunk is None:  # keep one chunk's (chunk, nG, n, n) tensor near 16 MB (cache friendly)
        chunk = max(1, int(2 ** 24 // (nG * n * n * torch.finfo(dtype).bits // 8)))
    out = {m: {t: np.empty((B, nG)) for t in target.names} for m in metrics}
    t0 = time.perf_counter()
    for i0 in range(0, B, chunk):
        basis = hl.sweep_basis(C[i0:i0 + chunk], dtype=torch.float64, device=dev)
        if basis.symmetric:
            lam, V = basis.lam.to(dtype), basis.V.to(dtype)
            den = G[None, :, None] * lam[:, None, :] - a              # (b, nG, n) > 0
            Y = V[:, None] * torch.rsqrt(den)[..., None, :]           # rows: region loadings
            Y = Y / Y.norm(dim=-1, keepdim=True)
            F = Y @ Y.transpose(-1, -2)
        else:
            F = hl.fc_from_covariance(basis.covariance(G.to(torch.float64), a)).to(dtype)
        sims = upper_similarity(F, target, metrics)
        for m in metrics:
            v = sims[m].cpu().numpy()
            for k, t in enumerate(target.names):
                out[m][t][i0:i0 + chunk] = v[..., k]
        if progress is not None:
            progress(min(i0 + chunk, B), B)
    secs = time.perf_counter() - t0
    return SweepResult(G=G.cpu().numpy().astype(float), r=out, targets=target.names, seconds=secs, n_fc=B * nG)


def model_fc_at(C, G, a=hl.PARAMETERS["a"]["default"], omega=hl.PARAMETERS["omega"]["default"],
                sigma=hl.PARAMETERS["sigma"]["default"]) -> np.ndarray:
    """Analytic FC (B, n, n) of networks C (B, n, n) at per-network G (B,) (NaN where G is NaN)."""
    C = np.asarray(C, dtype=float)
    G = np.asarray(G, dtype=float).reshape(-1)
    out = np.full(C.shape, np.nan)
    ok = np.isfinite(G)
    if ok.any():
        out[ok] = hl.fc(C[ok], G[ok], a, omega, sigma).cpu().numpy()
    return out


def empirical_p(real: float, nulls: Sequence[float]) -> dict:
    """+1-corrected empirical p of a real value against null values (encephagen.analysis.stats)."""
    from encephagen.analysis.stats import empirical_p as _p

    return _p(real, nulls)


# ----------------------------------------------------------------------------- heterogeneity
MAP_NORMS = ("minmax", "zscore")


def normalise_map(x, method: str = "minmax") -> np.ndarray:
    """A regional map scaled for a_j = bias + scale * map_j: 'minmax' to [0, 1] (Demirtas et al. 2019)
    or 'zscore'."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise hl.HopfParameterError("the heterogeneity map has non-finite values; fill or drop them first")
    if method == "minmax":
        rng = x.max(-1, keepdims=True) - x.min(-1, keepdims=True)
        return (x - x.min(-1, keepdims=True)) / np.where(rng > 0, rng, 1.0)
    if method == "zscore":
        sd = x.std(-1, keepdims=True)
        return (x - x.mean(-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    raise hl.HopfParameterError(f"hopf.heterogeneity.normalise must be one of {MAP_NORMS}, got {method!r}")


def heterogeneous_a(map_norm, bias, scale) -> np.ndarray:
    """a_j = bias + scale * map_j, broadcast: map (..., n), bias and scale (...)."""
    return np.asarray(bias, dtype=float)[..., None] + np.asarray(scale, dtype=float)[..., None] * np.asarray(map_norm)


@dataclass
class HeterogeneityResult:
    G: float
    bias_grid: np.ndarray
    scale_grid: np.ndarray
    r_train: np.ndarray            # (n_bias, n_scale) real map
    r_test: np.ndarray
    best: dict                     # bias, scale, r_train, r_test, hom_r_train, hom_r_test
    null_kind: str                 # 'variogram' | 'permutation'
    null_seed: int
    null_best_train: np.ndarray    # (n_null,)
    null_test: np.ndarray          # (n_null,) test r at each null map's train-best (bias, scale)
    p_test: float
    p_gain: float
    notes: list = field(default_factory=list)


def _grid_similarity(C, G, A, target: UpperTarget, metric: str, chunk: int = 512) -> np.ndarray:
    """r (K, E) for a batch of per-region a vectors A (K, n) on one symmetric network C."""
    Ct = torch.as_tensor(C, dtype=torch.float64)
    out = []
    for i in range(0, A.shape[0], chunk):
        P = hl.covariance_closed_form(Ct, G, torch.as_tensor(A[i:i + chunk]), 1.0)
        out.append(upper_similarity(hl.fc_from_covariance(P), target, (metric,))[metric].numpy())
    return np.concatenate(out)


def fit_heterogeneity(C, map_values, emp_train, emp_test, G: float, bias_grid, scale_grid, *,
                      a_hom: float = hl.PARAMETERS["a"]["default"], normalise: str = "minmax",
                      metric: str = "pearson", n_null: int = 1000, seed: int, refine: int = 2,
                      distances: np.ndarray | None = None, null: str = "auto",
                      progress: Callable[[int, int], None] | None = None) -> HeterogeneityResult:
    """Fit a_j = bias + scale * map_j on the training FC at coupling G, judge it on the test FC.

    C is the (normalised, symmetric) coupling matrix of one network. ``bias_grid`` (< 0) and
    ``scale_grid`` in units of |bias| (s = scale / |bias|, so a_j = bias (1 - s map_j)): the
    scale follows the bias, the natural axis because FC depends on (G, a) through G/|a| only
    (at a fixed G the bias plays the role of G). After the grid, ``refine`` rounds of a local
    5 x 5 grid (log bias, s) around the best point, halving the step each round, sharpen the
    optimum. The homogeneous model (bias = a_hom, scale = 0) is evaluated beside it. Unstable
    (bias, scale) (the fixed point loses stability) are NaN and never chosen.

    Null: the map is shuffled (``null``: 'variogram' needs ``distances``; 'permutation'; 'auto'
    picks variogram when distances are given) and each surrogate goes through the same fit on
    the training FC; p-values are +1-corrected: ``p_test`` for the held-out r, ``p_gain`` for
    the held-out gain over the homogeneous model (the same ordering, both reported).
    """
    C = np.asarray(C, dtype=float)
    n = C.shape[0]
    if not hl.is_symmetric(torch.as_tensor(C)):
        raise hl.HopfParameterError("fit_heterogeneity needs a symmetric C (closed form); symmetrise first")
    x = np.asarray(map_values, dtype=float)
    if x.shape != (n,):
        raise hl.HopfParameterError(f"heterogeneity map has {x.shape} values, the network {n} regions")
    bias_grid = np.asarray(bias_grid, dtype=float)
    scale_grid = np.asarray(scale_grid, dtype=float)
    if (bias_grid >= 0).any():
        raise hl.HopfParameterError("hopf.heterogeneity.bias values must all be < 0")
    target = UpperTarget.build({"train": emp_train, "test": emp_test}, n)
    lb_step = float(np.mean(np.abs(np.diff(np.log(-bias_grid))))) if bias_grid.size > 1 else 0.25
    s_step = float(np.mean(np.abs(np.diff(scale_grid)))) if scale_grid.size > 1 else 0.25

    def score(xn, b, s):
        A = heterogeneous_a(xn[None, :], b, s * np.abs(b))
        r = _grid_similarity(C, G, A, target, metric)
        return r[:, 0], r[:, 1]

    def fit_map(xn):
        bb, ss = np.meshgrid(bias_grid, scale_grid, indexing="ij")
        tr, te = score(xn, bb.ravel(), ss.ravel())
        if not np.isfinite(tr).any():
            return tr.reshape(bb.shape), te.reshape(bb.shape), None
        k = int(np.nanargmax(np.where(np.isfinite(tr), tr, -np.inf)))
        best = [bb.ravel()[k], ss.ravel()[k], tr[k], te[k]]
        dl, ds = lb_step, s_step
        for _ in range(refine):
            lb = np.log(-best[0]) + np.linspace(-dl, dl, 5)
            sv = best[1] + np.linspace(-ds, ds, 5)
            B2, S2 = np.meshgrid(-np.exp(lb), sv, indexing="ij")
            t2, e2 = score(xn, B2.ravel(), S2.ravel())
            if np.isfinite(t2).any():
                k2 = int(np.nanargmax(np.where(np.isfinite(t2), t2, -np.inf)))
                if t2[k2] > best[2]:
                    best = [B2.ravel()[k2], S2.ravel()[k2], t2[k2], e2[k2]]
            dl, ds = dl / 2, ds / 2
        return tr.reshape(bb.shape), te.reshape(bb.shape), best

    xn = normalise_map(x, normalise)
    r_tr, r_te, b = fit_map(xn)
    hom = _grid_similarity(C, G, np.full((1, n), float(a_hom)), target, metric)[0]
    if b is None:
        raise hl.HopfParameterError("no (bias, scale) on the grid gives a stable fixed point")
    best = dict(bias=float(b[0]), scale=float(b[1] * abs(b[0])), scale_relative=float(b[1]),
                r_train=float(b[2]), r_test=float(b[3]), hom_r_train=float(hom[0]), hom_r_test=float(hom[1]))
    notes = []
    if bias_grid.size > 1 and not (bias_grid.min() < b[0] < bias_grid.max()):
        notes.append("best bias at or beyond the edge of the grid")
    if scale_grid.size > 1 and not (scale_grid.min() < b[1] < scale_grid.max()):
        notes.append("best scale at or beyond the edge of the grid")
    if null == "auto":
        null = "variogram" if distances is not None else "permutation"
    from encephagen.analysis.hierarchy import VariogramSurrogates, permutation_surrogates

    if null == "variogram":
        if distances is None:
            raise hl.HopfParameterError("hopf.heterogeneity.null 'variogram' needs region distances")
        surr = VariogramSurrogates(x, distances)(n_null, seed) if n_null else np.empty((0, n))
    elif null == "permutation":
        surr = permutation_surrogates(x, n_null, seed) if n_null else np.empty((0, n))
    else:
        raise hl.HopfParameterError(f"hopf.heterogeneity.null must be auto|variogram|permutation, got {null!r}")
    nb_tr = np.full(n_null, np.nan)
    nb_te = np.full(n_null, np.nan)
    for s in range(n_null):
        _, _, bs = fit_map(normalise_map(surr[s], normalise))
        if bs is not None:
            nb_tr[s], nb_te[s] = bs[2], bs[3]
        if progress is not None and (s + 1) % 50 == 0:
            progress(s + 1, n_null)
    p_te = empirical_p(best["r_test"], nb_te)["p_greater"] if n_null else math.nan
    p_gain = empirical_p(best["r_test"] - best["hom_r_test"], nb_te - best["hom_r_test"])["p_greater"] \
        if n_null else math.nan
    return HeterogeneityResult(G=float(G), bias_grid=bias_grid, scale_grid=scale_grid, r_train=r_tr, r_test=r_te,
                               best=best, null_kind=null, null_seed=int(seed), null_best_train=nb_tr,
                               null_test=nb_te, p_test=float(p_te), p_gain=float(p_gain), notes=notes)
