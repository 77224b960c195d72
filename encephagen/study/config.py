"""Config sections of the engines, resolved and checked without importing torch.

The defaults come from the schema alone (:func:`encephagen.schemas.section_defaults`): no copy of
them is written here. The workflow calls these helpers while it parses the Snakefile
(``rules/simulate_common.smk``), so this module and everything it imports at the top are
torch-free (``tests/test_study.py`` checks it in a fresh interpreter). Model parameter sets come
from :mod:`encephagen.sim.models` and :mod:`encephagen.spiking.params`, monitor settings from
:mod:`encephagen.sim.monitor_config` -- all torch-free; the spiking monitor settings are checked
only when :func:`resolve_spiking` is called (at job time).

Validation: what the schema can express (unknown keys, types, ranges, enumerations) is checked by
the schema validator on the section with its defaults filled (:func:`encephagen.schemas.section_problems`,
the same files the workflow validates the whole config with); what it cannot (between keys, or
needing a model's parameter set) is checked here, in one place per section: :func:`check_operating_point`
and the model / monitor checks of :func:`resolve_config`, the parameter and monitor checks of
:func:`resolve_spiking`. Every message names the config key.

``ParameterError`` is :class:`encephagen.sim.models.ParameterError` (one class everywhere; the
linear Hopf model's ``HopfParameterError`` is the same class).
"""
from __future__ import annotations

import copy
import json
from typing import Mapping

import numpy as np

from encephagen.schemas import section_defaults, section_problems
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


def check_section(keypath: str, value: Mapping, prefix: str | None = None) -> None:
    """Refuse a section (defaults filled) that its schema refuses, naming every offending key."""
    problems = section_problems(keypath, value, prefix)
    if problems:
        raise ParameterError(problems[0] if len(problems) == 1 else
                             "invalid configuration:\n  " + "\n  ".join(problems))


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
    for key in ("model", "per_model"):
        if key in over:
            raise ParameterError(f"config key simulate.per_model.{name}.{key}: not a per-model setting")
    check_section("simulate", over, prefix=f"simulate.per_model.{name}")   # keys and values: the schema
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
    for k in ("monitors", "operating_point"):
        if k in cfg and cfg[k] is None:
            cfg[k] = {}
    if isinstance(cfg.get("G"), (int, float)) and not isinstance(cfg.get("G"), bool):
        cfg["G"] = [float(cfg["G"])]   # one number: a list of one value
    base = copy.deepcopy(SIM_DEFAULTS)
    del base["per_model"]
    out = _merge(base, cfg)
    check_section("simulate", out)   # unknown keys, types, ranges, enumerations: the schema
    # between keys, and what needs the model: here
    model = get_model(out["model"])
    out["model"] = model.name
    check_operating_point(out["operating_point"])
    params = model.params(out["preset"], **dict(out["params"]))   # unknown names / presets refused here
    for name in dict(out["grid"]):
        if not hasattr(params, name):
            raise ParameterError(f"simulate.grid.{name}: {model.name} has no parameter {name!r}")
    params.validate()
    mon = MonitorConfig(**out["monitors"]).validate(out["dt"])
    mon.check_bold_samples(float(out["duration"]), float(out["transient"]), "simulate.monitors")
    return out


def check_operating_point(op: Mapping) -> None:
    """Refuse ``simulate.operating_point`` values whose keys disagree, naming the key (each value on
    its own is the schema's: :func:`check_section`)."""
    k = "simulate.operating_point"
    if op["placement"] == "below" and (op["ratio"] < 1 or float(op["ratio"]) != int(op["ratio"])):
        raise ParameterError(f"{k}.ratio must be a whole number of pre-sweep steps (>= 1) with placement 'below', "
                             f"got {op['ratio']!r}")
    if op["placement"] == "centred" and op["ratio"] <= 1:
        raise ParameterError(f"{k}.ratio must be > 1 (the factor between neighbouring G) with placement 'centred'")
    ps = {**SIM_DEFAULTS["operating_point"]["presweep"], **dict(op.get("presweep") or {})}
    if not ps["start"] < ps["stop"]:
        raise ParameterError(f"{k}.presweep needs start < stop, got start {ps['start']!r}, stop {ps['stop']!r}")


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
    for k, v in cfg.items():
        if k in ("monitors", "params") and isinstance(out.get(k), dict) and (v is None or isinstance(v, Mapping)):
            out[k].update(v or {})
        else:
            out[k] = v
    check_section("spiking", out)   # unknown keys, types, ranges, enumerations: the schema
    # between keys (the parameter set's bounds, the monitors against dt and duration): here
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
    """Checks the schema cannot express, from the config alone (``encephagen config validate`` and the
    workflow call this before any job runs, with a BOLD monitor on): every simulated model's
    settings as its engine resolves them (a neural mass: :func:`resolve_config` of
    :func:`model_config`, which keeps at least ``min_bold_samples`` BOLD samples after the transient
    and the BOLD warm-up; the LIF engine's BOLD samples from ``spiking``), refused naming the key."""
    sim = dict(config.get("simulate") or {})
    for model in model_names(sim):
        section = ENGINE_MODELS.get(model)
        if section is None:    # a neural mass: every check of its settings, the BOLD samples included
            resolve_config(model_config(sim, model))
        elif section == "spiking":   # the spiking monitors' settings are checked at job time (torch)
            sp = dict(config.get("spiking") or {})
            mon = {**LIF_DEFAULTS["monitors"], **dict(sp.get("monitors") or {})}
            if mon["bold"]:
                check_bold_samples(float(sp.get("duration", LIF_DEFAULTS["duration"])), 0.0,
                                   float(mon["bold_warmup"]), float(mon["bold_period"]), int(mon["min_bold_samples"]),
                                   "spiking.monitors")
