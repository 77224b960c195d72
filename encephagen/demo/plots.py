"""Pictures of the demo: a brain map of region rates at the regions' MNI centres (nilearn) and a
spike raster; a joint-angle figure for ``walk``. Files in, nothing shown on screen."""
from __future__ import annotations

import numpy as np

from encephagen.io.tables import write_with


def _mpl():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def brain_map(path, centres: np.ndarray, rates: np.ndarray, title: str = "") -> str:
    """Region rates (Hz) as coloured markers at MNI centres (nilearn.plotting.plot_markers)."""
    plt = _mpl()
    from nilearn import plotting

    fig = plt.figure(figsize=(9, 3.2))
    r = np.asarray(rates, float)
    disp = plotting.plot_markers(r, np.asarray(centres, float), node_size=30, node_cmap="viridis",
                                 node_vmin=0.0, node_vmax=max(float(r.max()), 1e-6), title=title,
                                 figure=fig, display_mode="ortho", colorbar=True)
    fig_ = disp.frame_axes.figure
    write_with(path, lambda tmp: fig_.savefig(tmp, dpi=90, format="png", facecolor=fig_.get_facecolor()))
    disp.close()
    plt.close(fig)
    return str(path)


def raster(path, t_ms: np.ndarray, neuron: np.ndarray, region_of: np.ndarray, region_class: np.ndarray,
           duration_ms: float, title: str = "", max_points: int = 60000) -> str:
    """Spike raster, neurons ordered by region; y-ticks at the first region of each class."""
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(9, 4))
    t, i = np.asarray(t_ms), np.asarray(neuron)
    if t.size > max_points:
        keep = np.random.default_rng(0).choice(t.size, max_points, replace=False)
        t, i = t[keep], i[keep]
    ax.plot(t, i, ",", color="k", alpha=0.6, rasterized=True)
    ax.set_xlim(0, duration_ms)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron (by region)")
    npr = int(np.sum(region_of == 0))
    seen, ticks, labels = set(), [], []
    for r, c in enumerate(region_class):
        if c not in seen:
            seen.add(c)
            ticks.append(r * npr)
            labels.append(str(c))
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels, fontsize=6)
    ax.set_title(title)
    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return str(path)


def joint_angles(path, t_s: np.ndarray, q: np.ndarray, names, title: str = "") -> str:
    plt = _mpl()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for k, n in enumerate(names):
        ax.plot(t_s, np.degrees(q[:, k]), label=n, lw=1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("joint angle (deg)")
    ax.legend(fontsize=7, ncol=3)
    ax.set_title(title)
    fig.tight_layout()
    write_with(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return str(path)
