"""Regional hierarchy: region classes, T1w/T2w with spatial nulls, silencing order along G.

* :func:`class_summary`: a regional metric averaged within each region class, per network and
  seed; the real network summarised across its seeds (mean, t-based CI), each null family
  across its networks' seed-means (mean, central 95 % interval of the null networks).
* :func:`t1t2_correlation`: Spearman rho between a model's regional profile and the T1w/T2w map.
  Significance against a spatial-autocorrelation-preserving null where the parcellation has
  region distances: variogram-matching surrogates of the T1w/T2w map (Burt et al. 2020,
  NeuroImage 220:117038; the algorithm of brainsmash's ``Base`` class, re-implemented with
  numpy and vectorised over surrogates, :class:`VariogramSurrogates`); a plain permutation
  null otherwise, labelled as such in the ``reference`` column. Null connectomes give a second
  reference: the distribution of rho across each family's networks.
* :func:`silencing_order`: along a G sweep, the G at which each region is first silenced
  (value below a threshold), and per region class the G of its first silenced region.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sstats

from encephagen.analysis.tables import (ID_COLS, REAL, REGION_COLS, TableError, network_means, param_cols,
                                        require)
from encephagen.seeds import numpy_rng

__all__ = ["class_summary", "class_table", "VariogramSurrogates", "permutation_surrogates", "t1t2_correlation",
           "silencing_order", "SPATIAL_NULL", "PERMUTATION_NULL"]

SPATIAL_NULL = "variogram-matched surrogates (Burt et al. 2020)"
PERMUTATION_NULL = "permutation (no spatial-autocorrelation correction: no region distances)"


def _ucols(df: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    return [c for c in list(ID_COLS) + param_cols(df) + ["metric"] if c in df.columns and c not in exclude]


# ----------------------------------------------------------------------------- region classes
def class_summary(regional: pd.DataFrame, *, ci: float = 0.95, name: str = "regional table") -> pd.DataFrame:
    """Mean of each regional metric within each region class, real vs null families.

    Per network and seed the class value is the mean over the class's regions. Real network:
    ``mean`` over seeds with a Student-t ``ci`` interval (``lo``, ``hi``), ``n`` = seeds.
    Null family: ``mean`` over its networks' seed-means with the central ``ci`` interval of
    those networks, ``n`` = networks. ``interval`` states which.
    """
    require(regional, ["region", "region_class", "family", "null_index", "seed_id", "metric", "value"], name)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    u = _ucols(regional)
    nreg = regional.groupby(u + ["region_class"], dropna=False)["region"].nunique().rename("n_regions")
    per = regional.groupby(u + ["region_class", "family", "null_index", "seed_id"], dropna=False,
                           sort=True)["value"].mean().reset_index()
    rows = []
    real = per[per["family"] == REAL]
    g = real.groupby(u + ["region_class"], dropna=False)["value"]
    rs = g.agg(mean="mean", sd="std", n="size").reset_index()
    tq = sstats.t.ppf(0.5 + ci / 2, np.maximum(rs["n"] - 1, 1))
    half = np.where(rs["n"] > 1, tq * rs["sd"] / np.sqrt(rs["n"]), np.nan)
    rs["lo"], rs["hi"] = rs["mean"] - half, rs["mean"] + half
    rs["family"] = REAL
    rs["interval"] = f"{ci:.0%} t-interval of the mean over noise seeds"
    rows.append(rs.drop(columns="sd"))
    nul = per[per["family"] != REAL]
    if not nul.empty:
        nm = nul.groupby(u + ["region_class", "family", "null_index"], dropna=False)["value"].mean().reset_index()
        g = nm.groupby(u + ["region_class", "family"], dropna=False)["value"]
        ns = g.agg(mean="mean", n="size").reset_index()
        ns["lo"] = g.quantile(0.5 - ci / 2).to_numpy()
        ns["hi"] = g.quantile(0.5 + ci / 2).to_numpy()
        ns["interval"] = f"central {ci:.0%} of null networks (each averaged over its seeds)"
        rows.append(ns)
    out = pd.concat(rows, ignore_index=True)
    out = out.merge(nreg.reset_index(), on=u + ["region_class"], how="left")
    return out[u + ["family", "region_class", "n_regions", "n", "mean", "lo", "hi", "interval"]]


def class_table(regional: pd.DataFrame, *, contrasts: Sequence[tuple[str, str]] = (),
                name: str = "regional table") -> pd.DataFrame:
    """Network-level rows of class means (and class contrasts) per network x seed, for
    :func:`encephagen.analysis.stats.compare_to_nulls`: metric ``<metric>[<class>]`` is the mean
    over the class's regions; ``<metric>[<a> - <b>]`` the difference of two class means (a
    hierarchy gradient: is the real network's gradient steeper than the nulls'?)."""
    require(regional, ["region", "region_class", "family", "null_index", "seed_id", "metric", "value"], name)
    keys = [c for c in regional.columns if c not in (*REGION_COLS, "value")]
    per = regional.groupby(keys + ["region_class"], dropna=False, sort=False)["value"].mean().reset_index()
    out = [per.assign(metric=per["metric"].astype(str) + "[" + per["region_class"].astype(str) + "]")
           .drop(columns="region_class")]
    if contrasts:
        w = per.set_index(keys + ["region_class"])["value"].unstack("region_class")
        for a, b in contrasts:
            for c in (a, b):
                if c not in w.columns:
                    raise TableError(f"{name}: contrast ({a!r}, {b!r}): no region class {c!r}; "
                                     f"classes: {sorted(map(str, w.columns))}")
            d = (w[a] - w[b]).rename("value").reset_index()
            d["metric"] = d["metric"].astype(str) + f"[{a} - {b}]"
            out.append(d)
    return pd.concat(out, ignore_index=True)


# ----------------------------------------------------------------------------- spatial nulls
class VariogramSurrogates:
    """Surrogate maps with the spatial autocorrelation (variogram) of ``x`` (Burt et al. 2020).

    Algorithm (as brainsmash ``Base``): (1) the target's variogram, 0.5 (x_i - x_j)^2 over region
    pairs closer than the ``pv``-th percentile of distances, smoothed with a Gaussian kernel
    (bandwidth ``b`` = 3 bin widths by default) at ``nh`` distances; (2) per surrogate, permute x,
    smooth it with an exponential kernel over its ``delta * n`` nearest neighbours for each
    ``delta`` in ``deltas``, regress the target's variogram on the smoothed map's variogram
    (gamma_x ~ alpha + beta gamma_smooth) and keep the delta with the least squared residual;
    (3) surrogate = sqrt(|beta|) x_smooth + sqrt(|alpha|) N(0, 1); (4) with ``resample`` the
    surrogate's values are replaced by the target's sorted values in the surrogate's rank order
    (so every surrogate has exactly the target's value distribution).
    """

    def __init__(self, x, distances, *, deltas: Sequence[float] = tuple(np.linspace(0.1, 0.9, 9)),
                 pv: float = 25.0, nh: int = 25, b: float | None = None, resample: bool = True):
        x = np.asarray(x, dtype=float)
        D = np.asarray(distances, dtype=float)
        n = x.size
        if x.ndim != 1 or n < 5:
            raise ValueError(f"x must be a 1-D map with >= 5 regions, got shape {x.shape}")
        if D.shape != (n, n):
            raise ValueError(f"distances must be ({n}, {n}) to match x, got {D.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x has non-finite values; drop those regions (and their distances) first")
        if not np.isfinite(D).all() or (D < 0).any():
            raise ValueError("distances must be finite and non-negative")
        D = (D + D.T) / 2.0
        if not 0 < pv <= 100:
            raise ValueError(f"pv must be a percentile in (0, 100], got {pv}")
        self.x, self.D, self.n = x, D, n
        self.deltas = np.asarray(deltas, dtype=float)
        if (self.deltas <= 0).any() or (self.deltas > 1).any():
            raise ValueError("deltas must be fractions in (0, 1]")
        self.resample = resample
        iu = np.triu_indices(n, 1)
        u = D[iu]
        keep = u <= np.percentile(u, pv)
        self._i, self._j = iu[0][keep], iu[1][keep]
        uk = u[keep]
        self.h = np.linspace(uk.min(), uk.max(), nh)
        self.b = float(b) if b is not None else 3.0 * (self.h[1] - self.h[0])
        w = np.exp(-0.5 * (2.68 * np.abs(uk[None, :] - self.h[:, None]) / self.b) ** 2)
        self._W = (w / w.sum(axis=1, keepdims=True)).T          # (pairs, nh)
        self._order = np.argsort(D, axis=1, kind="stable")
        self.target = self.variogram(x)

    def variogram(self, X) -> np.ndarray:
        """Smoothed variogram (..., nh) of map(s) X (..., n) at distances ``self.h``."""
        X = np.asarray(X, dtype=float)
        v = 0.5 * (X[..., self._i] - X[..., self._j]) ** 2
        return v @ self._W

    def _smooth(self, X: np.ndarray, delta: float) -> np.ndarray:
        k = max(int(delta * self.n), 1)
        nbr = self._order[:, 1:k + 1]                             # (n, k) nearest, self excluded
        d = self.D[np.arange(self.n)[:, None], nbr]
        w = np.exp(-d / d.max(axis=1, keepdims=True))
        return (X[..., nbr] * w).sum(axis=-1) / w.sum(axis=-1)

    def __call__(self, n_surrogates: int, seed: int, block: int = 100) -> np.ndarray:
        """``n_surrogates`` surrogate maps (n_surrogates, n) from the explicit ``seed``."""
        if n_surrogates < 1:
            raise ValueError(f"n_surrogates must be >= 1, got {n_surrogates}")
        rng = numpy_rng(seed)
        out = np.empty((n_surrogates, self.n))
        y = self.target
        yc = y - y.mean()
        sorted_x = np.sort(self.x)
        for s0 in range(0, n_surrogates, block):
            S = min(block, n_surrogates - s0)
            perm = np.argsort(rng.random((S, self.n)), axis=1)
            xp = self.x[perm]
            best_res = np.full(S, np.inf)
            best = np.zeros((S, self.n))
            best_a = np.zeros(S)
            best_b = np.zeros(S)
            for dlt in self.deltas:
                xs = self._smooth(xp, dlt)
                v = self.variogram(xs)                              # (S, nh)
                vc = v - v.mean(axis=1, keepdims=True)
                beta = (vc @ yc) / np.maximum((vc * vc).sum(axis=1), 1e-300)
                alpha = y.mean() - beta * v.mean(axis=1)
                res = ((y[None, :] - alpha[:, None] - beta[:, None] * v) ** 2).sum(axis=1)
                better = res < best_res
                best_res[better] = res[better]
                best[better] = xs[better]
                best_a[better] = alpha[better]
                best_b[better] = beta[better]
            surr = (np.sqrt(np.abs(best_b))[:, None] * best
                    + np.sqrt(np.abs(best_a))[:, None] * rng.standard_normal((S, self.n)))
            if self.resample:
                ranks = np.argsort(np.argsort(surr, axis=1), axis=1)
                surr = sorted_x[ranks]
            out[s0:s0 + S] = surr
        return out


def permutation_surrogates(x, n_surrogates: int, seed: int) -> np.ndarray:
    """Plain random permutations of x (n_surrogates, n): no spatial autocorrelation preserved."""
    x = np.asarray(x, dtype=float)
    rng = numpy_rng(seed)
    return x[np.argsort(rng.random((n_surrogates, x.size)), axis=1)]


def _spearman_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of every row of X (k, n) with y (n,)."""
    xr = sstats.rankdata(X, axis=-1)
    yr = sstats.rankdata(y)
    a = xr - xr.mean(axis=-1, keepdims=True)
    b = yr - yr.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a @ b) / np.sqrt((a * a).sum(axis=-1) * (b * b).sum())


def _p_two_centered(real: float, ref: np.ndarray) -> float:
    ref = ref[np.isfinite(ref)]
    if ref.size == 0 or not np.isfinite(real):
        return np.nan
    m = ref.mean()
    return float((1 + np.sum(np.abs(ref - m) >= abs(real - m) - 1e-12)) / (1 + ref.size))


def t1t2_correlation(regional: pd.DataFrame, t1t2: pd.Series | Mapping[int, float], *,
                     distances: np.ndarray | None = None, n_surrogates: int = 1000, seed: int,
                     metrics: Sequence[str] | None = None, surrogate_kw: Mapping | None = None,
                     name: str = "regional table") -> pd.DataFrame:
    """Spearman rho between each regional metric's profile and T1w/T2w, with its references.

    ``t1t2``: values by region index (the ``region`` column); NaN regions are dropped (count in
    ``n_regions``). ``distances``: (n, n) region distances in the order of region indices 0..n-1
    (e.g. ``Connectome.distances``); without it the map null is a plain permutation.
    Surrogates are of the T1w/T2w map, drawn once from ``seed`` and shared by every profile.

    Returns one row per (unit, reference): ``reference`` is the map null (spatial or permutation)
    or '<family> null networks'; ``rho`` the real network's rho (its seed-mean profile), ``p_two``
    (two-sided, +1 corrected, centred on the reference mean), ``z``, ``ref_median``,
    ``ref_q025``, ``ref_q975``, ``n_reference``, ``n_regions``, ``seed``.
    """
    require(regional, ["region", "family", "null_index", "seed_id", "metric", "value"], name)
    t = pd.Series(t1t2, dtype=float) if not isinstance(t1t2, pd.Series) else t1t2.astype(float)
    regions = np.array(sorted(set(regional["region"].astype(int))))
    tv = t.reindex(regions).to_numpy()
    ok = np.isfinite(tv)
    if ok.sum() < 5:
        raise TableError(f"t1t2: only {int(ok.sum())} regions with a finite T1w/T2w value among "
                         f"{len(regions)} regions of the {name}")
    reg_ok = regions[ok]
    y = tv[ok]
    if distances is not None:
        D = np.asarray(distances, dtype=float)
        if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] <= regions.max():
            raise TableError(f"distances of shape {D.shape} do not cover region indices up to {regions.max()}")
        gen = VariogramSurrogates(y, D[np.ix_(reg_ok, reg_ok)], **dict(surrogate_kw or {}))
        surr = gen(n_surrogates, seed)
        ref_name = SPATIAL_NULL
    else:
        surr = permutation_surrogates(y, n_surrogates, seed)
        ref_name = PERMUTATION_NULL
    sub = regional if metrics is None else regional[regional["metric"].isin(metrics)]
    if sub.empty:
        raise TableError(f"{name}: none of the metrics {list(metrics or [])} present")
    nm = network_means(sub, name=name)
    u = _ucols(sub)
    rows = []
    for key, grp in nm.groupby(u, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        unit = dict(zip(u, key))
        mat = grp.set_index(["family", "null_index", "region"])["value"].unstack("region").reindex(columns=reg_ok)
        if (REAL, 0) not in mat.index:
            raise TableError(f"{name}: no real profile for {unit}")
        prof = mat.loc[(REAL, 0)].to_numpy(dtype=float)
        rho = float(_spearman_rows(prof[None, :], y)[0]) if np.isfinite(prof).all() else np.nan
        # map null: correlate the real profile with every surrogate T1w/T2w map
        ref = _spearman_rows(surr, prof) if np.isfinite(prof).all() else np.full(len(surr), np.nan)
        refs = [(ref_name, ref)]
        nulls = mat.drop(index=(REAL, 0))
        for fam, fm in nulls.groupby(level="family"):
            X = fm.to_numpy(dtype=float)
            r = _spearman_rows(X, y)
            r[~np.isfinite(X).all(axis=1)] = np.nan
            refs.append((f"{fam} null networks", r))
        for rname, r in refs:
            rf = r[np.isfinite(r)]
            sd = rf.std(ddof=1) if rf.size > 1 else np.nan
            rows.append({**unit, "reference": rname, "rho": rho,
                         "p_two": _p_two_centered(rho, r),
                         "z": (rho - rf.mean()) / sd if sd and sd > 0 else np.nan,
                         "ref_median": float(np.median(rf)) if rf.size else np.nan,
                         "ref_q025": float(np.quantile(rf, 0.025)) if rf.size else np.nan,
                         "ref_q975": float(np.quantile(rf, 0.975)) if rf.size else np.nan,
                         "n_reference": int(rf.size), "n_regions": int(ok.sum()), "seed": seed})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- silencing
def silencing_order(regional: pd.DataFrame, *, metric: str, threshold: float, param: str = "G",
                    below: bool = True, name: str = "regional table") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where along a ``param`` sweep each region class is first silenced.

    A region is silenced at the smallest ``param`` value (scanning upwards) at which its
    ``metric`` is below ``threshold`` (above it with ``below=False``); never silenced = inf.
    Per network x seed x class: ``g_first`` (the class's first silenced region) and
    ``g_median`` (median over its regions) and ``frac_silenced_at_max``.

    Returns ``(per_seed, summary)``. ``summary`` per (unit, family, region_class): median of
    ``g_first`` over seeds (real) or over the null networks' seed-medians, ``rank`` of the class
    in that order (1 = silenced first), ``order`` (classes in silencing order, '<'-joined), and
    for null families ``same_order_frac`` (fraction of null networks whose class order equals
    the real network's).
    """
    require(regional, ["region", "region_class", "family", "null_index", "seed_id", "metric", "value", param],
            name)
    sub = regional[regional["metric"] == metric]
    if sub.empty:
        raise TableError(f"{name}: metric {metric!r} not present (have {sorted(set(regional['metric']))[:10]})")
    if sub[param].nunique() < 2:
        raise TableError(f"{name}: silencing needs a sweep over {param!r}; found one value")
    u = [c for c in _ucols(sub) if c != param]
    keys = u + ["family", "null_index", "seed_id", "region", "region_class"]
    flag = sub["value"] < threshold if below else sub["value"] > threshold
    s = sub.assign(_g=np.where(flag, sub[param].astype(float), np.inf))
    reg = s.groupby(keys, dropna=False, sort=False)["_g"].min().reset_index()
    gmax = float(sub[param].max())
    ck = u + ["family", "null_index", "seed_id", "region_class"]
    per = reg.groupby(ck, dropna=False, sort=True)["_g"].agg(
        g_first="min", g_median="median", frac_silenced_at_max=lambda g: float(np.mean(g <= gmax))
    ).reset_index()
    per["metric"] = metric
    per["threshold"] = threshold
    # summaries
    net = per.groupby(u + ["family", "null_index", "region_class"], dropna=False)["g_first"].median().reset_index()

    def order_of(df):
        d = df.sort_values(["g_first", "region_class"])
        return "<".join(d["region_class"].astype(str))

    orders = net.groupby(u + ["family", "null_index"], dropna=False).apply(order_of, include_groups=False)
    orders = orders.rename("order").reset_index()
    summ = net.groupby(u + ["family", "region_class"], dropna=False)["g_first"].agg(
        g_first_median="median", g_first_q025=lambda g: g.quantile(0.025),
        g_first_q975=lambda g: g.quantile(0.975), n="size").reset_index()
    # the real network is one network: its interval is over its noise seeds
    rper = per[per["family"] == REAL].groupby(u + ["region_class"], dropna=False)["g_first"]
    rq = pd.DataFrame({"_lo": rper.quantile(0.025), "_hi": rper.quantile(0.975), "_n": rper.size()}).reset_index()
    rq["family"] = REAL
    summ = summ.merge(rq, on=u + ["family", "region_class"], how="left")
    isr = summ["family"] == REAL
    summ.loc[isr, "g_first_q025"] = summ.loc[isr, "_lo"]
    summ.loc[isr, "g_first_q975"] = summ.loc[isr, "_hi"]
    summ.loc[isr, "n"] = summ.loc[isr, "_n"]
    summ = summ.drop(columns=["_lo", "_hi", "_n"])
    summ["interval"] = np.where(isr, "central 95% over noise seeds (median over seeds)",
                                "central 95% over null networks (each the median over its seeds)")
    summ["rank"] = summ.groupby(u + ["family"], dropna=False)["g_first_median"].rank(method="min")
    fam_order = summ.sort_values(u + ["family", "g_first_median", "region_class"]).groupby(
        u + ["family"], dropna=False)["region_class"].agg(lambda c: "<".join(c.astype(str))).rename("order")
    summ = summ.merge(fam_order.reset_index(), on=u + ["family"], how="left")
    real_order = orders[orders["family"] == REAL][u + ["order"]].rename(columns={"order": "real_order"})
    no = orders[orders["family"] != REAL].merge(real_order, on=u, how="left")
    if not no.empty:
        same = (no["order"] == no["real_order"]).groupby([no[c] for c in u + ["family"]], dropna=False).mean()
        summ = summ.merge(same.rename("same_order_frac").reset_index(), on=u + ["family"], how="left")
    else:
        summ["same_order_frac"] = np.nan
    summ["metric"] = metric
    summ["threshold"] = threshold
    summ["rule"] = f"silenced = {metric} {'<' if below else '>'} {threshold:g}, first {param} scanning upwards"
    return per, summ
