"""The `cognition` workflow step (claim 8 of issue 21): paths in, read, run the cognition engine /
its statistics, write.

* :func:`cognition_network_file`: one nulls-stage batch file (the real network or a null batch) ->
  one 'cognition' file (networks x seed ids x NMDA off / on / uncoupled,
  :class:`encephagen.learn.cognition.CognitionEngine`).
* :func:`summarize`: every 'cognition' file of an atlas -> ``cognition_tests.tsv`` (columns
  experiment, contrast, unit, network, n, effect, ci_low, ci_high, p, min_p, control, figure: the
  interface the claims page reads), ``runs.tsv`` (one row per run and its measures) and one figure.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io.tables import write_table, write_with
from encephagen.learn import cognition as CG

log = logging.getLogger(__name__)


def cognition_network_file(networks_path, out_path, cognition_cfg: Mapping, *, master_seed: int,
                           threads: int | None = None) -> Path:
    """Run the cognition protocol on the networks of one nulls-stage batch (the first
    ``cognition.n_nulls`` nulls of a family; the real network's batch whole)."""
    from encephagen.steps.networks import regions_of_class, stage_networks
    from encephagen.study import run_study

    cfg = dict(cognition_cfg)
    if threads and not cfg.get("threads"):
        cfg["threads"] = int(threads)
    rc = CG.resolve_cognition(cfg)
    nb, networks = stage_networks(networks_path, rc["n_nulls"], "cognition.n_nulls")
    pfc, w1 = regions_of_class(nb.source, nb.labels, rc["prefrontal_class"], "cognition.prefrontal_class")
    inp, w2 = regions_of_class(nb.source, nb.labels, rc["input_class"], "cognition.input_class")
    log.info("cognition: %s; %s", w1, w2)
    return run_study(CG.CognitionEngine(), cfg, networks, master_seed, out_path,
                     provenance={"networks_file": str(networks_path), "prefrontal": w1, "input": w2},
                     region_labels=list(nb.labels), prefrontal=pfc, inputs=inp)


def _pr_features(paths, condition: int) -> tuple[list[np.ndarray], np.ndarray, list[int]]:
    """The real network's per-run readout features (non-input regions' rates per presentation),
    labels and run seeds."""
    Xs, y, seeds = [], None, []
    for p in paths:
        d = CG.read_cognition(p)
        keep = d["input"] == 0
        for b in np.flatnonzero((d["family"] == "real") & (d["condition"] == condition)):
            Xs.append(d["pr_rate"][b][:, keep])
            seeds.append(int(d["seed"][b]))
            y = d["pr_label"]
    return Xs, y, seeds


def summarize(paths: Sequence, out_tests, out_runs, out_png, *, n_permutations: int = 100_000,
              label_permutations: int | None = None, figure_rel: str = "", master_seed: int = 0) -> dict:
    """Tables and the figure of one atlas; returns the cost and the tests as records."""
    paths = list(paths)
    runs, cost, cfg = CG.runs_table(paths, n_shuffles=5)
    lp = int(label_permutations if label_permutations is not None else cfg["label_permutations"])
    feats = {c: _pr_features(paths, c) for c in (1, 2)}
    feats = {c: v for c, v in feats.items() if v[0]}
    cfg = {**cfg, "_seed": int(master_seed)}
    tests = CG.cognition_tests(runs, feats or None, cfg, n_permutations, lp, figure=figure_rel)
    write_table(tests, out_tests, float_format="%.6g")
    write_table(runs, out_runs, float_format="%.6g")
    _figure(runs, cfg, out_png)
    return {"cost": cost, "tests": tests.to_dict("records")}


def _figure(runs, cfg, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encephagen.learn.statistics import mean_ci

    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    mem = cfg["memory"]
    bins = sorted(int(c[len("pfc_excess_bin"):]) for c in runs.columns if c.startswith("pfc_excess_bin"))
    cols = [f"pfc_excess_bin{k}" for k in bins]
    t = (np.arange(len(bins)) + 0.5) * mem["bin_ms"]
    real = runs[runs.family == "real"]
    for c, colr in ((0, "tab:blue"), (1, "tab:red")):
        s = real[real.condition == c]
        if len(s):
            m, lo, hi = mean_ci(s[cols].to_numpy(float), 0)
            cue, clo, chi = mean_ci(s["pfc_cue_excess"].to_numpy(float))
            ax[0].errorbar(np.r_[-mem["cue_ms"] / 2, t], np.r_[cue, m], yerr=[np.r_[cue - clo, m - lo],
                                                                              np.r_[chi - cue, hi - m]],
                           fmt="o-", color=colr, capsize=3,
                           label=f"real, {CG.CONDITION_NAMES[c]} (mean, 95% CI, {s.seed_id.nunique()} seeds)")
    ax[0].axvspan(-mem["cue_ms"], 0, color="0.9")
    ax[0].axhline(0, color="k", lw=0.6)
    ax[0].set(xlabel="time from cue offset (ms); shaded: cue", ylabel="prefrontal E rate - baseline (Hz)",
              title="working memory: prefrontal persistence")
    ax[0].legend(fontsize=7)
    # accuracy per condition and network
    chance = 1.0 / int(cfg["patterns"]["n_classes"])
    fams = ["real"] + sorted(set(runs.family) - {"real"})
    for j, c in enumerate((1, 2, 0)):
        for i, fam in enumerate(fams):
            s = runs[(runs.family == fam) & (runs.condition == c)]
            if not len(s):
                continue
            netm = s.groupby("null_index")["accuracy"].mean().to_numpy()
            x = j + (i - (len(fams) - 1) / 2) * 0.25
            if fam == "real":
                m, lo, hi = mean_ci(s["accuracy"].to_numpy(float))
                ax[1].errorbar([x], [m], yerr=[[m - lo], [hi - m]], fmt="o", color="tab:red", capsize=3,
                               label="real (seed mean, 95% CI)" if j == 0 else None)
            else:
                ax[1].plot(np.full(netm.size, x), netm, ".", color="0.5",
                           label=f"{fam} nulls (network means)" if j == 0 else None)
    sh = runs[runs.family == "real"]["accuracy_shuffled"].mean()
    ax[1].axhline(chance, color="k", ls="--", lw=0.8, label=f"chance {chance:.2f}")
    if np.isfinite(sh):
        ax[1].axhline(sh, color="0.4", ls=":", lw=0.8, label=f"shuffled labels {sh:.2f}")
    ax[1].set(xticks=[0, 1, 2], xticklabels=["nmda_on", "uncoupled\n(G = 0)", "nmda_off"],
              ylabel="cross-validated readout accuracy", title="pattern recognition (non-input regions)")
    ax[1].legend(fontsize=7)
    # structure: NMDA effect per network
    for i, fam in enumerate(fams):
        s = runs[runs.family == fam]
        g = s.groupby(["null_index", "condition"])["pfc_delay_excess"].mean().unstack()
        if 0 in g and 1 in g:
            d = (g[1] - g[0]).to_numpy()
            ax[2].plot(np.full(d.size, i) + (0 if fam == "real" else 0.05 * np.arange(d.size) - 0.025 * d.size),
                       d, "o" if fam == "real" else ".", color="tab:red" if fam == "real" else "0.5")
    ax[2].axhline(0, color="k", lw=0.6)
    ax[2].set(xticks=range(len(fams)), xticklabels=fams, ylabel="NMDA - no NMDA delay excess (Hz), network mean",
              title="structure: real vs null networks")
    fig.tight_layout()
    write_with(out_png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
