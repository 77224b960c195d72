"""The LIF engine's adapter to the study layer (:mod:`encephagen.study`): networks x seed ids x G -> spiking
simulations -> one HDF5 file (kind 'runs', engine 'lif': layout 'spiking').

:class:`LIFEngine` takes the same networks ``(atlas, family, null_index, weights, lengths)`` and the
same expansion and seed rule as the neural-mass engine (:func:`encephagen.study.run_study`), so the
workflow's simulate rule runs ``model: lif`` through the engine registry. Every network -- real or
null -- is built and simulated by the same code with the same parameters, delays rule, drive,
duration and monitors.

Seeds: ``seed = derive_seed(master_seed, atlas, family, null_index, seed_id)`` drives the
external Poisson input and the initial potentials; the random instantiation of the network
(which neurons connect) uses the stream ``"build"``:
``derive_seed(master_seed, atlas, family, null_index, seed_id, "build")``.
Both are written to the output. Neither depends on the batch position.

Metric names are the study layer's shared ones: ``acf_tau_ms`` and ``dominant_freq_hz`` (files
written before were ``acf_timescale`` / ``peak_frequency``; :func:`read_spiking` reads both).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch

from encephagen.io import atomic_h5, open_validated, read_strings, write_array
from encephagen.io import kinds as _kinds
from encephagen.spiking.engine import SpikingMemoryError, available_memory_bytes, estimate_memory_bytes
from encephagen.spiking.monitors import SpikeMonitorConfig
from encephagen.spiking.network import connectome_network, normalise_weights, tau_m_from_t1t2
from encephagen.spiking.params import LIFParams
from encephagen.spiking.run import simulate
from encephagen.study.config import LIF_DEFAULTS, ParameterError
from encephagen.study.config import resolve_spiking as resolve_config
from encephagen.study.engine import RENAMED_METRICS, pick_device, run_study, with_overrides
from encephagen.study.network import parameter_sets
from encephagen.study.regimes import write_regimes

log = logging.getLogger(__name__)

METRICS = ("rate", "rate_e", "rate_i", "cv_isi", "fano", "synchrony", "acf_tau_ms", "dominant_freq_hz")


KIND = _kinds.SPIKING   # declared once in encephagen/io/kinds.py (old metric names still validate)

DEFAULTS = LIF_DEFAULTS   # the schema's defaults of the `spiking` section (encephagen.schemas), not a copy


class LIFEngine:
    """Connectome-wide LIF networks (:mod:`encephagen.spiking`); settings from the ``spiking``
    section; writes kind 'runs' (engine 'lif')."""

    name = "lif"
    kind = "spiking"
    section = "spiking"
    streams: tuple = ("build",)
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve_config(section)
        return with_overrides(cfg, seeds_per_network, device)

    def parameter_sets(self, cfg):
        return parameter_sets(cfg["G"])

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, region_labels=None, t1t2=None):
        R = np.asarray(nets[0].weights).shape[0]
        labels = list(region_labels) if region_labels is not None else [f"region{r}" for r in range(R)]
        if len(labels) != R:
            raise ParameterError(f"{len(labels)} region labels for {R} regions")
        base = LIFParams.from_dict(cfg["params"])
        tau_m_region = None
        if cfg["tau_m_from_t1t2"]:
            if t1t2 is None:
                raise ParameterError("spiking.tau_m_from_t1t2 is true but no T1w/T2w values were given")
            tau_m_region = tau_m_from_t1t2(np.asarray(t1t2, float), base, name="t1t2")
        nmda = None
        if cfg["nmda_regions"]:
            missing = [x for x in cfg["nmda_regions"] if x not in labels]
            if missing:
                raise ParameterError(f"spiking.nmda_regions: label(s) {missing} not among the region labels")
            nmda = np.isin(labels, cfg["nmda_regions"])
        dev = pick_device(cfg["device"])
        bs = int(cfg["batch_size"])
        limit = None if cfg["memory_limit_gb"] is None else int(float(cfg["memory_limit_gb"]) * 2**30)
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
            if dev.type == "cpu" and cfg["backend"] != "torch":
                import numba

                numba.set_num_threads(min(int(cfg["threads"]), numba.config.NUMBA_NUM_THREADS))
        log.info("spiking: %d networks x %d seed ids x %d G = %d runs in %d batches of <= %d on %s "
                 "(%g ms + %g ms transient)", len(nets), len(seed_ids), len(cfg["G"]), n_elements,
                 -(-n_elements // bs), bs, dev, cfg["duration"], cfg["transient"])
        _precheck(nets, base, cfg, min(bs, n_elements), dev, limit)
        return dict(cfg=cfg, nets=nets, labels=labels, base=base, tau_m_region=tau_m_region, nmda=nmda, dev=dev,
                    limit=limit, master_seed=master_seed, mon=SpikeMonitorConfig(**cfg["monitors"]))

    def batch_size(self, st) -> int:
        return int(st["cfg"]["batch_size"])

    def run_chunk(self, st, chunk, progress) -> dict:
        cfg, nets = st["cfg"], st["nets"]
        names = [f"{e.atlas}/{e.family}/{e.null_index} seed_id {e.seed_id} G {e.G:g}" for e in chunk]
        lif = []
        for e, name in zip(chunk, names):
            _a, _f, _n, w, L = nets[e.net]
            lif.append(connectome_network(np.asarray(w, float), None if L is None else np.asarray(L, float),
                                          st["base"].replace(G=e.G), e.seeds["build"], dt=cfg["dt"],
                                          tau_m_region=st["tau_m_region"], nmda_regions=st["nmda"], name=name))
        res = simulate(lif, [e.seed for e in chunk], cfg["duration"], cfg["transient"], st["mon"], device=st["dev"],
                       backend=cfg["backend"], names=names, memory_limit_bytes=st["limit"], progress=progress)
        res["n_synapses"] = np.asarray(res["n_synapses"])
        for old, new in RENAMED_METRICS.items():   # the study layer's names
            if old in res:
                res[new] = res.pop(old)
        return res

    def concat(self, parts):
        return _concat(parts)

    def write(self, path, st, elements, result, provenance) -> Path:
        elems = [dict(atlas=e.atlas, family=e.family, null_index=e.null_index, seed_id=e.seed_id, seed=e.seed,
                      build_seed=e.seeds["build"], G=e.G) for e in elements]
        prov = {"master_seed": int(st["master_seed"]),
                "seed_rule": "derive_seed(master_seed, atlas, family, null_index, seed_id) (+ 'build' for the network)",
                "seeds": [e["seed"] for e in elems], **(provenance or {})}
        return write_spiking(path, result, elems, st["labels"], st["cfg"], st["base"], st["tau_m_region"], prov)

    def read_runs(self, path) -> dict:
        d = read_spiking(path)
        bold = bool(json.loads(d["attrs"].get("config", "{}")).get("monitors", {}).get("bold", "fc_bold" in d))
        return {"atlas": np.asarray(d["atlas"]), "family": np.asarray(d["family"]), "null_index": d["null_index"],
                "seed_id": d["seed_id"], "seed": d["seed"], "G": d["G"], "params": {},
                "metrics": {m: d[m] for m in METRICS if m in d}, "fc_bold": d.get("fc_bold"),
                "fc_activity": d.get("fc_rate"), "bold_on": bold, "activity_name": "rate",
                "regime": d.get("regime"), "network_regime": d.get("network_regime"),
                "regime_fraction": d.get("regime_fraction"),
                "region_labels": list(d["labels"]), "attrs": {"model": "lif", **d["attrs"]}}


def run_lif_networks(cfg: Mapping, networks: Iterable, seeds_per_network: int | None, master_seed: int,
                     out_path: str | Path, device: str | None = None, seed_ids: Sequence[int] | None = None,
                     region_labels: Sequence[str] | None = None, t1t2: np.ndarray | None = None,
                     provenance: Mapping | None = None) -> Path:
    """Build and simulate every network x seed id x G, write one 'spiking' file; return its path.

    ``cfg``: the ``spiking`` config section; ``networks``: (atlas, family, null_index, weights,
    lengths) tuples; ``t1t2``: per-region T1w/T2w values (needed if ``tau_m_from_t1t2``);
    ``region_labels`` name the regions (and select ``nmda_regions`` by exact label).
    """
    return run_study(LIFEngine(), cfg, networks, master_seed, out_path, seeds_per_network=seeds_per_network,
                     seed_ids=seed_ids, device=device, provenance=provenance, region_labels=region_labels,
                     t1t2=t1t2)


def _precheck(nets, base: LIFParams, cfg: dict, batch: int, dev, limit) -> None:
    """Refuse a batch that cannot fit BEFORE building any network (expected synapse counts)."""
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
                                  "synchrony": "1 (Golomb chi)", "acf_tau_ms": "ms", "dominant_freq_hz": "Hz",
                                  "spectrum": "Hz^2/Hz", "spectrum_freq": "Hz", "bold_times": "ms",
                                  "pop_rate": "Hz", "tau_m": "ms"})}
    with atomic_h5(path, kind="runs", provenance=prov, attrs={"engine": "lif", **attrs}) as f:
        for key, dtype in (("atlas", str), ("family", str), ("null_index", np.int64), ("seed_id", np.int64),
                           ("seed", np.int64), ("build_seed", np.int64), ("G", np.float64)):
            write_array(f, key, np.array([e[key] for e in elems], dtype=dtype))
        write_array(f, "labels", np.array(labels, dtype=str))
        write_array(f, "flags", np.array(res["flags"], dtype=str))
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
    """Every dataset and attribute of a validated LIF runs file (kind 'runs', engine 'lif', layout 'spiking')."""
    out = {}
    with open_validated(path, "spiking") as f:
        for k in f:
            ds = f[k]
            out[k] = read_strings(ds) if ds.dtype.kind in "OS" else ds[()]
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    for old, new in RENAMED_METRICS.items():   # a file written before the metric names were shared
        if old in out and new not in out:
            out[new] = out.pop(old)
    return out
