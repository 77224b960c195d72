"""Brain maps of regional results: nilearn's plot_markers at the connectome's stored MNI centres.

One row per map: the real network's regional metric (seed-mean), then z of the real network
against each null family per region (from the regional statistics table). Atlases whose centres are
not in MNI space (or absent) get a figure that says so instead of a misplaced map."""
from __future__ import annotations

import textwrap
from typing import Mapping, Sequence

import numpy as np

from encephagen.analysis.run import read_table
from encephagen.connectome import Connectome
from encephagen.figures._save import plt, save_figure
from encephagen.figures.labels import label

__all__ = ["plot_brain_maps", "figure_brain_maps"]


def plot_brain_maps(maps: Mapping[str, np.ndarray], centres: np.ndarray | None, stem, *,
                    centres_space: str | None = "MNI", cmaps: Mapping[str, str] | None = None,
                    symmetric: Sequence[str] = (), title: str | None = None):
    """``maps``: {panel title: (n,) values}; ``centres``: (n, 3) mm. ``symmetric``: panel titles whose
    colour scale is centred on 0 (z maps). NaN regions are drawn small and grey."""
    from nilearn import plotting

    ok_space = centres is not None and str(centres_space or "").upper().startswith("MNI")
    if not ok_space or not maps:
        fig, ax = plt.subplots(figsize=(6.4, 1.8))
        ax.axis("off")
        why = ("this connectome has no region centres" if centres is None else
               f"its centres are in {centres_space!r}, not MNI space") if not ok_space else "no regional values"
        ax.text(0.5, 0.5, textwrap.fill(f"No brain map: {why}.", 80), ha="center", va="center", fontsize=9)
        return save_figure(fig, stem)
    centres = np.asarray(centres, dtype=float)
    fig = plt.figure(figsize=(10, 2.7 * len(maps)))
    for k, (name, vals) in enumerate(maps.items()):
        v = np.asarray(vals, dtype=float)
        fin = np.isfinite(v)
        ax = fig.add_axes((0.0, 1 - (k + 1) / len(maps), 1.0, 0.92 / len(maps)))
        if not fin.any():
            ax.axis("off")
            ax.text(0.5, 0.5, f"{name}: no finite value", ha="center", va="center", fontsize=9)
            continue
        if name in symmetric:
            m = float(np.nanmax(np.abs(v[fin]))) or 1.0
            vmin, vmax, cmap = -m, m, (cmaps or {}).get(name, "RdBu_r")
        else:
            vmin, vmax, cmap = float(np.nanmin(v)), float(np.nanmax(v)), (cmaps or {}).get(name, "viridis")
        plotting.plot_markers(np.where(fin, v, vmin), centres, node_size=np.where(fin, 40, 6), node_cmap=cmap,
                              node_vmin=vmin, node_vmax=vmax, display_mode="lzr", axes=ax, title=name,
                              annotate=False, colorbar=True, figure=fig)
    if title:
        fig.suptitle(title, fontsize=10, y=1.02)
    return save_figure(fig, stem)


def figure_brain_maps(regional, regional_stats, connectome, stem, *, metric: str, G: float,
                      families: Sequence[str] | None = None):
    """The real network's ``metric`` per region at coupling ``G`` and z against each null family."""
    c = connectome if isinstance(connectome, Connectome) else Connectome.load(connectome)
    reg = read_table(regional)
    sel = (reg["metric"] == metric) & ((reg["G"].astype(float) - float(G)).abs() <= 1e-9 * max(1, abs(G)))
    real = reg[sel & (reg["family"] == "real")].groupby("region")["value"].mean().reindex(range(c.n))
    maps = {f"real network: {label(metric)}, G = {G:g}": real.to_numpy(dtype=float)}
    sym = []
    if regional_stats is not None:
        st = read_table(regional_stats)
        st = st[(st["metric"] == metric) & ((st["G"].astype(float) - float(G)).abs() <= 1e-9 * max(1, abs(G)))]
        for fam in families or sorted(set(st["family"])):
            z = st[st["family"] == fam].set_index("region")["z"].reindex(range(c.n)).to_numpy(dtype=float)
            name = f"z of the real network vs {fam} nulls, per region"
            maps[name] = z
            sym.append(name)
    return plot_brain_maps(maps, c.centres, stem, centres_space=c.centres_space, symmetric=sym,
                           title=f"{c.name}: regional {label(metric)} at the MNI region centres")
