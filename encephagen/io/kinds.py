"""Every HDF5 file kind encephagen writes, declared in this one module.

A kind is the layout a file must have to pass validation (:func:`encephagen.io.validate_h5`):
required root datasets (with their number of dimensions), groups and attributes, an optional
check of shapes and values, and the attributes that files read together must share. The writers
and the readers name a kind; they never declare one. ``encephagen/io/__init__.py`` imports this
module, so every kind is known before any file is written or validated (an unknown kind is an
error at write and at validation), whichever modules the caller imported.

The constants below that name datasets (the metric names of a simulation, the regime names) are
part of the file layout; tests/test_io_contract.py checks that the engines write exactly these.
"""
from __future__ import annotations

import json

import h5py

from encephagen.io.h5 import Kind, _attr_str, _json_attr, declare

# ----------------------------------------------------------------------- layout constants
SIMULATION_METRICS = ("mean", "var", "rms", "acf_tau_ms", "dominant_freq_hz", "silenced")
SPIKING_METRICS = ("rate", "rate_e", "rate_i", "cv_isi", "fano", "synchrony", "acf_tau_ms", "dominant_freq_hz")
# the names spiking files written before the study layer's shared metric names used (still readable)
SPIKING_OLD_NAMES = {"acf_tau_ms": "acf_timescale", "dominant_freq_hz": "peak_frequency"}
REGIMES = ("fixed_point", "oscillating", "saturated", "silent", "diverged")
SIMULATION_PER_RUN = ("atlas", "family", "null_index", "seed_id", "seed", "G", "noise")
NULLS_PER_NULL = ("null_index", "seed", "swaps_requested", "swaps_achieved")


def check_regimes(f: h5py.File, B: int, n: int) -> list[str]:
    """Shapes of ``regime`` (B, n), ``regime_fraction`` (B, 5), ``network_regime`` (B,) and the legend."""
    problems = []
    for key, shape in (("regime", (B, n)), ("regime_fraction", (B, len(REGIMES))), ("network_regime", (B,))):
        if key in f and f[key].shape != shape:
            problems.append(f"dataset {key!r} has shape {f[key].shape}, expected {shape}")
    if "regime" in f and "legend" not in f["regime"].attrs:
        problems.append("dataset 'regime' has no 'legend' attribute")
    return problems


# ----------------------------------------------------------------------------- simulation
def _simulation_shapes(f: h5py.File) -> list[str]:
    problems = []
    B = f["seed"].shape[0]
    for name in SIMULATION_PER_RUN:
        if f[name].shape[0] != B:
            problems.append(f"dataset {name!r} has {f[name].shape[0]} rows, 'seed' has {B}")
    n = int(f.attrs["n"])
    for m in SIMULATION_METRICS:
        key = f"metrics/{m}"
        if key not in f:
            problems.append(f"dataset {key!r} missing")
        elif f[key].shape != (B, n):
            problems.append(f"dataset {key!r} has shape {f[key].shape}, expected {(B, n)}")
    for key in ("fc_bold", "fc_activity"):
        if key in f and f[key].shape != (B, n, n):
            problems.append(f"dataset {key!r} has shape {f[key].shape}, expected {(B, n, n)}")
    problems += check_regimes(f, B, n)
    return problems


def _simulation_requirements(f: h5py.File) -> list[str]:
    if _attr_str(f, "status", "ok") == "skipped":
        return [] if _attr_str(f, "reason") else ["status 'skipped' without a 'reason' attribute"]
    problems = []
    try:
        monitor = _json_attr(f, "monitor")
    except (json.JSONDecodeError, TypeError):
        return ["attribute 'monitor' is not JSON"]
    try:
        _json_attr(f, "config")
    except (json.JSONDecodeError, TypeError):
        problems.append("attribute 'config' is not JSON")
    # the monitors that were on must have left their FC: the aggregate never falls back from
    # BOLD FC to activity FC for one network
    for flag, ds in (("bold", "fc_bold"), ("fc_activity", "fc_activity")):
        if monitor.get(flag) and ds not in f:
            problems.append(f"dataset {ds!r} missing (monitor {flag!r} was on)")
    return problems


def _simulation_check(f: h5py.File) -> list[str]:
    return _simulation_shapes(f) + _simulation_requirements(f)


SIMULATION = declare(Kind(
    name="simulation",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "G": 1, "noise": 1,
              "regime": 2, "regime_fraction": 2, "network_regime": 1},
    groups=("params", "metrics"),
    attrs=("model", "n", "dt", "duration", "transient", "velocity", "integrator", "dtype", "device",
           "monitor", "config"),
    check=_simulation_check,
    sibling_attrs=("model", "n", "dt", "duration", "transient", "velocity", "integrator", "dtype", "monitor",
                   "config"),
))


# -------------------------------------------------------------------------------- spiking
def _spiking_check(f: h5py.File) -> list[str]:
    probs = []
    B = f["seed"].shape[0]
    for m in SPIKING_METRICS:
        names = [x for x in (m, SPIKING_OLD_NAMES.get(m)) if x and x in f]
        if not names:
            probs.append(f"dataset {m!r} missing")
        for name in names:
            if f[name].ndim != 2 or f[name].shape[0] != B:
                probs.append(f"dataset {name!r} has shape {f[name].shape}, expected ({B}, regions) (one row per run)")
    probs += check_regimes(f, B, int(f["labels"].shape[0]))
    return probs


SPIKING = declare(Kind(
    name="spiking",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "G": 1,
              "labels": 1, "flags": 1, "regime": 2, "regime_fraction": 2, "network_regime": 1,
              **{m: 2 for m in SPIKING_METRICS if m not in SPIKING_OLD_NAMES}},   # renamed ones: the check
    attrs=("model", "dt", "duration", "transient", "params"),
    check=_spiking_check,
))

# ------------------------------------------------------------------------------ aggregate
AGGREGATE = declare(Kind(
    name="aggregate",
    datasets={"network_family": 1, "network_null_index": 1, "network": 1, "seed_id": 1, "param": 1,
              "param_G": 1, "region": 1, "region_label": 1, "region_class": 1, "seed": 1, "run_seed": 3,
              "fc_real": 4, "fc_family_mean": 4, "families": 1},
    groups=("regional", "empirical_fc"),
    attrs=("atlas", "model", "n_networks", "n_seeds", "n_params", "param_columns", "n_missing_runs"),
))


# -------------------------------------------------------------------------------- nulls
def _nulls_check(f: h5py.File) -> list[str]:
    problems = []
    k = f["weights"].shape[0]
    n = f["labels"].shape[0]
    if f["weights"].shape[1:] != (n, n):
        problems.append(f"weights have shape {f['weights'].shape}, expected (k, {n}, {n}) for {n} labels")
    if f["pair_lengths"].shape != (n, n):
        problems.append(f"pair_lengths have shape {f['pair_lengths'].shape}, expected ({n}, {n})")
    for name in NULLS_PER_NULL:
        if f[name].shape != (k,):
            problems.append(f"{name} has shape {f[name].shape}, expected ({k},)")
    status = f.attrs.get("status", "ok")
    if status not in ("ok", "skipped"):
        problems.append(f"status attribute is {status!r}, expected 'ok' or 'skipped'")
    if status == "skipped" and not f.attrs.get("reason", ""):
        problems.append("status is 'skipped' but no reason is recorded")
    return problems


NULLS = declare(Kind(
    name="nulls",
    datasets={"weights": 3, "null_index": 1, "seed": 1, "swaps_requested": 1,
              "swaps_achieved": 1, "labels": 1, "source_weights": 2, "pair_lengths": 2},
    attrs=("family", "source", "directed", "status", "reason", "master_seed", "params"),
    check=_nulls_check,
))

# -------------------------------------------------------------------------------- hopf
HOPF_SWEEP = declare(Kind(
    name="hopf_sweep",
    datasets={"G": 1, "null_index": 1, "seed": 1, "r_train_pearson": 2, "r_train_spearman": 2,
              "r_test_pearson": 2, "r_test_spearman": 2, "best_index": 1, "best_G": 1, "fc_best": 3},
    attrs=("atlas", "family", "train", "test", "fit_metric", "params"),
))

HOPF_HETEROGENEITY = declare(Kind(
    name="hopf_heterogeneity",
    datasets={"bias_grid": 1, "scale_grid": 1, "r_train": 2, "r_test": 2, "null_best_train": 1,
              "null_test": 1, "t1t2": 1},
    attrs=("atlas", "train", "test", "G", "best", "null_kind", "null_seed", "p_test", "p_gain"),
))


# ---------------------------------------------------------------------------- connectomes
def _connectome_requirements(f: h5py.File) -> list[str]:
    """Every per-region vector has one entry per region; lengths match weights (consumers index
    them together: a wrong length used to end in a pandas length error far from the file)."""
    w = f["weights"]
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        return [f"dataset 'weights' has shape {w.shape}, expected a square matrix"]
    n = w.shape[0]
    problems = []
    if f["lengths"].shape != w.shape:
        problems.append(f"dataset 'lengths' has shape {f['lengths'].shape}, 'weights' has {w.shape}")
    for name in ("labels", "hemisphere", "cortical", "region_class"):
        if name in f and f[name].shape[0] != n:
            problems.append(f"per-region dataset {name!r} has {f[name].shape[0]} entries for {n} regions")
    return problems


CONNECTOME = declare(Kind(
    name="connectome",
    datasets={"weights": 2, "lengths": 2, "labels": 1, "hemisphere": 1, "cortical": 1, "region_class": 1},
    attrs=("name", "directed", "weight_kind", "lengths_source", "licence", "citation"),
    check=_connectome_requirements,
))

CONNECTOME_SUBJECTS = declare(Kind(
    name="connectome_subjects",
    datasets={"weights": 3, "weights_raw": 3, "lengths": 3, "subjects": 1, "labels": 1},
    attrs=("name", "normalisation"),
))

EMPIRICAL_FC = declare(Kind(
    name="empirical_fc",
    datasets={"fc": 2, "labels": 1},
    attrs=("dataset", "tr", "bandpass", "source", "group_method"),
))

KINDS = (SIMULATION, SPIKING, AGGREGATE, NULLS, HOPF_SWEEP, HOPF_HETEROGENEITY, CONNECTOME, CONNECTOME_SUBJECTS,
         EMPIRICAL_FC)

# ------------------------------------------------------------------------- plastic (learn)
PLASTIC = declare(Kind(
    name="plastic",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "pattern_seed": 1,
              "G": 1, "plastic": 1, "labels": 1, "rate": 2, "weights/offset": 1, "weights/initial": 1,
              "weights/final": 1, "trajectory/step": 1},
    groups=("trials", "weights", "weight_change", "trajectory"),
    attrs=("model", "protocol", "dt", "config", "params", "w_max"),
))
