"""The study's figures. Each function takes tables/arrays and an output stem and writes
``<stem>.png`` and ``<stem>.pdf`` atomically; it returns the two paths.

Inputs are the outputs of :mod:`encephagen.analysis` (documented per function), so every
number drawn is one that a table also holds.
"""
from __future__ import annotations

import math
import textwrap
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.analysis.fc import fc_similarity, upper
from encephagen.analysis.tables import network_means
from encephagen.figures._save import family_colour, plt, save_figure
from encephagen.figures.labels import label

__all__ = ["plot_null_properties", "plot_metric_distributions", "plot_hierarchy", "plot_t1t2", "plot_decomposition",
           "plot_fc_matrices", "plot_fit_vs_g", "plot_silencing_order"]

REAL = "real"


def _grid(n: int, ncols: int = 4, w: float = 3.2, h: float = 2.6):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def class_style(i: int) -> tuple:
    """(colour, marker) of the i-th region class: ten colours, then the next marker shape, so no two
    classes in a legend share both."""
    markers = ("o", "s", "^", "D", "v", "P")
    return plt.cm.tab10(i % 10), markers[(i // 10) % len(markers)]


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise ValueError(f"{what}: missing column(s) {miss}")
    if df.empty:
        raise ValueError(f"{what}: empty table, nothing to plot")


# ----------------------------------------------------------------------------- nulls
def plot_null_properties(props: pd.DataFrame, stem, *, title: str | None = None):
    """Null property panel: one axis per graph property, each family's null values as a strip
    with a box, the real network's value as a red line.

    ``props``: tidy (family, null_index, property, value), or the wide property table of
    :mod:`encephagen.nulls.properties` (one row per network, one column per property; rows whose
    ``status`` is not 'ok' are left out); family 'real' rows give the real value.
    A pass: the properties a family claims to preserve sit exactly on the red line (e.g. degree
    preservation for 'degree'), the others spread around it.
    """
    if "property" not in props.columns and "family" in props.columns:
        wide = props
        if "status" in wide.columns:
            wide = wide[wide["status"].astype(str).eq("ok")]
        skip = {"atlas", "family", "null_index", "status", "reason", "swaps_requested", "swaps_achieved"}
        cols = [c for c in wide.columns if c not in skip]
        num = wide[cols].apply(pd.to_numeric, errors="coerce")
        # numeric columns only; an all-NaN float column stays (its panel then says it is undefined)
        cols = [c for c in cols if num[c].notna().any() or pd.api.types.is_float_dtype(wide[c])]
        props = wide[["family", "null_index"]].join(num[cols]).melt(
            id_vars=["family", "null_index"], var_name="property", value_name="value")
    _require(props, ["family", "property", "value"], "null properties")
    names = list(dict.fromkeys(props["property"]))
    fams = [f for f in dict.fromkeys(props["family"]) if f != REAL]
    fig, axes = _grid(len(names), ncols=4, w=3.4, h=2.8)
    rng = np.random.default_rng(0)  # jitter only
    for ax, prop in zip(axes, names):
        sub = props[props["property"] == prop]
        for i, fam in enumerate(fams):
            v = sub.loc[sub["family"] == fam, "value"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            if v.size:
                ax.boxplot([v], positions=[i], widths=0.6, showfliers=False,
                           medianprops={"color": "k"}, boxprops={"color": "0.4"},
                           whiskerprops={"color": "0.4"}, capprops={"color": "0.4"})
                ax.scatter(i + rng.uniform(-0.18, 0.18, v.size), v, s=5, alpha=0.45,
                           color=family_colour(fam, i), zorder=3, linewidths=0)
        rv = sub.loc[sub["family"] == REAL, "value"].to_numpy(dtype=float)
        if rv.size and np.isfinite(rv[0]):
            ax.axhline(rv[0], color=family_colour(REAL), lw=1.6, label="real")
        if not np.isfinite(sub["value"].to_numpy(dtype=float)).any():
            ax.text(0.5, 0.5, textwrap.fill(f"{prop}: no finite value for the real network or any null "
                                             "(undefined for this connectome, e.g. no club at the chosen level)", 34),
                    ha="center", va="center", fontsize=7, color="0.35", transform=ax.transAxes)
        ax.set_xticks(range(len(fams)))
        ax.set_xticklabels(fams, rotation=35, ha="right", fontsize=8)
        ax.set_title(str(prop), fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(title or "Null connectome properties (red line: real network)", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- metrics vs nulls
def plot_metric_distributions(network: pd.DataFrame, stats: pd.DataFrame, stem, *,
                              metrics: Sequence[str] | None = None, max_metrics: int = 16,
                              title: str | None = None):
    """Per metric, each family's distribution of null-network means (seed-averaged) as a histogram,
    the real network's seed-mean as a red line with its seed SD (noise floor) shaded, annotated
    with z and FDR q per family.

    ``network``: tidy network-level table (one parameter set, or the figure shows all rows pooled:
    filter first). ``stats``: :func:`encephagen.analysis.stats.compare_to_nulls` on it.
    A pass (for a metric the wiring matters for): the red line outside the family's histogram,
    q < alpha; for a metric the family explains: the line inside it.
    """
    _require(network, ["family", "null_index", "seed_id", "metric", "value"], "network table")
    _require(stats, ["metric", "family", "z", "q"], "statistics table")
    have = set(network["metric"])
    ms = list(metrics) if metrics is not None else [m for m in dict.fromkeys(stats["metric"]) if m in have][:max_metrics]
    missing = [m for m in ms if m not in have]
    if missing or not ms:
        raise ValueError(f"metric distributions: metric(s) {missing or '(none in common)'} not in the network table")
    sub = network[network["metric"].isin(ms)]
    nm = network_means(sub)
    fig, axes = _grid(len(ms), ncols=4, w=3.5, h=2.7)
    fams = [f for f in dict.fromkeys(nm["family"]) if f != REAL]
    for ax, m in zip(axes, ms):
        d = nm[nm["metric"] == m]
        vals = d["value"].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        bins = np.histogram_bin_edges(vals, bins=30) if vals.size else 10
        lines = []
        for i, fam in enumerate(fams):
            v = d.loc[d["family"] == fam, "value"].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            ax.hist(v, bins=bins, alpha=0.45, color=family_colour(fam, i), label=fam)
            s = stats[(stats["metric"] == m) & (stats["family"] == fam)]
            if len(s):
                r = s.iloc[0]
                star = "*" if bool(r.get("significant", False)) else ""
                lines.append(f"{fam}: z={r['z']:.1f} q={_fmt_p(r['q'])}{star} N={int(r.get('n_nulls', v.size))}")
        r = d[d["family"] == REAL]
        if len(r):
            rv, sd = float(r["value"].iloc[0]), float(r["seed_sd"].iloc[0])
            if np.isfinite(sd):
                ax.axvspan(rv - sd, rv + sd, color=family_colour(REAL), alpha=0.15, lw=0)
            ax.axvline(rv, color=family_colour(REAL), lw=2, label="real")
        ax.set_title(label(m), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.text(0.02, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=6.5,
                bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=min(len(labels), 6))
    fig.suptitle(title or "Metrics: null networks (histograms, each averaged over its seeds) vs the real "
                 "network (red, +-1 seed SD)", fontsize=10, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- hierarchy
def plot_hierarchy(summary: pd.DataFrame, stem, *, metric: str | None = None,
                   class_order: Sequence[str] | None = None, title: str | None = None):
    """A regional metric by region class: the real network (mean, CI over seeds) and each null
    family (mean and central 95 % of its networks), side by side per class.

    ``summary``: :func:`encephagen.analysis.hierarchy.class_summary` (one parameter set).
    A pass for a wiring-driven hierarchy: the real points ordered across classes (e.g. sensory
    fast, association slow) while degree-preserving nulls flatten or keep that order.
    """
    _require(summary, ["family", "region_class", "mean", "lo", "hi"], "class summary")
    s = summary
    if "metric" in s.columns:
        metric = metric or str(s["metric"].iloc[0])
        s = s[s["metric"] == metric]
    metric = metric or ""
    if s.empty:
        raise ValueError(f"class summary: no rows for metric {metric!r}")
    classes = list(class_order) if class_order else list(
        s[s["family"] == REAL].sort_values("mean")["region_class"]) or list(dict.fromkeys(s["region_class"]))
    fams = [REAL] + [f for f in dict.fromkeys(s["family"]) if f != REAL]
    fig, ax = plt.subplots(figsize=(min(max(5, 0.75 * len(classes) + 2), 13), 4.2))
    width = 0.8 / len(fams)
    for i, fam in enumerate(fams):
        d = s[s["family"] == fam].set_index("region_class").reindex(classes)
        x = np.arange(len(classes)) - 0.4 + width * (i + 0.5)
        y = d["mean"].to_numpy(dtype=float)
        err = np.vstack([y - d["lo"].to_numpy(dtype=float), d["hi"].to_numpy(dtype=float) - y])
        ax.errorbar(x, y, yerr=np.where(np.isfinite(err), err, 0), fmt="o" if fam == REAL else "s",
                    color=family_colour(fam, i), ms=6 if fam == REAL else 4, capsize=2,
                    label=fam if fam != REAL else "real (CI over seeds)")
    ax.set_xticks(range(len(classes)))
    labels = classes
    if "n_regions" in s.columns:
        nr = s.drop_duplicates("region_class").set_index("region_class")["n_regions"]
        labels = [f"{c}{' ' if len(classes) > 8 else chr(10)}(n={int(nr.get(c, 0))})" for c in classes]
    ax.set_xticklabels(labels, fontsize=7 if len(classes) > 8 else 8, rotation=45 if len(classes) > 8 else 0,
                       ha="right" if len(classes) > 8 else "center")
    ax.set_ylabel(label(metric))
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title or f"{label(metric)} by region class: real vs null families (bars: 95% intervals)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_t1t2(profile: pd.Series, t1t2: pd.Series, stem, *, region_class: pd.Series | None = None,
              corr: pd.DataFrame | None = None, metric: str = "time scale", title: str | None = None):
    """T1w/T2w (x) vs the real network's regional metric (y, seed-mean per region), coloured by
    region class, with Spearman rho and its p against each reference (spatial surrogates or
    permutation, and null networks) from :func:`encephagen.analysis.hierarchy.t1t2_correlation`;
    a second panel shows the reference rho distributions' 95 % ranges with the real rho.

    A pass for "time scales follow the myelination hierarchy": rho < 0 (lightly myelinated
    association cortex slower), p below alpha against the spatial null, not only the permutation.
    """
    common = profile.index.intersection(t1t2.index)
    x = t1t2.reindex(common).to_numpy(dtype=float)
    y = profile.reindex(common).to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        raise ValueError("plot_t1t2: fewer than 3 regions with both values")
    ncols = 2 if corr is not None and len(corr) else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4), squeeze=False)
    ax = axes[0, 0]
    if region_class is not None:
        rc = region_class.reindex(common).astype(str).to_numpy()
        for i, c in enumerate(dict.fromkeys(rc[ok])):
            mk = ok & (rc == c)
            colour, marker = class_style(i)
            ax.scatter(x[mk], y[mk], s=18, color=colour, marker=marker, label=c, alpha=0.85)
        ax.legend(fontsize=7, title="region class", title_fontsize=7)
    else:
        ax.scatter(x[ok], y[ok], s=18, color="0.3")
    ax.set_xlabel(label("t1t2"))
    ax.set_ylabel(label(metric))
    if corr is not None and len(corr):
        rho = float(corr["rho"].iloc[0])
        txt = [f"Spearman rho = {rho:.2f}"] + [
            f"p = {_fmt_p(r['p_two'])}  vs {r['reference']} (n={int(r['n_reference'])})"
            for _, r in corr.iterrows()]
        ax.set_title("\n".join(txt), fontsize=7, loc="left")
        ax2 = axes[0, 1]
        refs = list(corr["reference"])
        yy = np.arange(len(refs))
        ax2.hlines(yy, corr["ref_q025"], corr["ref_q975"], color="0.4", lw=4, alpha=0.6,
                   label="central 95% of reference")
        ax2.plot(corr["ref_median"], yy, "|", color="k", ms=12)
        ax2.axvline(rho, color=family_colour(REAL), lw=2, label="real rho")
        ax2.set_yticks(yy)
        ax2.set_yticklabels([textwrap.fill(r, 26) for r in refs], fontsize=7)
        ax2.set_xlabel("Spearman rho with T1w/T2w")
        ax2.legend(fontsize=7)
    fig.suptitle(title or f"{label(metric)} vs T1w/T2w (real network)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- FC
def plot_fc_matrices(sim_fc: np.ndarray, emp_fc: np.ndarray, stem, *, labels: Sequence[str] | None = None,
                     sim_title: str = "simulated FC", emp_title: str = "empirical FC",
                     sc: np.ndarray | None = None, title: str | None = None):
    """Simulated FC, empirical FC (same colour scale) and the upper-triangle scatter with Pearson
    and Spearman r; optionally the SC (log10) as a fourth panel.

    A pass: the simulated matrix shows the empirical block structure (homotopic, network
    modules) and its r exceeds the SC-only baseline (see the fit figure).
    """
    sim_fc, emp_fc = np.asarray(sim_fc, float), np.asarray(emp_fc, float)
    if sim_fc.shape != emp_fc.shape or sim_fc.ndim != 2:
        raise ValueError(f"plot_fc_matrices: shapes differ or not 2-D: {sim_fc.shape} vs {emp_fc.shape}")
    n_pan = 3 + (sc is not None)
    fig, axes = plt.subplots(1, n_pan, figsize=(4.2 * n_pan, 4))
    off = ~np.eye(len(emp_fc), dtype=bool)
    vmax = float(np.nanmax(np.abs(np.concatenate([sim_fc[off], emp_fc[off]]))))
    for ax, m, t in ((axes[0], sim_fc, sim_title), (axes[1], emp_fc, emp_title)):
        im = ax.imshow(np.where(off, m, np.nan), cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(textwrap.fill(t, 36), fontsize=8.5)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[:2].tolist(), shrink=0.7, label="r")
    r = fc_similarity(sim_fc, emp_fc)
    ax = axes[2]
    ax.scatter(upper(emp_fc), upper(sim_fc), s=3, alpha=0.3, color="0.2", linewidths=0)
    ax.set_xlabel(textwrap.fill(emp_title, 40), fontsize=9)
    ax.set_ylabel(textwrap.fill(sim_title, 40), fontsize=9)
    ax.set_title(f"Pearson r = {r['pearson']:.3f}, Spearman = {r['spearman']:.3f}", fontsize=9)
    if sc is not None:
        s = np.asarray(sc, float)
        with np.errstate(divide="ignore"):
            ls = np.where(s > 0, np.log10(np.where(s > 0, s, 1)), np.nan)
        im = axes[3].imshow(ls, cmap="viridis", interpolation="nearest")
        axes[3].set_title("SC (log10)", fontsize=9)
        axes[3].set_xticks([])
        axes[3].set_yticks([])
        fig.colorbar(im, ax=axes[3], shrink=0.7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, stem)


def plot_fit_vs_g(curve: pd.DataFrame, stem, *, baselines: Mapping[str, float] | None = None,
                  best: Mapping[str, float] | None = None, param: str = "G", title: str | None = None):
    """r(simulated FC, empirical FC) vs ``param``: the real network (mean +- SD over seeds), each
    null family (median and central 95 % band of its networks), the SC-only baselines as dashed
    horizontal lines, and the chosen value (fitted on the training FC) as a vertical line.

    ``curve``: :func:`encephagen.analysis.fc.fit_curve`. ``best``: {label: value}, e.g.
    {'best G (train)': 0.3}. A pass: the real curve above the null bands near its best G and
    above the SC-only baselines; if it is not, the model adds nothing beyond the SC itself.
    """
    _require(curve, ["family", param, "mean", "lo", "hi"], "fit curve")
    fig, ax = plt.subplots(figsize=(8.6, 4.2))
    fams = [f for f in dict.fromkeys(curve["family"]) if f != REAL]
    for i, fam in enumerate(fams):
        d = curve[curve["family"] == fam].sort_values(param)
        c = family_colour(fam, i)
        ax.fill_between(d[param], d["lo"], d["hi"], color=c, alpha=0.18, lw=0)
        ax.plot(d[param], d["mean"], color=c, lw=1.2, label=f"{fam} nulls (median, 95%)")
    d = curve[curve["family"] == REAL].sort_values(param)
    if len(d):
        has_sd = np.isfinite(d["lo"].to_numpy(dtype=float)).any()
        if has_sd:
            ax.fill_between(d[param], d["lo"], d["hi"], color=family_colour(REAL), alpha=0.25, lw=0)
        ax.plot(d[param], d["mean"], "o-", color=family_colour(REAL), lw=2, ms=3,
                label="real (mean +- SD over seeds)" if has_sd else "real")
    styles = ["--", ":", "-.", (0, (5, 1))]
    measure = str(curve["measure"].iloc[0]) if "measure" in curve.columns else None
    for i, (k, v) in enumerate((baselines or {}).items()):
        other = [m for m in ("pearson", "spearman") if m != measure]
        if measure and any(m in str(k).lower() for m in other):
            continue  # a baseline of the other correlation measure does not belong on this axis
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v):
            ax.axhline(v, color="k", ls=styles[i % len(styles)], lw=1, label=f"SC-only {k} = {v:.3f}")
    for k, v in (best or {}).items():
        if v is not None and np.isfinite(v):
            ax.axvline(v, color="0.5", lw=1, ls="-", alpha=0.7)
            ax.text(v, ax.get_ylim()[1], f" {k}", fontsize=7, va="top", color="0.3")
    xs = curve[param].to_numpy(dtype=float)
    if np.all(xs > 0) and xs.max() / xs.min() > 50:
        ax.set_xscale("log")
    ax.set_xlabel(label(param))
    m = curve["measure"].iloc[0] if "measure" in curve.columns else "r"
    ds = curve["dataset"].iloc[0] if "dataset" in curve.columns else "empirical"
    ax.set_ylabel(f"{m} r with {ds} FC")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title or f"FC fit vs {param} ({ds})", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- silencing
def plot_silencing_order(summary: pd.DataFrame, stem, *, param: str = "G", g_values: Sequence[float] | None = None,
                         title: str | None = None):
    """The G at which each region class first has a silenced region: the real network (median over
    seeds, bar: central 95 % over seeds) and each null family (median and central 95 % of its networks),
    classes in the real network's order; the fraction of null networks with the real class order in the
    legend. A class never silenced within the sweep is drawn at the sweep's last value with an open
    marker (never outside the sweep). When nothing is silenced anywhere the figure says so instead.

    ``summary``: second output of :func:`encephagen.analysis.hierarchy.silencing_order`; ``g_values``:
    the swept values (axis limits; default: the finite values in the table).
    A pass for "the silencing order is set by the wiring": null families' orders differ
    (same_order_frac small); "set by the degree sequence": degree nulls keep it.
    """
    _require(summary, ["family", "region_class", "g_first_median"], "silencing summary")
    gvals = np.asarray(sorted(float(g) for g in g_values), dtype=float) if g_values is not None and len(g_values) \
        else None
    first = summary["g_first_median"].to_numpy(dtype=float)
    rule = str(summary["rule"].iloc[0]) if "rule" in summary.columns else ""
    if not np.isfinite(first).any():
        fig, ax = plt.subplots(figsize=(6.4, 2.4))
        ax.axis("off")
        span = (f" ({label(param)} from {gvals[0]:.3g} to {gvals[-1]:.3g}, {gvals.size} values)"
                if gvals is not None else "")
        ax.text(0.5, 0.55, textwrap.fill(f"No region of the real network or of any null was silenced within the "
                                         f"sweep{span}. The silencing order is undefined for this run: extend "
                                         f"the G grid towards silence to measure it.", 70),
                ha="center", va="center", fontsize=9, transform=ax.transAxes)
        if rule:
            ax.text(0.5, 0.08, textwrap.fill(f"rule: {rule}", 90), ha="center", va="center", fontsize=7,
                    color="0.4", transform=ax.transAxes)
        ax.set_title(title or f"Silencing order along {label(param)}: nothing silenced", fontsize=9)
        return save_figure(fig, stem)
    real = summary[summary["family"] == REAL].sort_values("g_first_median", na_position="last")
    classes = list(real["region_class"]) or list(dict.fromkeys(summary["region_class"]))
    fams = [REAL] + [f for f in dict.fromkeys(summary["family"]) if f != REAL]
    if gvals is None:
        cols = [c for c in ("g_first_median", "g_first_q025", "g_first_q975") if c in summary.columns]
        v = summary[cols].to_numpy(dtype=float).ravel()
        gvals = np.unique(v[np.isfinite(v)])
    lo_edge, hi_edge = float(gvals[0]), float(gvals[-1])
    fig, ax = plt.subplots(figsize=(6.4, min(0.45 * len(classes) + 2, 9)))
    h = 0.8 / len(fams)
    never_drawn = False
    real_any = np.isfinite(real["g_first_median"].to_numpy(dtype=float)).any()
    for i, fam in enumerate(fams):
        d = summary[summary["family"] == fam].set_index("region_class").reindex(classes)
        y = np.arange(len(classes)) - 0.4 + h * (i + 0.5)
        x = d["g_first_median"].to_numpy(dtype=float)
        lab = fam if fam != REAL else "real (median over seeds)"
        if fam != REAL and real_any and "same_order_frac" in d.columns and np.isfinite(d["same_order_frac"]).any():
            lab = f"{fam} (same order as real: {float(np.nanmax(d['same_order_frac'])):.0%})"
        if "g_first_q025" in d.columns:
            lo = np.clip(d["g_first_q025"].to_numpy(dtype=float), lo_edge, hi_edge)
            hi = np.clip(d["g_first_q975"].to_numpy(dtype=float), lo_edge, hi_edge)
            ax.hlines(y, lo, hi, color=family_colour(fam, i), lw=2, alpha=0.5)
        ax.plot(np.clip(x, lo_edge, hi_edge), y, "o" if fam == REAL else "s", color=family_colour(fam, i),
                ms=6 if fam == REAL else 4, label=lab)
        never = ~np.isfinite(x)
        if never.any():
            ax.plot(np.full(never.sum(), hi_edge), y[never], "o" if fam == REAL else "s", mfc="none",
                    color=family_colour(fam, i), ms=6 if fam == REAL else 4)
            never_drawn = True
    if never_drawn:
        ax.plot([], [], "o", mfc="none", color="0.3", label=f"not silenced up to {label(param)} = {hi_edge:.3g}")
    pad = 0.03 * (hi_edge - lo_edge) if hi_edge > lo_edge else 0.05 * max(abs(hi_edge), 1e-9)
    ax.set_xlim(lo_edge - pad, hi_edge + pad)
    ax.set_yticks(range(len(classes)))
    ax.set_yticklabels(classes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{label(param)} at which the class's first region is silenced")
    ax.set_title(title or textwrap.fill(f"Silencing order along {label(param)}. {rule}", 90), fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return save_figure(fig, stem)


# ----------------------------------------------------------------------------- decomposition
def plot_decomposition(decomp: pd.DataFrame, stem, *, families: Sequence[str] | None = None, zmax: float = 8.0,
                       alpha: float = 0.05, title: str | None = None, max_rows: int = 32):
    """Metrics (rows) x null families (columns): colour = z of the real network against the family
    (clipped at +-``zmax``), 'R' where the family reproduces the metric, '*' where the real value
    differs significantly after FDR; the verdict per metric on the right.

    ``decomp``: :func:`encephagen.analysis.decompose.decompose` for one connectome/model/parameter set.
    """
    _require(decomp, ["metric", "verdict"], "decomposition")
    fams = list(families) if families else [c[len("z_"):] for c in decomp.columns if c.startswith("z_")]
    if not fams:
        raise ValueError("decomposition: no z_<family> columns")
    d = decomp.reset_index(drop=True)
    Z = np.column_stack([d[f"z_{f}"].to_numpy(dtype=float) for f in fams])
    note = ""
    if len(d) > max_rows:  # keep the figure report-sized: the rows with the largest |z|; the table has all
        with np.errstate(all="ignore"):
            score = np.nan_to_num(np.nanmax(np.abs(Z), axis=1), nan=-1.0)
        keep = np.sort(np.argsort(-score, kind="stable")[:max_rows])
        note = f"{max_rows} of {len(d)} rows shown (largest |z|); the decomposition table lists every row"
        d, Z = d.iloc[keep].reset_index(drop=True), Z[keep]
    fig, ax = plt.subplots(figsize=(1.0 * len(fams) + 7.5, min(0.3 * len(d) + 1.8, 11.0)))
    im = ax.imshow(np.clip(Z, -zmax, zmax), cmap="RdBu_r", vmin=-zmax, vmax=zmax, aspect="auto")
    for i in range(len(d)):
        for j, f in enumerate(fams):
            rep = bool(d.get(f"reproduces_{f}", pd.Series(False, index=d.index)).iloc[i])
            q = d.get(f"q_{f}", pd.Series(np.nan, index=d.index)).iloc[i]
            mark = "R" if rep else ("*" if np.isfinite(q) and q < alpha else "")
            ax.text(j, i, mark, ha="center", va="center", fontsize=8, color="k")
    ax.set_xticks(range(len(fams)))
    ax.set_xticklabels(fams, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(d)))
    ax.set_yticklabels([label(m) for m in d["metric"].astype(str)], fontsize=7)
    for i, v in enumerate(d["verdict"].astype(str)):
        ax.text(len(fams) - 0.4, i, "  " + textwrap.shorten(v, 60, placeholder="..."), va="center", fontsize=6.5,
                clip_on=False)
    cb = fig.colorbar(im, ax=ax, location="bottom", shrink=0.5, pad=0.1 + 0.9 / max(len(d), 4), aspect=30)
    cb.set_label("z (real vs family)", fontsize=8)
    ax.set_title(title or "Which null family reproduces each metric (R: reproduces, *: FDR-significant)"
                 + (f"\n{note}" if note else ""), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, stem)
