"""The hopf stage's steps (rules hopf_sweep, hopf_summary, hopf_heterogeneity; hopf_sim_vs_analytic of
the simulate stage): paths in; the null batches, connectomes, group FCs, T1w/T2w tables and sweep
files are read here; the analytic study (:mod:`encephagen.hopf.study`) gets arrays and writes its
files through :mod:`encephagen.io`.

* :func:`sweep_file`: one null batch (``results/nulls/.../batch-XXXX.h5``) or the real connectome
  (``resources/connectomes/{atlas}.h5``) -> ``results/hopf/atlas-{atlas}/null-{family}/batch-XXXX.h5``
  (kind ``hopf_sweep``, :class:`encephagen.hopf.study.HopfLinearEngine`).
* :func:`summarise`: every sweep file of an atlas -> a tidy table, the held-out fit per network and
  the real network against each null family (:func:`encephagen.analysis.fc.fit_g`), plus the
  in-sample summary.
* :func:`heterogeneity_file`: a_j = bias + scale * T1w/T2w on the real network at its best G.
* :func:`sim_vs_analytic_file`: simulated vs analytic FC of the real network, per simulated G.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.analysis.fc import fit_g
from encephagen.connectome import Connectome
from encephagen.data.empirical import read_fc
from encephagen.data.parcellate import read_t1t2
from encephagen.hopf import study as hs
from encephagen.io import validate_many
from encephagen.io.tables import write_table
from encephagen.sim.models import ParameterError
from encephagen.steps.networks import read_networks, real_network as _real_network
from encephagen.study import run_study

log = logging.getLogger(__name__)

__all__ = ["read_group_fc", "read_map", "sweep_file", "summarise", "heterogeneity_file", "sim_vs_analytic_file"]


# ----------------------------------------------------------------------------- inputs
def read_group_fc(path: str | Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """Group FC (n, n) and labels from a ``resources/fc/{dataset}.h5`` file (kind ``empirical_fc``)."""
    d = read_fc(path)
    return np.asarray(d["fc"], dtype=float), tuple(str(x) for x in d.get("labels", ()))


def read_map(path: str | Path, n: int) -> tuple[np.ndarray, list[str]]:
    """T1w/T2w per region from ``resources/t1t2/{atlas}.tsv`` (encephagen.data.parcellate.read_t1t2);
    regions without a value are filled with the median and listed in the returned notes."""
    rows = read_t1t2(path)
    if len(rows) != n:
        raise ParameterError(f"{path}: {len(rows)} regions, the connectome has {n}")
    x = np.array([r["t1t2"] for r in rows], dtype=float)
    notes = []
    bad = ~np.isfinite(x) | np.array([str(r.get("status", "ok")).lower() != "ok" for r in rows])
    if bad.all():
        raise ParameterError(f"{path}: no usable T1w/T2w value")
    if bad.any():
        med = float(np.median(x[~bad]))
        notes.append(f"{int(bad.sum())} region(s) without a T1w/T2w value set to the median {med:.4g}: "
                     f"indices {np.flatnonzero(bad).tolist()}")
        x = np.where(bad, med, x)
    return x, notes


# ----------------------------------------------------------------------------- sweep
def sweep_file(networks: str | Path, fc_train: str | Path, fc_test: str | Path, out: str | Path, *,
               params: Mapping | None = None, train: str | None = None, test: str | None = None,
               atlas: str | None = None) -> Path:
    """One batch (or the real connectome) -> one ``hopf_sweep`` file (:class:`HopfLinearEngine`)."""
    net = read_networks(networks)
    Ftr, ltr = read_group_fc(fc_train)
    Fte, lte = read_group_fc(fc_test)
    n = net["weights"].shape[-1] if net["weights"].ndim == 3 else len(net["labels"])
    for name, F in (("training FC " + str(fc_train), Ftr), ("held-out FC " + str(fc_test), Fte)):
        if F.shape != (n, n):
            raise ParameterError(f"{name} is {F.shape}, the networks in {networks} have {n} regions")
    if ltr and net["labels"] and tuple(ltr) != tuple(net["labels"]):
        log.warning("labels of %s differ from those of %s; regions are matched by position", fc_train, networks)
    k = net["weights"].shape[0]
    log.info("%s: %d %s network(s) of %s, %s", networks, k, net["family"], net["atlas"],
             f"skipped ({net['reason']})" if net["status"] == "skipped" else "sweeping")
    nets = [(net["atlas"], net["family"], int(net["null_index"][i]), net["weights"][i], None) for i in range(k)]
    ids = dict(atlas=atlas or net["atlas"], train=train or Path(fc_train).stem, test=test or Path(fc_test).stem)
    # master_seed 0: the analytic model draws no random numbers (the file carries the nulls' seeds)
    return run_study(hs.HopfLinearEngine(), params, nets, 0, out,
                     provenance={"inputs": [str(networks), str(fc_train), str(fc_test)]},
                     hopf_section=params, batch=net, fc_train=Ftr, fc_test=Fte, ids=ids)


# ----------------------------------------------------------------------------- summaries
def summarise(sweep_paths: Sequence[str | Path], out_table: str | Path, out_networks: str | Path,
              out_heldout: str | Path, out_insample: str | Path, *, min_nulls: int = 1) -> None:
    """Tidy sweep table, per-network held-out fits, real vs nulls (held-out and in-sample)."""
    validate_many(sweep_paths, "hopf_sweep")  # every file named; siblings made with the same parameters
    sweeps = [hs.read_sweep(p) for p in sweep_paths]
    trains = {str(s["train"]) for s in sweeps}
    tests = {str(s["test"]) for s in sweeps}
    fits = {str(s["fit_metric"]) for s in sweeps}
    if len(trains) != 1 or len(tests) != 1 or len(fits) != 1:
        raise ParameterError(f"sweep files disagree on train/test/fit_metric: {trains} {tests} {fits}")
    table = hs.tidy_table(sweeps)
    real = [s for s in sweeps if str(s["family"]) == "real"]
    if not real:
        raise ParameterError("no sweep of the real network among " + ", ".join(map(str, sweep_paths)))
    baselines = {"log_pearson": float(real[0]["sc_test_log_pearson"][0]),
                 "raw_pearson": float(real[0]["sc_test_raw_pearson"][0]),
                 "raw_spearman": float(real[0]["sc_test_raw_spearman"][0])}
    per, summ = fit_g(table, train=trains.pop(), test=tests.pop(), measure=fits.pop(), min_nulls=min_nulls,
                      baselines=baselines)
    for path, df in ((out_table, table), (out_networks, per), (out_heldout, summ),
                     (out_insample, hs.insample_summary(sweeps))):
        write_table(df, path)  # atomic (random temporary name); .gz really gzip, reproducibly


# ----------------------------------------------------------------------------- heterogeneity
def heterogeneity_file(connectome: str | Path, t1t2: str | Path, fc_train: str | Path, fc_test: str | Path,
                       real_sweep: str | Path, out_h5: str | Path, out_tsv: str | Path, *,
                       params: Mapping | None = None, master_seed: int, atlas: str | None = None,
                       real_network: str | Path | None = None) -> Path:
    """``real_network``: the nulls stage's real network (``results/nulls/atlas-X/null-real/batch-0000.h5``),
    the network whose best G the sweep found; its weights are fitted. Without it the connectome's
    weights go through the same transform (:func:`encephagen.steps.networks.real_network`, no threshold).
    ``connectome`` supplies the region distances of the map null. The fit and its files:
    :func:`encephagen.hopf.study.heterogeneity`."""
    c = Connectome.load(connectome, isolated="allow")
    if real_network is not None:
        net = read_networks(real_network)
        if net["family"] != "real" or net["weights"].shape[0] != 1:
            raise ParameterError(f"{real_network}: expected the nulls stage's real network, got family "
                                 f"{net['family']!r} with {net['weights'].shape[0]} networks")
        if tuple(net["labels"]) != tuple(c.labels):
            raise ParameterError(f"{real_network}: region labels differ from {connectome}")
        Wr = np.asarray(net["weights"][0], dtype=float)
    else:
        Wr = _real_network(c).weights
    Ftr, _ = read_group_fc(fc_train)
    Fte, _ = read_group_fc(fc_test)
    G = float(hs.read_sweep(real_sweep)["best_G"][0])
    x, notes = read_map(t1t2, c.n)
    return hs.heterogeneity(Wr, x, Ftr, Fte, G, c.distances, out_h5, out_tsv, params=params, master_seed=master_seed,
                            atlas=atlas or c.name, notes=notes,
                            sources=dict(connectome=connectome, t1t2=t1t2, fc_train=fc_train, fc_test=fc_test,
                                         real_network=real_network))


# ----------------------------------------------------------------------------- simulated vs analytic
def sim_vs_analytic_file(sim_path: str | Path, networks: str | Path, out_tsv: str | Path, *,
                         params: Mapping | None = None, fc_test: str | Path | None = None,
                         fit_networks: str | Path | None = None, min_r: float = 0.9, atlas: str | None = None):
    """The real network's simulation ``sim_path`` (model hopf) against the analytic FC of the nulls
    stage's real network ``networks``, one row per G (:func:`encephagen.hopf.study.sim_vs_analytic`);
    ``fc_test``: the held-out group FC; ``fit_networks``: the FC fit's per-network table (the G chosen
    for the real network on the training group)."""
    net = read_networks(networks)
    chosen = np.nan
    if fit_networks:
        per = pd.read_csv(fit_networks, sep="\t")
        per = per[per["family"] == "real"]
        if not per.empty:
            chosen = float(per["best_G"].iloc[0])
    return hs.sim_vs_analytic(sim_path, net["weights"][0], out_tsv, params=params,
                              fc_test=read_group_fc(fc_test)[0] if fc_test else None, chosen=chosen, min_r=min_r,
                              atlas=atlas or net["atlas"])
