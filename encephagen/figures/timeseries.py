"""Time-series check figure: activity traces of a short re-simulation of the real network at every
configured G (the simulation: :func:`encephagen.steps.figures.simulate_check`), so that a saturated,
silent or diverging regime is visible at a glance (the tables only hold summaries)."""
from __future__ import annotations

import numpy as np

from encephagen.figures._save import plt, save_figure
from encephagen.figures.labels import label

__all__ = ["plot_timeseries_check"]


def plot_timeseries_check(res, stem, *, atlas: str = "", labels=None, n_traces: int = 8, title: str | None = None):
    """One panel per G: ``n_traces`` regions' activity (thin) and the mean over regions (black), the
    range of all regions shaded; the SD over time of the mean in the panel title."""
    rec = np.asarray(res.record, dtype=float)          # (B, T, n)
    t = np.asarray(res.record_t, dtype=float) / 1000.0  # s
    B, _, n = rec.shape
    fig, axes = plt.subplots(B, 1, figsize=(8.5, 1.9 * B + 0.8), sharex=True, squeeze=False)
    pick = np.linspace(0, n - 1, min(n_traces, n)).astype(int)
    for b, ax in enumerate(axes[:, 0]):
        x = rec[b]
        ax.fill_between(t, np.nanmin(x, axis=1), np.nanmax(x, axis=1), color="0.85", lw=0, label="range over regions")
        for j in pick:
            ax.plot(t, x[:, j], lw=0.6, alpha=0.8)
        m = np.nanmean(x, axis=1)
        ax.plot(t, m, color="k", lw=1.2, label="mean over regions")
        sd_t = float(np.nanstd(x, axis=0).mean())
        ax.set_title(f"{label('G')} = {float(res.G[b]):g}   (seed {int(res.seeds[b])}; mean SD over time per "
                     f"region = {sd_t:.3g})", fontsize=8, loc="left")
        ax.set_ylabel("activity\n(model units)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("time (s, last recorded window)")
    fig.suptitle(title or f"{atlas}: real network, {res.model}, activity at each configured G (check of the regime)",
                 fontsize=10)
    fig.tight_layout()
    return save_figure(fig, stem)
