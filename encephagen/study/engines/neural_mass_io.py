"""HDF5 output of the neural-mass engine: kind 'runs', engine 'neural_mass' (layout 'simulation'; one
file per batch job). Labelled arrays: docs/outputs.md (dimensions run, region, ...).

Layout (B = batch elements, n = regions, all batch-first):

* per element, 1-D (B,): ``atlas``, ``family``, ``null_index``, ``seed_id``, ``seed``,
  ``G``, ``noise``; ``params/<name>`` (B,) or (B, n);
* ``metrics/<name>`` (B, n): mean, var, rms, acf_tau_ms, dominant_freq_hz, silenced;
* ``regime`` (B, n) int8 per region (legend and rule as attributes: 0 fixed_point,
  1 oscillating, 2 saturated, 3 silent, 4 diverged; :mod:`encephagen.sim.regime`),
  ``regime_fraction`` (B, 5) and ``network_regime`` (B,) per run;
* ``fc_bold`` (B, n, n) when BOLD is on, ``fc_activity`` (B, n, n) when on;
  ``bold`` (B, T, n) + ``bold_t`` (T,) ms when ``store_bold``;
* root attributes: model, n, dt, duration, transient, velocity, integrator, dtype, device,
  monitor (JSON), labels (region labels, JSON), config (JSON) and the provenance record
  (config hash, seeds, package versions, device, git commit).

Read back with :func:`read_simulation` (validated; OutputError naming the file otherwise).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io import atomic_h5, config_hash, open_validated, read_provenance, read_strings, write_array
from encephagen.io import kinds as _kinds
from encephagen.sim.runner import METRICS, SimResult

# the file kind ('runs', engine 'neural_mass': the layout 'simulation') is declared once, in
# encephagen/io/kinds.py (layout, checks, dimensions)
SIMULATION_KIND = _kinds.SIMULATION
ENGINE = "neural_mass"


def write_simulation(path, result: SimResult, atlas: Sequence[str], family: Sequence[str],
                     null_index: Sequence[int], seed_id: Sequence[int], config: Mapping | None = None,
                     region_labels: Sequence[str] | None = None, store_bold: bool = False,
                     provenance: Mapping | None = None) -> Path:
    """Write one batch's results atomically (temporary name, 'complete' last, rename)."""
    B = result.batch_size
    for name, v in (("atlas", atlas), ("family", family), ("null_index", null_index), ("seed_id", seed_id)):
        if len(v) != B:
            raise ValueError(f"{name} has {len(v)} entries for a batch of {B}")
    prov = {
        "config_hash": config_hash(dict(config or {})),
        "seeds": [int(s) for s in result.seeds],
        "device": result.device,
        "dtype": result.dtype,
        "noise_rng": result.noise_rng,
        "wall_s": round(float(result.wall_s), 3),
    }
    try:
        import torch

        prov["torch_threads"] = torch.get_num_threads()
        if result.device.startswith("cuda"):
            prov["cuda_device"] = torch.cuda.get_device_name(0)
    except Exception:  # pragma: no cover - provenance is best effort beyond the required keys
        pass
    prov.update(dict(provenance or {}))
    path = Path(path)
    with atomic_h5(path, kind="runs", provenance=prov, attrs={"engine": ENGINE}) as f:
        write_array(f, "atlas", np.array(list(atlas), dtype=str))
        write_array(f, "family", np.array(list(family), dtype=str))
        write_array(f, "null_index", np.asarray(null_index, dtype=np.int64))
        write_array(f, "seed_id", np.asarray(seed_id, dtype=np.int64))
        write_array(f, "seed", np.asarray(result.seeds, dtype=np.int64))
        write_array(f, "G", np.asarray(result.G, dtype=float))
        write_array(f, "noise", np.asarray(result.noise, dtype=float))
        pg = f.create_group("params")
        for k, v in result.params.items():
            write_array(pg, k, np.asarray(v, dtype=float))
        mg = f.create_group("metrics")
        for k in METRICS:
            write_array(mg, k, np.asarray(result.metrics[k]))
        from encephagen.sim.regime import neural_mass_regimes
        from encephagen.study.regimes import write_regimes

        regime = result.regime if result.regime is not None else neural_mass_regimes(
            result.model, result.metrics, result.params)
        write_regimes(f, regime)
        if result.fc_bold is not None:
            write_array(f, "fc_bold", result.fc_bold.astype(np.float32))
        if result.fc_activity is not None:
            write_array(f, "fc_activity", result.fc_activity.astype(np.float32))
        if store_bold and result.bold is not None:
            write_array(f, "bold", result.bold.astype(np.float32))
            write_array(f, "bold_t", result.bold_t)
        f.attrs["model"] = result.model
        f.attrs["n"] = int(result.n)
        for key in ("dt", "duration", "transient"):
            f.attrs[key] = float(getattr(result, key))
        f.attrs["velocity"] = -1.0 if result.velocity is None else float(result.velocity)
        f.attrs["integrator"] = result.integrator
        f.attrs["dtype"] = result.dtype
        f.attrs["device"] = result.device
        f.attrs["max_delay_steps"] = int(result.max_delay_steps)
        f.attrs["compiled"] = bool(result.compiled)
        f.attrs["noise_rng"] = result.noise_rng
        f.attrs["monitor"] = json.dumps(asdict(result.monitor), sort_keys=True)
        f.attrs["region_labels"] = json.dumps(list(region_labels) if region_labels is not None else [])
        f.attrs["config"] = json.dumps(dict(config or {}), sort_keys=True, default=str)
    return path


def read_simulation(path) -> dict:
    """Read a validated neural-mass runs file (kind 'runs', engine 'neural_mass') into a dict of
    numpy arrays and attributes."""
    out: dict = {}
    with open_validated(path, SIMULATION_KIND.name) as f:
        for name in ("atlas", "family"):
            out[name] = np.array(read_strings(f[name]))
        for name in ("null_index", "seed_id", "seed", "G", "noise"):
            out[name] = f[name][()]
        out["params"] = {k: f["params"][k][()] for k in f["params"]}
        out["metrics"] = {k: f["metrics"][k][()] for k in f["metrics"]}
        for name in ("fc_bold", "fc_activity", "bold", "bold_t", "regime", "regime_fraction"):
            if name in f:
                out[name] = f[name][()]
        out["network_regime"] = np.array(read_strings(f["network_regime"]))
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        out["attrs"] = attrs
        out["velocity"] = None if float(attrs["velocity"]) < 0 else float(attrs["velocity"])
        out["monitor"] = json.loads(attrs["monitor"])
        out["config"] = json.loads(attrs["config"])
        out["region_labels"] = json.loads(attrs.get("region_labels", "[]"))
        out["provenance"] = read_provenance(f)
    return out
