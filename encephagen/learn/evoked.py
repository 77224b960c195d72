"""Evoked propagation on the LIF network (claim 7 of issue 21, the "dMRI wall"): an engine of the
study layer (registry ``evoked_lif``, file layout ``evoked``, config section ``evoked``) and the
statistics of its files.

Protocol (no plasticity). After ``transient`` ms, ``n_trials`` trials, each: ``off_ms`` of
recovery (not counted), a ``baseline_ms`` window, then a ``on_ms`` stimulus window during which
the external Poisson rate of the stimulated neurons (the excitatory neurons, or all neurons,
of the stimulated regions) is multiplied by ``1 + rate_increase``. Per run, trial and region the
excitatory firing rate in the baseline and in the stimulus window is recorded.

Parameter grid: ``ffi`` in (0, 1): the long-range efficacy onto inhibitory neurons is
``ffi_scale.off`` or ``ffi_scale.on`` x the efficacy onto excitatory ones (feedforward
inhibition, :func:`encephagen.spiking.network.connectome_network`). Both conditions of a seed id
share the network instantiation seed (the same synapse positions: the inhibitory-target synapses
are drawn whatever their scale, then scaled) and the Poisson drive (counter-based, per neuron and
step): they are paired, and the stimulus is the same draw sequence.

The stimulus switches each stimulated neuron's row of the batch's Poisson threshold table
(:class:`PoissonStimulus`); the draws themselves are unchanged, so outside the stimulated
neurons and the stimulus windows the drive is bit for bit that of the unstimulated network.

Distances from the stimulated set S (bctpy, on the network's own weights, source -> target):
``hop[j] = min_{s in S} distance_bin(A)[s, j]`` with ``A = W.T > 0``, and
``path_length[j] = min_{s in S} distance_wei(1 / w_norm)[s, j]`` (w_norm the LIF engine's
normalised weights); unreachable regions get inf.

Per-run measures (:func:`run_measures`): the response of a region is the trial-averaged relative
rate change ``(mean_t stim - mean_t base) / mean_t base`` (its sd over trials: the sd of
``(stim_t - base_t) / mean_t base``); ``response_hop0`` (stimulated), ``response_hop1``,
``response_hop2``, ``response_hop3plus`` (means over the regions of each hop class),
``response_outside`` (every reachable non-stimulated region) and ``slope_hop`` (least-squares
slope of the response on the hop distance over the non-stimulated regions).
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from encephagen.io import atomic_h5, write_array
from encephagen.learn.protocols import run_for
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import connectome_network, normalise_weights
from encephagen.spiking.params import LIFParams
from encephagen.spiking.rng import poisson_threshold_table
from encephagen.study.config import ParameterError
from encephagen.study.engine import pick_device, with_overrides
from encephagen.study.records import lif_protocol_header, read_run_file, runs_view, write_element_ids
from encephagen.study.network import parameter_sets

KIND = "evoked"
SECTION = "evoked"
FFI = (0, 1)                        # grid values: 0 = ffi_scale.off, 1 = ffi_scale.on
FFI_NAMES = {0: "ffi_off", 1: "ffi_on"}
HOP_CLASSES = ("hop0", "hop1", "hop2", "hop3plus")
MEASURES = ("response_hop0", "response_hop1", "response_hop2", "response_hop3plus", "response_outside", "slope_hop")
TEST_COLUMNS = ("test", "measure", "effect", "ci_low", "ci_high", "p", "q", "n", "note")


def resolve_evoked(section) -> dict:
    """The ``evoked`` section with the schema's defaults, validated (errors name ``evoked.<key>``)."""
    from jsonschema import Draft202012Validator

    from encephagen.schemas import section_defaults, section_schema

    sec = dict(section or {})
    errs = sorted(Draft202012Validator(section_schema(SECTION)).iter_errors(sec), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        raise ParameterError(f"evoked.{'.'.join(map(str, e.path)) or '(section)'}: {e.message}")
    cfg = section_defaults(SECTION)
    for k, v in sec.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else copy.deepcopy(v)
    try:
        cfg["_lif"] = LIFParams.from_dict({**dict(cfg["params"]), "G": float(cfg["G"])})
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"evoked.params: {exc}") from exc
    if "ffi_scale" in cfg["params"]:
        raise ParameterError("evoked.params.ffi_scale: set evoked.ffi_scale.off / .on instead (both run)")
    return cfg


# ------------------------------------------------------------------------ distances
def distances_from(weights, stimulated, params: LIFParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hop, path_length) of every region from the stimulated set (module docstring; bctpy).

    ``weights`` [target, source]; ``stimulated`` region indices. Unreachable: inf; stimulated: 0."""
    import bct

    W = np.array(weights, dtype=float)
    np.fill_diagonal(W, 0.0)
    S = np.asarray(stimulated, dtype=np.int64)
    if S.size == 0:
        raise ParameterError("evoked.stimulus: no stimulated region")
    A = (W.T > 0).astype(float)                       # A[source, target]
    hop = bct.distance_bin(A)[S].min(0)
    wn = normalise_weights(W, params or LIFParams()).T   # [source, target]
    with np.errstate(divide="ignore"):
        L = np.where(wn > 0, 1.0 / wn, 0.0)
    plen = bct.distance_wei(L)[0][S].min(0)
    return hop.astype(float), plen.astype(float)


# ------------------------------------------------------------------------ stimulus
class PoissonStimulus:
    """Multiply the external Poisson rate of chosen neurons of a :class:`LIFBatch` by ``factor``
    while on. Create it before the batch's first step (the numba path keeps the threshold table
    it first steps with): it replaces the batch's table by one with the stimulated rows too."""

    def __init__(self, sim: LIFBatch, neurons, factor: float):
        if sim.t != 0:
            raise RuntimeError("PoissonStimulus must be attached before the batch's first step")
        lam = np.concatenate([net.ext_rate for net in sim.networks]) * sim.dt / 1000.0
        stim = lam.copy()
        stim[np.asarray(neurons, np.int64)] *= float(factor)
        uniq, inv = np.unique(np.r_[lam, stim], return_inverse=True)
        N = sim.N
        sim.icdf_np = poisson_threshold_table(uniq)
        sim.icdf = torch.as_tensor(sim.icdf_np, device=sim.device)
        self.sim = sim
        self.grp = {False: torch.as_tensor(inv[:N].astype(np.int32), device=sim.device),
                    True: torch.as_tensor(inv[N:].astype(np.int32), device=sim.device)}
        if sim.backend == "torch":
            self.rows = {}
            for k, g in self.grp.items():
                rows = sim.icdf[g.long()].contiguous()
                pad = torch.full((sim.icdf.shape[0], 4), 1 << 32, dtype=torch.int64, device=sim.device)
                pad[:, :min(4, sim.icdf.shape[1])] = sim.icdf[:, :4]
                self.rows[k] = (rows, pad[g.long()].T.contiguous())
        self._set(False)

    def _set(self, on: bool) -> None:
        sim = self.sim
        sim.grp.copy_(self.grp[on])              # in place: the numba path reads a view of it
        if sim.backend == "torch":
            sim.icdf_rows, sim.thr4 = self.rows[on]
        else:
            sim.state_changed()                  # the numba path caches threshold rows per neuron

    def on(self) -> None:
        self._set(True)

    def off(self) -> None:
        self._set(False)


def stimulated_neurons(stim_regions, n_regions: int, n_e: int, n_i: int, targets: str) -> np.ndarray:
    """Neuron indices (in one network) of the stimulated regions' E cells (``targets`` 'excitatory')
    or all their cells ('all'); neurons are region-major, E cells first."""
    npr = n_e + n_i
    k = n_e if targets == "excitatory" else npr
    return np.concatenate([r * npr + np.arange(k) for r in np.asarray(stim_regions, np.int64)]).astype(np.int64)


def evoked_protocol(sim: LIFBatch, stim: PoissonStimulus, region, is_exc, n_trials: int, off_ms: float,
                    baseline_ms: float, on_ms: float, progress=None) -> dict:
    """Run the trials; returns ``base_rate`` and ``stim_rate`` (B, n_trials, R): E-cell rate (Hz)."""
    n, dt, B, R = sim.n, sim.dt, sim.B, sim.R
    off, nb, non = (int(round(x / dt)) for x in (off_ms, baseline_ms, on_ms))
    if nb < 1 or non < 1:
        raise ParameterError("evoked.trials: baseline_ms and on_ms must be at least one step (dt)")
    ne = np.bincount(region[is_exc], minlength=R).astype(float)
    regE = np.where(is_exc, region, R)                       # I cells to a dropped bin
    out = {k: np.zeros((B, n_trials, R)) for k in ("base_rate", "stim_rate")}

    def rates(counts, steps):
        c = counts.reshape(B, n)
        return np.stack([np.bincount(regE, weights=c[b], minlength=R + 1)[:R] for b in range(B)]) / ne / (
            steps * dt / 1000.0)

    for t in range(n_trials):
        run_for(sim, off, progress=progress)
        cb = np.zeros(sim.N, np.int64)
        run_for(sim, nb, cb, progress=progress)
        cs = np.zeros(sim.N, np.int64)
        stim.on()
        run_for(sim, non, cs, progress=progress)
        stim.off()
        out["base_rate"][:, t] = rates(cb, nb)
        out["stim_rate"][:, t] = rates(cs, non)
    return out


# ------------------------------------------------------------------------ engine
class EvokedEngine:
    """LIF networks with a Poisson stimulus on chosen regions, FFI off and on (section ``evoked``)."""

    name = "evoked_lif"
    kind = KIND
    section = SECTION
    streams: tuple = ("build",)
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve_evoked(section)
        return with_overrides(cfg, seeds_per_network, device)

    def parameter_sets(self, cfg):
        return parameter_sets([cfg["G"]], {"ffi": list(FFI)})

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, region_labels=None, stim_regions=None):
        R = np.asarray(nets[0].weights).shape[0]
        labels = list(region_labels) if region_labels is not None else [f"region{r}" for r in range(R)]
        if len(labels) != R:
            raise ParameterError(f"{len(labels)} region labels for {R} regions")
        if stim_regions is None or len(stim_regions) == 0:
            raise ParameterError("evoked: no stimulated regions (evoked.stimulus.region_class / labels)")
        S = np.unique(np.asarray(stim_regions, np.int64))
        if S.min() < 0 or S.max() >= R:
            raise ParameterError(f"evoked: stimulated region index out of range 0..{R - 1}: {S.tolist()}")
        dist = [distances_from(n.weights, S, cfg["_lif"]) for n in nets]
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        return dict(cfg=cfg, nets=nets, labels=labels, stim=S, dist=dist, dev=pick_device(cfg["device"]),
                    master_seed=int(master_seed))

    def batch_size(self, st) -> int:
        return int(st["cfg"]["batch_size"])

    def run_chunk(self, st, chunk, progress) -> dict:
        cfg, nets = st["cfg"], st["nets"]
        base = cfg["_lif"]
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        lif = []
        for e in chunk:
            _a, _f, _n, w, L = nets[e.net]
            scale = float(cfg["ffi_scale"]["on" if int(e.grid["ffi"]) else "off"])
            lif.append(connectome_network(np.asarray(w, float), None if L is None else np.asarray(L, float),
                                          base.replace(ffi_scale=scale), e.seeds["build"], dt=cfg["dt"],
                                          name=f"{e.atlas}/{e.family}/{e.null_index} seed_id {e.seed_id} ffi {scale}"))
        sim = LIFBatch(lif, [e.seed for e in chunk], device=st["dev"], backend=cfg["backend"])
        one = stimulated_neurons(st["stim"], sim.R, base.n_e, base.n_i, cfg["stimulus"]["targets"])
        stim = PoissonStimulus(sim, np.concatenate([one + b * sim.n for b in range(sim.B)]),
                               1.0 + float(cfg["stimulus"]["rate_increase"]))
        sim.random_initial_state()
        run_for(sim, int(round(cfg["transient"] / cfg["dt"])))
        sim.spike_total = np.zeros(sim.N, np.int64)
        t0 = sim.t
        tr = cfg["trials"]
        out = evoked_protocol(sim, stim, lif[0].region, lif[0].is_exc, int(tr["n_trials"]), tr["off_ms"],
                              tr["baseline_ms"], tr["on_ms"])
        dur_s = (sim.t - t0) * sim.dt / 1000.0
        counts = sim.spike_total.reshape(sim.B, sim.n)
        region = lif[0].region
        rate = np.stack([np.bincount(region, weights=counts[b], minlength=sim.R) / np.bincount(region, minlength=sim.R)
                         for b in range(sim.B)]) / dur_s
        progress(len(chunk), len(chunk))
        return {**out, "rate": rate, "hop": np.stack([st["dist"][e.net][0] for e in chunk]),
                "path_length": np.stack([st["dist"][e.net][1] for e in chunk]),
                "wall_s": time.perf_counter() - t_wall, "cpu_s": time.process_time() - t_cpu, "protocol_s": dur_s}

    def concat(self, parts):
        out = {k: np.concatenate([p[k] for p in parts]) for k in ("base_rate", "stim_rate", "rate", "hop",
                                                                  "path_length")}
        out.update(wall_s=sum(p["wall_s"] for p in parts), cpu_s=sum(p["cpu_s"] for p in parts),
                   protocol_s=parts[0]["protocol_s"])
        return out

    def write(self, path, st, elements, result, provenance) -> Path:
        cfg, prov, attrs = lif_protocol_header(st, result, model="evoked_lif", provenance=provenance,
                                               seed_rule="both FFI conditions of a seed id share both")
        stimulated = np.zeros(len(st["labels"]), np.int64)
        stimulated[st["stim"]] = 1
        with atomic_h5(path, kind=KIND, provenance=prov, attrs=attrs) as f:
            write_element_ids(f, elements)
            write_array(f, "ffi", np.array([int(e.grid["ffi"]) for e in elements], np.int64))
            write_array(f, "ffi_scale", np.array([float(cfg["ffi_scale"]["on" if int(e.grid["ffi"]) else "off"])
                                                  for e in elements], float))
            write_array(f, "labels", np.array(st["labels"], dtype=str))
            write_array(f, "stimulated", stimulated)
            for k in ("rate", "hop", "path_length", "base_rate", "stim_rate"):
                write_array(f, k, result[k])
        return Path(path)

    def read_runs(self, path) -> dict:
        d = read_evoked(path)
        return runs_view(d, model="evoked_lif", params={"ffi": d["ffi"]}, metrics={"rate": d["rate"]},
                         region_labels=d["labels"], attrs=d["attrs"])


def read_evoked(path) -> dict:
    """An 'evoked' file as arrays."""
    return read_run_file(path, KIND, ("ffi", "ffi_scale", "stimulated", "rate", "hop", "path_length", "base_rate",
                                      "stim_rate"))


# ------------------------------------------------------------------------ statistics
def region_responses(base_rate: np.ndarray, stim_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(response, sd over trials, baseline Hz), each (runs, regions): module docstring. A region
    whose trial-averaged baseline is 0 Hz gets NaN."""
    mb = base_rate.mean(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = (stim_rate - base_rate) / np.where(mb > 0, mb, np.nan)[:, None, :]
    n_t = base_rate.shape[1]
    sd = rel.std(1, ddof=1) if n_t > 1 else np.full(mb.shape, np.nan)
    return rel.mean(1), sd, mb


def hop_class(hop: np.ndarray) -> np.ndarray:
    """0, 1, 2, 3 (= 3 or more) per region; -1 unreachable."""
    h = np.asarray(hop, float)
    return np.where(np.isfinite(h), np.minimum(h, 3), -1).astype(np.int64)


def run_measures(resp: np.ndarray, hop: np.ndarray) -> dict:
    """Per-run measures (module docstring) from (runs, regions) responses and hop distances."""
    B = resp.shape[0]
    cls = hop_class(hop)
    out = {m: np.full(B, np.nan) for m in MEASURES}
    for b in range(B):
        r, c = resp[b], cls[b]
        for k, name in enumerate(HOP_CLASSES):
            v = r[(c == k) & np.isfinite(r)]
            if v.size:
                out[f"response_{name}"][b] = v.mean()
        m = (c >= 1) & np.isfinite(r)
        if m.any():
            out["response_outside"][b] = r[m].mean()
        h = np.asarray(hop[b], float)[m]
        if np.unique(h).size >= 2:
            out["slope_hop"][b] = np.polyfit(h, r[m], 1)[0]
    return out


def runs_table(paths) -> tuple["pd.DataFrame", "pd.DataFrame", dict]:
    """(one row per run with its measures, one row per run x region, cost) of 'evoked' files."""
    import pandas as pd

    runs, regions = [], []
    cost = {"wall_s": 0.0, "cpu_s": 0.0, "protocol_s": 0.0, "n_trials": None}
    for p in paths:
        d = read_evoked(p)
        resp, sd, mb = region_responses(d["base_rate"], d["stim_rate"])
        m = run_measures(resp, d["hop"])
        ids = {"atlas": d["atlas"], "family": d["family"], "null_index": d["null_index"], "seed_id": d["seed_id"],
               "seed": d["seed"], "ffi": d["ffi"], "ffi_scale": d["ffi_scale"]}
        runs.append(pd.DataFrame({**ids, "rate_hz": d["rate"].mean(1), **m}))
        B, R = resp.shape
        regions.append(pd.DataFrame({**{k: np.repeat(v, R) for k, v in ids.items()},
                                     "region": np.tile(np.arange(R), B), "label": np.tile(d["labels"], B),
                                     "stimulated": np.tile(d["stimulated"], B), "hop": d["hop"].ravel(),
                                     "path_length": d["path_length"].ravel(), "baseline_hz": mb.ravel(),
                                     "response": resp.ravel(), "response_sd_trials": sd.ravel()}))
        cost["wall_s"] += float(d["attrs"]["wall_s"])
        cost["cpu_s"] += float(d["attrs"]["cpu_s"])
        cost["protocol_s"] = float(d["attrs"]["protocol_s"])
        cost["n_trials"] = int(d["base_rate"].shape[1])
    if not runs:
        raise ValueError("evoked summary: no input files")
    return pd.concat(runs, ignore_index=True), pd.concat(regions, ignore_index=True), cost


def _interval(x: np.ndarray) -> tuple[float, float]:
    from encephagen.learn.statistics import mean_ci

    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan, math.nan
    _m, lo, hi = mean_ci(x)
    return float(lo), float(hi)


def evoked_tests(runs, n_permutations: int = 100_000, fdr_alpha: float = 0.05) -> "pd.DataFrame":
    """The family of tests (columns :data:`TEST_COLUMNS`), BH FDR over every row with a p:

    * ``propagation``: the real network's measure per FFI condition > 0? (two-sided exact sign flip over seeds)
    * ``decay``: the real network's ``slope_hop`` per FFI condition (sign flip)
    * ``ffi``: FFI on - off per seed id, paired (sign flip), every measure
    * ``real_vs_nulls``: the real network's seed mean against each null family's networks' (network as
      unit; empirical two-sided p, +1 corrected), every measure per condition and the FFI difference.
    """
    import pandas as pd

    from encephagen.analysis.stats import bh_fdr, empirical_p
    from encephagen.learn.statistics import sign_flip_test

    key = ["atlas", "family", "null_index", "seed_id"]
    rows = []

    def signflip(test, measure, d, note):
        d = np.asarray(d, float)
        if not np.isfinite(d).any():    # e.g. no region at 3+ hops on this connectome: no test
            return
        t = sign_flip_test(d, n_permutations)
        lo, hi = _interval(d)
        rows.append(dict(test=test, measure=measure, effect=t["mean"], ci_low=lo, ci_high=hi, p=t["p"], n=t["n"],
                         note=note + f"; {'exact ' if t['exact'] else ''}sign flip over {t['n']} seed ids"))

    real = runs[runs.family == "real"]
    for measure in MEASURES:
        test = "decay" if measure == "slope_hop" else "propagation"
        for f in FFI:
            v = real[real.ffi == f][measure].to_numpy()
            signflip(test, f"{measure}@{FFI_NAMES[f]}", v, f"real network, {FFI_NAMES[f]}: mean over seeds vs 0")
        on = real[real.ffi == 1].set_index(key)[measure]
        off = real[real.ffi == 0].set_index(key)[measure]
        d = (on - off.reindex(on.index)).to_numpy()
        signflip("ffi", f"{measure}@on-off", d, "real network: FFI on minus off, paired by seed id")
    # network means
    net = runs.groupby(["atlas", "family", "null_index", "ffi"], sort=True)[list(MEASURES)].mean().reset_index()
    diff = net[net.ffi == 1].set_index(["atlas", "family", "null_index"])[list(MEASURES)] - \
        net[net.ffi == 0].set_index(["atlas", "family", "null_index"])[list(MEASURES)]
    diff = diff.reset_index().assign(ffi=-1)
    allnet = pd.concat([net, diff], ignore_index=True)
    cond = {0: "ffi_off", 1: "ffi_on", -1: "on-off"}
    for fam in sorted(set(allnet.family) - {"real"}):
        for c, cname in cond.items():
            g = allnet[allnet.ffi == c]
            r = g[g.family == "real"]
            h = g[g.family == fam]
            if r.empty or h.empty:
                continue
            for measure in MEASURES:
                rv = float(r[measure].iloc[0])
                nv = h[measure].to_numpy(float)
                ok = nv[np.isfinite(nv)]
                if not np.isfinite(rv) or ok.size == 0:   # the class is empty for the real network or every null
                    continue
                e = empirical_p(rv, nv)
                lo, hi = ((rv - np.quantile(ok, 0.975), rv - np.quantile(ok, 0.025)) if ok.size else (math.nan,) * 2)
                rows.append(dict(test="real_vs_nulls", measure=f"{measure}@{cname}", effect=rv - ok.mean(),
                                 ci_low=lo, ci_high=hi, p=e["p_two"], n=int(nv.size),
                                 note=f"{fam} nulls: real {rv:.4g} vs null mean {ok.mean():.4g} ({nv.size - ok.size} nulls without "
                                      f"this measure count as extreme); empirical "
                                      f"two-sided p (+1), smallest possible {1 / (nv.size + 1):.3g}; interval: real "
                                      f"minus the nulls' 2.5-97.5 % quantiles"))
    out = pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if c != "q"])
    out["q"] = bh_fdr(out["p"].to_numpy(float), fdr_alpha)[0] if len(out) else []
    return out[list(TEST_COLUMNS)]


def region_table(regions) -> "pd.DataFrame":
    """Per network, FFI condition and region: responses averaged over seed ids (sd over seeds and
    the mean within-run sd over trials)."""
    keys = ["atlas", "family", "null_index", "ffi", "ffi_scale", "region", "label", "stimulated"]
    g = regions.groupby(keys, sort=True)
    out = g.agg(hop=("hop", "first"), path_length=("path_length", "first"), baseline_hz=("baseline_hz", "mean"),
                response=("response", "mean"), response_sd_seeds=("response", "std"),
                response_sd_trials=("response_sd_trials", "mean"), n_seeds=("response", "count")).reset_index()
    return out
