"""The simulate stage's step (rule simulate_batch): one nulls-stage batch file in, one run file out.

Paths in; the networks (and a T1w/T2w table) are read here and handed to the study layer as
arrays (:func:`encephagen.study.run_study` with the registry's engine); the engine writes its
file through :mod:`encephagen.io`. No Snakemake here.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io import atomic_h5, write_array
from encephagen.io.tables import read_tsv
from encephagen.nulls import read_nulls
from encephagen.io.kinds import SIMULATION_METRICS as METRICS  # = encephagen.sim.runner.METRICS, without torch
from encephagen.steps.networks import batch_networks
from encephagen.study.config import SIM_DEFAULTS, resolve_config
from encephagen.study.regimes import write_regimes

log = logging.getLogger(__name__)


def set_threads(threads: int | None) -> None:
    """Use exactly the cores the scheduler granted (torch would otherwise take every core)."""
    if threads:
        import torch

        torch.set_num_threads(max(1, int(threads)))


def simulate_network_file(networks_path: str | Path, out_path: str | Path, simulate_cfg: Mapping, *,
                          master_seed: int, threads: int | None = None, device: str | None = None,
                          engine_cfg: Mapping | None = None, t1t2_path: str | Path | None = None) -> Path:
    """Simulate every network of one nulls-stage batch file (the real network's or a null batch).

    The engine is the registry's for ``simulate_cfg['model']`` (:func:`encephagen.study.engine_for_model`):
    a neural mass runs with ``simulate_cfg`` and writes a ``simulation`` file; a model whose engine
    has its own config section runs with ``engine_cfg`` (that section: ``lif`` -> the spiking engine
    with the ``spiking`` section, writing a ``spiking`` file). All take the same networks and the
    same seed rule.

    A batch whose family was refused by the nulls stage (e.g. rewiring a complete graph) gives a
    ``simulation`` file with zero runs that carries the refusal (``status='skipped'``, ``reason``),
    so the aggregation can report the family as skipped rather than silently absent.
    """
    nb = read_nulls(networks_path)
    if nb.status != "ok" or len(nb) == 0:  # decided before torch is imported (a skipped batch never needs it)
        return write_skipped_simulation(out_path, simulate_cfg, nb, reason=nb.reason or "empty batch")
    from encephagen.study import engine_for_model, run_study  # imports torch: only when simulating

    set_threads(threads)
    networks = batch_networks(nb)
    engine = engine_for_model(simulate_cfg.get("model", SIM_DEFAULTS["model"]))
    section = simulate_cfg if engine.section == "simulate" else (engine_cfg or {})
    context = {"region_labels": list(nb.labels)}
    if t1t2_path and engine.section != "simulate":
        context["t1t2"] = t1t2_by_label(t1t2_path, nb.labels)
    return run_study(engine, section, networks, master_seed, out_path, device=device,
                     provenance={"networks_file": str(networks_path), "null_seeds": nb.seed.tolist()}, **context)


def t1t2_by_label(path: str | Path, labels: Sequence[str]) -> np.ndarray:
    """T1w/T2w values in the connectome's region order (NaN where the table has no usable value)."""
    t = read_tsv(path, comment="#")  # names the file (a 0-byte table too)
    v = t["t1t2"].astype(float)
    if "status" in t.columns:
        v = v.where(t["status"].eq("ok"))
    by = dict(zip(t["label"].astype(str), v))
    missing = [lab for lab in labels if lab not in by]
    if missing:
        raise ValueError(f"{path}: no T1w/T2w row for region(s) {missing[:5]}")
    return np.array([by[lab] for lab in labels], dtype=float)


def write_skipped_simulation(out_path, simulate_cfg: Mapping, nb, reason: str) -> Path:
    cfg = resolve_config(simulate_cfg)
    n = nb.n
    with atomic_h5(out_path, kind="simulation", provenance={"networks_file": nb.path, "status": "skipped",
                                                             "reason": reason}) as f:
        for name in ("atlas", "family"):
            write_array(f, name, np.array([], dtype=str))
        for name in ("null_index", "seed_id", "seed"):
            write_array(f, name, np.zeros(0, dtype=np.int64))
        for name in ("G", "noise"):
            write_array(f, name, np.zeros(0))
        f.create_group("params")
        mg = f.create_group("metrics")
        for m in METRICS:
            write_array(mg, m, np.zeros((0, n)))
        write_regimes(f, np.zeros((0, n), dtype=np.int8))
        f.attrs.update({"model": cfg["model"], "n": n, "dt": float(cfg["dt"]), "duration": float(cfg["duration"]),
                        "transient": float(cfg["transient"]), "integrator": cfg["integrator"],
                        "dtype": cfg["dtype"], "device": "none", "velocity": -1.0, "max_delay_steps": 0,
                        "monitor": "{}", "config": "{}", "region_labels": "[]", "status": "skipped",
                        "reason": reason, "skipped_family": nb.family})
    log.warning("%s: family %s skipped by the nulls stage: %s", out_path, nb.family, reason)
    return Path(out_path)
