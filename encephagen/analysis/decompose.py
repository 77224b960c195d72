"""Which null families reproduce each metric, on the nested ladder of constraints.

The ladder (:data:`LADDER`): each null family preserves more of the real network than the one
below it; families on one rung are not nested with each other::

    er (density, weight values)                                   rung 0
    < degree (degree sequence)                                    rung 1
    < strength | geometry | degree_connected | richclub           rung 2  (degree + one more property)
    < weight_perm (every edge, the binary topology; weights permuted) rung 3

(weight_perm does not keep node strengths exactly, so strength < weight_perm is a ladder of
topological constraint, not of every property.) Only the families that ran enter. A family with
no rung (not in :data:`LADDER` nor ``levels``) is reported per family but kept off the ladder
(``off_ladder`` column, a warning); only when no family has a rung are they all put on one rung.

Per family the outcome comes from :func:`encephagen.analysis.stats.compare_to_nulls`:
``reproduced`` (equivalence shown: TOST on the standardised difference at the margin
``analysis.equivalence_margin`` null SDs, and no FDR-significant difference), ``not reproduced``
(FDR-significant difference), ``inconclusive`` (neither: underpowered), ``excluded`` (degenerate real
network) or ``not tested``. A non-significant p alone is never "reproduced".

The verdict names the least constrained family that reproduces the metric AND below which every
more constrained family that ran reproduces it too (``explained_by``). ``non_monotone`` flags a
less constrained family reproducing while a more constrained one differs significantly (the
ladder's logic fails: e.g. degree-preserving nulls match but weight-permuted ones do not); the
verdict then says so when no family explains the metric. When every family differs, the metric
depends on what even the most constrained family destroys: "specific wiring" when that family
rewires edges, "specific weight arrangement" when it keeps every edge (weight_perm, or any family
on a complete graph: density 1, where no family can rewire; ``keeps_all_edges``/``complete``).

For regional metrics the regional PROFILE is compared as well: Spearman rho across regions
between the real network's profile (seed-mean per region) and each null network's profile,
summarised per family, beside the real network's split-half rho (profiles from even vs odd
seeds: how reproducible the real profile is under noise alone, with half the seeds each). A family
reproduces the profile when its median rho >= ``profile_rho_min``; the same ladder rule gives the
profile verdict.
"""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sstats

from encephagen.analysis.tables import (ID_COLS, REAL, TableError, network_means, param_cols,
                                        require)

log = logging.getLogger(__name__)

__all__ = ["reproduction_table", "decompose", "profile_correlations", "ladder_verdict", "DEFAULT_PRESERVES",
           "LADDER", "keeps_all_edges_from_properties"]

# rung of each null family on the ladder of constraints (higher = more constrained)
LADDER: dict[str, int] = {"er": 0, "degree": 1, "degree_connected": 2, "strength": 2, "geometry": 2,
                          "richclub": 2, "weight_perm": 3}
# families that keep every edge of the real network whatever its density
ALWAYS_KEEP_EDGES = frozenset({"weight_perm"})

# What each null family keeps of the real network. Unknown family names are labelled by their own name.
DEFAULT_PRESERVES: dict[str, str] = {
    "er": "density and weight values",
    "degree": "degree sequence",
    "degree_connected": "degree sequence and connectedness",
    "strength": "degree and (approximately) strength sequences",
    "geometry": "degree sequence and edge-length distribution",
    "richclub": "degree sequence and rich-club structure",
    "weight_perm": "binary topology (all edges; weights permuted)",
}


def reproduction_table(st: pd.DataFrame) -> pd.DataFrame:
    """Add ``reproduces`` (bool: outcome == 'reproduced') and ``reproduce_rule`` to a
    compare_to_nulls result."""
    require(st, ["family", "outcome", "equivalence_margin", "fdr_alpha"], "statistics table")
    out = st.copy()
    out["reproduces"] = out["outcome"].eq("reproduced")
    out["reproduce_rule"] = _rule(out)
    return out


def _rule(st: pd.DataFrame) -> str:
    m = float(st["equivalence_margin"].iloc[0]) if len(st) else float("nan")
    a = float(st["fdr_alpha"].iloc[0]) if len(st) else float("nan")
    return (f"reproduced = equivalence shown (TOST, |real - null mean| < {m:g} null SD, p_equiv < {a:g}) and no "
            f"FDR-significant difference; not reproduced = FDR-significant difference (q < {a:g}); "
            "inconclusive = neither")


def keeps_all_edges_from_properties(props: pd.DataFrame, *, atlas: str | None = None) -> tuple[dict, bool]:
    """From the nulls stage's property table (``results/nulls/atlas-*/properties.tsv``: one row per
    network with ``family`` and ``density``): ``({family: keeps every edge}, real graph complete)``.
    A family keeps every edge when it is weight_perm or when the real network and all its networks
    are complete (density 1)."""
    require(props, ["family", "density"], "null property table")
    p = props if atlas is None or "atlas" not in props.columns else props[props["atlas"].astype(str) == atlas]
    real = p[p["family"] == REAL]
    complete = bool(len(real)) and bool((real["density"].astype(float) >= 1 - 1e-12).all())
    keep = {}
    for fam, g in p[p["family"] != REAL].groupby("family"):
        keep[str(fam)] = fam in ALWAYS_KEEP_EDGES or (complete and bool((g["density"].astype(float)
                                                                          >= 1 - 1e-12).all()))
    return keep, complete


def ladder_verdict(outcome: Mapping[str, str], *, levels: Mapping[str, int], preserves: Mapping[str, str],
                   keeps_edges: Mapping[str, bool], what: str = "") -> dict:
    """The ladder rule on one metric's per-family outcomes (see the module docstring).

    Returns ``verdict``, ``verdict_class`` (reproduced | not reproduced | non-monotone | inconclusive |
    not assessed), ``explained_by`` (families, comma-joined), ``non_monotone`` (bool) and
    ``non_monotone_detail``."""
    fams = [f for f in sorted(outcome, key=lambda f: (levels[f], f))
            if outcome[f] in ("reproduced", "not reproduced", "inconclusive")]
    rep = {f for f in fams if outcome[f] == "reproduced"}
    diff = {f for f in fams if outcome[f] == "not reproduced"}
    nm = [(a, b) for a in rep for b in diff if levels[b] > levels[a]]
    nm_detail = "; ".join(f"{a} reproduces but more constrained {b} differs" for a, b in
                          sorted(nm, key=lambda t: (levels[t[0]], t[0], levels[t[1]], t[1])))
    res = {"non_monotone": bool(nm), "non_monotone_detail": nm_detail, "explained_by": ""}
    pre = f"{what} " if what else ""
    if not fams:
        ex = sorted({outcome[f] for f in outcome})
        res.update(verdict=f"{pre}not assessed ({', '.join(ex)})", verdict_class="not assessed")
        return res
    cand = [f for f in sorted(rep, key=lambda f: (levels[f], f))
            if all(outcome[g] == "reproduced" for g in fams if levels[g] > levels[f])]
    if cand:
        lo = levels[cand[0]]
        best = [f for f in cand if levels[f] == lo]
        res["explained_by"] = ",".join(best)
        res.update(verdict=f"{pre}explained by " + " or ".join(f"{preserves.get(f, f)} ({f})" for f in best),
                   verdict_class="reproduced")
        return res
    if nm:
        res.update(verdict=f"{pre}non-monotone: {nm_detail}", verdict_class="non-monotone")
        return res
    if diff and diff == set(fams):
        top = [f for f in fams if levels[f] == max(levels[g] for g in fams)]
        if all(keeps_edges.get(f, False) for f in top):
            res.update(verdict=f"{pre}specific weight arrangement (no null family reproduces it, not even "
                               f"with every edge kept: {', '.join(top)})", verdict_class="not reproduced")
        else:
            res.update(verdict=f"{pre}specific wiring (no null family reproduces it, not even "
                               + " or ".join(f"{preserves.get(f, f)} ({f})" for f in top) + ")",
                       verdict_class="not reproduced")
        return res
    inc = [f for f in fams if outcome[f] == "inconclusive"]
    res.update(verdict=f"{pre}inconclusive: {', '.join(inc)} neither different nor equivalent (underpowered)",
               verdict_class="inconclusive")
    return res


def _key(t: tuple) -> tuple:
    """A group key usable in a dict across groupbys (NaN != NaN otherwise)."""
    return tuple("<NA>" if (isinstance(v, float) and np.isnan(v)) else v for v in t)


def profile_correlations(regional: pd.DataFrame, *, name: str = "regional table") -> pd.DataFrame:
    """Spearman rho across regions of each null network's profile with the real profile.

    Returns one row per (atlas, model, parameters, metric, family, null_index) with ``rho``,
    ``n_regions``, and ``real_split_half_rho`` for the same unit. A NaN region (in the null or the real
    profile) makes rho NaN (never a correlation over fewer regions); +-inf values are ranked.
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
            ok_h = not h.isna().to_numpy().any() and len(h) > 2      # a NaN region: undefined, not dropped
            splits[_key(ukey)] = float(sstats.spearmanr(h.iloc[:, 0], h.iloc[:, 1])[0]) if ok_h else np.nan
    rows = []
    for ukey, sub in nm.groupby(ucols, dropna=False, sort=True):
        ukey = ukey if isinstance(ukey, tuple) else (ukey,)
        mat = sub.set_index(["family", "null_index", "region"])["value"].unstack("region")
        if (REAL, 0) not in mat.index:
            raise TableError(f"{name}: no real profile for {dict(zip(ucols, ukey))}")
        real = mat.loc[(REAL, 0)].to_numpy(dtype=float)
        # every region enters (censored +-inf values are ranked as extremes); a NaN region of the real
        # profile makes every rho undefined rather than silently correlating fewer regions
        ok = np.ones(real.shape, dtype=bool)
        rr = sstats.rankdata(real)
        split = splits.get(_key(ukey), np.nan)
        nulls = mat.drop(index=(REAL, 0))
        x = nulls.to_numpy(dtype=float)[:, ok]
        xr = sstats.rankdata(x, axis=1)
        a = xr - xr.mean(axis=1, keepdims=True)
        b = rr - rr.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (a @ b) / np.sqrt((a * a).sum(axis=1) * (b * b).sum())
        rho[np.isnan(x).any(axis=1) | np.isnan(real).any()] = np.nan
        for (fam, idx), r in zip(nulls.index, rho):
            rows.append(dict(zip(ucols, ukey), family=fam, null_index=int(idx), rho=float(r),
                             n_regions=int(ok.sum()), real_split_half_rho=split))
    return pd.DataFrame(rows)


def decompose(st: pd.DataFrame, *, preserves: Mapping[str, str] | None = None,
              levels: Mapping[str, int] | None = None, keeps_all_edges: Mapping[str, bool] | None = None,
              complete: bool | None = None, regional: pd.DataFrame | None = None,
              regional_stats: pd.DataFrame | None = None, profile_rho_min: float = 0.8) -> pd.DataFrame:
    """Which null families reproduce each metric: one row per (atlas, model, parameters, metric).

    ``st``: network-level :func:`~encephagen.analysis.stats.compare_to_nulls` result. ``preserves``:
    family -> what it keeps (default :data:`DEFAULT_PRESERVES`); ``levels``: family -> rung
    (default :data:`LADDER`; a family without a rung is refused). ``keeps_all_edges``: family -> it
    keeps every real edge (default: weight_perm, or every family when ``complete``: the real graph
    has density 1; see :func:`keeps_all_edges_from_properties`). ``regional`` (tidy regional table)
    adds the profile comparison; ``regional_stats`` (compare_to_nulls on the regional table) adds
    ``frac_regions_significant_<family>``.

    Columns: unit columns, per family ``outcome_<f>``, ``reproduces_<f>``, ``z_<f>``, ``q_<f>``,
    ``p_equiv_<f>``; ``ladder`` (families by rung), ``reproduced_by``, ``explained_by``, ``verdict``,
    ``verdict_class``, ``non_monotone``, ``non_monotone_detail``, ``difference_kind`` ('wiring' or
    'weight arrangement': what the most constrained family that ran can change), ``real_regime``,
    ``flag`` and ``rule``.
    """
    preserves = dict(DEFAULT_PRESERVES if preserves is None else preserves)
    lv = dict(LADDER)
    lv.update(levels or {})
    rt = reproduction_table(st)
    fams = sorted(set(rt["family"]))
    unknown = [f for f in fams if f not in lv]
    off = []
    if unknown and len(unknown) < len(fams):
        off = unknown
        log.warning("decomposition: families %s have no rung on the ladder of constraints (levels=...): reported, "
                    "kept out of the verdict", unknown)
    elif unknown:
        lv.update({f: 0 for f in unknown})     # nothing known about any family: one rung, unordered
    order = sorted([f for f in fams if f not in off], key=lambda f: (lv[f], f)) + sorted(off)
    keep = {f: (f in ALWAYS_KEEP_EDGES) or bool(complete) for f in fams}
    keep.update({f: bool(v) for f, v in (keeps_all_edges or {}).items() if f in keep})
    if complete:
        preserves = {f: (v if keep.get(f) and "all edges" in v else f"{v}; every edge kept (complete graph)")
                     for f, v in preserves.items()}
    ucols = [c for c in list(ID_COLS) + param_cols(st) + ["metric"] if c in rt.columns]
    extra = [c for c in ("real_regime", "flag") if c in rt.columns]
    wide = rt.set_index(ucols + ["family"])[["outcome", "reproduces", "z", "q", "p_equiv"]].unstack("family")
    out = pd.DataFrame(index=wide.index)
    for f in order:
        out[f"outcome_{f}"] = wide[("outcome", f)].fillna("not run").astype(str)
        out[f"reproduces_{f}"] = wide[("reproduces", f)].fillna(False).astype(bool)
        out[f"z_{f}"] = wide[("z", f)].astype(float)
        out[f"q_{f}"] = wide[("q", f)].astype(float)
        out[f"p_equiv_{f}"] = wide[("p_equiv", f)].astype(float)
    rows = []
    for _, row in out.iterrows():
        oc = {f: row[f"outcome_{f}"] for f in order if row[f"outcome_{f}"] != "not run" and f not in off}
        v = ladder_verdict(oc, levels=lv, preserves=preserves, keeps_edges=keep)
        ran = [f for f in order if f not in off and oc.get(f) in ("reproduced", "not reproduced", "inconclusive")]
        top = [f for f in ran if lv[f] == max(lv[g] for g in ran)] if ran else []
        v["difference_kind"] = ("weight arrangement" if top and all(keep[f] for f in top) else
                                "wiring" if top else "")
        v["reproduced_by"] = ",".join(f for f in order if oc.get(f) == "reproduced")
        rows.append(v)
    vv = pd.DataFrame(rows, index=out.index)
    out = pd.concat([out, vv[["reproduced_by", "explained_by", "verdict", "verdict_class", "non_monotone",
                              "non_monotone_detail", "difference_kind"]]], axis=1)
    onl = [f for f in order if f not in off]
    out["ladder"] = " < ".join("|".join(f for f in onl if lv[f] == k) for k in sorted({lv[f] for f in onl}))
    out["off_ladder"] = ",".join(off)
    out["rule"] = _rule(rt)
    out = out.reset_index()
    if extra:
        ex = rt.drop_duplicates(ucols)[ucols + extra]
        out = out.merge(ex, on=ucols, how="left")
    if out["non_monotone"].any():
        log.warning("decomposition: %d metric(s) with a non-monotone pattern on the ladder, e.g. %s",
                    int(out["non_monotone"].sum()), out.loc[out["non_monotone"], "non_monotone_detail"].iloc[0])
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
            profile_n_nan=("rho", lambda r: int(r.isna().sum())),
            real_split_half_rho=("real_split_half_rho", "first")).reset_index()
        ceil = summ.groupby(pk, dropna=False)["real_split_half_rho"].first().rename("real_split_half_rho")
        w = summ.set_index(pk + ["family"])[["profile_rho_median", "profile_rho_q025",
                                            "profile_rho_q975", "profile_n_nan"]].unstack("family")
        w.columns = [f"{a}_{b}" for a, b in w.columns]
        w = w.join(ceil).reset_index().rename(columns={"metric": "regional_metric"})
        pk2 = [("regional_metric" if c == "metric" else c) for c in pk]
        out = out.merge(w, on=pk2, how="left")
        pby, pverdict, pnm = [], [], []
        for _, row in out.iterrows():
            oc = {}
            for f in onl:
                med = row.get(f"profile_rho_median_{f}", np.nan)
                if isinstance(med, float) and np.isfinite(med):
                    oc[f] = "reproduced" if med >= profile_rho_min else "not reproduced"
            pby.append(",".join(f for f in order if oc.get(f) == "reproduced"))
            if not oc:
                pverdict.append("")
                pnm.append(False)
                continue
            v = ladder_verdict(oc, levels=lv, preserves=preserves, keeps_edges=keep, what="profile")
            pverdict.append(v["verdict"])
            pnm.append(v["non_monotone"])
        out["profile_reproduced_by"] = pby
        out["profile_verdict"] = pverdict
        out["profile_non_monotone"] = pnm
        out["profile_rule"] = (f"profile reproduced = median Spearman rho (null vs real profile) >= "
                               f"{profile_rho_min:g}; verdict by the same ladder rule")
    if regional_stats is not None:
        pk = [c for c in ucols if c in regional_stats.columns]
        rs = regional_stats.assign(_sig=regional_stats["significant"].astype(float).where(
            regional_stats["p_two"].notna()))
        fr = rs.groupby(pk + ["family"], dropna=False)["_sig"].mean().unstack("family")
        fr.columns = [f"frac_regions_significant_{c}" for c in fr.columns]
        fr = fr.reset_index().rename(columns={"metric": "regional_metric"})
        out = out.merge(fr, on=[("regional_metric" if c == "metric" else c) for c in pk], how="left")
    return out
