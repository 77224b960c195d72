"""The figures stage's steps (one call per figure rule): tables and files in, PNG + PDF out.

Each takes the TSV outputs of :mod:`encephagen.analysis.run` (paths or DataFrames), an output stem
and ``select``: {column: value} restricting the rows to one connectome / model / parameter set
(e.g. ``{"atlas": "hcp80", "model": "hopf", "G": 0.3}``). A table that still holds several values
of a parameter column after selection is refused, naming the column and its values, rather than
pooled silently.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from encephagen.analysis.run import read_table
from encephagen.analysis.tables import REAL, TableError
from encephagen.connectome import Connectome
from encephagen.data.empirical import read_fc
from encephagen.data.parcellate import t1t2_map
from encephagen.figures import plots
from encephagen.figures.timeseries import plot_timeseries_check
from encephagen.io import open_validated
from encephagen.seeds import derive_seed
from encephagen.steps.networks import load_networks
from encephagen.study.config import resolve_config

PARAMS = ("G",)  # parameter columns that must be single-valued in a figure (pass others via params=)

__all__ = ["select_rows", "figure_metrics", "figure_hierarchy", "figure_t1t2", "figure_fit", "figure_silencing",
           "figure_decomposition", "figure_fc_matrices", "figure_null_properties", "real_fc_at_best",
           "simulate_check", "figure_timeseries_check"]


def select_rows(df: pd.DataFrame, select: Mapping | None, *, name: str, single: bool = True,
                ignore: tuple[str, ...] = (), params: tuple[str, ...] = PARAMS) -> pd.DataFrame:
    """Rows matching ``select``; with ``single``, refuse a table left with several values of atlas,
    model or a parameter column (``params``, minus ``ignore``)."""
    out = df
    for k, v in (select or {}).items():
        if k not in out.columns:
            raise TableError(f"{name}: cannot select on {k!r}: no such column (has {list(out.columns)})")
        col = out[k]
        if pd.api.types.is_numeric_dtype(col) and not isinstance(v, str):
            out = out[(col.astype(float) - float(v)).abs() <= 1e-9 * max(1.0, abs(float(v)))]
        else:
            out = out[col.astype(str) == str(v)]
    if out.empty:
        raise TableError(f"{name}: no rows for selection {dict(select or {})}")
    if single:
        for c in ("atlas", "model") + tuple(params):
            if c in out.columns and c not in ignore and out[c].nunique(dropna=False) > 1:
                vals = sorted(map(str, out[c].unique()))[:8]
                raise TableError(f"{name}: several values of {c!r} remain ({', '.join(vals)}); select one with "
                                 f"select={{'{c}': ...}}")
    return out


def figure_metrics(network, stats, stem, *, select: Mapping | None = None, metrics=None):
    net = select_rows(read_table(network), select, name="network table")
    st = select_rows(read_table(stats), select, name="statistics table")
    return plots.plot_metric_distributions(net, st, stem, metrics=metrics,
                                           title=_title("Metrics vs null networks", select))


def figure_hierarchy(class_summary, stem, *, select: Mapping | None = None, metric: str | None = None):
    cs = select_rows(read_table(class_summary), select, name="class summary")
    return plots.plot_hierarchy(cs, stem, metric=metric)


def figure_t1t2(regional, t1t2, corr, stem, *, select: Mapping | None = None, metric: str | None = None):
    """``t1t2``: resources/t1t2/{atlas}.tsv (or a Series by region); ``corr``: run_t1t2 output."""
    reg = select_rows(read_table(regional), select, name="regional table")
    metric = metric or str(reg["metric"].iloc[0])
    reg = reg[reg["metric"] == metric]
    prof = reg[reg["family"] == REAL].groupby("region")["value"].mean()
    rc = reg.drop_duplicates("region").set_index("region")["region_class"] if "region_class" in reg.columns else None
    if not isinstance(t1t2, pd.Series):
        if isinstance(t1t2, pd.DataFrame):
            t = t1t2
            v = t["t1t2"].astype(float)
            if "status" in t.columns:
                v = v.where(t["status"].eq("ok"))
            t1t2 = pd.Series(v.to_numpy(), index=t["index" if "index" in t.columns else "region"].astype(int).to_numpy())
        else:
            m = t1t2_map(t1t2, missing="nan")
            t1t2 = pd.Series(m.values, index=m.index)
    c = select_rows(read_table(corr), select, name="T1w/T2w correlation table")
    c = c[c["metric"] == metric] if "metric" in c.columns else c
    return plots.plot_t1t2(prof, t1t2, stem, region_class=rc, corr=c, metric=metric,
                           title=_title(f"{metric} vs T1w/T2w", select))


def figure_fit(curve, summary, stem, *, select: Mapping | None = None, baselines: Mapping[str, float] | None = None,
               param: str = "G"):
    cur = select_rows(read_table(curve), select, name="fit curve", ignore=(param,))
    best = None
    if summary is not None:
        s = select_rows(read_table(summary), select, name="fit summary")
        if f"real_best_{param}" in s.columns and len(s):
            best = {f"best {param} (train)": float(s[f"real_best_{param}"].iloc[0])}
        if baselines is None:
            baselines = {k[3:].replace("_", " "): float(s[k].iloc[0]) for k in s.columns
                         if k.startswith("sc_") and not k.startswith("sc_n")}
    return plots.plot_fit_vs_g(cur, stem, baselines=baselines, best=best, param=param,
                               title=_title(f"FC fit vs {param}", select))


def figure_decomposition(decomposition, stem, *, select: Mapping | None = None, alpha: float = 0.05):
    d = select_rows(read_table(decomposition), select, name="decomposition table")
    return plots.plot_decomposition(d, stem, alpha=alpha)


def figure_fc_matrices(sim, emp_fc, stem, *, connectome=None, index: int = 0, sim_title: str | None = None,
                       emp_title: str | None = None):
    """Simulated vs empirical FC. ``sim``: an (n, n) array or a ``hopf_sweep`` file (its ``fc_best[index]``,
    the FC at the G chosen on training); ``emp_fc``: an array or an ``empirical_fc`` file
    (resources/fc/<dataset>.h5); ``connectome``: optional Connectome or resources/connectomes/<atlas>.h5."""
    if not isinstance(sim, np.ndarray):
        from encephagen.hopf.study import read_sweep  # local: the hopf study imports torch

        sw = read_sweep(sim)
        if "fc_best" not in sw or len(sw["fc_best"]) <= index:
            raise TableError(f"{sim}: no fc_best[{index}]")
        sim_title = sim_title or (f"{sw.get('family', '')} #{int(sw['null_index'][index])} analytic FC at best "
                                  f"G = {float(sw['best_G'][index]):.3g} (fit on {sw.get('train', '')})")
        sim = sw["fc_best"][index]
    if not isinstance(emp_fc, np.ndarray):
        d = read_fc(emp_fc)
        emp_title = emp_title or f"empirical FC: {d.get('dataset', '')}"
        emp_fc = d["fc"]
    sc = None
    if connectome is not None:
        c = connectome if isinstance(connectome, Connectome) else Connectome.load(connectome)
        sc = c.weights
    return plots.plot_fc_matrices(sim, emp_fc, stem, sim_title=sim_title or "simulated FC",
                                  emp_title=emp_title or "empirical FC", sc=sc)


def figure_silencing(summary, stem, *, select: Mapping | None = None, param: str = "G", g_values=None):
    """``g_values``: the swept values (the axis spans exactly these; default: the table's)."""
    s = select_rows(read_table(summary), select, name="silencing summary")
    return plots.plot_silencing_order(s, stem, param=param, g_values=g_values)


def figure_null_properties(props, stem, *, select: Mapping | None = None):
    p = props if isinstance(props, pd.DataFrame) else pd.read_csv(props, sep="\t")
    p = select_rows(p, select, name="null property table", single=False)
    return plots.plot_null_properties(p, stem, title=_title("Null connectome properties (red: real)", select))


def _title(base: str, select: Mapping | None) -> str:
    if not select:
        return base
    return base + " - " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in select.items())


# ----------------------------------------------------------------------------- FC at the best G
def real_fc_at_best(store_path: str | Path, fit_networks: str | Path) -> tuple[np.ndarray, str]:
    """The real network's simulated FC (mean over its seeds) at the G chosen on the training group."""
    per = pd.read_csv(fit_networks, sep="\t")
    real = per[per["family"] == "real"]
    if real.empty:
        raise ValueError(f"{fit_networks}: no real network row")
    g = float(real["best_G"].iloc[0])
    with open_validated(store_path, "aggregate") as f:
        Gs = f["param_G"][()]
        j = int(np.argmin(np.abs(Gs - g)))
        fc = np.nanmean(f["fc_real"][:, j], axis=0)
        model = str(f.attrs["model"])
        src = str(f.attrs.get("fc_source", "bold"))
    what = {"bold": "BOLD FC", "activity": "FC of activity", "rate": "FC of the population rate"}.get(src, "FC")
    return fc, f"real network, {model}, simulated {what} at G = {g:.3g} (chosen on the training group)"


# ----------------------------------------------------------------------------- time-series check
# A short re-simulation of the real network at every configured G, with the run's model, parameters,
# normalisation, noise and monitors (encephagen.figures.timeseries draws it). One noise seed per G,
# derived from (master_seed, atlas, 'timeseries-check', G index) and written on the figure; a check of
# the regime, never an input to the statistics.
def simulate_check(real_network_file: str | Path, simulate_cfg: Mapping, master_seed: int, *,
                   check_ms: float = 2000.0, device: str = "cpu"):
    """(SimResult, atlas, labels): the real network (family 'real' of the nulls stage's batch file)
    at every G of ``simulate_cfg``, ``check_ms`` of recorded activity after the configured transient."""
    # torch (the simulator) only where a figure simulates: the other figure steps stay light
    from encephagen.study.engines.neural_mass import normalize_weights
    from encephagen.sim.models import get_model
    from encephagen.sim.monitors import MonitorConfig
    from encephagen.sim.runner import simulate

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


def figure_timeseries_check(real_network_file, simulate_cfg: Mapping, master_seed: int, stem, *,
                            check_ms: float = 2000.0, device: str = "cpu"):
    res, atlas, labels = simulate_check(real_network_file, simulate_cfg, master_seed, check_ms=check_ms, device=device)
    return plot_timeseries_check(res, stem, atlas=atlas, labels=labels)
