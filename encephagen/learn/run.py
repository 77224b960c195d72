"""The `learn` workflow step: paths in, read, run the plastic engine / the statistics, write.

* :func:`learn_network_file`: one nulls-stage batch file (the real network or a null batch) ->
  one 'plastic' file of one protocol (networks x seed ids x {plastic, frozen}).
* :func:`summarize`: every 'plastic' file of an (atlas, protocol) -> per-run table, per-network
  effects (paired sign-flip tests), real vs null families (network as unit, BH FDR), one figure.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.io.tables import write_table, write_with
from encephagen.learn import statistics as S
from encephagen.learn.engine import PlasticEngine, read_plastic, resolve_learn

log = logging.getLogger(__name__)


def learn_network_file(networks_path, out_path, learn_cfg: Mapping, protocol: str, *, master_seed: int,
                       threads: int | None = None) -> Path:
    """Run ``protocol`` on the networks of one nulls-stage batch (the first ``learn.n_nulls`` nulls
    of a family; the real network's batch whole)."""
    from encephagen.steps.networks import stage_networks
    from encephagen.study import run_study

    cfg = dict(learn_cfg)
    if threads and not cfg.get("threads"):
        cfg["threads"] = int(threads)
    n_nulls = resolve_learn(cfg)["n_nulls"]
    nb, networks = stage_networks(networks_path, n_nulls, "learn.n_nulls", "learn on")
    return run_study(PlasticEngine(), {**cfg, "protocol": protocol}, networks, master_seed, out_path,
                     provenance={"networks_file": str(networks_path)}, region_labels=list(nb.labels))


def runs_table(paths: Sequence) -> tuple[pd.DataFrame, dict]:
    """Every run of the files (ids, plastic flag, the protocol's measures, weight change) and
    the per-trial arrays of the real network's runs (for the figure)."""
    frames, trials, protocol, block, cost = [], {}, None, 10, {"wall_s": 0.0, "cpu_s": 0.0}
    chance = None
    for p in paths:
        d = read_plastic(p)
        proto = d["attrs"]["protocol"]
        if protocol not in (None, proto):
            raise ValueError(f"{p}: protocol {proto!r}, the other files {protocol!r}")
        protocol = proto
        conf = json.loads(d["attrs"]["config"])
        block = int(conf["three_way" if proto.startswith("three_way") else "conditioning"]["block"])
        chance = S.chance_level(proto, conf)
        m = S.run_measures(proto, d["trials"], block)
        df = pd.DataFrame({"atlas": d["atlas"], "family": d["family"], "null_index": d["null_index"],
                           "seed_id": d["seed_id"], "seed": d["seed"], "pattern_seed": d["pattern_seed"],
                           "plastic": d["plastic"], "rate_hz": d["rate"].mean(1), **m,
                           **{f"w_{k}": v for k, v in d["weight_change"].items()}})
        frames.append(df)
        cost["wall_s"] += float(d["attrs"]["wall_s"])
        cost["cpu_s"] += float(d["attrs"]["cpu_s"])
        real = d["family"] == "real"
        if real.any():
            trials = {k: v[real] for k, v in d["trials"].items()}
            trials["plastic"] = d["plastic"][real]
            trials["dt"] = float(d["attrs"]["dt"])
    if not frames:
        raise ValueError("learn summary: no input files")
    return pd.concat(frames, ignore_index=True), {"protocol": protocol, "block": block, "chance": chance,
                                                  "real": trials, **cost}


def summarize(paths: Sequence, out_runs, out_effects, out_nulls, out_png, *, n_permutations: int = 100_000,
              fdr_alpha: float = 0.05) -> dict:
    """Tables and the figure of one (atlas, protocol); returns the real network's primary test."""
    runs, info = runs_table(paths)
    proto = info["protocol"]
    eff = S.network_effects(runs, proto, n_permutations, fdr_alpha)
    eff["chance"] = np.nan if info["chance"] is None else info["chance"]
    vs = S.real_vs_nulls(eff, fdr_alpha)
    for df, path in ((runs, out_runs), (eff, out_effects), (vs, out_nulls)):
        write_table(df, path, float_format="%.6g")
    _figure(proto, runs, eff, info, out_png)
    row = eff[(eff.family == "real") & eff.primary]
    return row.iloc[0].to_dict() if len(row) else {}


def _figure(proto, runs, eff, info, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    tr = info["real"]
    cols = {1: ("tab:red", "plastic"), 0: ("tab:grey", "frozen")}
    if tr:
        pl = tr["plastic"]
        if proto == "habituation":
            r = tr["response"]
            x = np.arange(r.shape[1])
            for flag, (c, lab) in cols.items():
                m, lo, hi = S.mean_ci(r[pl == flag], 0)
                ax[0].plot(x[:-1], m[:-1], "o-", color=c, label=f"{lab}: A")
                ax[0].fill_between(x[:-1], lo[:-1], hi[:-1], color=c, alpha=0.2)
                ax[0].errorbar([x[-1]], [m[-1]], yerr=[[m[-1] - lo[-1]], [hi[-1] - m[-1]]], fmt="s", color=c,
                               label=f"{lab}: B (novel)")
            ax[0].set(xlabel="presentation", ylabel="pattern response (Hz)", title="real network, mean and 95% CI")
        else:
            lc = S.learning_curve(tr["correct"], info["block"])
            x = (np.arange(lc.shape[1]) + 1) * info["block"]
            for flag, (c, lab) in cols.items():
                m, lo, hi = S.mean_ci(lc[pl == flag], 0)
                ax[0].plot(x, m, "o-", color=c, label=lab)
                ax[0].fill_between(x, lo, hi, color=c, alpha=0.2)
            ax[0].axhline(info["chance"], ls="--", color="k", label=f"chance {info['chance']:.3g}")
            ax[0].set(xlabel="trial", ylabel=f"fraction correct (blocks of {info['block']})", ylim=(0, 1),
                      title="real network, mean and 95% CI")
        ax[0].legend(fontsize=7)
    prim = S.PRIMARY[proto]
    pr = S.paired_runs(runs, prim)
    real = pr[pr.family == "real"]
    er = eff[(eff.family == "real") & (eff.measure == prim)]
    ax[1].plot(real["frozen"], real["plastic"], "o", color="tab:red", ms=4)
    lim = np.nanmin(pr[["frozen", "plastic"]].to_numpy()), np.nanmax(pr[["frozen", "plastic"]].to_numpy())
    ax[1].plot(lim, lim, "k:", lw=1)
    if len(er):
        e = er.iloc[0]
        ax[1].set_title(f"real: effect {e.effect:+.3g} [{e.ci_low:+.3g}, {e.ci_high:+.3g}], p = {e.p_signflip:.3g}\n"
                        f"({'exact ' if e.exact else ''}sign flip, n = {e.n_seeds} seeds)", fontsize=8)
    ax[1].set(xlabel=f"{prim}, frozen", ylabel=f"{prim}, plastic")
    ne = eff[eff.measure == prim]
    fams = [f for f in ne.family.unique() if f != "real"]
    for k, f in enumerate(fams):
        v = ne[ne.family == f]["effect"].to_numpy()
        ax[2].plot(np.full(v.size, k) + np.linspace(-0.15, 0.15, v.size), v, "o", color="tab:blue", ms=4, alpha=0.7)
    if len(er):
        ax[2].axhline(er.iloc[0].effect, color="tab:red", label="real network")
    ax[2].axhline(0, color="k", lw=0.5)
    ax[2].set_xticks(range(len(fams)), fams)
    ax[2].set(ylabel=f"effect on {prim} (plastic - frozen)", title="one point per null network", xlim=(-0.6, max(1, len(fams)) - 0.4))
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    write_with(out_png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
