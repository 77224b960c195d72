"""Functional-connectivity comparisons: simulated vs empirical FC, SC-only baselines, G-sweep fits.

Every similarity is computed over the strict upper triangle (i < j) of the matrices: the
diagonal (1 by construction) is excluded and FC is treated as symmetric. All functions
accept arrays with leading batch axes ``(..., n, n)`` and return arrays of shape ``(...)``.

Baselines (``sc_fc_baselines``) are what the structural connectome alone predicts, with
no dynamics: a simulated FC must beat these to claim that the model adds anything
(the predecessor's headline FC r = 0.42 was below log-SC's 0.445).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy import stats

__all__ = ["upper", "fc_similarity", "fisher_z_mean", "sc_fc_baselines", "rankdata_last"]


def _check_square(m: np.ndarray, name: str) -> int:
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise ValueError(f"{name} must have shape (..., n, n), got {m.shape}")
    return m.shape[-1]


def upper(m, k: int = 1) -> np.ndarray:
    """Strict upper triangle (i < j for k=1) of ``(..., n, n)`` as ``(..., n*(n-1)/2)``."""
    m = np.asarray(m)
    n = _check_square(m, "matrix")
    iu = np.triu_indices(n, k=k)
    return m[..., iu[0], iu[1]]


def rankdata_last(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties averaged, as scipy.stats.rankdata)."""
    return stats.rankdata(x, axis=-1)


def _pearson_last(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    num = (a * b).sum(axis=-1)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = num / den
    return np.where(den > 0, r, np.nan)


def fc_similarity(sim_fc, emp_fc, mask: np.ndarray | None = None) -> dict:
    """Pearson and Spearman r between simulated and empirical FC over the upper triangle.

    ``sim_fc`` is ``(..., n, n)`` (any leading batch axes: networks, seeds, G values);
    ``emp_fc`` is ``(n, n)`` or broadcastable to ``sim_fc``. ``mask`` (n, n) bool optionally
    restricts the edges (still upper triangle only). Returns ``{"pearson": (...), "spearman": (...)}``
    (floats when there are no batch axes). A constant simulated FC gives NaN, never 0.
    """
    sim = np.asarray(sim_fc, dtype=float)
    emp = np.asarray(emp_fc, dtype=float)
    n = _check_square(sim, "sim_fc")
    if _check_square(emp, "emp_fc") != n:
        raise ValueError(f"sim_fc is {n}x{n} but emp_fc is {emp.shape[-1]}x{emp.shape[-1]}")
    a, b = upper(sim), upper(emp)
    if mask is not None:
        sel = upper(np.asarray(mask, dtype=bool))
        a, b = a[..., sel], b[..., sel]
    if not np.isfinite(b).all():
        raise ValueError("emp_fc has non-finite values in its upper triangle")
    a, b = np.broadcast_arrays(a, b)
    pear = _pearson_last(a, b)
    spear = _pearson_last(rankdata_last(a), rankdata_last(b))
    bad = ~np.isfinite(a).all(axis=-1)
    pear = np.where(bad, np.nan, pear)
    spear = np.where(bad, np.nan, spear)
    if pear.ndim == 0:
        return {"pearson": float(pear), "spearman": float(spear)}
    return {"pearson": pear, "spearman": spear}


def fisher_z_mean(fcs, axis: int = 0, clip: float = 1 - 1e-7) -> np.ndarray:
    """Group FC by Fisher-z averaging: tanh(mean(arctanh(r))) over ``axis``.

    Off-diagonal values are clipped to (-clip, clip) before arctanh; the diagonal of the
    result is set to 1 when the last two axes are square.
    """
    fcs = np.asarray(fcs, dtype=float)
    if fcs.ndim < 3:
        raise ValueError(f"fisher_z_mean needs a stack of matrices (k, n, n), got shape {fcs.shape}")
    z = np.arctanh(np.clip(fcs, -clip, clip))
    out = np.tanh(z.mean(axis=axis))
    if out.ndim >= 2 and out.shape[-1] == out.shape[-2]:
        idx = np.arange(out.shape[-1])
        out[..., idx, idx] = 1.0
    return out


def sc_fc_baselines(sc, fc, log_offset: float | None = None) -> dict:
    """What SC alone predicts of FC, no dynamics: correlations over the upper triangle.

    SC is symmetrised ((W + W.T)/2, FC is symmetric) and max-normalised. Returned keys:
    ``raw_pearson``, ``raw_spearman`` (on SC weights, all edges), ``log_pearson``,
    ``log_spearman`` (log10 of SC over the edges with SC > 0, as is usual; Spearman of
    log equals Spearman of raw on those edges), ``n_edges``, ``n_edges_log`` and
    ``log_offset`` (None: only positive edges used; a number: log10(SC + offset) over all edges).
    """
    sc = np.asarray(sc, dtype=float)
    fc = np.asarray(fc, dtype=float)
    n = _check_square(sc, "sc")
    if sc.ndim != 2 or fc.shape != (n, n):
        raise ValueError(f"sc {sc.shape} and fc {fc.shape} must both be (n, n)")
    s = (sc + sc.T) / 2.0
    mx = s.max()
    if not mx > 0:
        raise ValueError("sc has no positive weight")
    s = s / mx
    a, b = upper(s), upper(fc)
    raw = fc_similarity(s, fc)
    if log_offset is None:
        pos = a > 0
        la, lb = np.log10(a[pos]), b[pos]
    else:
        la, lb = np.log10(a + float(log_offset)), b
    lp = float(stats.pearsonr(la, lb)[0])
    ls = float(stats.spearmanr(la, lb)[0])
    return {"raw_pearson": raw["pearson"], "raw_spearman": raw["spearman"],
            "log_pearson": lp, "log_spearman": ls,
            "n_edges": int(a.size), "n_edges_log": int(la.size), "log_offset": log_offset}


def baselines_table(sc: np.ndarray, fc: Mapping[str, np.ndarray]) -> list[dict]:
    """Rows {dataset, measure, r} of :func:`sc_fc_baselines` for each named empirical FC."""
    rows = []
    for name, m in fc.items():
        b = sc_fc_baselines(sc, m)
        for key in ("raw_pearson", "raw_spearman", "log_pearson", "log_spearman"):
            rows.append({"dataset": name, "baseline": key, "r": b[key]})
    return rows
