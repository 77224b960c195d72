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

from encephagen.analysis.tables import (ID_COLS, REAL, REGIME_PREFIX, REGION_COLS, TableError, network_means,
                                        param_cols,
                                        require)
from encephagen.analysis.stats import empirical_p
from encephagen.seeds import numpy_rng

__all__ = ["class_summary", "class_table", "nan_mean", "VariogramSurrogates", "permutation_surrogates", "t1t2_correlation",
           "silencing_order", "SPATIAL_NULL", "PERMUTATION_NULL"]

SPATIAL_NULL = "variogram-matched surrogates (Burt et al. 2020)"
PERMUTATION_NULL = "permutation (no spatial-autocorrelation correction: no region distances)"


def _ucols(df: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    return [c for c in list(ID_COLS) + param_cols(df) + ["metric"] if c in df.columns and c not in exclude]


# ----------------------------------------------------------------------------- region classes
def nan_mean(g) -> pd.Series:
    """Group means that PROPAGATE NaN (pandas skips it): a class mean over the regions that happen to
    be defined would silently average a different set of regions per network. +-inf (censored) values
    make the mean censored on their side."""
    a = g.agg(["mean", "count", "size"])
    return a["mean"].where(a["count"] == a["size"])


def class_summary(regional: pd.DataFrame, *, ci: float = 0.95, name: str = "regional table") -> pd.DataFrame:
    """Mean of each regional metric within each region class, real vs null families.

    Per network and seed the class value is the mean over the class's regions; a NaN region makes
    it NaN (never skipped). Real network: ``mean`` over seeds with a Student-t ``ci`` interval
    (``lo``, ``hi``), ``n`` = seeds. Null family: ``mean`` over its networks' seed-means with the
    central ``ci`` interval of those networks, ``n`` = networks. ``interval`` states which.
    ``n_nan`` counts the seeds (real) or networks (nulls) whose class value is NaN (then ``mean`` is
    NaN too) and ``n_regions_nan`` the NaN region values behind them.
    """
    require(regional, ["region", "region_class", "family", "null_index", "seed_id", "metric", "value"], name)
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    u = _ucols(regional)
    nreg = regional.groupby(u + ["region_class"], dropna=False)["region"].nunique().rename("n_regions")
    rnan = regional.assign(_nan=regional["value"].isna()).groupby(
        u + ["region_class", "family"], dropna=False)["_nan"].sum().rename("n_regions_nan").reset_index()
    per = nan_mean(regional.groupby(u + ["region_class", "family", "null_index", "seed_id"], dropna=False,
                                    sort=True)["value"]).rename("value").reset_index()
    rows = []
    real = per[per["family"] == REAL]
    g = real.groupby(u + ["region_class"], dropna=False)["value"]
    rs = g.agg(sd="std", n="size").reset_index()
    rs["mean"] = nan_mean(g).to_numpy()
    rs["n_nan"] = g.agg(lambda x: int(x.isna().sum())).to_numpy()
    tq = sstats.t.ppf(0.5 + ci / 2, np.maximum(rs["n"] - 1, 1))
    half = np.where(rs["n"] > 1, tq * rs["sd"] / np.sqrt(rs["n"]), np.nan)
    rs["lo"], rs["hi"] = rs["mean"] - half, rs["mean"] + half
    rs["family"] = REAL
    rs["interval"] = f"{ci:.0%} t-interval of the mean over noise seeds"
    rows.append(rs.drop(columns="sd"))
    nul = per[per["family"] != REAL]
    if not nul.empty:
        nm = nan_mean(nul.groupby(u + ["region_class", "family", "null_index"], dropna=False)["value"]
                      ).rename("value").reset_index()
        g = nm.groupby(u + ["region_class", "family"], dropna=False)["value"]
        ns = g.agg(n="size").reset_index()
        ns["mean"] = nan_mean(g).to_numpy()
        ns["n_nan"] = g.agg(lambda x: int(x.isna().sum())).to_numpy()
        ns["lo"] = g.quantile(0.5 - ci / 2).to_numpy()
        ns["hi"] = g.quantile(0.5 + ci / 2).to_numpy()
        ns["interval"] = f"central {ci:.0%} of null networks (each averaged over its seeds)"
        rows.append(ns)
    out = pd.concat(rows, ignore_index=True)
    out = out.merge(nreg.reset_index(), on=u + ["region_class"], how="left")
    out = out.merge(rnan, on=u + ["region_class", "family"], how="left")
    return out[u + ["family", "region_class", "n_regions", "n", "n_nan", "n_regions_nan", "mean", "lo", "hi",
                    "interval"]]


def class_table(regional: pd.DataFrame, *, contrasts: Sequence[tuple[str, str]] = (),
                name: str = "regional table") -> pd.DataFrame:
    """Network-level rows of class means (and class contrasts) per network x seed, for
    :func:`encephagen.analysis.stats.compare_to_nulls`: metric ``<metric>[<class>]`` is the mean
    over the class's regions (NaN if one of them is NaN: counted as NaN by the statistics, never
    skipped; censored +-inf regions make it censored); ``<metric>[<a> - <b>]`` the difference of two
    class means (a hierarchy gradient: is the real network's gradient steeper than the nulls'?)."""
    require(regional, ["region", "region_class", "family", "null_index", "seed_id", "metric", "value"], name)
    keys = [c for c in regional.columns if c not in (*REGION_COLS, "value")
            and not str(c).startswith(REGIME_PREFIX)]
    per = nan_mean(regional.groupby(keys + ["region_class"], dropna=False, sort=False)["value"]
                   ).rename("value").reset_index()
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
    """Two-sided +1-corrected p of ``real`` against ``ref`` (encephagen.analysis.stats.empirical_p:
    centre = pooled median; a NaN reference value counts as extreme, never dropped)."""
    return float(empirical_p(real, ref)["p_two"])


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
    (two-sided, +1 corrected, centred on the pooled median; a reference whose rho is NaN counts as
    extreme: ``n_reference_nan``), ``z``, ``ref_median``, ``ref_q025``, ``ref_q975``,
    ``n_reference`` (all, NaN included), ``n_regions``, ``n_regions_censored`` (regions of the real
    profile at +-inf: ranked as extremes, Spearman is rank-based), ``seed``. A profile with a NaN
    region has rho NaN (no test; never a correlation over fewer regions).
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
        defined = not np.isnan(prof).any()
        rho = float(_spearman_rows(prof[None, :], y)[0]) if defined else np.nan
        # map null: correlate the real profile with every surrogate T1w/T2w map
        ref = _spearman_rows(surr, prof) if defined else np.full(len(surr), np.nan)
        refs = [(ref_name, ref)]
        nulls = mat.drop(index=(REAL, 0))
        for fam, fm in nulls.groupby(level="family"):
            X = fm.to_numpy(dtype=float)
            r = _spearman_rows(X, y)
            r[np.isnan(X).any(axis=1)] = np.nan
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
                         "n_reference": int(r.size), "n_reference_nan": int(r.size - rf.size),
                         "n_regions": int(ok.sum()), "n_regions_censored": int(np.isinf(prof).sum()),
                         "seed": seed})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- silencing
def _qinf(x, q: float) -> float:
    """Quantile that keeps +-inf (never silenced) as inf instead of NaN (inf - inf in the interpolation)."""
    a = np.asarray(x, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return np.nan
    v = float(np.quantile(np.clip(a, -1e300, 1e300), q))
    return float(np.sign(v) * np.inf) if abs(v) >= 1e299 else v


def _tie_order(g: Mapping[str, float]) -> str:
    """Classes in silencing order, ties joined by '=' (never-silenced classes left out)."""
    fin = sorted(((v, str(k)) for k, v in g.items() if np.isfinite(v)))
    parts: list[list[str]] = []
    last = None
    for v, k in fin:
        if parts and v == last:
            parts[-1].append(k)
        else:
            parts.append([k])
        last = v
    return "<".join("=".join(sorted(p)) for p in parts)


def silencing_order(regional: pd.DataFrame, *, metric: str, threshold: float, param: str = "G",
                    below: bool = True, name: str = "regional table") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Where along a ``param`` sweep each region class is first silenced.

    A region is silenced at the smallest ``param`` value (scanning upwards) at which its
    ``metric`` is below ``threshold`` (above it with ``below=False``); never silenced = inf.
    Per network x seed x class (``per_seed``): ``g_first`` (the class's first silenced region; inf
    when none is), ``g_median`` (median over its regions), ``frac_silenced_at_max_G`` (fraction of
    its regions silenced AT the largest ``param`` value), ``frac_silenced_any_G`` (fraction silenced
    at some value of the sweep; the former ``frac_silenced_at_max`` meant this).

    ``summary`` per (unit, family, region_class): median of ``g_first`` over seeds (real) or over
    the null networks' seed-medians, with ``n_never_silenced`` (seeds or networks in which the class
    is never silenced) and ``never_silenced`` (the median is inf: the class is not silenced in the
    sweep). ``rank``: average rank among the silenced classes (ties share it; the discrete G grid
    makes ties common; never-silenced classes get NaN), ``tie_group`` (1 = silenced first, classes
    sharing a value share a group), ``order`` (silenced classes, '<' between groups and '=' within a
    tie), ``never_silenced_classes``. Order agreement for null families, on the classes the real
    network silences: ``same_order_frac`` (fraction of null networks whose weak order (ties
    included) of those classes equals the real one; a null that does not silence one of them
    differs), ``kendall_tau_median`` (median Kendall tau-b between real and null g_first over those
    classes, a never-silenced class ranked last), ``n_order_compared``; NaN with
    ``same_order_reason`` when the real network silences fewer than 2 classes.
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
    val = sub["value"].to_numpy(dtype=float)
    flag = val < threshold if below else val > threshold
    gv = sub[param].astype(float).to_numpy()
    gmax = float(np.max(gv))
    s = sub.assign(_g=np.where(flag, gv, np.inf), _atmax=flag & (gv == gmax))
    reg = s.groupby(keys, dropna=False, sort=False).agg(_g=("_g", "min"), _atmax=("_atmax", "max")).reset_index()
    ck = u + ["family", "null_index", "seed_id", "region_class"]
    per = reg.groupby(ck, dropna=False, sort=True).agg(
        g_first=("_g", "min"), g_median=("_g", "median"),
        frac_silenced_at_max_G=("_atmax", "mean"),
        frac_silenced_any_G=("_g", lambda g: float(np.mean(np.isfinite(g))))).reset_index()
    per["metric"] = metric
    per["threshold"] = threshold
    per[f"{param}_max"] = gmax
    # per network: median over seeds of each class's g_first (inf if silenced in fewer than half the seeds)
    net = per.groupby(u + ["family", "null_index", "region_class"], dropna=False)["g_first"].median().reset_index()
    summ = net.groupby(u + ["family", "region_class"], dropna=False)["g_first"].agg(
        g_first_median="median", g_first_q025=lambda g: _qinf(g, 0.025),
        g_first_q975=lambda g: _qinf(g, 0.975), n="size",
        n_never_silenced=lambda g: int((~np.isfinite(g)).sum())).reset_index()
    # the real network is one network: its interval is over its noise seeds
    rper = per[per["family"] == REAL].groupby(u + ["region_class"], dropna=False)["g_first"]
    rq = pd.DataFrame({"_lo": rper.agg(lambda g: _qinf(g, 0.025)), "_hi": rper.agg(lambda g: _qinf(g, 0.975)),
                       "_n": rper.size(),
                       "_nn": rper.agg(lambda g: int((~np.isfinite(g)).sum()))}).reset_index()
    rq["family"] = REAL
    summ = summ.merge(rq, on=u + ["family", "region_class"], how="left")
    isr = summ["family"] == REAL
    for a, b in (("g_first_q025", "_lo"), ("g_first_q975", "_hi"), ("n", "_n"), ("n_never_silenced", "_nn")):
        summ.loc[isr, a] = summ.loc[isr, b]
    summ = summ.drop(columns=["_lo", "_hi", "_n", "_nn"])
    summ["interval"] = np.where(isr, "central 95% over noise seeds (median over seeds)",
                                "central 95% over null networks (each the median over its seeds)")
    gm = summ["g_first_median"].to_numpy(dtype=float)
    summ["never_silenced"] = ~np.isfinite(gm)
    summ["_gfin"] = np.where(np.isfinite(gm), gm, np.nan)
    grp = summ.groupby(u + ["family"], dropna=False)["_gfin"]
    summ["rank"] = grp.rank(method="average")
    summ["tie_group"] = grp.rank(method="dense")
    summ = summ.drop(columns="_gfin")
    fam_rows = []
    for k, g in summ.groupby(u + ["family"], dropna=False, sort=False):
        k = k if isinstance(k, tuple) else (k,)
        gg = dict(zip(g["region_class"].astype(str), g["g_first_median"].astype(float)))
        fam_rows.append({**dict(zip(u + ["family"], k)), "order": _tie_order(gg),
                         "never_silenced_classes": ",".join(sorted(c for c, v in gg.items() if not np.isfinite(v)))})
    summ = summ.merge(pd.DataFrame(fam_rows), on=u + ["family"], how="left")
    # ---- order agreement of each null network with the real network, on the classes the real one silences
    agree = []
    for k, g in net.groupby(u, dropna=False, sort=False):
        k = k if isinstance(k, tuple) else (k,)
        real = g[g["family"] == REAL].set_index("region_class")["g_first"].astype(float)
        classes = sorted(str(c) for c, v in real.items() if np.isfinite(v))
        for fam, fg in g[g["family"] != REAL].groupby("family", sort=True):
            row = {**dict(zip(u, k)), "family": fam}
            if len(classes) < 2:
                row.update(same_order_frac=np.nan, kendall_tau_median=np.nan, n_order_compared=0,
                           same_order_reason=f"the real network silences {len(classes)} class(es) in the sweep "
                                             "(order needs >= 2)")
                agree.append(row)
                continue
            rv = real.reindex(classes).to_numpy()
            rorder = _tie_order(dict(zip(classes, rv)))
            same, taus = [], []
            for _, ng in fg.groupby("null_index"):
                nv = ng.set_index("region_class")["g_first"].astype(float).reindex(classes).to_numpy()
                same.append(bool(np.isfinite(nv).all()) and _tie_order(dict(zip(classes, nv))) == rorder)
                nv_r = np.where(np.isfinite(nv), nv, np.inf)
                t = sstats.kendalltau(rv, nv_r).statistic if len(set(nv_r.tolist())) > 1 else np.nan
                taus.append(t)
            taus = np.asarray(taus, dtype=float)
            row.update(same_order_frac=float(np.mean(same)),
                       kendall_tau_median=float(np.nanmedian(taus)) if np.isfinite(taus).any() else np.nan,
                       n_order_compared=len(same),
                       same_order_reason=f"weak order (ties included) of the {len(classes)} classes the real "
                                         "network silences")
            agree.append(row)
    if agree:
        summ = summ.merge(pd.DataFrame(agree), on=u + ["family"], how="left")
    else:
        summ = summ.assign(same_order_frac=np.nan, kendall_tau_median=np.nan, n_order_compared=0,
                           same_order_reason="no null family")
    isr = summ["family"] == REAL
    summ.loc[isr, "same_order_reason"] = "real network (reference)"
    summ["metric"] = metric
    summ["threshold"] = threshold
    summ["rule"] = (f"silenced = {metric} {'<' if below else '>'} {threshold:g}, first {param} scanning upwards "
                    f"(sweep up to {gmax:g}); ties share a rank")
    return per, summ
