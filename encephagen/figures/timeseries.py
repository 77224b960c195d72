"""Time-series check: a short re-simulation of the real network at every configured G, with the
run's model, parameters, normalisation, noise and monitors, drawn as activity traces so that a
saturated, silent or diverging regime is visible at a glance (the tables only hold summaries).

The re-simulation uses one noise seed per G, derived from (master_seed, atlas, 'timeseries-check', G
index) and written on the figure; it is a check of the regime, never an input to the statistics."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from encephagen.figures._save import plt, save_figure
from encephagen.figures.labels import label
from encephagen.seeds import derive_seed
from encephagen.sim.batch import load_networks, normalize_weights, resolve_config
from encephagen.sim.models import get_model
from encephagen.sim.monitors import MonitorConfig
from encephagen.sim.runner import simulate

__all__ = ["simulate_check", "plot_timeseries_check", "figure_timeseries_check"]


def simulate_check(real_network_file: str | Path, simulate_cfg: Mapping, master_seed: int, *,
                   check_ms: float = 2000.0, device: str = "cpu"):
    """(SimResult, atlas, labels): the real network (family 'real' of the nulls stage's batch file)
    at every G of ``simulate_cfg``, ``check_ms`` of recorded activity after the configured transient."""
    cfg = resolve_config(simulate_cfg)
    nets, labels = load_networks(nulls=[real_network_file])
    net = nets[0]
    model = get_model(cfg["model"])
    base = model.params(cfg["preset"], **dict(cfg["params"])).as_dict()
    G = np.asarray(cfg["G"], dtype=float)
    w = normalize_weights(net.weights, cfg["normalize"])
    seeds = np.array([derive_seed(int(master_seed), net.atlas, "timeseries-check", k) for k in range(G.size)])
    mon = dict(cfg["monitors"], bold=False, fc_activity=False)
    dur = float(cfg["transient"]) + float(check_ms)
    mon["record_samples"] = int(min(mon.get("record_samples", 2048), max(16, check_ms / mon.get("period", 1.0))))
    res = simulate(model, np.broadcast_to(w, (G.size, *w.shape)), np.broadcast_to(net.lengths, (G.size, *w.shape)),
                   params={k: (np.asarray(v, float)[None, :] if np.ndim(v) == 1 else v) for k, v in base.items()},
                   G=G, seeds=seeds, dt=cfg["dt"], duration=dur, transient=cfg["transient"],
                   velocity=cfg["velocity"], noise=cfg["noise"], monitors=MonitorConfig(**mon), device=device,
                   dtype=cfg["dtype"], integrator=cfg["integrator"], compile=False)
    return res, net.atlas, labels


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


def figure_timeseries_check(real_network_file, simulate_cfg: Mapping, master_seed: int, stem, *,
                            check_ms: float = 2000.0, device: str = "cpu"):
    res, atlas, labels = simulate_check(real_network_file, simulate_cfg, master_seed, check_ms=check_ms, device=device)
    return plot_timeseries_check(res, stem, atlas=atlas, labels=labels)
