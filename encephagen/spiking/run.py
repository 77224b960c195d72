"""Glue: networks x seed ids x G -> spiking simulations -> one HDF5 file (kind 'spiking').

:func:`run_lif_networks` mirrors :func:`encephagen.sim.batch.run_networks` (same network tuples
``(atlas, family, null_index, weights, lengths)``, same seed rule) so the workflow's simulate
rule can dispatch ``model: lif`` here. Every network -- real or null -- is built and simulated by
the same code with the same parameters, delays rule, drive, duration and monitors.

Seeds: ``seed = derive_seed(master_seed, atlas, family, null_index, seed_id)`` drives the
external Poisson input and the initial potentials; the random instantiation of the network
(which neurons connect) uses ``derive_seed(master_seed, atlas, family, null_index, seed_id, "build")``.
Both are written to the output. Neither depends on the batch position.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from encephagen.io import Kind, atomic_h5, register_kind, write_array
from encephagen.seeds import derive_seed
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.monitors import SpikeMonitorConfig, SpikeMonitors, flag_regimes
from encephagen.spiking.network import LIFNetwork, connectome_network, tau_m_from_t1t2
from encephagen.spiking.params import LIFParams

log = logging.getLogger(__name__)

METRICS = ("rate", "rate_e", "rate_i", "cv_isi", "fano", "synchrony", "acf_timescale", "peak_frequency")


def _check(f) -> list[str]:
    probs = []
    B = f["seed"].shape[0]
    for m in METRICS:
        if m in f and f[m].shape[0] != B:
            probs.append(f"dataset {m!r} has {f[m].shape[0]} rows, expected {B} (one per run)")
    from encephagen.sim.output import check_regimes

    probs += check_regimes(f, B, int(f["labels"].shape[0]))
    return probs


KIND = register_kind(Kind("spiking", datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1,
                                               "build_seed": 1, "G": 1, "labels": 1, "flags": 1,
                                               "regime": 2, "regime_fraction": 2, "network_regime": 1,
                                               **{m: 2 for m in METRICS}},
                          attrs=("model", "dt", "duration", "transient", "params"), check=_check))

# defaults of the `spiking` config section (encephagen/schemas/fragments/spiking.schema.yaml holds
# the same; tests/test_spiking_run.py keeps them equal)
DEFAULTS: dict = {
    "params": {},
    "G": [0.5],
    "seeds_per_network": 1,
    "dt": 0.1,
    "duration": 2000.0,
    "transient": 200.0,
    "monitors": {"rate_bin": 1.0, "fano_window": 100.0, "bold": False, "bold_period": 720.0, "bold_scale": 0.05,
                 "bold_constants": "friston2003", "bold_warmup": 20000.0, "min_bold_samples": 100,
                 "welch_nperseg": 1024, "runaway_hz": 200.0, "silent_hz": 0.1},
    "tau_m_from_t1t2": False,
    "nmda_regions": [],
    "store_rates": False,
    "store_bold": False,
    "device": "auto",
    "backend": "auto",
    "batch_size": 8,
    "threads": None,
    "memory_limit_gb": None,
}


def resolve_config(cfg: Mapping | None) -> dict:
    """Defaults filled in; unknown keys refused naming ``spiking.<key>``."""
    cfg = dict(cfg or {})
    out = copy.deepcopy(DEFAULTS)
    unknown = sorted(set(cfg) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"config key spiking.{unknown[0]} unknown (all unknown: {unknown}); known: {sorted(DEFAULTS)}")
    for k, v in cfg.items():
        if k == "monitors":
            mu = sorted(set(v or {}) - set(DEFAULTS["monitors"]))
            if mu:
                raise ValueError(f"config key spiking.monitors.{mu[0]} unknown; known: {sorted(DEFAULTS['monitors'])}")
            out[k].update(v or {})
        else:
            out[k] = v
    for k in ("dt", "duration"):
        if not (isinstance(out[k], (int, float)) and out[k] > 0):
            raise ValueError(f"spiking.{k} must be a positive number of ms, got {out[k]!r}")
    if not (isinstance(out["transient"], (int, float)) and out["transient"] >= 0):
        raise ValueError(f"spiking.transient must be >= 0 ms, got {out['transient']!r}")
    if not (isinstance(out["batch_size"], int) and out["batch_size"] >= 1):
        raise ValueError(f"spiking.batch_size must be a positive integer, got {out['batch_size']!r}")
    if not (isinstance(out["G"], list) and out["G"] and all(isinstance(g, (int, float)) and g >= 0 for g in out["G"])):
        raise ValueError(f"spiking.G must be a non-empty list of numbers >= 0, got {out['G']!r}")
    if out["device"] not in ("auto", "cpu", "cuda"):
        raise ValueError(f"spiking.device must be auto, cpu or cuda, got {out['device']!r}")
    if out["backend"] not in ("auto", "torch", "numba"):
        raise ValueError(f"spiking.backend must be auto, torch or numba, got {out['backend']!r}")
    try:
        LIFParams.from_dict(out["params"])
    except ValueError as exc:
        raise ValueError(f"spiking.params: {exc}") from None
    mon = SpikeMonitorConfig(**out["monitors"]).validate(float(out["dt"]))
    mon.check_bold_samples(float(out["duration"]))
    return out


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("spiking.device = cuda but no CUDA device is available")
    return torch.device(name)


def simulate(networks: Sequence[LIFNetwork], seeds: Sequence[int], duration: float, transient: float,
             monitors: SpikeMonitorConfig | None = None, device="cpu", backend: str = "auto",
             names: Sequence[str] | None = None, memory_limit_bytes: int | None = None,
             progress=None) -> dict:
    """Simulate a batch (same n, R, dt) for ``transient + duration`` ms; return monitor results.

    Initial potentials are uniform in [v_reset, theta) from each network's seed.
    """
    monitors = monitors or SpikeMonitorConfig()
    monitors.check_bold_samples(duration)     # too few BOLD samples: refused before building anything
    dt = networks[0].dt
    n_steps = int(round(duration / dt))
    n_trans = int(round(transient / dt))
    n_bins = n_steps // max(1, int(round(monitors.rate_bin / dt)))
    names = list(names or [f"network{b}" for b in range(len(networks))])
    t_all = time.perf_counter()
    sim = LIFBatch(list(networks), list(seeds), device=device, backend=backend, names=names,
                   memory_limit_bytes=memory_limit_bytes, n_bins_hint=n_bins)
    sim.random_initial_state()
    mon = SpikeMonitors(sim, monitors, start_step=n_trans, n_steps=n_steps)
    total = n_trans + n_steps
    t_run = time.perf_counter()
    while sim.t < total:
        blk = sim.step_block(min(sim.K, total - sim.t))
        if blk.t0 < n_trans:
            mon.observe_transient(blk)
        if sim.t > n_trans:
            mon.update(blk)
        if progress is not None:
            progress(sim.t, total)
    run_s = time.perf_counter() - t_run
    res = mon.result()
    res["flags"] = flag_regimes(res["rate"], names, monitors.runaway_hz, monitors.silent_hz)
    from encephagen.sim.regime import spiking_regimes

    p0 = networks[0].params
    res["regime"] = spiking_regimes(res["rate"], res["synchrony"], monitors.silent_hz, p0.t_ref, sim.n // sim.R)
    res.update(wall_s=time.perf_counter() - t_all, run_s=run_s, setup_s=sim.setup_seconds,
               backend=sim.backend, device=str(sim.device), memory_estimate_bytes=sim.memory_estimate,
               block_steps=sim.K, ring_slots=sim.S, n_synapses=[net.nnz for net in networks])
    return res


def run_lif_networks(cfg: Mapping, networks: Iterable, seeds_per_network: int | None, master_seed: int,
                     out_path: str | Path, device: str | None = None, seed_ids: Sequence[int] | None = None,
                     region_labels: Sequence[str] | None = None, t1t2: np.ndarray | None = None,
                     provenance: Mapping | None = None) -> Path:
    """Build and simulate every network x seed id x G, write one 'spiking' file; return its path.

    ``cfg``: the ``spiking`` config section; ``networks``: (atlas, family, null_index, weights,
    lengths) tuples; ``t1t2``: per-region T1w/T2w values (needed if ``tau_m_from_t1t2``);
    ``region_labels`` name the regions (and select ``nmda_regions`` by exact label).
    """
    if master_seed is None:
        raise ValueError("master_seed is missing (set 'master_seed' in the config); 0 is a valid seed")
    cfg = resolve_config(cfg)
    if seeds_per_network is not None:
        cfg["seeds_per_network"] = int(seeds_per_network)
    if device is not None:
        cfg["device"] = device
    nets = [tuple(n) for n in networks]
    if not nets:
        raise ValueError("no networks to simulate")
    R = np.asarray(nets[0][3]).shape[0]
    labels = list(region_labels) if region_labels is not None else [f"region{r}" for r in range(R)]
    if len(labels) != R:
        raise ValueError(f"{len(labels)} region labels for {R} regions")
    base = LIFParams.from_dict(cfg["params"])
    tau_m_region = None
    if cfg["tau_m_from_t1t2"]:
        if t1t2 is None:
            raise ValueError("spiking.tau_m_from_t1t2 is true but no T1w/T2w values were given")
        tau_m_region = tau_m_from_t1t2(np.asarray(t1t2, float), base, name="t1t2")
    nmda = None
    if cfg["nmda_regions"]:
        missing = [x for x in cfg["nmda_regions"] if x not in labels]
        if missing:
            raise ValueError(f"spiking.nmda_regions: label(s) {missing} not among the region labels")
        nmda = np.isin(labels, cfg["nmda_regions"])
    sids = list(range(cfg["seeds_per_network"])) if seed_ids is None else [int(s) for s in seed_ids]
    elems = []
    for ni, (atlas, family, null_index, _w, _l) in enumerate(nets):
        for sid in sids:
            seed = derive_seed(int(master_seed), str(atlas), str(family), int(null_index), int(sid))
            bseed = derive_seed(int(master_seed), str(atlas), str(family), int(null_index), int(sid), "build")
            for G in cfg["G"]:
                elems.append(dict(net=ni, atlas=str(atlas), family=str(family), null_index=int(null_index),
                                  seed_id=sid, seed=seed, build_seed=bseed, G=float(G)))
    dev = pick_device(cfg["device"])
    mon = SpikeMonitorConfig(**cfg["monitors"])
    bs = int(cfg["batch_size"])
    n_chunks = math.ceil(len(elems) / bs)
    limit = None if cfg["memory_limit_gb"] is None else int(float(cfg["memory_limit_gb"]) * 2**30)
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
        if dev.type == "cpu" and cfg["backend"] != "torch":
            import numba

            numba.set_num_threads(min(int(cfg["threads"]), numba.config.NUMBA_NUM_THREADS))
    log.info("spiking: %d networks x %d seed ids x %d G = %d runs in %d batches of <= %d on %s (%g ms + %g ms transient)",
             len(nets), len(sids), len(cfg["G"]), len(elems), n_chunks, bs, dev, cfg["duration"], cfg["transient"])
    _precheck(nets, base, cfg, min(bs, len(elems)), dev, limit)
    parts = []
    t0 = time.perf_counter()
    for c in range(n_chunks):
        chunk = elems[c * bs:(c + 1) * bs]
        names = [f"{e['atlas']}/{e['family']}/{e['null_index']} seed_id {e['seed_id']} G {e['G']:g}" for e in chunk]
        lif = []
        for e, name in zip(chunk, names):
            _a, _f, _n, w, L = nets[e["net"]]
            lif.append(connectome_network(np.asarray(w, float), None if L is None else np.asarray(L, float),
                                          base.replace(G=e["G"]), e["build_seed"], dt=cfg["dt"],
                                          tau_m_region=tau_m_region, nmda_regions=nmda, name=name))
        last = [time.perf_counter()]

        def progress(done, total, c=c):
            now = time.perf_counter()
            if now - last[0] >= 30 or done >= total:
                last[0] = now
                frac = (c + done / total) / n_chunks
                el = now - t0
                log.info("spiking batch %d/%d: step %d/%d; %.0f%% overall, elapsed %.0f s, ETA %.0f s",
                         c + 1, n_chunks, done, total, 100 * frac, el, el / max(frac, 1e-9) - el)

        res = simulate(lif, [e["seed"] for e in chunk], cfg["duration"], cfg["transient"], mon, device=dev,
                       backend=cfg["backend"], names=names, memory_limit_bytes=limit, progress=progress)
        res["n_synapses"] = np.asarray(res["n_synapses"])
        parts.append(res)
    out = _concat(parts)
    prov = {"master_seed": int(master_seed),
            "seed_rule": "derive_seed(master_seed, atlas, family, null_index, seed_id) (+ 'build' for the network)",
            "seeds": [e["seed"] for e in elems], **(provenance or {})}
    return write_spiking(out_path, out, elems, labels, cfg, base, tau_m_region, prov)


def _precheck(nets, base: LIFParams, cfg: dict, batch: int, dev, limit) -> None:
    """Refuse a batch that cannot fit BEFORE building any network (expected synapse counts)."""
    from encephagen.spiking.engine import SpikingMemoryError, available_memory_bytes, estimate_memory_bytes
    from encephagen.spiking.network import normalise_weights

    npr = base.n_e + base.n_i
    worst_nnz, worst_len = 0.0, 0.0
    for _a, _f, _n, w, L in nets:
        w = np.asarray(w, float)
        R = w.shape[0]
        wn = normalise_weights(w, base)
        local = R * npr * (npr - 1) * base.p_int
        lr = np.clip(base.p_between * wn, 0, 1).sum() * npr * base.n_e
        worst_nnz = max(worst_nnz, local + lr)
        if L is not None and base.delays:
            worst_len = max(worst_len, float(np.nanmax(np.where(wn > 0, np.asarray(L, float), 0))))
    R = np.asarray(nets[0][3]).shape[0]
    slots = int(max(worst_len / base.velocity, base.delay_local) / cfg["dt"]) + 2 * max(1, int(base.delay_local / cfg["dt"]))
    n_bins = int(cfg["duration"] / cfg["monitors"]["rate_bin"])
    est = estimate_memory_bytes(batch * R * npr, int(batch * worst_nnz), slots, max(1, int(base.delay_local / cfg["dt"])),
                                batch, R, n_bins, "torch" if dev.type != "cpu" else "numba")
    lim = limit if limit is not None else int(0.8 * available_memory_bytes(dev))
    if est > lim:
        raise SpikingMemoryError(
            f"spiking batch of {batch} networks x {R * npr} neurons (~{worst_nnz:,.0f} synapses each) needs about "
            f"{est / 2**30:.2f} GiB on {dev}, above the limit of {lim / 2**30:.2f} GiB; lower spiking.batch_size, "
            f"the population sizes or spiking.duration, or raise spiking.memory_limit_gb")


def _concat(parts: list[dict]) -> dict:
    out = {}
    for k, v in parts[0].items():
        if isinstance(v, np.ndarray) and k not in ("spectrum_freq", "bold_times"):
            out[k] = np.concatenate([p[k] for p in parts], axis=0)
        elif k == "flags":
            out[k] = sum((p[k] for p in parts), [])
        elif v is None:
            out[k] = None
        elif k in ("wall_s", "run_s", "setup_s"):
            out[k] = float(sum(p[k] for p in parts))
        else:
            out[k] = v
    return out


def write_spiking(path, res: dict, elems: list[dict], labels, cfg: dict, params: LIFParams,
                  tau_m_region, prov: Mapping) -> Path:
    path = Path(path)
    attrs = {"model": "lif", "dt": float(cfg["dt"]), "duration": float(cfg["duration"]),
             "transient": float(cfg["transient"]), "params": json.dumps(params.to_dict(), sort_keys=True),
             "config": json.dumps(cfg, sort_keys=True, default=str), "backend": res["backend"],
             "device": res["device"], "wall_s": res["wall_s"], "run_s": res["run_s"],
             "setup_s": res["setup_s"], "block_steps": int(res["block_steps"]),
             "units": json.dumps({"rate": "Hz", "rate_e": "Hz", "rate_i": "Hz", "cv_isi": "1", "fano": "1",
                                  "synchrony": "1 (Golomb chi)", "acf_timescale": "ms", "peak_frequency": "Hz",
                                  "spectrum": "Hz^2/Hz", "spectrum_freq": "Hz", "bold_times": "ms",
                                  "pop_rate": "Hz", "tau_m": "ms"})}
    with atomic_h5(path, kind="spiking", provenance=prov, attrs=attrs) as f:
        for key, dtype in (("atlas", str), ("family", str), ("null_index", np.int64), ("seed_id", np.int64),
                           ("seed", np.int64), ("build_seed", np.int64), ("G", np.float64)):
            write_array(f, key, np.array([e[key] for e in elems], dtype=dtype))
        write_array(f, "labels", np.array(labels, dtype=str))
        write_array(f, "flags", np.array(res["flags"], dtype=str))
        from encephagen.sim.regime import write_regimes

        write_regimes(f, res["regime"])
        for m in METRICS:
            write_array(f, m, np.asarray(res[m], dtype=np.float64))
        write_array(f, "spectrum", res["spectrum"])
        write_array(f, "spectrum_freq", res["spectrum_freq"])
        write_array(f, "n_synapses", res["n_synapses"])
        if res.get("fc_bold") is not None:
            write_array(f, "fc_bold", res["fc_bold"].astype(np.float32))
        if res.get("fc_rate") is not None:
            write_array(f, "fc_rate", res["fc_rate"].astype(np.float32))
        if cfg["store_bold"] and res.get("bold") is not None:
            write_array(f, "bold", res["bold"].astype(np.float32))
            write_array(f, "bold_times", res["bold_times"])
        if cfg["store_rates"]:
            write_array(f, "pop_rate", res["pop_rate"])
        tm = tau_m_region if tau_m_region is not None else np.full(len(labels), params.tau_m)
        write_array(f, "tau_m", np.asarray(tm, dtype=np.float64))
    log.info("wrote %s (%d runs; %d flagged)", path, len(elems), sum(fl != "ok" for fl in res["flags"]))
    return path


def read_spiking(path) -> dict:
    """Every dataset and attribute of a validated 'spiking' file."""
    from encephagen.io import open_validated, read_strings

    out = {}
    with open_validated(path, "spiking") as f:
        for k in f:
            ds = f[k]
            out[k] = read_strings(ds) if ds.dtype.kind in "OS" else ds[()]
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return out
