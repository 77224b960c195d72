"""Real connectome vs null families, per metric, without pseudo-replication.

Design (the predecessor compared one network re-run with noise against many different
networks; that is pseudo-replication):

* The unit of replication is the NETWORK. The real connectome and every null network are
  each simulated with the same number of noise seeds and summarised by their mean over
  ``seed_id`` before any comparison. A real arm with a different seed count than any null is
  refused (:class:`~encephagen.analysis.tables.TableError` naming the network).
* The null distribution of a family is the set of its networks' seed-means (N values).
* Empirical p-values with the +1 correction (Phipson & Smyth 2010), so p >= 1/(N+1), N counting
  every null network of the family (NaN ones included, see below):

  - two-sided: ``(1 + #{|null - c| >= |real - c|}) / (1 + N)`` with the centre ``c`` the median of
    the pooled values (the N nulls and the real one): a symmetric function of all N + 1 values, so
    the test is exact under exchangeability, and defined when some values are censored;
  - greater:   ``(1 + #{null >= real}) / (1 + N)``;  less: ``(1 + #{null <= real}) / (1 + N)``.

* Censored and NaN values never leave a test silently (counts ``n_censored``, ``n_nan``,
  ``real_censored`` in every row):

  - a censored value (``+inf``/``-inf``: beyond what the record resolves, see
    :func:`encephagen.analysis.tables.apply_censoring`) is an extreme on its side. A censored null
    counts as ``>= real`` (``+inf``) in p_greater and as at least as far from the centre as the real
    value in p_two. Its true value is at least the censoring limit, so the count can only be larger
    than with the true values: the p-value is exact or conservative, never smaller (dropping the
    censored nulls, as before, removed exactly the most extreme ones and made p too small). A
    censored real value is ``+inf``: only nulls censored on the same side count as ``>=`` it (ties
    count), again exact or conservative. If the pooled median itself is censored (half or more of the
    values are), the metric is refused for this design (p NaN, note);
  - a NaN null (undefined, e.g. a metric of a constant signal that is not a censored one) counts
    as at least as extreme as the real value in every direction: the worst case, so p is an upper
    bound over every value it could have had; a NaN real value gives no test (p NaN, note).

* Effect sizes:

  - ``z = (real - mean(nulls)) / sd(nulls)`` over the finite nulls (sd ddof=1); NaN where a value
    is censored (the mean is undefined);
  - ``z_robust = (real - median) / (1.4826 MAD)`` over the non-NaN nulls (defined with censoring);
  - ``cohen_d``: Cohen's d between the real network's seed values and the null networks' means
    (pooled SD, ddof=1), for comparison with the literature; ``z`` is the primary effect size.

* The noise floor: ``real_seed_sd``, the SD of the real network's value across its seeds.
  ``delta_over_noise`` = (real - null mean) / real_seed_sd.
* Equivalence (does the family REPRODUCE the metric?): two one-sided tests (TOST) on the
  standardised difference theta = (real - mu) / sigma of the family's population: H0 |theta| >=
  ``equivalence_margin`` (in null SDs) against H1 |theta| < margin. Under normal nulls
  sqrt(N) (real - mean) / sd is noncentral t (N - 1 df, noncentrality sqrt(N) theta), so
  ``p_equiv = max(P(T(-sqrt(N) m) >= t), P(T(+sqrt(N) m) <= t))`` (scipy ``nct``), per test, not
  corrected for multiplicity. Not computed (NaN) with censored or NaN nulls or fewer than 3 finite
  nulls. ``outcome``: ``not reproduced`` (FDR-significant difference), ``reproduced`` (equivalent,
  p_equiv < alpha, and not significant; only in a design that could detect a difference,
  1/(N+1) <= alpha), ``inconclusive`` (neither: underpowered), ``excluded``
  (degenerate real network, below) or ``not tested`` (no p-value).
* Benjamini-Hochberg FDR (statsmodels ``multipletests(method='fdr_bh')``), two scopes, both
  reported: ``q_study`` over every test of the table of one (atlas, model): metrics (x regions) x
  parameter sets (the G sweep) x families; ``q_table`` within one (atlas, model, parameter set,
  family). ``q``/``significant``/``n_tests_fdr``/``fdr_scope`` are the primary scope
  (``fdr_scope='study'`` by default, config ``analysis.fdr_scope``).
* Degenerate real networks: where the tables carry the aggregation's ``regime`` column, the real
  network's regime per parameter set is ``real_regime`` (its seeds' regimes, ``mixed`` when they
  differ; ``unknown`` without the column). A real network that is saturated, silent or diverged
  (every seed) is flagged (``flag``) and kept out of the statistics (no p-value, not in the FDR
  family, ``excluded_reason``) unless ``include_degenerate``.
* Every row records ``n_nulls`` (N of the family) and ``n_seeds``; a family with fewer nulls
  than ``min_nulls`` is refused, naming the family. ``can_reach_significance`` is False where
  the smallest possible p, 1/(N+1), exceeds alpha (a warning is logged), and
  ``single_effect_detectable`` False where one isolated effect among the m tests of its FDR
  family could not pass BH (m/(N+1) > alpha).
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sstats
from statsmodels.stats.multitest import multipletests

from encephagen.analysis.tables import (DEGENERATE_REGIMES, ID_COLS, REAL, REGIME_PREFIX, TableError,
                                        network_means, param_cols, unit_cols)

log = logging.getLogger(__name__)

__all__ = ["compare_to_nulls", "empirical_p", "equivalence_p", "bh_fdr", "add_fdr", "check_design",
           "real_regimes", "OUTCOMES", "FDR_SCOPES", "TableError"]

_TOL = 1e-12
FDR_SCOPES = ("study", "table")
OUTCOMES = ("reproduced", "not reproduced", "inconclusive", "excluded", "not tested")


def _tol(*vals) -> np.ndarray:
    """Relative tolerance for ties, from the finite magnitudes only (an infinite value has no scale)."""
    m = np.ones(np.broadcast(*vals).shape)
    for v in vals:
        a = np.abs(np.asarray(v, dtype=float))
        m = np.maximum(m, np.where(np.isfinite(a), a, 0.0))
    return _TOL * m


def _counts(v: np.ndarray, rv: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per null value: counts toward p_two / p_greater / p_less (NaN nulls count everywhere)."""
    nan = np.isnan(v)
    tol = _tol(c, rv)
    with np.errstate(invalid="ignore"):
        two = nan | (np.abs(v - c) >= np.abs(rv - c) - tol)
        ge = nan | (v >= rv - tol)
        le = nan | (v <= rv + tol)
    return two, ge, le


def empirical_p(real: float, nulls: Sequence[float]) -> dict:
    """Empirical p-values of one real value against a null sample (+1 corrected).

    Scalar reference of :func:`compare_to_nulls` (module docstring): centre = median of the pooled
    non-NaN values; ``+-inf`` values are censored extremes; a NaN null counts as extreme in every
    direction. Returns ``p_two``, ``p_greater``, ``p_less``, ``n`` (all nulls, NaN included),
    ``n_nan``, ``n_censored``.
    """
    x = np.asarray(nulls, dtype=float).ravel()
    n = x.size
    n_nan = int(np.isnan(x).sum())
    n_cens = int(np.isinf(x).sum())
    out = {"p_two": np.nan, "p_greater": np.nan, "p_less": np.nan, "n": n, "n_nan": n_nan, "n_censored": n_cens}
    real = float(real)
    if n == 0 or np.isnan(real):
        return out
    pool = np.append(x[~np.isnan(x)], real)
    c = float(np.median(pool))
    two, ge, le = _counts(x, np.full(n, real), np.full(n, c))
    if np.isfinite(c):
        out["p_two"] = (1 + two.sum()) / (1 + n)
    out["p_greater"] = (1 + ge.sum()) / (1 + n)
    out["p_less"] = (1 + le.sum()) / (1 + n)
    return out


def equivalence_p(real, mean, sd, n, margin: float) -> np.ndarray:
    """TOST p-value for |theta| < margin, theta = (real - mu) / sigma, from n normal null values with
    sample ``mean`` and ``sd`` (ddof=1): sqrt(n) (real - mean) / sd is noncentral t with n - 1 df and
    noncentrality sqrt(n) theta. Vectorised; NaN where n < 3 or an input is not finite; where
    sd == 0, 0 if real == mean else 1."""
    real, mean, sd, n = (np.asarray(a, dtype=float) for a in np.broadcast_arrays(real, mean, sd, n))
    if not margin > 0:
        raise ValueError(f"analysis.equivalence_margin must be > 0, got {margin}")
    out = np.full(real.shape, np.nan)
    ok = np.isfinite(real) & np.isfinite(mean) & np.isfinite(sd) & (n >= 3)
    deg = ok & (sd == 0)
    out[deg] = np.where(real[deg] == mean[deg], 0.0, 1.0)
    g = ok & (sd > 0)
    if g.any():
        sn = np.sqrt(n[g])
        t = sn * (real[g] - mean[g]) / sd[g]
        df = n[g] - 1
        p_lo = sstats.nct.sf(t, df, -sn * margin)      # H0: theta <= -margin
        p_hi = sstats.nct.cdf(t, df, sn * margin)      # H0: theta >= +margin
        out[g] = np.fmax(p_lo, p_hi)      # scipy may give NaN deep in one tail, where the other is ~1
    return out


def bh_fdr(p, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg q-values and rejections via statsmodels; NaN p-values stay NaN/False
    and are not counted as tests."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    rej = np.zeros(p.shape, dtype=bool)
    ok = np.isfinite(p)
    if ok.any():
        r, qq, _, _ = multipletests(p[ok], alpha=alpha, method="fdr_bh")
        q[ok] = qq
        rej[ok] = r
    return q, rej


def _bh_groups(df: pd.DataFrame, p: np.ndarray, by: Sequence[str], alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """BH within groups of ``df`` rows defined by ``by`` (all rows one family when empty): (q, m)."""
    q = np.full(len(df), np.nan)
    m = np.zeros(len(df), dtype=int)
    groups = df.groupby(list(by), dropna=False, sort=False).indices.values() if by else [np.arange(len(df))]
    for idx in groups:
        idx = np.asarray(idx)
        q[idx] = bh_fdr(p[idx], alpha)[0]
        m[idx] = int(np.isfinite(p[idx]).sum())
    return q, m


def add_fdr(df: pd.DataFrame, pcols: Sequence[str], *, by: Sequence[str] = ("atlas", "model"),
            alpha: float = 0.05, what: str = "tests") -> pd.DataFrame:
    """BH over every p-value in the columns ``pcols`` of all rows of one group (``by`` columns that
    exist), pooled into ONE family of tests: each ``p_<x>`` gets ``q_<x>``; ``n_tests_fdr`` (the family's
    size), ``fdr_alpha`` and ``fdr_scope`` (in words) are added. NaN p-values are not tests."""
    out = df.copy()
    pcols = [c for c in pcols if c in out.columns]
    by = [c for c in by if c in out.columns]
    if out.empty or not pcols:
        return out
    long = np.column_stack([out[c].to_numpy(dtype=float) for c in pcols])      # rows x pcols
    qs = np.full(long.shape, np.nan)
    m = np.zeros(len(out), dtype=int)
    groups = out.groupby(by, dropna=False, sort=False).indices.values() if by else [np.arange(len(out))]
    for idx in groups:
        idx = np.asarray(idx)
        block = long[idx].ravel()
        q, _ = bh_fdr(block, alpha)
        qs[idx] = q.reshape(len(idx), len(pcols))
        m[idx] = int(np.isfinite(block).sum())
    for k, c in enumerate(pcols):
        out["q" + c[1:] if c.startswith("p") else f"q_{c}"] = qs[:, k]
    out["n_tests_fdr"] = m
    out["fdr_alpha"] = alpha
    out["fdr_scope"] = (f"BH over {', '.join(pcols)} of all {what} pooled"
                        + (f" within ({', '.join(by)})" if by else ""))
    return out


def real_regimes(df: pd.DataFrame, *, name: str = "table") -> pd.DataFrame | None:
    """The real network's regime per (atlas, model, parameter set) from a table's ``regime`` column
    (one per network x seed x parameter set); None without the column (older tables).

    Columns: ID and parameter columns, ``real_regime`` (the seeds' regime, ``mixed`` when they
    differ), ``real_regime_degenerate`` (every seed saturated, silent or diverged) and
    ``real_regime_any_degenerate``."""
    # the aggregation writes the run's label as ``network_regime`` (``regime`` is a region's own in
    # the regional table); ``regime`` is read only from a table without regions
    col = ("network_regime" if "network_regime" in df.columns
           else REGIME_PREFIX if REGIME_PREFIX in df.columns and "region" not in df.columns else None)
    if col is None:
        return None
    keys = [c for c in ID_COLS if c in df.columns] + param_cols(df)
    real = df[df["family"] == REAL]
    if real.empty:
        return None
    rows = []
    for key, g in real.groupby(keys, dropna=False, sort=True) if keys else [((), real)]:
        key = key if isinstance(key, tuple) else (key,)
        regs = sorted(set(g[col].fillna("unknown").astype(str)))
        deg = [r in DEGENERATE_REGIMES for r in regs]
        rows.append({**dict(zip(keys, key)), "real_regime": regs[0] if len(regs) == 1 else "mixed",
                     "real_regime_detail": ",".join(regs), "real_regime_degenerate": all(deg),
                     "real_regime_any_degenerate": any(deg)})
    return pd.DataFrame(rows)


def _fmt_unit(row: pd.Series | dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in dict(row).items())


def check_design(nm: pd.DataFrame, units: list[str], min_nulls: int, name: str = "table") -> pd.DataFrame:
    """Check the design on network means; return the number of nulls per (unit, family).

    Refuses (TableError naming the culprit): no real network; a real row with null_index != 0;
    a unit with nulls but no real value; a family missing units (metric/region/parameter set) the
    real network has on a connectome where the family exists; seed counts differing between the
    real network and a null; a family with fewer than ``min_nulls`` networks.
    """
    if min_nulls < 1:
        raise ValueError(f"min_nulls must be >= 1, got {min_nulls}")
    real = nm[nm["family"] == REAL]
    nulls = nm[nm["family"] != REAL]
    if real.empty:
        raise TableError(f"{name}: no rows with family == {REAL!r} (the real connectome)")
    if nulls.empty:
        raise TableError(f"{name}: no null-family rows to compare the real connectome with")
    bad = real[real["null_index"] != 0]
    if not bad.empty:
        raise TableError(f"{name}: real rows must have null_index 0, found {sorted(set(bad['null_index']))[:5]}")
    rs = real[units + ["n_seeds"]].rename(columns={"n_seeds": "real_n_seeds"})
    j = nulls.merge(rs, on=units, how="left", indicator=True)
    orphan = j[j["_merge"] == "left_only"]
    if not orphan.empty:
        r0 = orphan.iloc[0]
        raise TableError(f"{name}: null family {r0['family']!r} has values for a unit with no real value "
                         f"({_fmt_unit(r0[units])})")
    mism = j[j["n_seeds"] != j["real_n_seeds"]]
    if not mism.empty:
        r0 = mism.iloc[0]
        raise TableError(
            f"{name}: pseudo-replication refused: the real network has {int(r0['real_n_seeds'])} noise "
            f"seed(s) but null {r0['family']!r} #{int(r0['null_index'])} has {int(r0['n_seeds'])} "
            f"({_fmt_unit(r0[units])}); {len(mism)} network/unit rows differ. Simulate the real "
            f"connectome with as many seeds as each null.")
    # every family covers every unit the real network has (within the atlas/model combinations the family
    # exists for: a family skipped on a whole connectome is absent there, never partially)
    scope = [c for c in ("atlas", "model") if c in units]
    rk = real[units].drop_duplicates()
    for fam, fsub in nulls.groupby("family"):
        want = rk.merge(fsub[scope].drop_duplicates(), on=scope) if scope else rk
        have = fsub[units].drop_duplicates()
        miss = want.merge(have, on=units, how="left", indicator=True)
        miss = miss[miss["_merge"] == "left_only"]
        if not miss.empty:
            raise TableError(f"{name}: null family {fam!r} has no values for {len(miss)} unit(s) the real network "
                             f"has, e.g. ({_fmt_unit(miss.iloc[0][units])}); an aggregation or simulation gap")
    counts = nulls.groupby(units + ["family"], dropna=False).size().rename("n_nulls").reset_index()
    few = counts[counts["n_nulls"] < min_nulls]
    if not few.empty:
        fams = few.groupby("family")["n_nulls"].min().to_dict()
        raise TableError(f"{name}: null famil{'y' if len(fams) == 1 else 'ies'} "
                         + ", ".join(f"{f!r} has {n}" for f, n in fams.items())
                         + f" null network(s), fewer than the configured minimum min_nulls={min_nulls}")
    return counts


def compare_to_nulls(df: pd.DataFrame, *, min_nulls: int = 10, fdr_alpha: float = 0.05,
                     fdr_scope: str = "study", equivalence_margin: float = 2.0,
                     regimes: pd.DataFrame | None = None, include_degenerate: bool = False,
                     name: str = "table") -> pd.DataFrame:
    """Per metric (and region), the real network vs each null family.

    ``df`` is a tidy network-level or regional table (see :mod:`encephagen.analysis.tables`).
    ``fdr_scope`` ('study' | 'table') picks the primary FDR family (both are reported).
    ``regimes``: :func:`real_regimes` of the network table (default: from ``df`` if it has a
    ``regime`` column). Returns one row per (unit, family); columns in the module docstring plus
    ``p_floor = 1/(N+1)`` (the smallest p this N allows).
    """
    if fdr_scope not in FDR_SCOPES:
        raise ValueError(f"analysis.fdr_scope must be one of {FDR_SCOPES}, got {fdr_scope!r}")
    if not equivalence_margin > 0:
        raise ValueError(f"analysis.equivalence_margin must be > 0, got {equivalence_margin}")
    if regimes is None:
        regimes = real_regimes(df, name=name)
    nm = network_means(df, name=name)
    units = unit_cols(df)
    check_design(nm, units, min_nulls, name)
    real = nm[nm["family"] == REAL][units + ["value", "seed_sd", "n_seeds"]].rename(
        columns={"value": "real_value", "seed_sd": "real_seed_sd"})
    nulls = nm[nm["family"] != REAL][units + ["family", "null_index", "value"]]
    j = nulls.merge(real[units + ["real_value"]], on=units, how="left")
    key = units + ["family"]
    # centre of the two-sided test: median of the pooled values (nulls and the real one), NaN skipped
    fam_real = j[key + ["real_value"]].drop_duplicates(key).rename(columns={"real_value": "value"})
    centre = pd.concat([j[key + ["value"]], fam_real], ignore_index=True).groupby(
        key, dropna=False, sort=True)["value"].median().rename("_c").reset_index()
    j = j.merge(centre, on=key, how="left")
    v = j["value"].to_numpy(dtype=float)
    rv = j["real_value"].to_numpy(dtype=float)
    c = j["_c"].to_numpy(dtype=float)
    two, ge, le = _counts(v, rv, c)
    j["_two"], j["_ge"], j["_le"] = two, ge, le
    j["_nan"] = np.isnan(v)
    j["_cens"] = np.isinf(v)
    j["_fin"] = np.where(np.isfinite(v), v, np.nan)
    j["_nn"] = np.where(np.isnan(v), np.nan, v)          # non-NaN (censored kept as +-inf)
    g = j.groupby(key, dropna=False, sort=True)
    agg = g.agg(n_nulls=("value", "size"), n_nan=("_nan", "sum"), n_censored=("_cens", "sum"),
                n_finite=("_fin", "count"), null_mean=("_fin", "mean"), null_sd=("_fin", "std"),
                null_median=("_nn", "median"), c_two=("_two", "sum"), c_ge=("_ge", "sum"),
                c_le=("_le", "sum"), _c=("_c", "first")).reset_index()
    with np.errstate(invalid="ignore"):
        agg["null_q025"] = g["_nn"].quantile(0.025).to_numpy()
        agg["null_q975"] = g["_nn"].quantile(0.975).to_numpy()
    j["_absdev"] = np.abs(j["_nn"] - j.groupby(key, dropna=False, sort=True)["_nn"].transform("median"))
    agg["_mad"] = j.groupby(key, dropna=False, sort=True)["_absdev"].median().to_numpy()
    out = agg.merge(real, on=units, how="left")
    N = out["n_nulls"].to_numpy(dtype=float)
    r = out["real_value"].to_numpy(dtype=float)
    n_cens = out["n_censored"].to_numpy()
    n_nan = out["n_nan"].to_numpy()
    real_cens = np.isinf(r)
    out["real_censored"] = real_cens
    # ---- degenerate real networks
    out["real_regime"] = "unknown"
    out["flag"] = ""
    out["excluded_reason"] = ""
    excluded = np.zeros(len(out), dtype=bool)
    if regimes is not None and not regimes.empty:
        rk = [c for c in regimes.columns if c in out.columns and c in
              set(ID_COLS) | set(param_cols(df))]
        m = out[rk].merge(regimes, on=rk, how="left") if rk else out.assign(**regimes.iloc[0].to_dict())
        reg = m["real_regime"].fillna("unknown").astype(str).to_numpy()
        deg = m["real_regime_degenerate"].fillna(False).astype(bool).to_numpy()
        anyd = m["real_regime_any_degenerate"].fillna(False).astype(bool).to_numpy()
        detail = m["real_regime_detail"].fillna("unknown").astype(str).to_numpy()
        out["real_regime"] = reg
        out["flag"] = np.where(deg, np.char.add("degenerate real network: ", detail.astype(str)),
                               np.where(anyd, np.char.add("real network partly degenerate across seeds: ",
                                                          detail.astype(str)), ""))
        if not include_degenerate:
            excluded = deg
            out["excluded_reason"] = np.where(
                deg, np.char.add(np.char.add("real network ", detail.astype(str)),
                                 " at this parameter set (analysis.include_degenerate: false)"), "")
        if deg.any():
            log.warning("%s: the real network is degenerate (%s) at %d of %d test(s)%s", name,
                        ",".join(sorted(set(detail[deg]))), int(deg.sum()), len(out),
                        "" if include_degenerate else "; they are excluded from the statistics")
    # ---- p-values
    ok = ~np.isnan(r) & ~excluded
    cen_ok = np.isfinite(out["_c"].to_numpy(dtype=float))
    out["p_two"] = np.where(ok & cen_ok, (1.0 + out["c_two"]) / (1.0 + N), np.nan)
    out["p_greater"] = np.where(ok, (1.0 + out["c_ge"]) / (1.0 + N), np.nan)
    out["p_less"] = np.where(ok, (1.0 + out["c_le"]) / (1.0 + N), np.nan)
    out["p_floor"] = 1.0 / (1.0 + N)
    # ---- effect sizes (finite nulls; NaN where censoring makes the mean undefined)
    sd = out["null_sd"].to_numpy(dtype=float)
    delta = r - out["null_mean"].to_numpy(dtype=float)
    cens_any = (n_cens > 0) | real_cens
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, delta / sd, np.where(delta == 0, 0.0, np.sign(delta) * np.inf))
        z = np.where(cens_any, np.nan, z)
        ns = out["n_seeds"].to_numpy(dtype=float)
        nf = out["n_finite"].to_numpy(dtype=float)
        rsd = out["real_seed_sd"].fillna(0.0).to_numpy()
        pooled = np.sqrt(((ns - 1) * rsd ** 2 + (nf - 1) * np.nan_to_num(sd) ** 2) / (ns + nf - 2))
        cohen = np.where((pooled > 0) & ~cens_any, delta / pooled, np.nan)
        dn = np.where((out["real_seed_sd"] > 0) & ~cens_any, delta / out["real_seed_sd"], np.nan)
        mad = 1.4826 * out["_mad"].to_numpy(dtype=float)
        dmed = r - out["null_median"].to_numpy(dtype=float)
        zr = np.where(mad > 0, dmed / mad, np.where(dmed == 0, 0.0, np.sign(dmed) * np.inf))
        zr = np.where(np.isfinite(mad), zr, np.nan)
    out["delta"] = np.where(cens_any, np.nan, delta)
    out["z"] = z
    out["z_robust"] = zr
    out["cohen_d"] = cohen
    out["delta_over_noise"] = dn
    dsign = np.where(np.isnan(delta) & ~np.isnan(dmed), dmed, delta)
    out["direction"] = np.where(dsign > 0, "higher", np.where(dsign < 0, "lower", "equal"))
    # ---- equivalence (TOST on the standardised difference); needs every null finite
    can_eq = ok & (n_cens == 0) & (n_nan == 0) & ~real_cens
    pe = equivalence_p(r, out["null_mean"], sd, nf, equivalence_margin)
    out["p_equiv"] = np.where(can_eq, pe, np.nan)
    out["equivalence_margin"] = equivalence_margin
    # ---- notes
    notes = [[] for _ in range(len(out))]
    for i in np.flatnonzero(np.isnan(r)):
        notes[i].append("real value NaN (a seed or region gave NaN): not tested")
    for i in np.flatnonzero(real_cens):
        notes[i].append("real value censored (beyond the record): only equally censored nulls count as >= it")
    for i in np.flatnonzero(n_cens > 0):
        notes[i].append(f"{int(n_cens[i])} censored null(s) counted as extreme (conservative); z undefined")
    for i in np.flatnonzero(n_nan > 0):
        notes[i].append(f"{int(n_nan[i])} NaN null(s) counted as extreme (conservative)")
    for i in np.flatnonzero(ok & ~cen_ok):
        notes[i].append("half or more of the values censored: two-sided test refused for this design")
    for i in np.flatnonzero(excluded):
        notes[i].append("excluded: degenerate real network")
    out["note"] = ["; ".join(x) for x in notes]
    # ---- FDR: study-wide (every test of the table per atlas and model) and per table
    pcols = param_cols(df)
    ids = [c for c in ID_COLS if c in out.columns]
    p2 = out["p_two"].to_numpy(dtype=float)
    q_s, m_s = _bh_groups(out, p2, ids, fdr_alpha)
    tab_by = ids + pcols + ["family"]
    q_t, m_t = _bh_groups(out, p2, tab_by, fdr_alpha)
    what = "metrics x regions" if "region" in units else "metrics"
    out["q_study"], out["n_tests_study"] = q_s, m_s
    out["q_table"], out["n_tests_table"] = q_t, m_t
    out["fdr_scope_study"] = (f"BH across all {what} x parameter sets ({', '.join(pcols) or 'none'}) x families of "
                              f"this table within ({', '.join(ids)})")
    out["fdr_scope_table"] = f"BH across {what} within ({', '.join(tab_by)})"
    prim = "study" if fdr_scope == "study" else "table"
    out["q"] = out[f"q_{prim}"]
    out["n_tests_fdr"] = out[f"n_tests_{prim}"]
    out["fdr_scope"] = out[f"fdr_scope_{prim}"]
    out["significant"] = np.isfinite(out["q"].to_numpy(dtype=float)) & (out["q"].to_numpy(dtype=float) < fdr_alpha)
    out["fdr_alpha"] = fdr_alpha
    # ---- outcome
    sig = out["significant"].to_numpy()
    # a design that cannot detect a difference (1/(N+1) > alpha) gives no verdict either way
    reach = (out["p_floor"] <= fdr_alpha).to_numpy()
    eq = np.isfinite(out["p_equiv"].to_numpy(dtype=float)) & (out["p_equiv"].to_numpy(dtype=float) < fdr_alpha) \
        & reach
    out["equivalent"] = eq
    has_p = np.isfinite(p2)
    outcome = np.where(excluded, "excluded", np.where(~has_p, "not tested", np.where(
        sig, "not reproduced", np.where(eq, "reproduced", "inconclusive"))))
    out["outcome"] = outcome
    # resolution of the design: BH q >= p_floor always (reached only when every test sits at the floor);
    # an isolated effect among m tests needs p_floor * m <= alpha
    out["can_reach_significance"] = out["p_floor"] <= fdr_alpha
    out["single_effect_detectable"] = out["p_floor"] * out["n_tests_fdr"].clip(lower=1) <= fdr_alpha
    if not out["can_reach_significance"].all():
        bad = out.loc[~out["can_reach_significance"], "family"].unique().tolist()
        log.warning("%s: families %s have too few nulls for any p below FDR %.3g (p >= 1/(N+1)); use more nulls",
                    name, bad, fdr_alpha)
    elif not out["single_effect_detectable"].all():
        log.info("%s: with up to %d tests per FDR family, an isolated effect needs N >= %d nulls to pass BH",
                 name, int(out["n_tests_fdr"].max()), int(np.ceil(out["n_tests_fdr"].max() / fdr_alpha)) - 1)
    out["n_nan"] = out["n_nan"].astype(int)
    out["n_censored"] = out["n_censored"].astype(int)
    out["n_nulls_nan"] = out["n_nan"]          # the former name, kept for readers of older tables
    cols = units + ["family", "n_nulls", "n_nan", "n_nulls_nan", "n_censored", "real_censored", "n_seeds",
                    "real_value", "real_seed_sd", "null_mean", "null_sd", "null_median", "null_q025", "null_q975",
                    "delta", "direction", "z", "z_robust", "cohen_d", "delta_over_noise", "p_two", "p_greater",
                    "p_less", "p_floor", "q", "significant", "n_tests_fdr", "fdr_alpha", "fdr_scope", "q_study",
                    "n_tests_study", "q_table", "n_tests_table", "p_equiv", "equivalent", "equivalence_margin",
                    "outcome", "real_regime", "flag", "excluded_reason", "can_reach_significance",
                    "single_effect_detectable", "note"]
    return out[cols].reset_index(drop=True)
