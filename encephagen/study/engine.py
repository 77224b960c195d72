"""The engine protocol, the registry of engines by model name, and the one chunk loop.

An engine turns networks x seed ids x parameter sets (:func:`encephagen.study.network.expand`)
into one HDF5 file of runs. What differs between engines -- the equations, the config section,
the file layout -- sits behind :class:`Engine`; what is the same -- the expansion and its seed
rule, the chunking, the progress/ETA log, the device choice -- is written once here
(:func:`run_study`). See docs/study.md for adding an engine (a plastic network, a closed loop
with a body).

This module imports no engine: the registry names them (``"module:Class"``) and loads one when it
is asked for, so the workflow can ask which engine and which file kind a model has without torch.
"""
from __future__ import annotations

import logging
import math
import time
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from encephagen.sim.models import ParameterError
from encephagen.study.config import ENGINE_MODELS, ENGINE_SILENCING, canonical_model
from encephagen.study.network import Element, Network, expand

log = logging.getLogger(__name__)

# one name per metric across engines; the old names still read (files written before the rename)
RENAMED_METRICS = {"acf_timescale": "acf_tau_ms", "peak_frequency": "dominant_freq_hz"}


def canonical_metric(name: str) -> str:
    return RENAMED_METRICS.get(name, name)


@runtime_checkable
class Engine(Protocol):
    """What an engine provides to :func:`run_study`.

    ``name`` (registry key), ``kind`` (the HDF5 kind it writes), ``section`` (its config section),
    ``streams`` (further seed streams per (network, seed id), e.g. ``("build",)``),
    ``allow_empty`` (an empty batch of networks still gives a file).
    """

    name: str
    kind: str
    section: str
    streams: tuple
    allow_empty: bool

    def prepare(self, section: Mapping | None, **overrides) -> dict:
        """The validated settings (defaults from the schema; bad values refused naming the key)."""

    def parameter_sets(self, cfg: Mapping) -> list[tuple[float, dict]]:
        """(G, {parameter: value}) of every run of a network and seed id."""

    def setup(self, cfg: Mapping, networks: Sequence[Network], **context) -> Any:
        """Per-study state (device, normalised weights, base parameters ...); ``context``: what the
        caller read from files (region labels, T1w/T2w, empirical FC)."""

    def batch_size(self, state: Any) -> int:
        ...

    def run_chunk(self, state: Any, chunk: Sequence[Element], progress: Callable[[int, int], None]) -> Any:
        """Run one chunk of elements; its metrics under the shared names."""

    def concat(self, parts: Sequence[Any]) -> Any:
        ...

    def write(self, path: str | Path, state: Any, elements: Sequence[Element], result: Any,
              provenance: Mapping) -> Path:
        """One file of kind ``kind``, atomically."""

    def read_runs(self, path: str | Path) -> dict:
        """A file of this engine in the common form of :func:`read_runs`."""


# registry: engine name -> "module:Class" (loaded on first use)
ENGINES: dict[str, str] = {
    "neural_mass": "encephagen.study.engines.neural_mass:NeuralMassEngine",
    "lif": "encephagen.study.engines.lif:LIFEngine",
    "hopf_linear": "encephagen.hopf.study:HopfLinearEngine",
    "plastic_lif": "encephagen.learn.engine:PlasticEngine",
    "evoked_lif": "encephagen.learn.evoked:EvokedEngine",
    "cognition_lif": "encephagen.learn.cognition:CognitionEngine",
    "embody": "encephagen.study.engines.embody:EmbodyEngine",
}
# the HDF5 layout each engine writes (all are files of kind 'runs' with an ``engine`` attribute;
# encephagen/io/kinds.py declares the layouts)
KINDS: dict[str, str] = {"simulation": "neural_mass", "spiking": "lif", "hopf_sweep": "hopf_linear",
                         "plastic": "plastic_lif", "evoked": "evoked_lif", "embody": "embody",
                         "cognition": "cognition_lif"}
_LOADED: dict[str, Engine] = {}


def register_engine(name: str, target: str, kind: str | None = None, model: str | None = None,
                    section: str | None = None, silencing: Mapping | None = None) -> None:
    """Add an engine: ``target`` is ``"module:Class"``; ``kind`` the HDF5 kind it writes; ``model``
    a name of ``simulate.model`` that it runs (its settings then come from config ``section``, its G
    values from ``<section>.G``); ``silencing``: when a region of it counts as silenced
    ({"metric", "threshold": key in its section, "below"}; default ``analysis.silencing``)."""
    ENGINES[name] = target
    _LOADED.pop(name, None)
    if kind:
        KINDS[kind] = name
    if model:
        ENGINE_MODELS[model] = section or name
        if silencing:
            ENGINE_SILENCING[model] = dict(silencing)


def get_engine(name: str) -> Engine:
    if name not in ENGINES:
        raise ParameterError(f"unknown engine {name!r}; known: {sorted(ENGINES)}")
    if name not in _LOADED:
        mod, cls = ENGINES[name].split(":")
        _LOADED[name] = getattr(import_module(mod), cls)()
    return _LOADED[name]


def engine_name(model: str) -> str:
    """The engine that runs a model of ``simulate.model`` (a neural mass unless the model has its own)."""
    model = canonical_model(model)
    return model if model in ENGINE_MODELS else "neural_mass"


def engine_for_model(model: str) -> Engine:
    return get_engine(engine_name(model))


def engine_section(model: str) -> str:
    """The config section a model's settings come from ('simulate' for neural masses)."""
    model = canonical_model(model)
    return ENGINE_MODELS.get(model, "simulate")


def silencing_rule(model: str, config: Mapping) -> dict:
    """``metric``, ``threshold``, ``below``: when a region of ``model`` counts as silenced in the
    silencing order, from the validated ``config``. Neural masses: ``analysis.silencing``; a model
    whose engine has its own rule (the registry's ``ENGINE_SILENCING``): that rule, its threshold
    read from the engine's section (lif: ``rate`` below ``spiking.monitors.silent_hz``)."""
    model = canonical_model(model)
    rule = ENGINE_SILENCING.get(model)
    if rule is None:
        return dict(config["analysis"]["silencing"])
    value = config[engine_section(model)]
    for key in rule["threshold"].split("."):
        value = value[key]
    return {"metric": rule["metric"], "threshold": value, "below": bool(rule["below"])}


def engine_for_kind(kind: str) -> Engine:
    if kind not in KINDS:
        raise ParameterError(f"no engine writes files of kind {kind!r}; known kinds: {sorted(KINDS)}")
    return get_engine(KINDS[kind])


def file_kind(path: str | Path) -> str:
    """The file's kind; for a 'runs' file (every engine's) the layout its ``engine`` writes."""
    import h5py

    with h5py.File(path, "r") as f:
        k, e = (_s(f.attrs.get(a, "")) for a in ("encephagen_kind", "engine"))
    return next((kind for kind, name in KINDS.items() if name == e), k) if k == "runs" else k


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def register_kinds(paths: Iterable) -> None:
    """Load the engine of each readable file's kind, so that its kind (and layout check) is
    registered before the files are validated; unreadable files are left to the validation."""
    for p in paths:
        try:
            kind = file_kind(p)
        except (OSError, KeyError):
            continue
        if kind in KINDS:
            get_engine(KINDS[kind])


def read_runs(path: str | Path) -> dict:
    """Any engine's file in one common form: per-run ids (``atlas``, ``family``, ``null_index``,
    ``seed_id``, ``seed``, ``G``, ``params``), ``metrics`` (run, region) under the shared names,
    ``fc_bold`` / ``fc_activity``, ``bold_on``, ``activity_name``, ``regime`` ..., ``region_labels``,
    ``attrs`` (with ``model``)."""
    return engine_for_kind(file_kind(path)).read_runs(path)


def with_overrides(cfg: dict, seeds_per_network=None, device=None) -> dict:
    """An engine's validated settings with the caller's seed count and device, when given (the
    ``prepare`` step every engine shares)."""
    if seeds_per_network is not None:
        cfg["seeds_per_network"] = int(seeds_per_network)
    if device is not None:
        cfg["device"] = device
    return cfg


def pick_device(name=None):
    """THE device picker ('auto': CUDA when available, else CPU; 'cuda' without a GPU refused):
    :func:`encephagen.sim.runner.pick_device`."""
    from encephagen.sim.runner import pick_device as _pick

    return _pick(name)


# ----------------------------------------------------------------------------- the chunk loop
def run_chunks(engine: Engine, state: Any, elements: Sequence[Element], batch_size: int) -> list:
    """Every chunk of ``batch_size`` elements through ``engine.run_chunk``, with one progress log
    (every 30 s and at the end of each chunk; the ETA from the rate since the first report, so
    that compilation does not count)."""
    n_chunks = max(1, math.ceil(len(elements) / batch_size)) if elements else (1 if engine.allow_empty else 0)
    t0 = time.perf_counter()
    first: list = []
    parts = []
    for c in range(n_chunks):
        chunk = list(elements[c * batch_size:(c + 1) * batch_size])
        last = [time.perf_counter()]

        def progress(done, total, c=c):
            now = time.perf_counter()
            if now - last[0] >= 30 or done >= total:
                last[0] = now
                frac = (c + done / max(total, 1)) / n_chunks
                if not first:
                    first.append((now, frac))
                t1, f1 = first[0]
                eta = (now - t1) / (frac - f1) * (1 - frac) if frac > f1 else float("nan")
                log.info("%s batch %d/%d: %d/%d; %.0f%% overall, elapsed %.0f s, ETA %.0f s (from the rate "
                         "since the first report, compilation excluded)", engine.name, c + 1, n_chunks, done,
                         total, 100 * frac, now - t0, eta)

        parts.append(engine.run_chunk(state, chunk, progress))
    return parts


def run_study(engine: Engine | str, section: Mapping | None, networks: Iterable, master_seed: int,
              out_path: str | Path, *, seeds_per_network: int | None = None, seed_ids: Sequence[int] | None = None,
              device: str | None = None, provenance: Mapping | None = None, **context) -> Path:
    """networks x seed ids x parameter sets through ``engine``, written to one file; its path.

    ``section``: the engine's config section (``engine.prepare`` validates it);
    ``seeds_per_network`` / ``device`` override the section's; ``seed_ids`` (default
    0..seeds_per_network-1); ``context`` goes to ``engine.setup`` (region labels, T1w/T2w ...).
    """
    engine = get_engine(engine) if isinstance(engine, str) else engine
    if master_seed is None:
        raise ParameterError("master_seed is missing (set 'master_seed' in the config); 0 is a valid seed")
    cfg = engine.prepare(section, seeds_per_network=seeds_per_network, device=device)
    nets = [Network(*n) for n in networks]
    if not nets and not engine.allow_empty:
        raise ParameterError("no networks to simulate")
    sids = (list(range(int(cfg.get("seeds_per_network", 1)))) if seed_ids is None else [int(s) for s in seed_ids])
    elements = expand(nets, engine.parameter_sets(cfg), sids, master_seed, engine.streams)
    state = engine.setup(cfg, nets, master_seed=int(master_seed), seed_ids=sids, n_elements=len(elements), **context)
    t0 = time.perf_counter()
    parts = run_chunks(engine, state, elements, engine.batch_size(state))
    path = engine.write(out_path, state, elements, engine.concat(parts), dict(provenance or {}))
    log.info("%s: wrote %s (%d runs, %.1f s)", engine.name, path, len(elements), time.perf_counter() - t0)
    return Path(path)
