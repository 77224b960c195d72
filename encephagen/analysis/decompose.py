"""Degree vs wiring: which metrics each null family reproduces.

A family REPRODUCES a metric when the real value is not significant against it after FDR
(``q >= alpha``, from :func:`encephagen.analysis.stats.compare_to_nulls`) AND ``|z| < reproduce_z``
(default 2: the real value lies within two null SDs of the family mean). Both are required:
with few nulls a large |z| can fail to reach significance, and with very many nulls a tiny,
irrelevant difference can be significant; a non-significant p alone is not evidence of equality.

The verdict per metric names the least constrained family that reproduces it (families ordered
from weakest to strongest constraint, each with what it preserves, e.g. 'degree sequence'):
``explained by <what that family preserves>``; when no family reproduces the metric the verdict
is ``specific wiring`` (only the real network produces it).

For regional metrics the regional PROFILE is compared as well: Spearman rho across regions
between the real network's profile (seed-mean per region) and each null network's profile,
summarised per family, beside the real network's split-half rho (profiles from even vs odd
seeds: how reproducible the real profile is under noise alone, with half the seeds each).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sstats

from encephagen.analysis.tables import (ID_COLS, REAL, TableError, network_means, param_cols,
                                        require)

__all__ = ["reproduction_table", "decompose", "profile_correlations", "DEFAULT_PRESERVES"]

# What each null family (names as in encephagen.nulls.FAMILIES) keeps of the real network, weakest
# constraint first (weight_perm keeps every edge: the strongest topological constraint).
# Unknown family names are accepted and labelled by their own name.
DEFAULT_PRESERVES: dict[str, str] = {
    "er": "density and weight values",
    "degree": "degree sequence",
    "degree_connected": "degree sequence and connectedness",
    "strength": "degree and (approximately) strength sequences",
    "geometry": "degree sequence and edge-length distribution",
    "richclub": "degree sequence and rich-club structure",
    "weight_perm": "binary topology (all edges; weights permuted)",
}


def reproduction_table(st: pd.DataFrame, *, reproduce_z: float = 2.0) -> pd.DataFrame:
    """Add ``reproduces`` (bool) and ``reproduce_rule`` to a compare_to_nulls result."""
    require(st, ["family", "z", "q", "significant"], "statistics table")
    if not reproduce_z > 0:
        raise ValueError(f"reproduce_z must be > 0, got {reproduce_z}")
    out = st.copy()
    z = out["z"].to_numpy(dtype=float)
    out["reproduces"] = (~out["significant"].astype(bool)) & np.isfinite(z) & (np.abs(z) < reproduce_z) \
        & np.isfinite(out["q"].to_numpy(dtype=float))
    out["reproduce_rule"] = f"not FDR-significant and |z| < {reproduce_z:g}"
    return out


def _key(t: tuple) -> tuple:
    """A group key usable in a dict across groupbys (NaN != NaN otherwise)."""
    return tuple("<NA>" if (isinstance(v, float) and np.isnan(v)) else v for v in t)


def profile_correlations(regional: pd.DataFrame, *, name: str = "regional table") -> pd.DataFrame:
    """Spearman rho across regions of each null network's profile with the real profile.

    Returns one row per (atlas, model, parameters, metric, family, null_index) with ``rho``,
    ``n_regions``, and ``real_split_half_rho`` for the same unit.
    """
    require(regional, ["region", "metric", "family", "null_index", "seed_id", "value"], name)
    nm = network_means(regional, name=name)
    ucols = [c for c in ID_COLS if c in regional.columns] + param_cols(regional) + ["metric"]
    # split-half ceiling on the real network's seeds (even vs odd seed_id), all units at once
    real_rows = regional[regional["family"] == REAL].assign(_half=lambda d: d["seed_id"] % 2)
    halves = real_rows.groupby(ucols + ["_half", "region"], dropna=False)["value"].mean().unstack("_half")
    splits: dict = {}
    if halves.shape[1] == 2:
        for ukey, h in halves.groupby(level=list(range(len(ucols))), dropna=False):
            ukey = ukey if isinstance(ukey, tuple) else (ukey,)
            h = h.dropna()
            splits[_key(ukey)] = float(sstats.spearmanr(h.iloc[:, 0], h.iloc[:, 1])[0]) if len(h) > 2 else np.nan
    rows = []
    for ukey, sub in nm.groupby(ucols, dropna=False, sort=True):
        ukey = ukey if isinstance(ukey, tuple) else (ukey,)
        mat = sub.set_index(["family", "null_index", "region"])["value"].unstack("region")
        if (REAL, 0) not in mat.index:
            raise TableError(f"{name}: no real profile for {dict(zip(ucols, ukey))}")
        real = mat.loc[(REAL, 0)].to_numpy(dtype=float)
        ok = np.isfinite(real)
        rr = sstats.rankdata(real[ok])
        split = splits.get(_key(ukey), np.nan)
        nulls = mat.drop(index=(REAL, 0))
        x = nulls.to_numpy(dtype=float)[:, ok]
        xr = sstats.rankdata(x, axis=1)
        a = xr - xr.mean(axis=1, keepdims=True)
        b = rr - rr.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (a @ b) / np.sqrt((a * a).sum(axis=1) * (b * b).sum())
        rho[~np.isfinite(x).all(axis=1)] = np.nan
        for (fam, idx), r in zip(nulls.index, rho):
            rows.append(dict(zip(ucols, ukey), family=fam, null_index=int(idx), rho=float(r),
                             n_regions=int(ok.sum()), real_split_half_rho=split))
    return pd.DataFrame(rows)


def decompose(st: pd.DataFrame, *, reproduce_z: float = 2.0, preserves: Mapping[str, str] | None = None,
              family_order: Sequence[str] | None = None, regional: pd.DataFrame | None = None,
              regional_stats: pd.DataFrame | None = None, profile_rho_min: float = 0.8) -> pd.DataFrame:
    """Which metrics the null families reproduce: one row per (atlas, model, parameters, metric).

    ``st``: network-level compare_to_nulls result. ``preserves`` maps family -> what it keeps
    (default :data:`DEFAULT_PRESERVES`); ``family_order`` orders families weakest to strongest
    constraint (default: the order of ``preserves``, then unknown families alphabetically).
    ``regional`` (tidy regional table) adds per family ``profile_rho_median`` and
    ``profile_rho_q025/q975`` and ``real_split_half_rho``; ``regional_stats`` (compare_to_nulls
    on the regional table) adds ``frac_regions_significant`` per family.

    Columns: unit columns, ``reproduces_<family>``, ``z_<family>``, ``q_<family>``,
    ``reproduced_by`` (families, weakest first), ``verdict`` and ``rule``.
    """
    preserves = dict(DEFAULT_PRESERVES if preserves is None else preserves)
    rt = reproduction_table(st, reproduce_z=reproduce_z)
    fams = sorted(set(rt["family"]))
    order = list(family_order) if family_order is not None else [f for f in preserves if f in fams]
    order += sorted(f for f in fams if f not in order)
    unknown_order = [f for f in fams if f not in order]
    if unknown_order:
        raise TableError(f"families {unknown_order} missing from family_order")
    ucols = [c for c in list(ID_COLS) + param_cols(st) + ["metric"] if c in rt.columns]
    wide = rt.set_index(ucols + ["family"])[["reproduces", "z", "q"]].unstack("family")
    out = pd.DataFrame(index=wide.index)
    for f in order:
        out[f"reproduces_{f}"] = wide[("reproduces", f)].astype(bool)
        out[f"z_{f}"] = wide[("z", f)].astype(float)
        out[f"q_{f}"] = wide[("q", f)].astype(float)
    rep = out[[f"reproduces_{f}" for f in order]].to_numpy()
    by, verdict = [], []
    for row in rep:
        fs = [f for f, r in zip(order, row) if r]
        by.append(",".join(fs))
        verdict.append(f"explained by {preserves.get(fs[0], fs[0])} ({fs[0]})" if fs
                       else "specific wiring (no null family reproduces it)")
    out["reproduced_by"] = by
    out["verdict"] = verdict
    out["rule"] = f"reproduces = not FDR-significant and |z| < {reproduce_z:g}"
    out = out.reset_index()
    # network-level summaries of regional metrics (tables.regional_to_network) join their regional rows
    out["regional_metric"] = out["metric"].astype(str).str.replace(
        r"_(mean|median|std)_over_regions$", "", regex=True)
    if regional is not None:
        pc = profile_correlations(regional)
        pk = [c for c in ucols if c in pc.columns]
        summ = pc.groupby(pk + ["family"], dropna=False).agg(
            profile_rho_median=("rho", "median"),
            profile_rho_q025=("rho", lambda r: r.quantile(0.025)),
            profile_rho_q975=("rho", lambda r: r.quantile(0.975)),
            real_split_half_rho=("real_split_half_rho", "first")).reset_index()
        ceil = summ.groupby(pk, dropna=False)["real_split_half_rho"].first().rename("real_split_half_rho")
        w = summ.set_index(pk + ["family"])[["profile_rho_median", "profile_rho_q025",
                                            "profile_rho_q975"]].unstack("family")
        w.columns = [f"{a}_{b}" for a, b in w.columns]
        w = w.join(ceil).reset_index().rename(columns={"metric": "regional_metric"})
        pk2 = [("regional_metric" if c == "metric" else c) for c in pk]
        out = out.merge(w, on=pk2, how="left")
        pby, pverdict = [], []
        for _, row in out.iterrows():
            fs = [f for f in order if row.get(f"profile_rho_median_{f}", np.nan) >= profile_rho_min]
            pby.append(",".join(fs))
            pverdict.append("" if not np.isfinite(row.get("real_split_half_rho", np.nan)) and not fs else
                            (f"profile explained by {preserves.get(fs[0], fs[0])} ({fs[0]})" if fs
                             else "profile: specific wiring (no null family reproduces it)"))
        out["profile_reproduced_by"] = pby
        out["profile_verdict"] = pverdict
        out["profile_rule"] = f"profile reproduced = median Spearman rho (null vs real profile) >= {profile_rho_min:g}"
    if regional_stats is not None:
        pk = [c for c in ucols if c in regional_stats.columns]
        fr = regional_stats.groupby(pk + ["family"], dropna=False)["significant"].mean().unstack("family")
        fr.columns = [f"frac_regions_significant_{c}" for c in fr.columns]
        fr = fr.reset_index().rename(columns={"metric": "regional_metric"})
        out = out.merge(fr, on=[("regional_metric" if c == "metric" else c) for c in pk], how="left")
    return out
