"""The glue the workflow and the CLI both call: networks x seed ids x parameter grid -> one file.

Every network -- the real connectome (family 'real', null_index 0) and each null -- gets the
SAME treatment: the same model, parameters, grid, weight normalisation (``normalize`` x
``weight_scale``, per network), delays rule (lengths / velocity), noise, dt, duration,
transient and monitors; a connectome goes through the nulls stage's transform first
(:func:`real_network`). A section may list several models (``model_config`` gives one model's
settings: ``per_model`` overrides merged on top). Element seeds are
``derive_seed(master_seed, atlas, family, null_index, seed_id)`` (never batch position),
shared across the parameter grid (common random numbers), and written to the output.
"""
from __future__ import annotations

import copy
import itertools
import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from encephagen.seeds import derive_seed
from encephagen.sim.models import ParameterError, get_model
from encephagen.sim.monitors import MonitorConfig
from encephagen.sim.output import write_simulation
from encephagen.sim.runner import SimResult, pick_device, simulate

log = logging.getLogger(__name__)

# defaults of the `simulate` config section; encephagen/schemas/fragments/simulate.schema.yaml
# carries the same defaults (a test keeps the two equal)
DEFAULTS: dict = {
    "model": "wilson_cowan",
    "preset": "default",
    "params": {},
    "grid": {},
    "G": [0.02],
    "seeds_per_network": 1,
    "dt": 0.1,
    "duration": 10000.0,
    "transient": 2000.0,
    "velocity": 10.0,
    "noise": 0.01,
    "integrator": "euler",
    "normalize": "mean_strength",
    "weight_scale": 1.0,
    "monitors": {"period": 1.0, "record_samples": 2048, "bold": False, "bold_period": 720.0,
                 "bold_constants": "friston2003", "bold_warmup": 20000.0, "min_bold_samples": 100,
                 "fc_activity": True, "fc_period": 10.0, "silence_threshold": None, "welch_nperseg": 1024},
    "store_bold": False,
    "device": "auto",
    "dtype": "float32",
    "batch_size": 64,
    "compile": "auto",
    "operating_point": {"num": 3, "placement": "below", "ratio": 1.0, "margin": 1,
                        "presweep": {"start": 0.05, "stop": 5.0, "num": 16, "spacing": "log"}},
    "per_model": {},
}
NORMALIZE = ("none", "max", "mean_strength")
PLACEMENTS = ("below", "centred")


class Network(NamedTuple):
    atlas: str
    family: str
    null_index: int
    weights: np.ndarray   # (n, n) [target, source]
    lengths: np.ndarray   # (n, n) mm


def model_names(section: Mapping | None) -> list[str]:
    """The models of a ``simulate`` section (``model``: one name or a list), canonical names."""
    m = (section or {}).get("model", DEFAULTS["model"])
    names = [m] if isinstance(m, str) else list(m or [])
    if not names:
        raise ParameterError("simulate.model must name at least one model")
    out = [n if n == "lif" else get_model(n).name for n in names]
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
    name = model if model == "lif" else get_model(model).name
    if name not in names:
        raise ParameterError(f"model {model!r} is not in simulate.model ({names})")
    for key in per:   # entries of models not listed are ignored (config files are layered)
        canon = key if key == "lif" else get_model(key).name
        if canon != key:
            raise ParameterError(f"simulate.per_model.{key}: use the canonical model name {canon!r}")
    over = dict(per.get(name) or {})
    allowed = set(DEFAULTS) - {"model", "per_model"}
    bad = sorted(set(over) - allowed)
    if bad:
        raise ParameterError(f"config key simulate.per_model.{name}.{bad[0]} unknown; known: {sorted(allowed)}")
    for sub in ("monitors", "operating_point"):
        extra = sorted(set(over.get(sub) or {}) - set(DEFAULTS[sub]))
        if extra:
            raise ParameterError(f"config key simulate.per_model.{name}.{sub}.{extra[0]} unknown; "
                                 f"known: {sorted(DEFAULTS[sub])}")
    out = _merge(section, over)
    out["model"] = name
    return out


def resolve_config(cfg: Mapping | None) -> dict:
    """Defaults filled in; unknown keys and bad values refused naming ``simulate.<key>``.

    ``cfg`` describes one model; a section with ``per_model`` overrides is first reduced to its
    (single) model by :func:`model_config`.
    """
    cfg = dict(cfg or {})
    if not isinstance(cfg.get("model", DEFAULTS["model"]), str):
        names = model_names(cfg)
        if len(names) != 1:
            raise ParameterError(f"simulate.model lists several models {names}: take one model's settings with "
                                 "encephagen.sim.batch.model_config(section, name) (CLI: --model NAME)")
        cfg["model"] = names[0]
    if cfg.get("per_model"):
        cfg = model_config(cfg, cfg.get("model", DEFAULTS["model"]))
    cfg.pop("per_model", None)
    out = copy.deepcopy(DEFAULTS)
    del out["per_model"]
    unknown = sorted(set(cfg) - set(out))
    if unknown:
        raise ParameterError(f"config key(s) simulate.{unknown[0]} unknown (all unknown: {unknown}); "
                             f"known: {sorted(DEFAULTS)}")
    for k, v in cfg.items():
        if k in ("monitors", "operating_point"):
            sub = dict(v or {})
            bad = sorted(set(sub) - set(DEFAULTS[k]))
            if bad:
                raise ParameterError(f"config key simulate.{k}.{bad[0]} unknown; known: {sorted(DEFAULTS[k])}")
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
    extra = sorted(set(ps) - set(DEFAULTS["operating_point"]["presweep"]))
    if extra:
        raise ParameterError(f"config key {k}.presweep.{extra[0]} unknown")
    ps = {**DEFAULTS["operating_point"]["presweep"], **ps}
    if not (0 < ps["start"] < ps["stop"]) or not (isinstance(ps["num"], int) and ps["num"] >= 2):
        raise ParameterError(f"{k}.presweep needs 0 < start < stop and num >= 2, got {ps}")
    if ps["spacing"] not in ("log", "linear"):
        raise ParameterError(f"{k}.presweep.spacing must be 'log' or 'linear', got {ps['spacing']!r}")


def presweep_grid(op: Mapping) -> np.ndarray:
    ps = {**DEFAULTS["operating_point"]["presweep"], **dict(op.get("presweep") or {})}
    f = np.geomspace if ps["spacing"] == "log" else np.linspace
    return round_sig(f(float(ps["start"]), float(ps["stop"]), int(ps["num"])))


def round_sig(x, digits: int = 6) -> np.ndarray:
    """Values rounded to ``digits`` significant digits: G values written to a table and read back
    are then exactly the values that were simulated."""
    return np.array([float(f"{v:.{digits}g}") for v in np.atleast_1d(np.asarray(x, dtype=float))])


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


def real_network(connectome, threshold: Mapping | None = None, name: str | None = None) -> Network:
    """The real network exactly as the nulls stage makes it (family 'real', null_index 0): the
    configured threshold (``nulls.threshold.<atlas>``, if any) and the length rule's edge lengths
    (:func:`encephagen.nulls.families.prepare_source`), the same transform every null gets."""
    from encephagen.connectome import Connectome
    from encephagen.nulls.families import prepare_source

    c = connectome if isinstance(connectome, Connectome) else Connectome.load(connectome, isolated="allow")
    src = prepare_source(c, threshold=threshold, name=name or c.name)
    return Network(src.name, "real", 0, src.weights, src.real_lengths())


def load_networks(connectomes: Sequence[str | Path] = (), nulls: Sequence[str | Path] = (),
                  thresholds: Mapping[str, Mapping] | None = None) -> tuple[list[Network], list[str]]:
    """Networks from connectome .h5 files (family 'real', null_index 0) and nulls .h5 batches.

    A connectome goes through :func:`real_network` (the nulls stage's transform: threshold from
    ``thresholds[atlas]`` and the length rule), so that it is treated exactly as its nulls.

    Returns (networks, region labels); every file must have the same region labels.
    """
    from encephagen.connectome import Connectome

    nets: list[Network] = []
    labels: list[str] | None = None

    def _labels(lab, src):
        nonlocal labels
        lab = list(lab)
        if labels is None:
            labels = lab
        elif lab != labels:
            raise ParameterError(f"{src}: region labels differ from the other inputs' (one atlas per run)")

    for p in connectomes:
        c = Connectome.load(p, isolated="allow")
        _labels(c.labels, p)
        nets.append(real_network(c, threshold=(thresholds or {}).get(c.name)))
    for p in nulls:
        from encephagen.nulls import read_nulls

        nb = read_nulls(p)
        _labels(nb.labels, p)
        for k in range(len(nb)):
            nets.append(Network(nb.source, nb.family, int(nb.null_index[k]), nb.weights[k], nb.lengths[k]))
    if not nets:
        raise ParameterError("no networks: pass at least one connectome or nulls file")
    return nets, labels or []


@dataclass
class _Element:
    net: int
    atlas: str
    family: str
    null_index: int
    seed_id: int
    seed: int
    G: float
    grid: dict


def expand(networks: Sequence[Network], cfg: Mapping, seed_ids: Sequence[int], master_seed: int) -> list[_Element]:
    """networks x seed ids x (G x grid), network outermost."""
    grid_names = list(cfg["grid"])
    combos = list(itertools.product([float(g) for g in cfg["G"]], *[cfg["grid"][k] for k in grid_names]))
    out = []
    for ni, net in enumerate(networks):
        for sid in seed_ids:
            seed = derive_seed(int(master_seed), str(net.atlas), str(net.family), int(net.null_index), int(sid))
            for combo in combos:
                out.append(_Element(ni, str(net.atlas), str(net.family), int(net.null_index), int(sid), seed,
                                    combo[0], dict(zip(grid_names, combo[1:]))))
    return out


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


def run_networks(model_cfg: Mapping, networks: Iterable, seeds_per_network: int | None, master_seed: int,
                 out_path: str | Path, device: str | None = None, seed_ids: Sequence[int] | None = None,
                 region_labels: Sequence[str] | None = None, provenance: Mapping | None = None) -> Path:
    """Simulate every network x seed id x parameter-grid point and write one 'simulation' file.

    ``networks``: (atlas, family, null_index, weights, lengths) tuples (see :class:`Network`,
    :func:`load_networks`); ``seeds_per_network`` overrides the config's (seed ids 0..k-1,
    or pass ``seed_ids``); ``device`` overrides the config's ('auto', 'cpu', 'cuda').
    """
    if master_seed is None:
        raise ParameterError("master_seed is missing (set 'master_seed' in the config); 0 is a valid seed")
    cfg = resolve_config(model_cfg)
    if cfg["G"] == "auto":
        raise ParameterError("simulate.G is 'auto': the workflow's operating_point rule chooses the G values per "
                             "atlas (results/operating_point/...); outside the workflow pass a list of G values")
    if seeds_per_network is not None:
        cfg["seeds_per_network"] = int(seeds_per_network)
    if device is not None:
        cfg["device"] = device
    nets = [Network(*n) for n in networks]
    if not nets:
        raise ParameterError("no networks to simulate")
    sids = list(range(cfg["seeds_per_network"])) if seed_ids is None else [int(s) for s in seed_ids]
    elems = expand(nets, cfg, sids, master_seed)
    model = get_model(cfg["model"])
    base = model.params(cfg["preset"], **dict(cfg["params"]))
    dev = pick_device(cfg["device"])
    weights = [normalize_weights(n.weights, cfg["normalize"], cfg["weight_scale"]) for n in nets]
    B_all, bs = len(elems), cfg["batch_size"]
    n_chunks = math.ceil(B_all / bs)
    log.info("simulate: %d networks x %d seed ids x %d parameter sets = %d runs in %d batches of <= %d on %s "
             "(%s, %g ms at dt %g ms)", len(nets), len(sids), B_all // max(1, len(nets) * len(sids)), B_all,
             n_chunks, bs, dev, model.name, cfg["duration"], cfg["dt"])
    parts = []
    t0 = time.perf_counter()
    first: list = []   # (time, fraction) at the first progress report: the ETA excludes compilation
    for c in range(n_chunks):
        chunk = elems[c * bs:(c + 1) * bs]
        params = {k: (np.asarray(v, dtype=float)[None, :] if np.ndim(v) == 1 else v)   # lists = per node
                  for k, v in base.as_dict().items()}
        for name in cfg["grid"]:
            params[name] = np.array([e.grid[name] for e in chunk], dtype=float)
        labels = [dict(atlas=e.atlas, family=e.family, null_index=e.null_index, seed_id=e.seed_id, G=e.G, **e.grid)
                  for e in chunk]
        last = [time.perf_counter()]

        def progress(done, total, c=c):
            now = time.perf_counter()
            if now - last[0] >= 30 or done == total:
                last[0] = now
                frac = (c + done / total) / n_chunks
                el = now - t0
                if not first:
                    first.append((now, frac))
                t1, f1 = first[0]
                eta = (now - t1) / (frac - f1) * (1 - frac) if frac > f1 else float("nan")
                log.info("batch %d/%d: step %d/%d; %.0f%% overall, elapsed %.0f s, ETA %.0f s (from the rate "
                         "since the first report, compilation excluded)", c + 1, n_chunks, done, total,
                         100 * frac, el, eta)

        res = simulate(model, np.stack([weights[e.net] for e in chunk]), np.stack([nets[e.net].lengths for e in chunk]),
                       params=params, G=np.array([e.G for e in chunk]), seeds=np.array([e.seed for e in chunk]),
                       dt=cfg["dt"], duration=cfg["duration"], transient=cfg["transient"], velocity=cfg["velocity"],
                       noise=cfg["noise"], monitors=MonitorConfig(**cfg["monitors"]), device=dev,
                       dtype=cfg["dtype"], integrator=cfg["integrator"], labels=labels, progress=progress,
                       compile=cfg["compile"])
        parts.append(res)
    result = concat_results(parts)
    prov = {"master_seed": int(master_seed), "seed_rule": "derive_seed(master_seed, atlas, family, null_index, seed_id)",
            "n_batches": n_chunks}
    prov.update(dict(provenance or {}))
    path = write_simulation(out_path, result, atlas=[e.atlas for e in elems], family=[e.family for e in elems],
                            null_index=[e.null_index for e in elems], seed_id=[e.seed_id for e in elems],
                            config={**cfg, "master_seed": int(master_seed)}, region_labels=region_labels,
                            store_bold=bool(cfg["store_bold"]), provenance=prov)
    log.info("simulate: wrote %s (%d runs, %.1f s)", path, B_all, time.perf_counter() - t0)
    return path
