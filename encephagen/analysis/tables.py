"""Column conventions of the tidy tables the aggregation writes, and checks on them.

Network-level table: one row per (atlas, model, family, null_index, seed_id, parameter set, metric)
with columns ``atlas, model, family, null_index, seed_id, seed, <parameter columns ...>, metric,
value``. The regional table adds ``region, label, region_class``. ``family == 'real'`` with
``null_index == 0`` is the real connectome. Any column not named here is a parameter column
(e.g. ``G``); parameter columns identify a parameter set, never a network. Per-network dynamical
regime columns (``regime``, ``regime_frac_<name>``: a network's regime at one parameter set and seed)
are descriptors, never parameter columns (:data:`REGIME_PREFIX`).

Censored values: a value of ``+inf`` (``-inf``) is a measurement known only to lie above (below)
what the record can resolve, e.g. an autocorrelation time scale longer than the record.
:func:`apply_censoring` turns the NaN of metrics that are NaN exactly when censored (configured,
``analysis.censored_metrics``) into such infinities; a NaN that remains means "undefined".
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

REAL = "real"
ID_COLS = ("atlas", "model")
NETWORK_COLS = ("family", "null_index")
SEED_COLS = ("seed_id", "seed")
REGION_COLS = ("region", "label", "region_class", "regime")
# per-run columns the aggregation adds (encephagen.aggregate): the run's regime label, the fraction
# of its regions in each regime, and which FC the FC metrics are of; identifiers, never parameters
RUN_INFO_COLS = {"network_regime", "fc_source", "regime_frac_fixed_point", "regime_frac_oscillating",
                 "regime_frac_saturated", "regime_frac_silent", "regime_frac_diverged"}
VALUE_COLS = ("metric", "value")
# columns that analysis results add (never parameter columns)
RESULT_COLS = {"n_nulls", "n_nulls_nan", "n_seeds", "real_value", "real_seed_sd", "null_mean", "null_sd",
               "null_q025", "null_q975", "delta", "direction", "z", "cohen_d", "delta_over_noise",
               "p_two", "p_greater", "p_less", "p_floor", "q", "significant", "n_tests_fdr",
               "fdr_alpha", "fdr_scope", "note", "can_reach_significance", "single_effect_detectable", "reproduces",
               "reproduce_rule", "seed_sd", "n_nan", "n_censored", "real_censored", "z_robust", "null_median",
               "p_equiv", "equivalent", "equivalence_margin", "outcome", "q_study", "n_tests_study", "q_table",
               "n_tests_table", "fdr_scope_study", "fdr_scope_table", "real_regime", "flag", "excluded_reason",
               "n_regions_nan", "n_regions_censored"}
# regime descriptors written by the aggregation (per network x seed x parameter set): never parameters
REGIME_PREFIX = "regime"
DEGENERATE_REGIMES = ("saturated", "silent", "diverged")
CENSOR_SIDES = {"high": np.inf, "low": -np.inf}
KNOWN = (set(ID_COLS) | set(NETWORK_COLS) | set(SEED_COLS) | set(REGION_COLS) | set(VALUE_COLS)
         | RESULT_COLS | RUN_INFO_COLS)

REQUIRED_NETWORK = ("atlas", "model", "family", "null_index", "seed_id", "metric", "value")
REQUIRED_REGIONAL = REQUIRED_NETWORK + ("region",)


class TableError(ValueError):
    """A tidy table is malformed or fails a statistical precondition; the message names the culprit."""


def param_cols(df: pd.DataFrame, exclude: Iterable[str] = ()) -> list[str]:
    """Parameter columns: every column that is not a known identifier/value column."""
    ex = KNOWN | set(exclude)
    return [c for c in df.columns if c not in ex and not str(c).startswith(REGIME_PREFIX)]


def apply_censoring(df: pd.DataFrame, censored: Mapping[str, str] | None, *, name: str = "table") -> pd.DataFrame:
    """NaN values of the ``censored`` metrics (metric -> 'high' | 'low') become +inf / -inf.

    For such a metric NaN means "beyond what the record resolves" (e.g. ``acf_tau_ms``: the
    autocorrelation stays above 1/e over the whole record, or the record is constant), so the value
    is an extreme on that side, never a missing one. Other metrics are untouched.
    """
    if not censored:
        return df
    bad = {m: s for m, s in censored.items() if s not in CENSOR_SIDES}
    if bad:
        raise ValueError(f"analysis.censored_metrics: side must be one of {sorted(CENSOR_SIDES)}, got {bad}")
    require(df, ["metric", "value"], name)
    out = df.copy()
    v = out["value"].to_numpy(dtype=float).copy()
    met = out["metric"].astype(str).to_numpy()
    for m, side in censored.items():
        sel = (met == m) & np.isnan(v)
        v[sel] = CENSOR_SIDES[side]
    out["value"] = v
    return out


def require(df: pd.DataFrame, cols: Sequence[str], name: str = "table") -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise TableError(f"{name}: missing column(s) {missing}; has {list(df.columns)}")


def is_regional(df: pd.DataFrame) -> bool:
    return "region" in df.columns


def unit_cols(df: pd.DataFrame) -> list[str]:
    """Columns identifying one statistical test, without the network: atlas, model, parameters,
    metric (and region for a regional table)."""
    cols = [c for c in ID_COLS if c in df.columns] + param_cols(df) + ["metric"]
    if is_regional(df):
        cols.append("region")
    return cols


def network_means(df: pd.DataFrame, *, name: str = "table") -> pd.DataFrame:
    """Average each network's value over its noise seeds.

    Returns one row per (unit, family, null_index) with ``value`` (mean over seeds),
    ``seed_sd`` (SD across seeds, ddof=1; NaN with one seed) and ``n_seeds``. A table without a
    ``seed_id`` column (a deterministic model) has one value per network (n_seeds = 1). Duplicate
    (network, seed_id) rows for one unit are an error (an aggregation bug would otherwise be
    averaged away).
    """
    if "seed_id" not in df.columns:
        # a deterministic model (e.g. the analytic linearised Hopf FC): one value per network
        df = df.assign(seed_id=0)
    require(df, REQUIRED_REGIONAL if is_regional(df) else REQUIRED_NETWORK, name)
    keys = unit_cols(df) + ["family", "null_index"]
    dup = df.duplicated(keys + ["seed_id"], keep=False)
    if dup.any():
        first = df.loc[dup, keys + ["seed_id"]].iloc[0].to_dict()
        raise TableError(f"{name}: {int(dup.sum())} duplicate rows for one (network, seed_id, unit), "
                         f"e.g. {first}")
    g = df.groupby(keys, sort=True, dropna=False)["value"]
    out = g.agg(value="mean", seed_sd="std", n_seeds="size", n_finite="count").reset_index()
    # a NaN seed makes the network's mean NaN (never silently dropped: the seed count would differ)
    out.loc[out["n_finite"] < out["n_seeds"], "value"] = float("nan")
    return out.drop(columns="n_finite")


def regional_to_network(regional: pd.DataFrame, how: str = "mean", suffix: str | None = None) -> pd.DataFrame:
    """Collapse a regional table over regions (per network x seed x parameter set x metric).

    ``how``: 'mean', 'median', 'std' (the spread across regions: a hierarchy measure). A NaN region
    makes the network's value NaN (counted as NaN by the statistics, never silently skipped); a
    censored (+-inf) region makes the mean censored on its side (the std undefined: NaN).
    The metric is renamed ``<metric>_<suffix or how>_over_regions`` so it cannot be confused with a
    network-level metric of the same name.
    """
    require(regional, REQUIRED_REGIONAL, "regional table")
    if how not in ("mean", "median", "std"):
        raise ValueError(f"how must be 'mean', 'median' or 'std', got {how!r}")
    keys = [c for c in regional.columns if c not in set(REGION_COLS) | {"value"}
            and not str(c).startswith(REGIME_PREFIX)]
    # NaN regions propagate (a mean over the regions that happen to be defined would silently change
    # the set of regions between networks); a censored region (+-inf) makes the mean censored
    g = regional.groupby(keys, dropna=False, sort=False)["value"]
    agg = g.agg([how, "count", "size"])
    val = agg[how].to_numpy(dtype=float).copy()
    val[(agg["count"] < agg["size"]).to_numpy()] = np.nan
    out = agg.drop(columns=[how, "count", "size"]).assign(value=val).reset_index()
    out["metric"] = out["metric"].astype(str) + f"_{suffix or how}_over_regions"
    return out
