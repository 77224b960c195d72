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


class BrainMap:
    """Region rates (Hz) as coloured markers at the regions' MNI centres on a nilearn glass brain
    (``plot_markers``, ortho). The glass brain, the projections of the centres and the figure are
    made once (the costly part: ~1 s); each :meth:`draw` only recolours the markers, rescales the
    colour bar, retitles and writes the PNG."""

    def __init__(self, centres: np.ndarray):
        plt = _mpl()
        from nilearn import plotting

        self.n = len(centres)
        self.fig = plt.figure(figsize=(9, 3.2))
        self.cmap = plt.get_cmap("viridis")
        self.disp = plotting.plot_markers(np.zeros(self.n), np.asarray(centres, float), node_size=30,
                                          node_cmap=self.cmap, node_vmin=0.0, node_vmax=1.0, title=None,
                                          figure=self.fig, display_mode="ortho", colorbar=True)
        self.scatters = [ax.ax.collections[-1] for ax in self.disp.axes.values()]
        if any(len(sc.get_offsets()) != self.n for sc in self.scatters):
            raise RuntimeError("brain map: a view does not show every region")
        self.cax = self.disp._colorbar_ax
        self.title = self.fig.text(0.01, 0.97, "", va="top", ha="left", fontsize=10,
                                   color="w" if self.disp._black_bg else "k")

    def draw(self, path, rates: np.ndarray, title: str = "") -> str:
        from matplotlib.colorbar import Colorbar
        from matplotlib.colors import Normalize

        r = np.asarray(rates, float)
        if r.shape != (self.n,):
            raise ValueError(f"brain map: {r.shape} rates for {self.n} regions")
        norm = Normalize(0.0, max(float(r.max()), 1e-6))
        colours = self.cmap(norm(r))
        for sc in self.scatters:
            sc.set_facecolor(colours)
            sc.set_edgecolor(colours)
        self.cax.cla()
        cb = Colorbar(self.cax, cmap=self.cmap, norm=norm, ticklocation="left")
        cb.ax.tick_params(labelsize=8, colors=self.title.get_color())
        cb.set_label("Hz", fontsize=8, color=self.title.get_color())
        self.title.set_text(title)
        fig = self.fig
        write_with(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png", facecolor=fig.get_facecolor()))
        return str(path)

    def close(self) -> None:
        self.disp.close()
        _mpl().close(self.fig)


def brain_map(path, centres: np.ndarray, rates: np.ndarray, title: str = "") -> str:
    """One brain map (a :class:`BrainMap` made and closed; keep a BrainMap to draw many)."""
    bm = BrainMap(centres)
    try:
        return bm.draw(path, rates, title)
    finally:
        bm.close()


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
