"""The neural-mass engine's adapter to the study layer (:mod:`encephagen.study`): the equations are
:mod:`encephagen.sim` (arrays in, arrays out), the file layout :mod:`encephagen.study.engines.neural_mass_io`.

Every network -- the real connectome (family 'real', null_index 0) and each null -- gets the
SAME treatment: the same model, parameters, grid, weight normalisation (``normalize`` x
``weight_scale``, per network), delays rule (lengths / velocity), noise, dt, duration,
transient and monitors; a connectome goes through the nulls stage's transform first
(:func:`encephagen.steps.networks.real_network`: the steps read the files, this module gets
arrays). A section may list several models (``model_config`` gives one model's
settings: ``per_model`` overrides merged on top). Element seeds follow the study layer's rule
``derive_seed(master_seed, atlas, family, null_index, seed_id)`` (never batch position),
shared across the parameter grid (common random numbers), and written to the output.

The config helpers (``resolve_config``, ``model_config`` ...) live in the torch-free
:mod:`encephagen.study.config` and are re-exported here.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from encephagen.sim.models import ParameterError, get_model
from encephagen.sim.monitors import MonitorConfig
from encephagen.study.engines.neural_mass_io import read_simulation, write_simulation
from encephagen.sim.runner import SimResult, pick_device, simulate
from encephagen.study.config import (NORMALIZE, PLACEMENTS, SIM_DEFAULTS, check_operating_point,  # noqa: F401
                                     model_config, model_names, presweep_grid, resolve_config, round_sig)
from encephagen.study.engine import run_study, with_overrides
from encephagen.study.network import SEED_RULE, Element, Network, parameter_sets
from encephagen.study.network import expand as _expand

log = logging.getLogger(__name__)

DEFAULTS = SIM_DEFAULTS   # the schema's defaults of the `simulate` section (encephagen.schemas), not a copy


def normalize_weights(w: np.ndarray, how: str, scale: float = 1.0) -> np.ndarray:
    """Per-network scaling applied identically to real and null networks: ``w / m * scale`` with
    ``m`` = 1 ('none'), the largest weight ('max') or the mean in-strength, i.e. the mean row sum
    ('mean_strength'; rows are targets)."""
    w = np.asarray(w, dtype=float)
    if how == "none":
        return w * float(scale) if scale != 1.0 else w
    if how == "max":
        m = w.max()
    elif how == "mean_strength":
        m = w.sum(axis=1).mean()
    else:
        raise ParameterError(f"normalize must be one of {NORMALIZE}, got {how!r}")
    if not m > 0:
        raise ParameterError(f"cannot normalise a network without positive weights (normalize={how!r})")
    return w / m * float(scale)


def expand(networks: Sequence[Network], cfg: Mapping, seed_ids: Sequence[int], master_seed: int) -> list[Element]:
    """networks x seed ids x (G x grid), network outermost (:func:`encephagen.study.network.expand`)."""
    return _expand(networks, parameter_sets(cfg["G"], cfg["grid"]), seed_ids, master_seed)


def concat_results(parts: Sequence[SimResult]) -> SimResult:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def cat(get):
        vals = [get(p) for p in parts]
        return None if any(v is None for v in vals) else np.concatenate(vals, axis=0)

    return replace(
        first,
        seeds=cat(lambda p: p.seeds), G=cat(lambda p: p.G), noise=cat(lambda p: p.noise),
        params={k: np.concatenate([p.params[k] for p in parts], axis=0) for k in first.params},
        metrics={k: cat(lambda p, k=k: p.metrics[k]) for k in first.metrics},
        fc_activity=cat(lambda p: p.fc_activity), fc_bold=cat(lambda p: p.fc_bold), bold=cat(lambda p: p.bold),
        record=cat(lambda p: p.record), final_state=cat(lambda p: p.final_state), regime=cat(lambda p: p.regime),
        max_delay_steps=max(p.max_delay_steps for p in parts),
        delays_shared=all(p.delays_shared for p in parts),
        wall_s=sum(p.wall_s for p in parts), labels=sum((p.labels for p in parts), []),
        compiled=all(p.compiled for p in parts),
    )


class NeuralMassEngine:
    """Neural-mass models of :mod:`encephagen.sim.models` through :func:`encephagen.sim.runner.simulate`;
    writes kind 'runs' (engine 'neural_mass')."""

    name = "neural_mass"
    kind = "simulation"
    section = "simulate"
    streams: tuple = ()
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve_config(section)
        if cfg["G"] == "auto":
            raise ParameterError("simulate.G is 'auto': the workflow's operating_point rule chooses the G values per "
                                 "atlas (results/operating_point/...); outside the workflow pass a list of G values")
        return with_overrides(cfg, seeds_per_network, device)

    def parameter_sets(self, cfg):
        return parameter_sets(cfg["G"], cfg["grid"])

    def setup(self, cfg, networks, *, master_seed, seed_ids, n_elements, region_labels=None):
        model = get_model(cfg["model"])
        st = dict(cfg=cfg, nets=networks, model=model, master_seed=master_seed, region_labels=region_labels,
                  base=model.params(cfg["preset"], **dict(cfg["params"])), dev=pick_device(cfg["device"]),
                  weights=[normalize_weights(n.weights, cfg["normalize"], cfg["weight_scale"]) for n in networks])
        st["batch"] = self._plan(cfg, networks, n_elements, st["dev"])
        st["n_chunks"] = -(-n_elements // st["batch"])
        log.info("simulate: %d networks x %d seed ids x %d parameter sets = %d runs in %d batches of <= %d%s on %s "
                 "(%s, %g ms at dt %g ms)", len(networks), len(seed_ids),
                 n_elements // max(1, len(networks) * len(seed_ids)), n_elements, st["n_chunks"], st["batch"],
                 " (planned: batch_size auto)" if cfg["batch_size"] == "auto" else "", st["dev"], model.name,
                 cfg["duration"], cfg["dt"])
        return st

    @staticmethod
    def _plan(cfg, networks, n_elements, device) -> int:
        """Runs per tensor batch: ``simulate.batch_size``, or with ``auto`` the memory/throughput
        planner's choice (:func:`encephagen.sim.planner.plan_batch_size`) for these networks."""
        if cfg["batch_size"] != "auto":
            return int(cfg["batch_size"])
        from encephagen.sim.planner import RunShape, plan_batch_size

        lengths = [np.asarray(n.lengths, dtype=float) for n in networks]
        if cfg["velocity"] is None:
            max_lag = 0
        else:
            max_lag = int(max(np.nanmax(x) if x.size else 0.0 for x in lengths) / (cfg["velocity"] * cfg["dt"])) + 1
        own = cfg["velocity"] is not None and any(not np.array_equal(lengths[0], x) for x in lengths[1:])
        mon = cfg["monitors"]
        shape = RunShape(n_nodes=int(networks[0].weights.shape[0]), max_lag_steps=max_lag, own_delays=own,
                         itemsize=8 if str(cfg.get("dtype", "float32")) == "float64" else 4,
                         bold=bool(mon.get("bold", False)), fc=True,
                         n_trace_samples=int(mon.get("record_samples", 0)))
        return plan_batch_size(shape, n_elements, device=str(device))

    def batch_size(self, st) -> int:
        return int(st["batch"])

    def run_chunk(self, st, chunk, progress) -> SimResult:
        cfg, nets = st["cfg"], st["nets"]
        params = {k: (np.asarray(v, dtype=float)[None, :] if np.ndim(v) == 1 else v)   # lists = per node
                  for k, v in st["base"].as_dict().items()}
        for name in cfg["grid"]:
            params[name] = np.array([e.grid[name] for e in chunk], dtype=float)
        return simulate(st["model"], np.stack([st["weights"][e.net] for e in chunk]),
                        np.stack([nets[e.net].lengths for e in chunk]), params=params,
                        G=np.array([e.G for e in chunk]), seeds=np.array([e.seed for e in chunk]),
                        dt=cfg["dt"], duration=cfg["duration"], transient=cfg["transient"], velocity=cfg["velocity"],
                        noise=cfg["noise"], monitors=MonitorConfig(**cfg["monitors"]), device=st["dev"],
                        dtype=cfg["dtype"], integrator=cfg["integrator"], labels=[e.label() for e in chunk],
                        progress=progress, compile=cfg["compile"], noise_rng=cfg.get("noise_rng", "auto"))

    def concat(self, parts):
        return concat_results(parts)

    def write(self, path, st, elems, result, provenance) -> Path:
        cfg, master_seed = st["cfg"], st["master_seed"]
        prov = {"master_seed": int(master_seed), "seed_rule": SEED_RULE, "n_batches": st["n_chunks"]}
        prov.update(dict(provenance or {}))
        return write_simulation(path, result, atlas=[e.atlas for e in elems], family=[e.family for e in elems],
                                null_index=[e.null_index for e in elems], seed_id=[e.seed_id for e in elems],
                                config={**cfg, "master_seed": int(master_seed)}, region_labels=st["region_labels"],
                                store_bold=bool(cfg["store_bold"]), provenance=prov)

    def read_runs(self, path) -> dict:
        d = read_simulation(path)
        d["bold_on"] = bool(d["monitor"].get("bold", "fc_bold" in d))
        d["activity_name"] = "activity"
        return d


def run_networks(model_cfg: Mapping, networks: Iterable, seeds_per_network: int | None, master_seed: int,
                 out_path: str | Path, device: str | None = None, seed_ids: Sequence[int] | None = None,
                 region_labels: Sequence[str] | None = None, provenance: Mapping | None = None) -> Path:
    """Simulate every network x seed id x parameter-grid point and write one 'simulation' file.

    ``networks``: (atlas, family, null_index, weights, lengths) tuples (see :class:`Network`,
    :func:`encephagen.steps.networks.load_networks`); ``seeds_per_network`` overrides the config's (seed ids 0..k-1,
    or pass ``seed_ids``); ``device`` overrides the config's ('auto', 'cpu', 'cuda').
    """
    return run_study(NeuralMassEngine(), model_cfg, networks, master_seed, out_path,
                     seeds_per_network=seeds_per_network, seed_ids=seed_ids, device=device,
                     provenance=provenance, region_labels=region_labels)
