"""The analytic-FC study: the linear Hopf engine of the study layer and its results, on arrays.

The steps (:mod:`encephagen.steps.hopf`) read the files (null batches, connectomes, group FCs,
T1w/T2w tables) and call these:

* :class:`HopfLinearEngine` (through :func:`encephagen.study.run_study`): r of every network at every
  G against the training and the held-out group FC, the best G per network (chosen on training),
  the SC-only baselines, FC at the best G; one ``hopf_sweep`` file (:func:`write_sweep`,
  :func:`read_sweep`).
* :func:`tidy_table`, :func:`insample_summary`: the sweeps of an atlas as a tidy table (network x G x
  metric, the format of :mod:`encephagen.analysis.tables`) and the in-sample real-vs-null summary.
* :func:`heterogeneity`: a_j = bias + scale * T1w/T2w on the real network at its best G, fitted on
  training, judged on held-out, against shuffled maps.
* :func:`sim_vs_analytic`: simulated against analytic FC of the real network.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.hopf import fit as hf
from encephagen.hopf import linear as hl
from encephagen.io import atomic_h5, open_validated, read_strings, write_array
from encephagen.io import kinds as _kinds
from encephagen.study.config import HOPF_DEFAULTS, resolve_hopf
from encephagen.study.engine import pick_device

log = logging.getLogger(__name__)

MODEL = "hopf_linear"

SWEEP_KIND = _kinds.HOPF_SWEEP            # both declared once in encephagen/io/kinds.py
HETERO_KIND = _kinds.HOPF_HETEROGENEITY

DEFAULTS = HOPF_DEFAULTS   # the schema's defaults of the `hopf` section (encephagen.schemas), not a copy


def resolve_params(cfg: Mapping | None) -> dict:
    """The config section ``hopf`` with defaults filled (:func:`encephagen.study.config.resolve_hopf`)."""
    return resolve_hopf(cfg)


def _dtype(name: str):
    import torch

    return {"float64": torch.float64, "float32": torch.float32}[name]


# ----------------------------------------------------------------------------- sweep
def sweep_networks(weights, fc_train, fc_test, params: Mapping | None = None, progress=None) -> dict:
    """Arrays of a sweep for networks ``weights`` (k, n, n); see :data:`SWEEP_KIND` for the names."""
    from encephagen.analysis.fc import sc_fc_baselines

    p = resolve_params(params)
    W = np.asarray(weights, dtype=float)
    k, n = W.shape[0], W.shape[-1]
    G = hf.g_grid(**p["G"])
    if p["symmetrise"]:
        W = (W + np.swapaxes(W, -1, -2)) / 2
    C = hf.normalise_sc(W, p["sc_normalisation"], p["sc_scale"]) if k else W
    out: dict = {"G": G}
    if k:
        res = hf.sweep(C, G, {"train": fc_train, "test": fc_test}, p["a"], dtype=_dtype(p["dtype"]),
                       device=str(pick_device(p["device"])), progress=progress)
        for role in ("train", "test"):
            for m in hf.METRICS:
                out[f"r_{role}_{m}"] = res.r[m][role]
        idx, _ = hf.best_index(out[f"r_train_{p['fit_metric']}"])
        out["sweep_seconds"] = res.seconds
    else:
        for role in ("train", "test"):
            for m in hf.METRICS:
                out[f"r_{role}_{m}"] = np.empty((0, G.size))
        idx = np.empty(0, np.int64)
    out["best_index"] = idx.astype(np.int64)
    bestG = np.where(idx >= 0, G[np.maximum(idx, 0)], np.nan)
    out["best_G"] = bestG
    out["at_edge"] = (idx == 0) | (idx == G.size - 1)
    omega = 2 * np.pi * p["omega_hz"]
    out["fc_best"] = hf.model_fc_at(C, bestG, p["a"], omega, p["sigma"]).astype(np.float32) if k \
        else np.empty((0, n, n), np.float32)
    for role, emp in (("train", fc_train), ("test", fc_test)):
        for key in ("raw_pearson", "log_pearson", "raw_spearman"):
            out[f"sc_{role}_{key}"] = np.array([sc_fc_baselines(W[i], emp)[key] for i in range(k)], dtype=float)
    return out


def write_sweep(path: str | Path, arrays: Mapping, *, atlas: str, family: str, train: str, test: str,
                params: Mapping, null_index, seed, labels: Sequence[str] = (), status: str = "ok",
                reason: str = "", provenance: Mapping | None = None) -> Path:
    p = resolve_params(params)
    attrs = dict(atlas=atlas, family=family, train=train, test=test, fit_metric=p["fit_metric"], model=MODEL,
                 params=json.dumps(p, sort_keys=True), status=status, reason=reason)
    arrays = dict(arrays)
    # wall-clock timings belong to provenance (ignored when comparing results), not to the data
    timings = {k: float(arrays.pop(k)) for k in [k for k in arrays if k.endswith("_seconds")]}
    provenance = {**dict(provenance or {}), **timings}
    with atomic_h5(path, "runs", provenance=provenance, attrs={"engine": "hopf_linear", **attrs}) as f:
        write_array(f, "null_index", np.asarray(null_index, dtype=np.int64))
        write_array(f, "seed", np.asarray(seed, dtype=np.int64))
        if labels:
            write_array(f, "labels", np.array(labels, dtype=str))
        for key, v in arrays.items():
            if isinstance(v, np.ndarray):
                write_array(f, key, v)
            else:
                f.attrs[key] = v
    return Path(path)


def read_sweep(path: str | Path) -> dict:
    with open_validated(path, "hopf_sweep") as f:
        out = {k: f[k][()] for k in f.keys() if k != "labels"}
        out["labels"] = tuple(read_strings(f["labels"])) if "labels" in f else ()
        for k, v in f.attrs.items():
            out.setdefault(k, v)
    out["params"] = json.loads(out["params"])
    return out


class HopfLinearEngine:
    """The linearised Hopf model's analytic FC over a G sweep (:mod:`encephagen.hopf.fit`), judged
    against a training and a held-out group FC; settings from the ``hopf`` section; writes kind
    'hopf_sweep'. Deterministic (no noise): one element per network, the G sweep vectorised
    inside the element, all networks in one chunk; the seeds written are the null networks'."""

    name = "hopf_linear"
    kind = "hopf_sweep"
    section = "hopf"
    streams: tuple = ()
    allow_empty = True      # a family refused by the nulls stage still gives a (skipped) file

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve_hopf(section)
        if device is not None:
            cfg["device"] = device
        return cfg

    def parameter_sets(self, cfg):
        return [(float("nan"), {})]   # the G sweep is one vectorised parameter set

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, hopf_section=None, batch=None, fc_train=None,
              fc_test=None, ids=None):
        return dict(cfg=cfg, section=hopf_section, batch=batch, Ftr=fc_train, Fte=fc_test, ids=ids,
                    n_elements=n_elements)

    def batch_size(self, st) -> int:
        return max(1, st["n_elements"])

    def run_chunk(self, st, chunk, progress) -> dict:
        W = st["batch"]["weights"]
        if len(chunk) != len(W):
            W = W[[e.net for e in chunk]]
        return sweep_networks(W, st["Ftr"], st["Fte"], st["section"], progress=progress)

    def concat(self, parts):
        if len(parts) != 1:
            raise ValueError("the linear Hopf sweep runs its networks in one chunk")
        return parts[0]

    def write(self, path, st, elements, result, provenance) -> Path:
        b, ids = st["batch"], st["ids"]
        return write_sweep(path, result, atlas=ids["atlas"], family=b["family"], train=ids["train"],
                           test=ids["test"], params=st["section"] or {}, null_index=b["null_index"], seed=b["seed"],
                           labels=b["labels"], status=b["status"], reason=b["reason"], provenance=provenance)

    def read_runs(self, path) -> dict:
        d = read_sweep(path)
        d["attrs"] = {"model": MODEL, "atlas": d.get("atlas"), "family": d.get("family")}
        return d


# ----------------------------------------------------------------------------- summaries
def tidy_table(sweeps: Sequence[Mapping]):
    """Network x G x metric rows (columns atlas, model, family, null_index, seed_id, seed, G, metric, value)."""
    import pandas as pd

    from encephagen.analysis.fc import fc_metric_name

    parts = []
    for s in sweeps:
        k = len(s["null_index"])
        if not k:
            continue
        G = s["G"]
        base = dict(atlas=str(s["atlas"]), model=MODEL, family=str(s["family"]), seed_id=0)
        for role in ("train", "test"):
            ds = str(s[role])
            for m in hf.METRICS:
                r = s[f"r_{role}_{m}"]
                parts.append(pd.DataFrame(dict(
                    **base, null_index=np.repeat(s["null_index"], G.size), seed=np.repeat(s["seed"], G.size),
                    G=np.tile(G, k), metric=fc_metric_name(m, ds), value=r.reshape(-1))))
    if not parts:
        raise hl.HopfParameterError("no networks in any sweep file")
    return pd.concat(parts, ignore_index=True)


def insample_summary(sweeps: Sequence[Mapping]):
    """Per family: the real network's best training r (in-sample) against the null networks' best."""
    import pandas as pd

    rows = {}
    for s in sweeps:
        m = str(s["fit_metric"])
        _, best = hf.best_index(s[f"r_train_{m}"]) if len(s["null_index"]) else (None, np.empty(0))
        rows.setdefault(str(s["family"]), []).append(best)
    if "real" not in rows:
        raise hl.HopfParameterError("no sweep of the real network among the inputs")
    real = float(np.concatenate(rows["real"])[0])
    out = []
    for fam, vals in sorted(rows.items()):
        if fam == "real":
            continue
        x = np.concatenate(vals)
        pv = hf.empirical_p(real, x)
        xf = x[np.isfinite(x)]
        out.append(dict(family=fam, real_best_train_r=real, n_nulls=int(x.size), n_nulls_nan=int(x.size - xf.size),
                        null_median=float(np.median(xf)) if xf.size else np.nan,
                        null_q025=float(np.quantile(xf, 0.025)) if xf.size else np.nan,
                        null_q975=float(np.quantile(xf, 0.975)) if xf.size else np.nan,
                        z=float((real - xf.mean()) / xf.std(ddof=1)) if xf.size > 1 and xf.std() > 0 else np.nan,
                        p_greater=pv["p_greater"], p_two=pv["p_two"]))
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- heterogeneity
def heterogeneity(Wr, x, Ftr, Fte, G: float, distances, out_h5: str | Path, out_tsv: str | Path, *,
                  params: Mapping | None = None, master_seed: int, atlas: str, notes: Sequence[str] = (),
                  sources: Mapping[str, str | Path | None]) -> Path:
    """a_j = bias + scale * map_j (``x``, one value per region) on the real network ``Wr`` at its best
    G ``G``: fitted on the training group FC ``Ftr``, judged on the held-out ``Fte``, against
    ``hopf.heterogeneity.n_null`` shuffled maps (spatial nulls from the region ``distances``);
    written to ``out_h5`` (kind ``hopf_heterogeneity``) and a one-row ``out_tsv``. ``sources``: the
    input files (connectome, t1t2, fc_train, fc_test, real_network), recorded in provenance; the
    training and held-out groups are named by their files' stems. ``notes``: the caller's (e.g.
    regions whose map value was filled)."""
    from encephagen.seeds import derive_seed

    connectome, t1t2, fc_train, fc_test, real_network = (
        sources.get(k) for k in ("connectome", "t1t2", "fc_train", "fc_test", "real_network"))
    p = resolve_params(params)
    h = p["heterogeneity"]
    Wr = np.asarray(Wr, dtype=float)
    W = (Wr + Wr.T) / 2 if (p["symmetrise"] or not hl.is_symmetric(Wr)) else Wr
    C = hf.normalise_sc(W, p["sc_normalisation"], p["sc_scale"])
    notes = list(notes)
    if not hl.is_symmetric(Wr) and not p["symmetrise"]:
        notes.append("connectome symmetrised ((W + W^T)/2) for the heterogeneity fit (closed form)")
    seed = derive_seed(master_seed, atlas, "hopf-heterogeneity-null")
    def progress(done, total):
        log.info("  map null %d / %d", done, total)

    bias = -np.geomspace(-h["bias"]["start"], -h["bias"]["stop"], h["bias"]["num"])
    if not np.isclose(bias, p["a"]).any():
        bias = np.sort(np.append(bias, p["a"]))
    sr = h["scale_relative"]
    scale = np.linspace(sr["start"], sr["stop"], sr["num"])
    if not np.isclose(scale, 0).any():
        scale = np.sort(np.append(scale, 0.0))
    res = hf.fit_heterogeneity(C, x, Ftr, Fte, G, bias, scale, a_hom=p["a"], normalise=h["normalise"],
                               metric=p["fit_metric"], n_null=h["n_null"], seed=seed,
                               distances=distances, null=h["null"], progress=progress, refine=h["refine"])
    notes += res.notes
    if res.null_kind == "permutation":
        notes.append("map null: plain permutation (spatial autocorrelation NOT preserved)")
    with atomic_h5(out_h5, "hopf_heterogeneity", provenance={"seed": seed, "inputs": [
            str(connectome), str(t1t2), str(real_network or "")]},
                   attrs=dict(atlas=atlas, train=Path(fc_train).stem, test=Path(fc_test).stem, G=G,
                              best=json.dumps(res.best), null_kind=res.null_kind, null_seed=seed,
                              p_test=res.p_test, p_gain=res.p_gain, notes=json.dumps(notes),
                              scale_grid_units="scale / abs(bias) (a_j = bias (1 - s map_j))",
                              params=json.dumps(p, sort_keys=True))) as f:
        for k in ("bias_grid", "scale_grid", "r_train", "r_test", "null_best_train", "null_test"):
            write_array(f, k, getattr(res, k))
        write_array(f, "t1t2", x)
    import pandas as pd

    nt = res.null_test[np.isfinite(res.null_test)]
    row = dict(atlas=atlas, train=Path(fc_train).stem, test=Path(fc_test).stem, G=G, **res.best,
               null_kind=res.null_kind, n_null=int(h["n_null"]),
               null_test_median=float(np.median(nt)) if nt.size else np.nan,
               null_test_q975=float(np.quantile(nt, 0.975)) if nt.size else np.nan,
               p_test=res.p_test, p_gain=res.p_gain, seed=seed, notes="; ".join(notes))
    from encephagen.io.tables import write_table

    write_table(pd.DataFrame([row]), out_tsv)  # atomic
    return Path(out_h5)


# ----------------------------------------------------------------------------- simulated vs analytic
def _upper_r(A: np.ndarray, B: np.ndarray) -> float:
    iu = np.triu_indices(A.shape[-1], 1)
    a, b = A[iu], B[iu]
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 2 else float("nan")


def sim_vs_analytic(sim_path: str | Path, weights, out_tsv: str | Path, *, params: Mapping | None = None,
                    fc_test: np.ndarray | None = None, chosen: float = float("nan"), min_r: float = 0.9,
                    atlas: str):
    """Simulated FC of the real network (model hopf, mean over its seeds) against the analytic FC
    of the same network at every simulated G (the linearised model's stationary FC, and the
    exact stationary FC of Euler-Maruyama at the simulation's dt), one row per G.

    Columns: atlas, G, n_seeds, duration_s, n_fc_samples (per seed), r_sim_analytic (upper
    triangles, the seed-mean simulated FC), r_sim_analytic_min_seed (the worst single seed),
    r_sim_em (against the discrete-time exact FC), r_em_analytic (the step bias alone),
    mean_fc_sim, mean_fc_analytic, r_test_sim / r_test_analytic (held-out empirical FC),
    chosen_on_training (the G the FC fit chose for the real network), passes (r_sim_analytic >=
    min_r), min_r. The simulation must use the analytic route's weights (normalize max x
    sc_scale, or none) and a; refused otherwise. ``weights``: the real network the simulation ran on
    (the nulls stage's); ``fc_test``: the held-out group FC (or None); ``chosen``: the G the FC fit
    chose for the real network on the training group (NaN: none).
    """
    import pandas as pd

    from encephagen.study.engines.neural_mass_io import read_simulation

    p = resolve_params(params)
    sim = read_simulation(sim_path)
    cfg = sim["config"]
    want = ("max", float(p["sc_scale"])) if p["sc_normalisation"] == "max" else ("none", 1.0)
    if cfg.get("model") != "hopf" or cfg.get("normalize") != want[0] or \
            not np.isclose(float(cfg.get("weight_scale", 1.0)), want[1]):
        raise hl.HopfParameterError(
            f"{sim_path}: model {cfg.get('model')!r} with normalize={cfg.get('normalize')!r} x "
            f"{cfg.get('weight_scale', 1.0)} is not the analytic route's hopf model ({want[0]} x {want[1]:g})")
    a = float(np.unique(sim["params"]["a"])[0]) if "a" in sim["params"] else float(p["a"])
    if not np.isclose(a, p["a"]):
        raise hl.HopfParameterError(f"{sim_path}: simulated a = {a:g} differs from hopf.a = {p['a']:g}")
    omega = float(np.unique(sim["params"]["omega"])[0]) if "omega" in sim["params"] else 2 * np.pi * p["omega_hz"]
    sigma = float(np.unique(sim["noise"])[0])
    W = np.asarray(weights, dtype=float)
    if p["symmetrise"]:
        W = (W + W.T) / 2
    C = hf.normalise_sc(W, p["sc_normalisation"], p["sc_scale"])
    n = C.shape[0]
    real = np.asarray(sim["family"]) == "real"
    if not real.any():
        raise hl.HopfParameterError(f"{sim_path}: no run of the real network")
    fc_sim = sim.get("fc_bold") if sim.get("fc_bold") is not None else sim.get("fc_activity")
    if fc_sim is None:
        raise hl.HopfParameterError(f"{sim_path}: no simulated FC (monitors.fc_activity or bold must be on)")
    dt_s = float(cfg["dt"]) / 1000.0
    mon = cfg.get("monitors", {})
    fc_period = float(mon.get("bold_period") if mon.get("bold") else mon.get("fc_period", cfg["dt"]))
    n_samples = int((float(cfg["duration"]) - float(cfg["transient"])) // fc_period)
    Fte = None if fc_test is None else np.asarray(fc_test, dtype=float)
    rows = []
    for g in np.unique(sim["G"][real]):
        sel = real & np.isclose(sim["G"], g)
        Fs = fc_sim[sel]
        Fmean = np.nanmean(Fs, axis=0)
        Fa = hf.model_fc_at(C[None], np.array([g]), p["a"], omega, sigma)[0]
        J = hl.jacobian(C, float(g), a, omega)
        Pem = hl.euler_maruyama_covariance(J, hl.noise_matrix(n, sigma), dt_s)[:n, :n]
        d = np.sqrt(np.diag(Pem))
        Fem = Pem / np.outer(d, d)
        r = _upper_r(Fmean, Fa)
        rows.append(dict(
            atlas=atlas, G=float(g), n_seeds=int(sel.sum()), duration_s=float(cfg["duration"]) / 1000,
            n_fc_samples=n_samples, r_sim_analytic=r,
            r_sim_analytic_min_seed=float(min(_upper_r(F, Fa) for F in Fs)),
            r_sim_em=_upper_r(Fmean, Fem), r_em_analytic=_upper_r(Fem, Fa),
            mean_fc_sim=float(Fmean[np.triu_indices(n, 1)].mean()), mean_fc_analytic=float(Fa[np.triu_indices(n, 1)].mean()),
            r_test_sim=_upper_r(Fmean, Fte) if Fte is not None else np.nan,
            r_test_analytic=_upper_r(Fa, Fte) if Fte is not None else np.nan,
            chosen_on_training=bool(np.isfinite(chosen) and np.isclose(g, chosen)), passes=bool(r >= min_r),
            min_r=float(min_r)))
    df = pd.DataFrame(rows)
    from encephagen.io.tables import write_table

    write_table(df, out_tsv, float_format="%.6g")  # atomic (the one text/table writer)
    bad = df[df["chosen_on_training"] & ~df["passes"]]
    if len(bad):
        log.warning("%s: simulated and analytic FC disagree at the chosen G (r = %s < %g): lengthen "
                    "simulate.per_model.hopf.duration", atlas, bad["r_sim_analytic"].round(3).tolist(), min_r)
    return df
