"""Config sections of the engines, resolved and checked without importing torch.

The defaults come from the schema alone (:func:`encephagen.schemas.section_defaults`): no copy of
them is written here. The workflow calls these helpers while it parses the Snakefile
(``rules/simulate_common.smk``), so this module and everything it imports at the top are
torch-free (``tests/test_study.py`` checks it in a fresh interpreter). Model parameter sets come
from :mod:`encephagen.sim.models` and :mod:`encephagen.spiking.params`, monitor settings from
:mod:`encephagen.sim.monitor_config` -- all torch-free; the spiking monitor settings are checked
only when :func:`resolve_spiking` is called (at job time).

``ParameterError`` is :class:`encephagen.sim.models.ParameterError` (one class everywhere; the
linear Hopf model's ``HopfParameterError`` is the same class).
"""
from __future__ import annotations

import copy
import json
from typing import Mapping

import numpy as np

from encephagen.schemas import section_defaults
from encephagen.sim.models import ParameterError, get_model
from encephagen.sim.monitor_config import MonitorConfig, check_bold_samples

__all__ = ["ParameterError", "SIM_DEFAULTS", "LIF_DEFAULTS", "HOPF_DEFAULTS", "NORMALIZE", "PLACEMENTS",
           "ENGINE_MODELS", "ENGINE_SILENCING", "model_names", "model_config", "resolve_config", "check_operating_point",
           "presweep_grid", "round_sig", "resolve_spiking", "resolve_hopf", "check_simulation_config"]

SIM_DEFAULTS: dict = section_defaults("simulate")
LIF_DEFAULTS: dict = section_defaults("spiking")
# the engine's settings; 'enabled' switches the workflow stage on and is no parameter of the engine
HOPF_DEFAULTS: dict = {k: v for k, v in section_defaults("hopf").items() if k != "enabled"}
NORMALIZE = ("none", "max", "mean_strength")
PLACEMENTS = ("below", "centred")
# models that are no neural mass of encephagen.sim.models: their engine reads its own config
# section (encephagen.study.engine.ENGINES); 'lif' is simulated by the spiking engine
ENGINE_MODELS = {"lif": "spiking"}
# when a region of such a model counts as silenced (the silencing order): the regional metric, the
# key of the threshold in the engine's section, below or above it (neural masses: analysis.silencing)
ENGINE_SILENCING = {"lif": {"metric": "rate", "threshold": "monitors.silent_hz", "below": True}}


def canonical_model(name: str) -> str:
    """The canonical name of a model of ``simulate.model`` (aliases of neural masses resolved)."""
    return name if name in ENGINE_MODELS else get_model(name).name


def model_names(section: Mapping | None) -> list[str]:
    """The models of a ``simulate`` section (``model``: one name or a list), canonical names."""
    m = (section or {}).get("model", SIM_DEFAULTS["model"])
    names = [m] if isinstance(m, str) else list(m or [])
    if not names:
        raise ParameterError("simulate.model must name at least one model")
    out = [canonical_model(n) for n in names]
    if len(set(out)) != len(out):
        raise ParameterError(f"simulate.model lists a model twice: {names}")
    return out


def _merge(base: Mapping, over: Mapping) -> dict:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else copy.deepcopy(v)
    return out


def model_config(section: Mapping | None, model: str) -> dict:
    """The settings of ONE model: ``simulate.per_model[model]`` deep-merged onto the section.

    ``simulate.model`` may list several models (e.g. ``[wilson_cowan, hopf]``); every key of
    ``simulate`` applies to each of them unless ``simulate.per_model.<model>`` overrides it
    (nested mappings such as ``monitors`` are merged key by key). Unknown keys are refused
    naming ``simulate.per_model.<model>.<key>``; entries of models that simulate.model does not
    list are ignored (a --configfile that runs only ``lif`` is layered on config/config.yaml).
    """
    section = dict(section or {})
    per = dict(section.pop("per_model", None) or {})
    names = model_names(section)
    name = canonical_model(model)
    if name not in names:
        raise ParameterError(f"model {model!r} is not in simulate.model ({names})")
    for key in per:   # entries of models not listed are ignored (config files are layered)
        canon = canonical_model(key)
        if canon != key:
            raise ParameterError(f"simulate.per_model.{key}: use the canonical model name {canon!r}")
    over = dict(per.get(name) or {})
    allowed = set(SIM_DEFAULTS) - {"model", "per_model"}
    bad = sorted(set(over) - allowed)
    if bad:
        raise ParameterError(f"config key simulate.per_model.{name}.{bad[0]} unknown; known: {sorted(allowed)}")
    for sub in ("monitors", "operating_point"):
        extra = sorted(set(over.get(sub) or {}) - set(SIM_DEFAULTS[sub]))
        if extra:
            raise ParameterError(f"config key simulate.per_model.{name}.{sub}.{extra[0]} unknown; "
                                 f"known: {sorted(SIM_DEFAULTS[sub])}")
    out = _merge(section, over)
    out["model"] = name
    return out


def resolve_config(cfg: Mapping | None) -> dict:
    """The ``simulate`` settings of one neural-mass model: defaults filled in; unknown keys and bad
    values refused naming ``simulate.<key>``.

    ``cfg`` describes one model; a section with ``per_model`` overrides is first reduced to its
    (single) model by :func:`model_config`.
    """
    cfg = dict(cfg or {})
    if not isinstance(cfg.get("model", SIM_DEFAULTS["model"]), str):
        names = model_names(cfg)
        if len(names) != 1:
            raise ParameterError(f"simulate.model lists several models {names}: take one model's settings with "
                                 "encephagen.study.config.model_config(section, name) (CLI: --model NAME)")
        cfg["model"] = names[0]
    if cfg.get("per_model"):
        cfg = model_config(cfg, cfg.get("model", SIM_DEFAULTS["model"]))
    cfg.pop("per_model", None)
    out = copy.deepcopy(SIM_DEFAULTS)
    del out["per_model"]
    unknown = sorted(set(cfg) - set(out))
    if unknown:
        raise ParameterError(f"config key(s) simulate.{unknown[0]} unknown (all unknown: {unknown}); "
                             f"known: {sorted(SIM_DEFAULTS)}")
    for k, v in cfg.items():
        if k in ("monitors", "operating_point"):
            sub = dict(v or {})
            bad = sorted(set(sub) - set(SIM_DEFAULTS[k]))
            if bad:
                raise ParameterError(f"config key simulate.{k}.{bad[0]} unknown; known: {sorted(SIM_DEFAULTS[k])}")
            out[k] = _merge(out[k], sub)
        else:
            out[k] = v
    model = get_model(out["model"])
    out["model"] = model.name
    if isinstance(out["G"], (int, float)):
        out["G"] = [float(out["G"])]
    if isinstance(out["G"], str):
        if out["G"] != "auto":
            raise ParameterError(f"simulate.G must be a list of numbers or 'auto', got {out['G']!r}")
    elif not out["G"]:
        raise ParameterError("simulate.G must list at least one value")
    if out["normalize"] not in NORMALIZE:
        raise ParameterError(f"simulate.normalize must be one of {NORMALIZE}, got {out['normalize']!r}")
    if not (isinstance(out["weight_scale"], (int, float)) and out["weight_scale"] > 0):
        raise ParameterError(f"simulate.weight_scale must be a number > 0, got {out['weight_scale']!r}")
    check_operating_point(out["operating_point"])
    if out["compile"] not in (True, False, "auto"):
        raise ParameterError(f"simulate.compile must be true, false or 'auto', got {out['compile']!r}")
    for key in ("seeds_per_network", "batch_size"):
        if not isinstance(out[key], int) or out[key] < 1:
            raise ParameterError(f"simulate.{key} must be an integer >= 1, got {out[key]!r}")
    params = model.params(out["preset"], **dict(out["params"]))   # unknown names / presets refused here
    for name, values in dict(out["grid"]).items():
        if not hasattr(params, name):
            raise ParameterError(f"simulate.grid.{name}: {model.name} has no parameter {name!r}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ParameterError(f"simulate.grid.{name} must be a non-empty list of values")
    params.validate()
    mon = MonitorConfig(**out["monitors"]).validate(out["dt"])
    mon.check_bold_samples(float(out["duration"]), float(out["transient"]), "simulate.monitors")
    return out


def check_operating_point(op: Mapping) -> None:
    """Refuse bad ``simulate.operating_point`` values, naming the key."""
    k = "simulate.operating_point"
    if not (isinstance(op["num"], int) and op["num"] >= 1):
        raise ParameterError(f"{k}.num must be an integer >= 1, got {op['num']!r}")
    if op["placement"] not in PLACEMENTS:
        raise ParameterError(f"{k}.placement must be one of {PLACEMENTS}, got {op['placement']!r}")
    if not (isinstance(op["ratio"], (int, float)) and op["ratio"] > 0):
        raise ParameterError(f"{k}.ratio must be > 0, got {op['ratio']!r}")
    if op["placement"] == "below" and (op["ratio"] < 1 or float(op["ratio"]) != int(op["ratio"])):
        raise ParameterError(f"{k}.ratio must be a whole number of pre-sweep steps (>= 1) with placement 'below', "
                             f"got {op['ratio']!r}")
    if op["placement"] == "centred" and op["ratio"] <= 1:
        raise ParameterError(f"{k}.ratio must be > 1 (the factor between neighbouring G) with placement 'centred'")
    if not (isinstance(op["margin"], int) and op["margin"] >= 0):
        raise ParameterError(f"{k}.margin must be an integer >= 0, got {op['margin']!r}")
    ps = op["presweep"]
    extra = sorted(set(ps) - set(SIM_DEFAULTS["operating_point"]["presweep"]))
    if extra:
        raise ParameterError(f"config key {k}.presweep.{extra[0]} unknown")
    ps = {**SIM_DEFAULTS["operating_point"]["presweep"], **ps}
    if not (0 < ps["start"] < ps["stop"]) or not (isinstance(ps["num"], int) and ps["num"] >= 2):
        raise ParameterError(f"{k}.presweep needs 0 < start < stop and num >= 2, got {ps}")
    if ps["spacing"] not in ("log", "linear"):
        raise ParameterError(f"{k}.presweep.spacing must be 'log' or 'linear', got {ps['spacing']!r}")


def operating_point(section: Mapping | None) -> dict:
    """``operating_point`` of one model's settings with every default filled in."""
    return _merge(SIM_DEFAULTS["operating_point"], dict((section or {}).get("operating_point") or {}))


def presweep_grid(op: Mapping) -> np.ndarray:
    ps = {**SIM_DEFAULTS["operating_point"]["presweep"], **dict(op.get("presweep") or {})}
    f = np.geomspace if ps["spacing"] == "log" else np.linspace
    return round_sig(f(float(ps["start"]), float(ps["stop"]), int(ps["num"])))


def round_sig(x, digits: int = 6) -> np.ndarray:
    """Values rounded to ``digits`` significant digits: G values written to a table and read back
    are then exactly the values that were simulated."""
    return np.array([float(f"{v:.{digits}g}") for v in np.atleast_1d(np.asarray(x, dtype=float))])


# ----------------------------------------------------------------------------- spiking
def resolve_spiking(cfg: Mapping | None) -> dict:
    """The ``spiking`` section: defaults filled in; unknown keys and bad values refused naming
    ``spiking.<key>`` (ParameterError, a ValueError)."""
    from encephagen.spiking.params import LIFParams

    cfg = dict(cfg or {})
    out = copy.deepcopy(LIF_DEFAULTS)
    unknown = sorted(set(cfg) - set(LIF_DEFAULTS))
    if unknown:
        raise ParameterError(f"config key spiking.{unknown[0]} unknown (all unknown: {unknown}); "
                             f"known: {sorted(LIF_DEFAULTS)}")
    for k, v in cfg.items():
        if k in ("monitors", "params"):
            if k == "monitors":
                mu = sorted(set(v or {}) - set(LIF_DEFAULTS["monitors"]))
                if mu:
                    raise ParameterError(f"config key spiking.monitors.{mu[0]} unknown; "
                                         f"known: {sorted(LIF_DEFAULTS['monitors'])}")
            out[k].update(v or {})
        else:
            out[k] = v
    for k in ("dt", "duration"):
        if not (isinstance(out[k], (int, float)) and out[k] > 0):
            raise ParameterError(f"spiking.{k} must be a positive number of ms, got {out[k]!r}")
    if not (isinstance(out["transient"], (int, float)) and out["transient"] >= 0):
        raise ParameterError(f"spiking.transient must be >= 0 ms, got {out['transient']!r}")
    if not (isinstance(out["batch_size"], int) and out["batch_size"] >= 1):
        raise ParameterError(f"spiking.batch_size must be a positive integer, got {out['batch_size']!r}")
    if not (isinstance(out["G"], list) and out["G"] and all(isinstance(g, (int, float)) and g >= 0 for g in out["G"])):
        raise ParameterError(f"spiking.G must be a non-empty list of numbers >= 0, got {out['G']!r}")
    if out["device"] not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"spiking.device must be auto, cpu or cuda, got {out['device']!r}")
    if out["backend"] not in ("auto", "torch", "numba"):
        raise ParameterError(f"spiking.backend must be auto, torch or numba, got {out['backend']!r}")
    try:
        LIFParams.from_dict(out["params"])
    except ValueError as exc:
        raise ParameterError(f"spiking.params: {exc}") from None
    from encephagen.spiking.monitors import SpikeMonitorConfig   # torch: job time only

    mon = SpikeMonitorConfig(**out["monitors"]).validate(float(out["dt"]))
    mon.check_bold_samples(float(out["duration"]))
    return out


# ----------------------------------------------------------------------------- linear Hopf
def resolve_hopf(cfg: Mapping | None) -> dict:
    """The ``hopf`` section with defaults filled (the schema's; ``enabled`` is the workflow's switch
    and kept only if given)."""
    out = json.loads(json.dumps(HOPF_DEFAULTS))
    for k, v in (cfg or {}).items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


# ----------------------------------------------------------------------------- whole config
def check_simulation_config(config: Mapping) -> None:
    """Checks the schema cannot express, from the config alone (the workflow calls this before any
    job runs): with BOLD on, the simulation must keep at least ``min_bold_samples`` BOLD samples
    after the transient and the BOLD warm-up (refused naming the key otherwise)."""
    sim = dict(config.get("simulate") or {})
    if sim.get("model", SIM_DEFAULTS["model"]) == "lif":
        sp = dict(config.get("spiking") or {})
        mon = {**LIF_DEFAULTS["monitors"], **dict(sp.get("monitors") or {})}
        if mon["bold"]:
            check_bold_samples(float(sp.get("duration", LIF_DEFAULTS["duration"])), 0.0, float(mon["bold_warmup"]),
                               float(mon["bold_period"]), int(mon["min_bold_samples"]), "spiking.monitors")
        return
    mon = {**SIM_DEFAULTS["monitors"], **dict(sim.get("monitors") or {})}
    if mon["bold"]:
        check_bold_samples(float(sim.get("duration", SIM_DEFAULTS["duration"])),
                           float(sim.get("transient", SIM_DEFAULTS["transient"])), float(mon["bold_warmup"]),
                           float(mon["bold_period"]), int(mon["min_bold_samples"]), "simulate.monitors")
