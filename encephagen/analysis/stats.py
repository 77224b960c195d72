"""Real connectome vs null families, per metric, without pseudo-replication.

Design (the predecessor compared one network re-run with noise against many different
networks; that is pseudo-replication):

* The unit of replication is the NETWORK. The real connectome and every null network are
  each simulated with the same number of noise seeds and summarised by their mean over
  ``seed_id`` before any comparison. A real arm with a different seed count than any null is
  refused (:class:`~encephagen.analysis.tables.TableError` naming the network).
* The null distribution of a family is the set of its networks' seed-means (N values).
* Empirical p-values with the +1 correction (Phipson & Smyth 2010), so p >= 1/(N+1):

  - two-sided: ``(1 + #{|null - null_mean| >= |real - null_mean|}) / (1 + N)``
  - greater:   ``(1 + #{null >= real}) / (1 + N)``;  less: ``(1 + #{null <= real}) / (1 + N)``

* Effect sizes (both reported):

  - ``z = (real - mean(nulls)) / sd(nulls)``: the real network's position in the null
    distribution of network means (sd with ddof=1);
  - ``cohen_d``: Cohen's d between the real network's seed values (n_seeds values) and the
    null networks' means (N values), pooled SD with ddof=1 in each arm. It mixes seed noise
    and between-network spread and is given for comparison with the literature; ``z`` is the
    primary effect size.

* The noise floor: ``real_seed_sd``, the SD of the real network's value across its seeds
  (what re-running the same network with other noise changes). ``delta_over_noise`` =
  (real - null mean) / real_seed_sd.
* Benjamini-Hochberg FDR (statsmodels ``multipletests(method='fdr_bh')``) on the two-sided
  p-values across all metrics (and regions, for a regional table) within each
  (atlas, model, parameter set, family) by default; ``fdr_scope`` in every row says which.
* Every row records ``n_nulls`` (N of the family) and ``n_seeds``; a family with fewer nulls
  than ``min_nulls`` is refused, naming the family. ``can_reach_significance`` is False where
  the smallest possible p, 1/(N+1), exceeds alpha (a warning is logged), and
  ``single_effect_detectable`` False where one isolated effect among the m tests of its FDR
  family could not pass BH (m/(N+1) > alpha).
"""
from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from encephagen.analysis.tables import (ID_COLS, REAL, TableError, network_means, param_cols,
                                        unit_cols)

log = logging.getLogger(__name__)

__all__ = ["compare_to_nulls", "empirical_p", "bh_fdr", "check_design", "TableError"]

_TOL = 1e-12


def empirical_p(real: float, nulls: Sequence[float]) -> dict:
    """Empirical p-values of one real value against a null sample (+1 corrected).

    Reference implementation (scalar) of what :func:`compare_to_nulls` computes vectorised.
    NaN nulls are dropped and counted.
    """
    x = np.asarray(nulls, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0 or not np.isfinite(real):
        return {"p_two": np.nan, "p_greater": np.nan, "p_less": np.nan, "n": n}
    m = x.mean()
    tol = _TOL * max(1.0, abs(m), abs(real))
    return {"p_two": (1 + np.sum(np.abs(x - m) >= abs(real - m) - tol)) / (1 + n),
            "p_greater": (1 + np.sum(x >= real - tol)) / (1 + n),
            "p_less": (1 + np.sum(x <= real + tol)) / (1 + n),
            "n": n}


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
                     fdr_by: Sequence[str] | None = None, name: str = "table") -> pd.DataFrame:
    """Per metric (and region), the real network vs each null family.

    ``df`` is a tidy network-level or regional table (see :mod:`encephagen.analysis.tables`).
    ``fdr_by`` lists the columns within which BH runs (default: atlas, model, parameter columns,
    family, i.e. across metrics and regions). Returns one row per (unit, family); columns
    documented in the module docstring plus ``p_floor = 1/(N+1)`` (the smallest p this N allows).
    """
    nm = network_means(df, name=name)
    units = unit_cols(df)
    counts = check_design(nm, units, min_nulls, name)
    real = nm[nm["family"] == REAL][units + ["value", "seed_sd", "n_seeds"]].rename(
        columns={"value": "real_value", "seed_sd": "real_seed_sd"})
    nulls = nm[nm["family"] != REAL][units + ["family", "null_index", "value"]]
    j = nulls.merge(real[units + ["real_value"]], on=units, how="left")
    key = units + ["family"]
    g = j.groupby(key, dropna=False, sort=True)["value"]
    j["null_mean"] = g.transform("mean")
    fin = np.isfinite(j["value"].to_numpy())
    rv = j["real_value"].to_numpy()
    v = j["value"].to_numpy()
    m = j["null_mean"].to_numpy()
    tol = _TOL * np.maximum(1.0, np.maximum(np.abs(m), np.abs(rv)))
    with np.errstate(invalid="ignore"):
        j["_two"] = fin & (np.abs(v - m) >= np.abs(rv - m) - tol)
        j["_ge"] = fin & (v >= rv - tol)
        j["_le"] = fin & (v <= rv + tol)
    j["_fin"] = fin
    agg = j.groupby(key, dropna=False, sort=True).agg(
        n_nulls=("value", "size"), n_finite=("_fin", "sum"), null_mean=("value", "mean"),
        null_sd=("value", "std"), c_two=("_two", "sum"),
        c_ge=("_ge", "sum"), c_le=("_le", "sum")).reset_index()
    gq = j.groupby(key, dropna=False, sort=True)["value"]
    agg["null_q025"] = gq.quantile(0.025).to_numpy()
    agg["null_q975"] = gq.quantile(0.975).to_numpy()
    out = agg.merge(real, on=units, how="left")
    nf = out["n_finite"].to_numpy(dtype=float)
    ok = np.isfinite(out["real_value"].to_numpy()) & (nf > 0)
    for c, p in (("c_two", "p_two"), ("c_ge", "p_greater"), ("c_le", "p_less")):
        out[p] = np.where(ok, (1.0 + out[c]) / (1.0 + nf), np.nan)
    out["p_floor"] = 1.0 / (1.0 + nf)
    out["n_nulls_nan"] = (out["n_nulls"] - out["n_finite"]).astype(int)
    delta = out["real_value"] - out["null_mean"]
    out["delta"] = delta
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = out["null_sd"].to_numpy()
        z = np.where(sd > 0, delta / sd, np.where(delta == 0, 0.0, np.sign(delta) * np.inf))
        out["z"] = z
        ns = out["n_seeds"].to_numpy(dtype=float)
        rsd = out["real_seed_sd"].fillna(0.0).to_numpy()
        pooled = np.sqrt(((ns - 1) * rsd ** 2 + (nf - 1) * np.nan_to_num(sd) ** 2) / (ns + nf - 2))
        out["cohen_d"] = np.where(pooled > 0, delta / pooled, np.nan)
        out["delta_over_noise"] = np.where(out["real_seed_sd"] > 0, delta / out["real_seed_sd"], np.nan)
    out["direction"] = np.where(delta > 0, "higher", np.where(delta < 0, "lower", "equal"))
    notes = np.full(len(out), "", dtype=object)
    notes[~np.isfinite(out["real_value"].to_numpy())] = "real value NaN (a seed gave NaN)"
    notes[(out["n_nulls_nan"] > 0).to_numpy()] = "some null networks NaN; excluded from p"
    out["note"] = notes
    # ---- FDR
    pcols = param_cols(df)
    if fdr_by is None:
        fdr_by = [c for c in ID_COLS if c in out.columns] + pcols + ["family"]
    missing = [c for c in fdr_by if c not in out.columns]
    if missing:
        raise TableError(f"{name}: fdr_by names column(s) {missing} not in the results")
    out["q"] = np.nan
    out["significant"] = False
    out["n_tests_fdr"] = 0
    scope = "BH across " + ("metrics x regions" if "region" in units else "metrics") + \
            " within (" + ", ".join(fdr_by) + ")"
    if fdr_by:
        groups = out.groupby(list(fdr_by), dropna=False, sort=False).indices.values()
    else:
        groups = [np.arange(len(out))]
    for idx in groups:
        idx = np.asarray(idx)
        q, rej = bh_fdr(out["p_two"].to_numpy()[idx], fdr_alpha)
        out.loc[out.index[idx], "q"] = q
        out.loc[out.index[idx], "significant"] = rej
        out.loc[out.index[idx], "n_tests_fdr"] = int(np.isfinite(out["p_two"].to_numpy()[idx]).sum())
    out["fdr_alpha"] = fdr_alpha
    out["fdr_scope"] = scope
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
    cols = units + ["family", "n_nulls", "n_nulls_nan", "n_seeds", "real_value", "real_seed_sd",
                    "null_mean", "null_sd", "null_q025", "null_q975", "delta", "direction", "z",
                    "cohen_d", "delta_over_noise", "p_two", "p_greater", "p_less", "p_floor", "q",
                    "significant", "n_tests_fdr", "fdr_alpha", "fdr_scope", "can_reach_significance",
                    "single_effect_detectable", "note"]
    del counts
    return out[cols].reset_index(drop=True)
