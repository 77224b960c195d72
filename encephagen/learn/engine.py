"""The plastic LIF engine of the study layer (:mod:`encephagen.study`): networks x seed ids x
{plastic, frozen} -> one learning protocol each -> one HDF5 file (kind 'plastic').

The same networks, expansion, seed rule, chunk loop and device picker as every engine
(:func:`encephagen.study.run_study`); the parameter grid is ``plastic`` in (1, 0): the frozen run
of a seed id is the same network, the same Poisson drive, the same stimuli and trial order with
the learning rates set to 0 (STDP ``lam``, scaling ``beta``, R-STDP ``eta``), so its neuron
dynamics are those of the static network and it is paired with the plastic run.

Seeds: ``seed`` (drive, initial potentials) and ``build`` (instantiation) as the LIF engine;
the stimulated neurons and the trial order come from
``derive_seed(master_seed, atlas, 'learn-pattern', seed_id)`` -- not from the network's family
or null index, so the real network and every null of a seed id get the same stimuli.

Written per run: the protocol's per-trial responses, the initial and final weight of every
plastic synapse, a summary of the change and the weight-statistics trajectory (docs/plasticity.md).
"""
from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from encephagen.io import atomic_h5, write_array
from encephagen.learn import protocols as P
from encephagen.plasticity import EPropRLParams, RSTDPParams, ScalingParams, STDPParams
from encephagen.seeds import derive_seed, numpy_rng
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import connectome_network
from encephagen.spiking.params import LIFParams
from encephagen.spiking.plastic import enable
from encephagen.study.config import ParameterError
from encephagen.study.engine import pick_device, with_overrides
from encephagen.study.records import lif_protocol_header, read_run_file, runs_view, write_element_ids
from encephagen.study.network import parameter_sets

KIND = "plastic"
PROTOCOLS = ("habituation", "conditioning", "three_way_eprop", "three_way_rstdp")
THREE_WAY = ("three_way_eprop", "three_way_rstdp")
CHANGE_STATS = ("mean_initial", "mean_final", "mean_change", "mean_abs_change", "frac_changed", "frac_at_max",
                "frac_at_zero")


def resolve_learn(section) -> dict:
    """The ``learn`` section with the schema's defaults, validated (errors name ``learn.<key>``);
    plus ``protocol`` (one of :data:`PROTOCOLS`), which the caller adds."""
    from jsonschema import Draft202012Validator

    from encephagen.schemas import section_defaults, section_schema

    sec = dict(section or {})
    protocol = sec.pop("protocol", None)
    errs = sorted(Draft202012Validator(section_schema("learn")).iter_errors(sec), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        raise ParameterError(f"learn.{'.'.join(map(str, e.path)) or '(section)'}: {e.message}")
    cfg = section_defaults("learn")
    for k, v in sec.items():
        cfg[k] = {**cfg[k], **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) and k in (
            "habituation", "conditioning", "three_way", "eprop") else copy.deepcopy(v)
    if protocol is not None and protocol not in PROTOCOLS:
        raise ParameterError(f"learn protocol {protocol!r}: must be one of {PROTOCOLS}")
    cfg["protocol"] = protocol
    try:
        cfg["_lif"] = LIFParams.from_dict({**dict(cfg["params"]), "G": float(cfg["G"])})
        STDPParams.from_dict({**cfg["stdp"], "w_max": 1.0})
        RSTDPParams.from_dict(cfg["rstdp"])
        EPropRLParams.from_dict({k: v for k, v in cfg["eprop"].items() if k not in ("readout", "center")})
        if cfg["scaling"] is not None:
            ScalingParams.from_dict(cfg["scaling"])
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"learn: {exc}") from exc
    return cfg


def pattern_seed(master_seed: int, atlas: str, seed_id: int) -> int:
    return derive_seed(int(master_seed), str(atlas), "learn-pattern", int(seed_id))


def _w_max(net, factor: float) -> float:
    """factor x the largest local (within-region) E->E weight (the same for every network of a study)."""
    m = (net.channel == 0) & net.is_exc[net.source] & net.is_exc[net.target] & (
        net.region[net.source] == net.region[net.target])
    return float(factor) * float(net.weight[m].max())


class PlasticEngine:
    """LIF networks with plastic E->E synapses running one learning protocol (section ``learn``)."""

    name = "plastic_lif"
    kind = KIND
    section = "learn"
    streams: tuple = ("build",)
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve_learn(section)
        if cfg["protocol"] is None:
            raise ParameterError(f"learn: no protocol chosen (the caller sets 'protocol': one of {PROTOCOLS})")
        return with_overrides(cfg, seeds_per_network, device)

    def parameter_sets(self, cfg):
        return parameter_sets([cfg["G"]], {"plastic": [1, 0]})

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, region_labels=None):
        R = np.asarray(nets[0].weights).shape[0]
        labels = list(region_labels) if region_labels is not None else [f"region{r}" for r in range(R)]
        if len(labels) != R:
            raise ParameterError(f"{len(labels)} region labels for {R} regions")
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        return dict(cfg=cfg, nets=nets, labels=labels, dev=pick_device(cfg["device"]), master_seed=int(master_seed))

    def batch_size(self, st) -> int:
        return int(st["cfg"]["batch_size"])

    # ------------------------------------------------------------------ one chunk
    def run_chunk(self, st, chunk, progress) -> dict:
        """Plastic and frozen elements run as two LIF batches (one learning rate per batch)."""
        parts, order = [], []
        for flag in (1, 0):
            sub = [k for k, e in enumerate(chunk) if int(e.grid["plastic"]) == flag]
            if sub:
                parts.append(self._run_group(st, [chunk[k] for k in sub], bool(flag), progress))
                order += sub
                progress(len(order), len(chunk))
        res = _concat(parts)
        inv = np.argsort(order, kind="stable")
        return _take(res, inv)

    def _run_group(self, st, elems, plastic: bool, progress) -> dict:
        cfg, nets = st["cfg"], st["nets"]
        base = cfg["_lif"]
        t_wall, t_cpu = time.perf_counter(), time.process_time()
        lif = []
        for e in elems:
            _a, _f, _n, w, L = nets[e.net]
            lif.append(connectome_network(np.asarray(w, float), None if L is None else np.asarray(L, float), base,
                                          e.seeds["build"], dt=cfg["dt"],
                                          name=f"{e.atlas}/{e.family}/{e.null_index} seed_id {e.seed_id}"))
        sim = LIFBatch(lif, [e.seed for e in elems], device=st["dev"], backend=cfg["backend"])
        sim.random_initial_state()
        P.run_for(sim, int(round(cfg["transient"] / cfg["dt"])))
        sim.spike_total = np.zeros(sim.N, np.int64)
        t_start = sim.t
        w_max = _w_max(lif[0], cfg["w_max_factor"])
        stdp = STDPParams.from_dict({**cfg["stdp"], "w_max": w_max})
        rec = max(1, int(round(cfg["record_every_ms"] / cfg["dt"])))
        proto = cfg["protocol"]
        pseeds = [pattern_seed(st["master_seed"], e.atlas, e.seed_id) for e in elems]
        p0 = base
        if proto == "habituation":
            h = cfg["habituation"]
            scaling = None if cfg["scaling"] is None else ScalingParams.from_dict(cfg["scaling"])
            if not plastic:
                stdp = stdp.replace(lam=0.0)
                scaling = None if scaling is None else scaling.replace(beta=0.0)
            pl = enable(sim, stdp=stdp, scaling=scaling, record_every=rec)
            pats = [P.patterns(s, sim.R, p0.n_e, p0.n_i, 2, h["pattern_regions"], h["pattern_fraction"]) for s in pseeds]
            out = P.habituation(sim, pats, h["n_repeats"], h["on_ms"], h["off_ms"], h["amplitude"])
            trials = {"response": out["responses"], "stimulus": np.tile(out["stimulus"], (len(elems), 1))}
        elif proto in THREE_WAY:
            trials, pl = self._three_way(st, sim, lif[0], elems, pseeds, plastic, stdp, rec)
        else:
            c = cfg["conditioning"]
            rp = RSTDPParams.from_dict(cfg["rstdp"])
            if not plastic:
                rp = rp.replace(eta=0.0)
            pl = enable(sim, stdp=stdp, rstdp=rp, record_every=rec)
            pats = [P.patterns(s, sim.R, p0.n_e, p0.n_i, 4, c["pattern_regions"], c["pattern_fraction"],
                               full_groups=(2, 3)) for s in pseeds]
            cs = np.stack([numpy_rng(derive_seed(s, "trials")).integers(0, 2, c["n_trials"]) for s in pseeds])
            trials = P.conditioning(sim, pl, pats, cs, c["on_ms"], c["iti_ms"], c["amplitude"], c["reward_correct"],
                                    c["reward_wrong"])
        dur_s = (sim.t - t_start) * sim.dt / 1000.0
        counts = sim.spike_total.reshape(sim.B, sim.n)
        region = lif[0].region
        rate = np.stack([np.bincount(region, weights=counts[b], minlength=sim.R) / np.bincount(region, minlength=sim.R)
                         for b in range(sim.B)]) / dur_s
        tr = pl.trajectory() if hasattr(pl, "trajectory") else pl.traj
        ws = [pl.weights(b) for b in range(sim.B)]
        change = {k: np.zeros(sim.B) for k in CHANGE_STATS}
        for b, w in enumerate(ws):
            d = w["final"] - w["initial"]
            change["mean_initial"][b], change["mean_final"][b] = w["initial"].mean(), w["final"].mean()
            change["mean_change"][b], change["mean_abs_change"][b] = d.mean(), np.abs(d).mean()
            change["frac_changed"][b] = np.mean(np.abs(d) > 1e-9 * w_max)
            change["frac_at_max"][b] = np.mean(w["final"] >= w_max * (1 - 1e-12))
            change["frac_at_zero"][b] = np.mean(w["final"] <= 0.0)
        return {"trials": {k: np.asarray(v) for k, v in trials.items()}, "rate": rate, "weights": ws,
                "change": change, "traj_step": tr["step"] - t_start,
                "traj": {k: tr[k].T for k in ("mean", "sd", "min", "max")},
                "pattern_seed": np.asarray(pseeds, np.int64), "w_max": w_max,
                "wall_s": time.perf_counter() - t_wall, "cpu_s": time.process_time() - t_cpu,
                "protocol_s": dur_s}

    def _three_way(self, st, sim, net, elems, pseeds, plastic, stdp, rec):
        """The k-way stimulus-action task (``learn.three_way``) with reward-based e-prop
        (``three_way_eprop``: an action sampled from a policy readout at the window's last step) or
        with R-STDP (``three_way_rstdp``: the response group that fires most). Frozen: the same run
        without any weight or readout update."""
        cfg = st["cfg"]
        c = cfg["three_way"]
        k, p0 = int(c["n_actions"]), cfg["_lif"]
        stim = np.stack([numpy_rng(derive_seed(s, "trials")).integers(0, k, c["n_trials"]) for s in pseeds])
        if cfg["protocol"] == "three_way_rstdp":
            rp = RSTDPParams.from_dict(cfg["rstdp"])
            if not plastic:
                rp = rp.replace(eta=0.0)
            pl = enable(sim, stdp=stdp, rstdp=rp, record_every=rec)
            pats = [P.patterns(s, sim.R, p0.n_e, p0.n_i, 2 * k, c["pattern_regions"], c["pattern_fraction"],
                               full_groups=tuple(range(k, 2 * k))) for s in pseeds]
            return P.choice_task(sim, pl, pats, stim, c["on_ms"], c["iti_ms"], c["amplitude"], c["reward_correct"],
                                 c["reward_wrong"]), pl
        from encephagen.learn.eprop import attach

        e = dict(cfg["eprop"])
        readout = e.pop("readout")
        center = float(e.pop("center"))
        pool = None
        if readout == "regions":     # each region's excitatory neurons, one feature per region
            pool = np.where(net.is_exc, net.region, -1)
        pl = attach(sim, EPropRLParams.from_dict(e), k, [derive_seed(s, "eprop") for s in pseeds], stdp.w_max,
                    pool=pool, center=center)
        pats = [P.patterns(s, sim.R, p0.n_e, p0.n_i, k, c["pattern_regions"], c["pattern_fraction"]) for s in pseeds]
        traj = {x: [] for x in ("step", "mean", "sd", "min", "max")}

        def snap():
            w = [pl.w[pl.net_of == b] for b in range(sim.B)]
            traj["step"].append(sim.t)
            for x, f in (("mean", torch.mean), ("sd", torch.std), ("min", torch.min), ("max", torch.max)):
                traj[x].append([float(f(v)) for v in w])

        snap()
        out = P.stimulus_action(sim, pl, pats, stim, c["on_ms"], c["iti_ms"], c["amplitude"], c["reward_correct"],
                                c["reward_wrong"], learn=plastic, on_trial_end=snap)
        pl.traj = {"step": np.asarray(traj["step"], np.int64),
                   **{x: np.asarray(traj[x], np.float64) for x in ("mean", "sd", "min", "max")}}
        return out, pl

    def concat(self, parts):
        return _concat(parts)

    # ------------------------------------------------------------------ file
    def write(self, path, st, elements, result, provenance) -> Path:
        _, prov, attrs = lif_protocol_header(
            st, result, model="plastic_lif", provenance=provenance,
            seed_rule="stimuli and trial order: derive_seed(master_seed, atlas, 'learn-pattern', seed_id)",
            protocol=st["cfg"]["protocol"], w_max=float(result["w_max"]))
        with atomic_h5(path, kind=KIND, provenance=prov, attrs=attrs) as f:
            write_element_ids(f, elements)
            write_array(f, "pattern_seed", result["pattern_seed"])
            write_array(f, "plastic", np.array([int(e.grid["plastic"]) for e in elements], np.int64))
            write_array(f, "labels", np.array(st["labels"], dtype=str))
            write_array(f, "rate", result["rate"])
            g = f.create_group("trials")
            for k, v in result["trials"].items():
                write_array(g, k, v)
            g = f.create_group("weights")
            ws = result["weights"]
            write_array(g, "offset", np.r_[0, np.cumsum([w["final"].size for w in ws])].astype(np.int64))
            for k, dt in (("initial", np.float64), ("final", np.float64), ("source", np.int32), ("target", np.int32),
                          ("index", np.int64)):
                write_array(g, k, np.concatenate([w[k] for w in ws]).astype(dt))
            g = f.create_group("weight_change")
            for k in CHANGE_STATS:
                write_array(g, k, result["change"][k])
            g = f.create_group("trajectory")
            write_array(g, "step", result["traj_step"])
            for k, v in result["traj"].items():
                write_array(g, k, v)
        return Path(path)

    def read_runs(self, path) -> dict:
        d = read_plastic(path)
        return runs_view(d, model="plastic_lif", params={"plastic": d["plastic"]}, metrics={"rate": d["rate"]},
                         region_labels=d["labels"], attrs=d["attrs"])


def read_plastic(path, weights: bool = False) -> dict:
    """A 'plastic' file as arrays (per-synapse weights only with ``weights``)."""
    return read_run_file(path, KIND, ("pattern_seed", "plastic", "rate"),
                         groups=("trials", "weight_change", "trajectory", *(("weights",) if weights else ())))


def _concat(parts: list[dict]) -> dict:
    if len(parts) == 1:
        return parts[0]
    out = {"trials": {k: np.concatenate([p["trials"][k] for p in parts]) for k in parts[0]["trials"]},
           "rate": np.concatenate([p["rate"] for p in parts]),
           "weights": [w for p in parts for w in p["weights"]],
           "change": {k: np.concatenate([p["change"][k] for p in parts]) for k in CHANGE_STATS},
           "traj_step": parts[0]["traj_step"],
           "traj": {k: np.concatenate([p["traj"][k] for p in parts]) for k in parts[0]["traj"]},
           "pattern_seed": np.concatenate([p["pattern_seed"] for p in parts]),
           "w_max": parts[0]["w_max"], "wall_s": sum(p["wall_s"] for p in parts),
           "cpu_s": sum(p["cpu_s"] for p in parts), "protocol_s": parts[0]["protocol_s"]}
    if any(abs(p["w_max"] - out["w_max"]) > 1e-12 * out["w_max"] for p in parts):
        raise AssertionError("learn: networks of one study differ in their weight bound")
    return out


def _take(res: dict, idx: np.ndarray) -> dict:
    out = dict(res)
    out["trials"] = {k: v[idx] for k, v in res["trials"].items()}
    out["rate"] = res["rate"][idx]
    out["weights"] = [res["weights"][i] for i in idx]
    out["change"] = {k: v[idx] for k, v in res["change"].items()}
    out["traj"] = {k: v[idx] for k, v in res["traj"].items()}
    out["pattern_seed"] = res["pattern_seed"][idx]
    return out
