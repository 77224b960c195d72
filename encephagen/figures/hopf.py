"""Figures of the analytic (linearised) Hopf stage: the FC fit along G for the real network and the
null families, the held-out r of the real network against the SC-only baselines and the null
distribution, and the regional-heterogeneity fit. Inputs are the tables and files of
:mod:`encephagen.hopf.study` (``results/hopf/atlas-{atlas}/...``)."""
from __future__ import annotations

import json
from typing import Mapping

import numpy as np
import pandas as pd

from encephagen.analysis.fc import fit_curve
from encephagen.analysis.run import read_table
from encephagen.figures._save import family_colour, plt, save_figure
from encephagen.figures.labels import label
from encephagen.figures.plots import plot_fit_vs_g
from encephagen.io import open_validated

__all__ = ["figure_hopf_fit", "plot_heldout_distribution", "figure_hopf_heldout", "figure_hopf_heterogeneity"]

REAL = "real"


def _baselines(heldout: pd.DataFrame | None) -> dict[str, float]:
    if heldout is None or heldout.empty:
        return {}
    return {k[3:].replace("_", " "): float(heldout[k].iloc[0]) for k in heldout.columns
            if k.startswith("sc_") and not k.startswith("sc_n") and np.isfinite(pd.to_numeric(heldout[k].iloc[0],
                                                                                           errors="coerce"))}


def figure_hopf_fit(sweep_table, heldout, stem, *, measure: str = "pearson"):
    """r with the held-out group's FC along G: the real network and each null family's median and
    central 95 % (:func:`encephagen.analysis.fc.fit_curve` on the Hopf sweep table), the SC-only
    baselines and the G chosen on the training group."""
    table = read_table(sweep_table)
    h = read_table(heldout) if heldout is not None else None
    test = str(h["test"].iloc[0]) if h is not None and "test" in h.columns and len(h) else None
    if test is None:
        raise ValueError("hopf fit figure: the held-out table names no test dataset")
    curve = fit_curve(table, dataset=test, measure=measure)
    best = None
    if h is not None and "real_best_G" in h.columns:
        best = {"G chosen on training": float(h["real_best_G"].iloc[0])}
    atlas = str(table["atlas"].iloc[0]) if "atlas" in table.columns else ""
    train = str(h["train"].iloc[0]) if "train" in h.columns else "training"
    return plot_fit_vs_g(curve, stem, baselines=_baselines(h), best=best, param="G",
                         title=f"{atlas}: analytic Hopf FC vs held-out {test} FC along G (G chosen on {train})")


def plot_heldout_distribution(networks: pd.DataFrame, stem, *, baselines: Mapping[str, float] | None = None,
                              measure: str = "pearson", title: str | None = None, summary: pd.DataFrame | None = None):
    """Each null family's held-out r (every network at its own best training G) as a histogram, the
    real network's held-out r (red), the SC-only baselines (black lines), p per family in the legend."""
    col = f"test_{measure}"
    if col not in networks.columns or "family" not in networks.columns:
        raise ValueError(f"held-out distribution: the networks table needs 'family' and {col!r}")
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    vals = pd.to_numeric(networks[col], errors="coerce")
    fin = vals[np.isfinite(vals)]
    bins = np.histogram_bin_edges(fin, bins=30) if len(fin) else 10
    fams = [f for f in dict.fromkeys(networks["family"].astype(str)) if f != REAL]
    for i, fam in enumerate(fams):
        v = vals[networks["family"].astype(str) == fam]
        v = v[np.isfinite(v)]
        lab = f"{fam} nulls (N={len(v)})"
        if summary is not None and "family" in summary.columns:
            s = summary[summary["family"].astype(str) == fam]
            pc = next((c for c in (f"p_greater_{measure}", f"p_greater_test_{measure}", "p_greater") if c in s.columns),
                      None)
            if len(s) and pc:
                lab += f", p={float(s[pc].iloc[0]):.2g}"
        ax.hist(v, bins=bins, alpha=0.5, color=family_colour(fam, i), label=lab)
    real = vals[networks["family"].astype(str) == REAL]
    if len(real) and np.isfinite(real.iloc[0]):
        ax.axvline(float(real.iloc[0]), color=family_colour(REAL), lw=2.2, label=f"real network r = {real.iloc[0]:.3f}")
    styles = ["--", ":", "-.", (0, (5, 1))]
    for i, (k, v) in enumerate((baselines or {}).items()):
        if measure not in k:
            continue
        ax.axvline(v, color="k", ls=styles[i % len(styles)], lw=1.2, label=f"SC-only {k} = {v:.3f}")
    ax.set_xlabel(label(f"held-out FC r ({measure})"))
    ax.set_ylabel("number of networks")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(title or "Held-out FC fit: real network vs SC-only baselines vs nulls", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)


def figure_hopf_heldout(networks, heldout, stem, *, measure: str = "pearson"):
    net = read_table(networks)
    h = read_table(heldout)
    atlas = str(net["atlas"].iloc[0]) if "atlas" in net.columns and len(net) else ""
    test = str(h["test"].iloc[0]) if "test" in h.columns and len(h) else "held-out"
    return plot_heldout_distribution(net, stem, baselines=_baselines(h), measure=measure, summary=h,
                                     title=f"{atlas}: analytic Hopf, r with {test} FC at each network's best G")


def figure_hopf_heterogeneity(h5, stem):
    """Left: training r over the (bias, relative scale) grid of a_j = bias (1 - s map_j), the best point
    marked; right: held-out r of the best point against the map surrogates' and the homogeneous model's."""
    with open_validated(h5, "hopf_heterogeneity") as f:
        bias, scale = f["bias_grid"][()], f["scale_grid"][()]
        r_train, null_test = f["r_train"][()], f["null_test"][()]
        best = json.loads(f.attrs["best"])
        null_kind = str(f.attrs.get("null_kind", ""))
        atlas = str(f.attrs.get("atlas", ""))
        test = str(f.attrs.get("test", ""))
        p_test = float(f.attrs.get("p_test", np.nan))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.1, 1]})
    R = np.asarray(r_train, dtype=float)
    if R.shape != (len(bias), len(scale)) and R.T.shape == (len(bias), len(scale)):
        R = R.T
    im = a1.imshow(R, origin="lower", aspect="auto", cmap="viridis",
                   extent=(-0.5, len(scale) - 0.5, -0.5, len(bias) - 0.5))
    a1.set_xticks(range(len(scale))[:: max(1, len(scale) // 6)])
    a1.set_xticklabels([f"{s:.2g}" for s in scale[:: max(1, len(scale) // 6)]], fontsize=7)
    a1.set_yticks(range(len(bias))[:: max(1, len(bias) // 6)])
    a1.set_yticklabels([f"{b:.2g}" for b in bias[:: max(1, len(bias) // 6)]], fontsize=7)
    a1.set_xlabel(label("scale_relative"))
    a1.set_ylabel(label("bias"))
    bi = int(np.argmin(np.abs(bias - best.get("bias", np.nan)))) if np.isfinite(best.get("bias", np.nan)) else None
    si = int(np.argmin(np.abs(scale - best.get("scale_relative", np.nan)))) \
        if np.isfinite(best.get("scale_relative", np.nan)) else None
    if bi is not None and si is not None:
        a1.plot(si, bi, "r*", ms=12, label="best on training (nearest grid cell)")
        a1.legend(fontsize=7, loc="lower right")
    fig.colorbar(im, ax=a1, label="r with training FC")
    a1.set_title("Training fit over the grid (white: no stable fixed point)", fontsize=9)
    nt = np.asarray(null_test, dtype=float)
    nt = nt[np.isfinite(nt)]
    if nt.size:
        a2.hist(nt, bins=30, color="0.6", alpha=0.8, label=f"{null_kind} map surrogates (N={nt.size})")
    else:
        a2.text(0.5, 0.5, "no map surrogates in this run", ha="center", va="center", transform=a2.transAxes)
    rt, ht = best.get("r_test", np.nan), best.get("hom_r_test", np.nan)
    if np.isfinite(rt):
        a2.axvline(rt, color=family_colour(REAL), lw=2, label=f"T1w/T2w map r = {rt:.3f} (p = {p_test:.2g})")
    if np.isfinite(ht):
        a2.axvline(ht, color="k", ls="--", lw=1.2, label=f"homogeneous r = {ht:.3f}")
    a2.set_xlabel(label(f"r with held-out FC ({test})"))
    a2.set_ylabel("number of surrogate maps")
    from matplotlib.ticker import MaxNLocator

    a2.yaxis.set_major_locator(MaxNLocator(integer=True))
    a2.legend(fontsize=7, loc="upper left")
    a2.set_title("Held-out fit: T1w/T2w map vs surrogates", fontsize=9)
    fig.suptitle(f"{atlas}: regional heterogeneity of the Hopf bifurcation parameter", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)
