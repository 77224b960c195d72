"""The `evoked` workflow step (claim 7, the "dMRI wall"): paths in, read, run the evoked engine /
its statistics, write.

* :func:`evoked_network_file`: one nulls-stage batch file (the real network or a null batch) ->
  one 'evoked' file (networks x seed ids x FFI off/on, :class:`encephagen.learn.evoked.EvokedEngine`).
* :func:`summarize`: every 'evoked' file of an atlas -> ``evoked_tests.tsv`` (columns
  test, measure, effect, ci_low, ci_high, p, q, n, note), the per-run and per-region tables and one
  figure (response vs hop distance, real vs nulls, FFI off / on).
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io.tables import write_table, write_with
from encephagen.learn import evoked as EV
from encephagen.study.config import ParameterError

log = logging.getLogger(__name__)


def stimulated_regions(atlas: str, labels: Sequence[str], stimulus: Mapping) -> tuple[list[int], str]:
    """Indices of the stimulated regions and a one-line description of the mapping.

    ``stimulus.labels`` (if any) by label; otherwise every region whose ``region_class`` in the
    atlas's hand-reviewed table (encephagen/data/tables/<atlas>_regions.tsv) is in
    ``stimulus.region_class``."""
    labels = [str(x) for x in labels]
    want = [str(x) for x in stimulus.get("labels") or []]
    if want:
        missing = [x for x in want if x not in labels]
        if missing:
            raise ParameterError(f"evoked.stimulus.labels: {missing} not among the {atlas} region labels")
        idx = [labels.index(x) for x in want]
        return idx, f"labels {want}"
    from encephagen.steps.networks import regions_of_class

    return regions_of_class(atlas, labels, stimulus.get("region_class") or [], "evoked.stimulus.region_class",
                            hint="; give evoked.stimulus.labels instead")


def evoked_network_file(networks_path, out_path, evoked_cfg: Mapping, *, master_seed: int,
                        threads: int | None = None) -> Path:
    """Run the evoked protocol on the networks of one nulls-stage batch (the first
    ``evoked.n_nulls`` nulls of a family; the real network's batch whole)."""
    from encephagen.steps.networks import stage_networks
    from encephagen.study import run_study

    cfg = dict(evoked_cfg)
    if threads and not cfg.get("threads"):
        cfg["threads"] = int(threads)
    rc = EV.resolve_evoked(cfg)
    nb, networks = stage_networks(networks_path, rc["n_nulls"], "evoked.n_nulls", "stimulate")
    stim, what = stimulated_regions(nb.source, nb.labels, rc["stimulus"])
    log.info("evoked: stimulating %d regions (%s)", len(stim), what)
    return run_study(EV.EvokedEngine(), cfg, networks, master_seed, out_path,
                     provenance={"networks_file": str(networks_path), "stimulated": what},
                     region_labels=list(nb.labels), stim_regions=stim)


def summarize(paths: Sequence, out_tests, out_regions, out_runs, out_png, *, n_permutations: int = 100_000,
              fdr_alpha: float = 0.05) -> dict:
    """Tables and the figure of one atlas; returns the cost and the real network's outside-response tests."""
    runs, regions, cost = EV.runs_table(paths)
    tests = EV.evoked_tests(runs, n_permutations, fdr_alpha)
    reg = EV.region_table(regions)
    write_table(tests, out_tests, float_format="%.6g")
    write_table(reg, out_regions, float_format="%.6g")
    write_table(runs, out_runs, float_format="%.6g")
    _figure(runs, reg, tests, out_png)
    sel = tests[tests.measure.str.startswith("response_outside")]
    return {"cost": cost, "outside": sel.to_dict("records")}


def _figure(runs, reg, tests, out_png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encephagen.learn.statistics import mean_ci

    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    x = np.arange(len(EV.HOP_CLASSES))
    names = ["0\n(stimulated)", "1", "2", "3+"]
    cols = [f"response_{h}" for h in EV.HOP_CLASSES]
    ymin, ymax = np.inf, -np.inf
    for k, f in enumerate(EV.FFI):
        a = ax[k]
        sub = runs[runs.ffi == f]
        nets = sub.groupby(["family", "null_index"])[cols].mean()
        nulls = nets.drop(index="real", level=0, errors="ignore")
        for _, row in nulls.iterrows():
            a.plot(x, 100 * row.to_numpy(float), "-", color="0.6", lw=0.8, alpha=0.6)
        if len(nulls):
            a.plot([], [], "-", color="0.6", label=f"null networks (n = {len(nulls)}), seed means")
        real = sub[sub.family == "real"]
        if len(real):
            with warnings.catch_warnings():      # an empty hop class (no region that far): NaN, no warning
                warnings.simplefilter("ignore", RuntimeWarning)
                m, lo, hi = mean_ci(100 * real[cols].to_numpy(float), 0)
            a.errorbar(x, m, yerr=[m - lo, hi - m], fmt="o-", color="tab:red", capsize=3,
                       label=f"real network, mean and 95% CI over {real.seed_id.nunique()} seeds")
            ymin, ymax = min(ymin, np.nanmin(lo)), max(ymax, np.nanmax(hi))
        a.axhline(0, color="k", lw=0.6)
        scale = sub.ffi_scale.iloc[0] if len(sub) else float("nan")
        a.set(xticks=x, xticklabels=names, xlabel="hop distance from the stimulated regions",
              ylabel="evoked response (% of baseline rate)",
              title=f"{EV.FFI_NAMES[f]} (long-range onto I x {scale:g})")
        a.legend(fontsize=7)
    if np.isfinite(ymin):
        for a in ax[:2]:
            lo_, hi_ = a.get_ylim()
            a.set_ylim(min(lo_, ymin), max(hi_, ymax))
    r = reg[(reg.family == "real") & (reg.stimulated == 0)]
    for f, c in ((0, "tab:blue"), (1, "tab:orange")):
        s = r[r.ffi == f]
        ax[2].errorbar(s.path_length, 100 * s.response, yerr=100 * s.response_sd_seeds, fmt="o", ms=3, color=c,
                       alpha=0.7, label=EV.FFI_NAMES[f])
    ax[2].axhline(0, color="k", lw=0.6)
    ax[2].set(xlabel="weighted shortest path from stimulated set",
              ylabel="evoked response (%), mean +- sd over seeds", title="real network, non-stimulated regions")
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    write_with(out_png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
