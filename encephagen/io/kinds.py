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

import numpy as np

from encephagen.io.h5 import Dim, Kind, _attr_str, _json_attr, coordinate_values, declare

# ----------------------------------------------------------------------- layout constants
SIMULATION_METRICS = ("mean", "var", "rms", "acf_tau_ms", "dominant_freq_hz", "silenced")
SPIKING_METRICS = ("rate", "rate_e", "rate_i", "cv_isi", "fano", "synchrony", "acf_tau_ms", "dominant_freq_hz")
# the names spiking files written before the study layer's shared metric names used (still readable)
SPIKING_OLD_NAMES = {"acf_tau_ms": "acf_timescale", "dominant_freq_hz": "peak_frequency"}
REGIMES = ("fixed_point", "oscillating", "saturated", "silent", "diverged")   # = REGIME_DIMS' values
SIMULATION_PER_RUN = ("atlas", "family", "null_index", "seed_id", "seed", "G", "noise")
NULLS_PER_NULL = ("null_index", "seed", "swaps_requested", "swaps_achieved")


# ------------------------------------------------------------- dimensions and coordinates
# How each kind's arrays are labelled (encephagen.io.h5.label_dimensions, applied by the atomic
# writer): a coordinate is a copy of a dataset the writer wrote, an index over an axis, or fixed
# values. Square region x region matrices use two dimensions: (target, source) for connectivity
# (weights[target, source], the package's orientation), (region_i, region_j) for FC.
def copy_of(path: str):
    """The coordinate is a copy of dataset ``path`` (e.g. the region labels)."""
    def values(f):
        return coordinate_values(f, path)

    values.source = path    # a dimension copied from another is made when the copy is needed
    return values


def index_of(path: str, axis: int = 0):
    """The coordinate is 0..k-1 over ``axis`` of dataset ``path``."""
    return lambda f: np.arange(f[path].shape[axis], dtype=np.int64) if path in f else None


def fixed(values):
    return lambda f: np.asarray(values)


def _region_from_attr(f):
    """A simulation's region labels (root attribute ``region_labels``, JSON); 0..n-1 without."""
    labels = json.loads(_attr_str(f, "region_labels", "[]") or "[]")
    if labels:
        return np.array(labels, dtype=str)
    for p in ("metrics/mean", "regime"):
        if p in f and f[p].ndim == 2:
            return np.arange(f[p].shape[1], dtype=np.int64)
    return None


def region_dims(source) -> tuple[Dim, ...]:
    """``region`` from ``source`` and its two copies for square matrices."""
    return (Dim("region", source), Dim("region_i", copy_of("region")), Dim("region_j", copy_of("region")),
            Dim("target", copy_of("region")), Dim("source", copy_of("region")))


REGIME_DIMS = (Dim("regime_name", fixed(("fixed_point", "oscillating", "saturated", "silent", "diverged"))),)
RUN = Dim("run", index_of("seed"))
PER_RUN_DIMS = {"regime": ("run", "region"), "regime_fraction": ("run", "regime_name"), "network_regime": ("run",)}
UNITS_FC = "1 (Pearson r)"


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


SIMULATION = Kind(
    name="simulation",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "G": 1, "noise": 1,
              "regime": 2, "regime_fraction": 2, "network_regime": 1},
    groups=("params", "metrics"),
    attrs=("model", "n", "dt", "duration", "transient", "velocity", "integrator", "dtype", "device",
           "monitor", "config"),
    check=_simulation_check,
    sibling_attrs=("model", "n", "dt", "duration", "transient", "velocity", "integrator", "dtype", "monitor",
                   "config"),
    dims=(RUN, *region_dims(_region_from_attr), *REGIME_DIMS, Dim("bold_t", units="ms")),
    variables={**{k: ("run",) for k in SIMULATION_PER_RUN}, "params/*": {1: ("run",), 2: ("run", "region")},
               "metrics/*": ("run", "region"), **PER_RUN_DIMS, "fc_bold": ("run", "region_i", "region_j"),
               "fc_activity": ("run", "region_i", "region_j"), "bold": ("run", "bold_t", "region")},
    units={"metrics/mean": "1", "metrics/var": "1", "metrics/rms": "1", "metrics/acf_tau_ms": "ms",
           "metrics/dominant_freq_hz": "Hz", "fc_*": UNITS_FC, "bold": "1", "noise": "1"},
)


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


SPIKING = Kind(
    name="spiking",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "G": 1,
              "labels": 1, "flags": 1, "regime": 2, "regime_fraction": 2, "network_regime": 1,
              **{m: 2 for m in SPIKING_METRICS if m not in SPIKING_OLD_NAMES}},   # renamed ones: the check
    attrs=("model", "dt", "duration", "transient", "params"),
    check=_spiking_check,
    dims=(RUN, *region_dims(copy_of("labels")), *REGIME_DIMS, Dim("spectrum_freq", units="Hz"),
          Dim("bold_times", units="ms"), Dim("rate_bin", index_of("pop_rate", 1))),
    variables={**{k: ("run",) for k in ("atlas", "family", "null_index", "seed_id", "seed", "build_seed", "G",
                                        "flags", "n_synapses")},
               **{m: ("run", "region") for m in SPIKING_METRICS + tuple(SPIKING_OLD_NAMES.values())},
               **PER_RUN_DIMS, "labels": ("region",), "tau_m": ("region",),
               "spectrum": ("run", "spectrum_freq", "region"), "fc_bold": ("run", "region_i", "region_j"),
               "fc_rate": ("run", "region_i", "region_j"), "bold": ("run", "bold_times", "region"),
               "pop_rate": ("run", "rate_bin", "region")},
    units={"G": "1", "rate*": "Hz", "cv_isi": "1", "fano": "1", "synchrony": "1", "acf_t*": "ms",
           "dominant_freq_hz": "Hz", "peak_frequency": "Hz", "spectrum": "Hz^2/Hz", "fc_*": UNITS_FC,
           "pop_rate": "Hz", "tau_m": "ms", "bold": "1"},
)

# ------------------------------------------------------------------------------ aggregate
AGGREGATE = declare(Kind(
    name="aggregate",
    datasets={"network_family": 1, "network_null_index": 1, "network": 1, "seed_id": 1, "param": 1,
              "param_G": 1, "region": 1, "region_label": 1, "region_class": 1, "seed": 1, "run_seed": 3,
              "fc_real": 4, "fc_family_mean": 4, "families": 1},
    groups=("regional", "empirical_fc"),
    attrs=("atlas", "model", "n_networks", "n_seeds", "n_params", "param_columns", "n_missing_runs"),
    # network, seed, param and region are made scales by the writer (aggregate._write_store)
    dims=(Dim("network"), Dim("seed"), Dim("param"), Dim("region"), Dim("region_i", copy_of("region")),
          Dim("region_j", copy_of("region")), Dim("family", copy_of("families")),
          Dim("missing_run", index_of("missing_runs", 0)), Dim("missing_column", index_of("missing_runs", 1))),
    variables={"network_*": ("network",), "seed_id": ("seed",), "param_*": ("param",), "region_*": ("region",),
               "run_seed": ("network", "seed", "param"), "regime": ("network", "seed", "param", "region"),
               "regional/*": ("network", "seed", "param", "region"),
               "fc_real": ("seed", "param", "region_i", "region_j"),
               "fc_family_mean": ("family", "param", "region_i", "region_j"), "families": ("family",),
               "empirical_fc/*": ("region_i", "region_j"), "missing_runs": ("missing_run", "missing_column")},
    units={"fc_*": UNITS_FC, "empirical_fc/*": UNITS_FC, "param_G": "1"},
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
    dims=(Dim("null_index"), *region_dims(copy_of("labels"))),
    variables={"weights": ("null_index", "target", "source"), **{k: ("null_index",) for k in NULLS_PER_NULL},
               "labels": ("region",), "source_weights": ("target", "source"), "pair_lengths": ("target", "source")},
    units={"weights": "1", "source_weights": "1", "pair_lengths": "mm"},
))

# -------------------------------------------------------------------------------- hopf
HOPF_SWEEP = Kind(
    name="hopf_sweep",
    datasets={"G": 1, "null_index": 1, "seed": 1, "r_train_pearson": 2, "r_train_spearman": 2,
              "r_test_pearson": 2, "r_test_spearman": 2, "best_index": 1, "best_G": 1, "fc_best": 3},
    attrs=("atlas", "family", "train", "test", "fit_metric", "params"),
    dims=(Dim("null_index"), Dim("G", units="1/s"), *region_dims(lambda f: coordinate_values(f, "labels") if "labels"
                                                             in f else index_of("fc_best", 1)(f))),
    variables={"r_*": ("null_index", "G"), "fc_best": ("null_index", "region_i", "region_j"), "labels": ("region",),
               **{k: ("null_index",) for k in ("seed", "best_index", "best_G", "at_edge", "sc_*")}},
    units={"r_*": "1 (correlation)", "fc_best": UNITS_FC, "best_G": "1/s", "sc_*": "1 (correlation)"},
)

# ------------------------------------------------------------------------- plastic (learn)
def _trial_index(f):
    """0..T-1 over the trials of the protocol (every ``trials/*`` dataset is runs x trials)."""
    if "trials" in f and len(f["trials"]):
        first = next(iter(f["trials"].values()))
        return np.arange(first.shape[1], dtype=np.int64)
    return None


PLASTIC = Kind(
    name="plastic",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "pattern_seed": 1,
              "G": 1, "plastic": 1, "labels": 1, "rate": 2, "weights/offset": 1, "weights/initial": 1,
              "weights/final": 1, "trajectory/step": 1},
    groups=("trials", "weights", "weight_change", "trajectory"),
    attrs=("model", "protocol", "dt", "config", "params", "w_max"),
    # per-synapse weights of all runs are concatenated: run r owns synapse offset[r]:offset[r+1]
    dims=(RUN, Dim("region", copy_of("labels")), Dim("trial", _trial_index),
          Dim("synapse", index_of("weights/initial")), Dim("run_bound", index_of("weights/offset")),
          Dim("record", index_of("trajectory/step"))),
    variables={**{k: ("run",) for k in ("atlas", "family", "null_index", "seed_id", "seed", "build_seed",
                                        "pattern_seed", "G", "plastic")},
               "labels": ("region",), "rate": ("run", "region"), "trials/*": ("run", "trial"),
               "weights/offset": ("run_bound",), "weights/*": ("synapse",), "weight_change/*": ("run",),
               "trajectory/step": ("record",), "trajectory/*": ("run", "record")},
    units={"G": "1", "rate": "Hz", "trials/rate*": "Hz", "weights/initial": "mV", "weights/final": "mV",
           "trajectory/step": "steps (dt)", "trajectory/m*": "mV", "trajectory/sd": "mV",
           "weight_change/mean_*": "mV", "weight_change/frac_*": "1"},
)

# ---------------------------------------------------------------- evoked (claim 7, learn.evoked)
EVOKED = Kind(
    name="evoked",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "G": 1, "ffi": 1,
              "ffi_scale": 1, "labels": 1, "stimulated": 1, "rate": 2, "hop": 2, "path_length": 2, "base_rate": 3,
              "stim_rate": 3},
    attrs=("model", "dt", "config", "params"),
    dims=(RUN, Dim("region", copy_of("labels")), Dim("trial", index_of("base_rate", 1))),
    variables={**{k: ("run",) for k in ("atlas", "family", "null_index", "seed_id", "seed", "build_seed", "G", "ffi",
                                        "ffi_scale")},
               "labels": ("region",), "stimulated": ("region",), "rate": ("run", "region"), "hop": ("run", "region"),
               "path_length": ("run", "region"), "base_rate": ("run", "trial", "region"),
               "stim_rate": ("run", "trial", "region")},
    units={"G": "1", "ffi_scale": "1", "rate": "Hz", "base_rate": "Hz", "stim_rate": "Hz", "hop": "1 (edges)",
           "path_length": "1 (sum of 1 / normalised weight)"},
)

# ---------------------------------------------------------- cognition (claim 8, learn.cognition)
COGNITION = Kind(
    name="cognition",
    datasets={"atlas": 1, "family": 1, "null_index": 1, "seed_id": 1, "seed": 1, "build_seed": 1, "G": 1,
              "condition": 1, "labels": 1, "prefrontal": 1, "input": 1, "patterns": 2, "pr_label": 1, "rate": 2,
              "wm_base": 3, "wm_cue": 3, "wm_delay": 4, "pr_rate": 3},
    attrs=("model", "dt", "config", "params"),
    dims=(RUN, Dim("region", copy_of("labels")), Dim("wm_trial", index_of("wm_base", 1)),
          Dim("delay_bin", index_of("wm_delay", 2)), Dim("pr_trial", index_of("pr_label")),
          Dim("pattern", index_of("patterns"))),
    variables={**{k: ("run",) for k in ("atlas", "family", "null_index", "seed_id", "seed", "build_seed", "G",
                                        "condition")},
               "labels": ("region",), "prefrontal": ("region",), "input": ("region",),
               "patterns": ("pattern", "region"), "pr_label": ("pr_trial",), "rate": ("run", "region"),
               "wm_base": ("run", "wm_trial", "region"), "wm_cue": ("run", "wm_trial", "region"),
               "wm_delay": ("run", "wm_trial", "delay_bin", "region"), "pr_rate": ("run", "pr_trial", "region")},
    units={"G": "1", "condition": "0 nmda_off, 1 nmda_on, 2 uncoupled", "rate": "Hz", "wm_base": "Hz",
           "wm_cue": "Hz", "wm_delay": "Hz", "pr_rate": "Hz", "patterns": "1 (region driven)"},
)

# -------------------------------------------------------------------- embody (closed loop)
EMBODY_PER_RUN = ("atlas", "family", "null_index", "seed_id", "seed", "build_seed", "brain", "G", "steps", "dx",
                  "velocity", "return", "terminated", "truncated", "cpu_s")
EMBODY = Kind(
    name="embody",
    datasets={k: 1 for k in EMBODY_PER_RUN},
    attrs=("model", "controller", "body", "dt", "max_steps", "config", "versions", "gait"),
    dims=(RUN,),
    variables={k: ("run",) for k in EMBODY_PER_RUN},
    units={"G": "1 (CPG current per relative rate change)", "steps": "control steps (dt)", "dx": "m",
           "velocity": "m/s", "return": "1 (Walker2d-v5 reward)", "cpu_s": "s", "terminated": "1 (bool)",
           "truncated": "1 (bool)"},
)

# ----------------------------------------------------------------------------------- runs
# ONE file kind for the runs of every study engine (encephagen.study): the root attribute
# ``engine`` names the engine and so the layout. Files written before as kind 'simulation',
# 'spiking' or 'hopf_sweep' are refused by validation (re-run them); those names remain the
# names of the layouts (``validate_h5(path, "simulation")`` = kind 'runs', engine 'neural_mass').
# A new engine adds its layout here.
RUN_LAYOUTS = {"neural_mass": SIMULATION, "lif": SPIKING, "hopf_linear": HOPF_SWEEP, "plastic_lif": PLASTIC,
               "evoked_lif": EVOKED, "embody": EMBODY, "cognition_lif": COGNITION}
RUNS = declare(Kind(name="runs", attrs=("engine",), variant_attr="engine", variants=RUN_LAYOUTS))

HOPF_HETEROGENEITY = declare(Kind(
    name="hopf_heterogeneity",
    datasets={"bias_grid": 1, "scale_grid": 1, "r_train": 2, "r_test": 2, "null_best_train": 1,
              "null_test": 1, "t1t2": 1},
    attrs=("atlas", "train", "test", "G", "best", "null_kind", "null_seed", "p_test", "p_gain"),
    dims=(Dim("bias_grid", units="1/s"), Dim("scale_grid", units="1"), Dim("map_null", index_of("null_test")),
          Dim("region", lambda f: coordinate_values(f, "labels") if "labels" in f else index_of("t1t2")(f))),
    variables={"r_train": ("bias_grid", "scale_grid"), "r_test": ("bias_grid", "scale_grid"),
               "null_best_train": ("map_null",), "null_test": ("map_null",), "t1t2": ("region",),
               "labels": ("region",)},
    units={"r_*": "1 (correlation)", "null_*": "1 (correlation)", "t1t2": "1 (T1w/T2w ratio)"},
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
    dims=(*region_dims(copy_of("labels")), Dim("xyz", fixed(("x", "y", "z")))),
    variables={"weights": ("target", "source"), "lengths": ("target", "source"), "distances": ("target", "source"),
               "centres": ("region", "xyz"), **{k: ("region",) for k in ("labels", "hemisphere", "cortical",
                                                                        "region_class")}},
    units={"weights": "1", "lengths": "mm", "distances": "mm", "centres": "mm"},
))

CONNECTOME_SUBJECTS = declare(Kind(
    name="connectome_subjects",
    datasets={"weights": 3, "weights_raw": 3, "lengths": 3, "subjects": 1, "labels": 1},
    attrs=("name", "normalisation"),
    dims=(*region_dims(copy_of("labels")), Dim("subject", copy_of("subjects"))),
    variables={"weights": ("subject", "target", "source"), "weights_raw": ("subject", "target", "source"),
               "lengths": ("subject", "target", "source"), "subjects": ("subject",), "labels": ("region",)},
    units={"weights*": "1", "lengths": "mm"},
))

EMPIRICAL_FC = declare(Kind(
    name="empirical_fc",
    datasets={"fc": 2, "labels": 1},
    attrs=("dataset", "tr", "bandpass", "source", "group_method"),
    dims=(*region_dims(copy_of("labels")), Dim("subject", copy_of("subjects")), Dim("window_i", index_of("fcd", 1)),
          Dim("window_j", index_of("fcd", 2)), Dim("fcd_pair", index_of("fcd_tril")),
          Dim("fcd_bin", index_of("fcd_hist")), Dim("fcd_edge", index_of("fcd_edges"))),
    variables={"fc": ("region_i", "region_j"), "labels": ("region",), "subject_fc": ("subject", "region_i", "region_j"),
               "subjects": ("subject",), "fcd": ("subject", "window_i", "window_j"), "fcd_tril": ("fcd_pair",),
               "fcd_hist": ("fcd_bin",), "fcd_edges": ("fcd_edge",)},
    units={"fc": UNITS_FC, "subject_fc": UNITS_FC, "fcd*": "1 (correlation)"},
))

KINDS = (RUNS, AGGREGATE, NULLS, HOPF_HETEROGENEITY, CONNECTOME, CONNECTOME_SUBJECTS,
         EMPIRICAL_FC)

