"""The closed loop as an engine of the study layer (:mod:`encephagen.study`): networks x seed ids x
one control -> Walker2d episodes -> one HDF5 file (kind ``runs``, engine ``embody``; layout
``embody`` in :mod:`encephagen.io.kinds`).

This module is the study layer's adapter of the bodies engine (beside ``neural_mass.py`` and
``lif.py`` in :mod:`encephagen.study.engines`): the equations stay in
:mod:`encephagen.bodies.loop`, :mod:`~encephagen.bodies.gait`, :mod:`~encephagen.bodies.cpg` and
:mod:`~encephagen.bodies.reflexes`; the expansion, the seed rule, the chunk loop and the progress
log are :func:`encephagen.study.run_study`'s.

One element = (network, seed id, G) of one control (``embody.controller``, set by the caller):

- the **seed id is the body seed** (Walker2d reset noise, the CPG's initial state and noise, the
  random control): the same seed ids for every network and every control, so controls and
  networks are paired by seed (common random numbers);
- the brain network (brain controls only) is built from the element's ``build`` stream,
  ``derive_seed(master_seed, atlas, family, null_index, seed_id, "build")``, and its Poisson drive
  is the element seed ``derive_seed(master_seed, atlas, family, null_index, seed_id)``;
- ``G`` is the brain -> CPG coupling ``embody.brain.gain_out`` for the brain controls, 0 otherwise.

Controls without a brain are run on one network (the caller passes the real one; it is recorded,
not used). The region indices of the brain's sensory and motor regions come from the caller
(``run_study(..., sensory=..., motor=...)``): the step reads the atlas's region table.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np

from encephagen.io import atomic_h5, read_strings, write_array
from encephagen.study.config import ParameterError
from encephagen.study.records import runs_view, write_element_ids
from encephagen.study.network import parameter_sets

KIND = "embody"
#: per-episode results (one value per run)
EPISODE_METRICS = ("steps", "dx", "velocity", "return")
EPISODE_FLAGS = ("terminated", "truncated")
BRAIN_CONTROLS = ("full_loop", "brain_null")


def resolve(section) -> dict:
    """The ``embody`` section with the schema's defaults (values checked by the schema validator;
    errors name ``embody.<key>``) plus ``controller`` (the caller's, one of the controls)."""
    from jsonschema import Draft202012Validator

    from encephagen.schemas import section_defaults, section_schema

    sec = copy.deepcopy(dict(section or {}))
    controller = sec.pop("controller", None)
    errs = sorted(Draft202012Validator(section_schema("embody")).iter_errors(sec), key=lambda e: list(e.path))
    if errs:
        e = errs[0]
        where = ".".join(map(str, e.path))
        if e.validator == "additionalProperties":
            raise ParameterError(f"embody{('.' + where) if where else ''}: {e.message}")
        raise ParameterError(f"embody.{where or '(section)'}: {e.message}")
    out = section_defaults("embody")
    for k, v in sec.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    from encephagen.bodies.loop import CONTROLLERS

    if controller is not None and controller not in CONTROLLERS:
        raise ParameterError(f"embody controller {controller!r}: must be one of {CONTROLLERS}")
    out["controller"] = controller
    return out


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for k in ("mujoco", "gymnasium", "cma", "numpy", "numba"):
        try:
            out[k] = md.version(k)
        except md.PackageNotFoundError:
            out[k] = ""
    return out


class EmbodyEngine:
    """One control of the closed loop on Walker2d over networks x seed ids (section ``embody``)."""

    name = "embody"
    kind = KIND
    section = "embody"
    streams: tuple = ("build",)
    allow_empty = False

    def prepare(self, section, seeds_per_network=None, device=None) -> dict:
        cfg = resolve(section)
        if cfg["controller"] is None:
            raise ParameterError("embody: no controller chosen (the caller sets 'controller', e.g. full_loop)")
        if seeds_per_network is not None:
            cfg["n_seeds"] = int(seeds_per_network)
        cfg["seeds_per_network"] = int(cfg["n_seeds"])
        cfg["device"] = "cpu"            # MuJoCo and the numba LIF kernel: CPU only
        return cfg

    def parameter_sets(self, cfg):
        g = float(cfg["brain"]["gain_out"]) if cfg["controller"] in BRAIN_CONTROLS else 0.0
        return parameter_sets([g])

    def setup(self, cfg, nets, *, master_seed, seed_ids, n_elements, sensory=None, motor=None, gait=None, **_):
        if cfg["controller"] in BRAIN_CONTROLS and (sensory is None or motor is None):
            raise ParameterError(f"embody controller {cfg['controller']!r} needs the brain's sensory and motor "
                                 "regions (run_study(..., sensory=..., motor=...))")
        return dict(cfg=cfg, nets=nets, master_seed=int(master_seed), sensory=sensory, motor=motor, gait=gait)

    def batch_size(self, st) -> int:
        return max(1, int(st["cfg"]["n_seeds"]))

    def brain(self, st, e):
        """The BrainNetwork of element ``e`` (built from its ``build`` stream)."""
        from encephagen.bodies.loop import BrainNetwork

        _a, _f, _n, w, L = st["nets"][e.net]
        b = st["cfg"]["brain"]
        return BrainNetwork(np.asarray(w, float), None if L is None else np.asarray(L, float), st["sensory"],
                            st["motor"], seed=e.seeds["build"], n_e=b["n_e"], n_i=b["n_i"], dt=b["dt"],
                            gain_in=b["gain_in"], gain_out=e.G, max_drive=b["max_drive"],
                            name=f"{e.atlas}-{e.family}-{e.null_index}")

    def run_chunk(self, st, chunk, progress) -> dict:
        from encephagen.bodies.loop import make_controller, run_loop_episode
        from encephagen.bodies.walker2d import Walker2dBody

        cfg = st["cfg"]
        c = cfg["controller"]
        out = {k: [] for k in (*EPISODE_METRICS, *EPISODE_FLAGS, "cpu_s")}
        body = Walker2dBody(max_steps=cfg["max_steps"])
        try:
            for k, e in enumerate(chunk):
                t = time.process_time()
                brain = self.brain(st, e) if c in BRAIN_CONTROLS else None
                ctl = make_controller(c, brain=brain, gait_x=st["gait"])
                r = run_loop_episode(body, ctl, int(e.seed_id), max_steps=cfg["max_steps"],
                                     brain_stream=e.seed if brain is not None else None)
                for m in (*EPISODE_METRICS, *EPISODE_FLAGS):
                    out[m].append(r[m])
                out["cpu_s"].append(time.process_time() - t)
                progress(k + 1, len(chunk))
        finally:
            body.close()
        return {k: np.asarray(v) for k, v in out.items()}

    def concat(self, parts):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}

    def write(self, path, st, elements, result, provenance) -> Path:
        from encephagen.bodies.gait import load_gait

        cfg = {k: v for k, v in st["cfg"].items() if not k.startswith("_")}
        gait = load_gait() if st["gait"] is None else {"x": list(np.asarray(st["gait"], float)), "source": "caller"}
        prov = {"master_seed": st["master_seed"],
                "seed_rule": "body, CPG and random control: seed_id; brain network: derive_seed(master_seed, atlas, "
                             "family, null_index, seed_id, 'build'); its Poisson drive: derive_seed(master_seed, "
                             "atlas, family, null_index, seed_id)", **(provenance or {})}
        attrs = {"model": "embody", "controller": cfg["controller"], "body": "Walker2d-v5",
                 "dt": 0.008, "max_steps": int(cfg["max_steps"]), "config": json.dumps(cfg, default=str),
                 "versions": json.dumps(versions()), "gait": json.dumps({"x": list(map(float, gait["x"])),
                                                                         "names": gait.get("names", [])})}
        with atomic_h5(path, kind=KIND, provenance=prov, attrs=attrs) as f:
            write_element_ids(f, elements)
            write_array(f, "brain", np.full(len(elements), int(cfg["controller"] in BRAIN_CONTROLS), np.int64))
            write_array(f, "steps", result["steps"].astype(np.int64))
            for m in ("dx", "velocity", "return", "cpu_s"):
                write_array(f, m, result[m].astype(float))
            for m in EPISODE_FLAGS:
                write_array(f, m, result[m].astype(np.int64))
        return Path(path)

    def read_runs(self, path) -> dict:
        d = read_embody(path)
        # metrics per run (episodes have no region axis)
        return runs_view(d, model="embody", metrics={m: d[m] for m in EPISODE_METRICS}, activity_name="dx",
                         attrs={"controller": d["controller"]})


def read_embody(path) -> dict:
    """An embody file as arrays (one entry per run) + ``controller``, ``config``, ``versions``."""
    from encephagen.io import open_validated

    with open_validated(path, KIND) as f:
        d = {k: read_strings(f[k]) for k in ("atlas", "family")}
        for k in ("null_index", "seed_id", "seed", "build_seed", "brain", "steps", "terminated", "truncated"):
            d[k] = np.asarray(f[k][()], np.int64)
        for k in ("G", "dx", "velocity", "return", "cpu_s"):
            d[k] = np.asarray(f[k][()], float)
        v = f.attrs["controller"]
        d["controller"] = v.decode() if isinstance(v, bytes) else str(v)
        d["config"] = json.loads(f.attrs["config"])
        d["versions"] = json.loads(f.attrs["versions"])
    return d


def episode_rows(path) -> list[dict]:
    """An embody file as one row per episode (controller, family, null_index, network_seed (the
    brain's build seed, -1 without a brain), seed (the body seed = seed id), metrics, cpu_s)."""
    d = read_embody(path)
    rows = []
    for i in range(d["seed"].size):
        brain = bool(d["brain"][i])
        rows.append({"controller": d["controller"], "family": d["family"][i] if brain else "",
                     "null_index": int(d["null_index"][i]) if brain else -1,
                     "network_seed": int(d["build_seed"][i]) if brain else -1, "seed": int(d["seed_id"][i]),
                     "G": float(d["G"][i]), "steps": int(d["steps"][i]), "dx": float(d["dx"][i]),
                     "velocity": float(d["velocity"][i]), "return": float(d["return"][i]),
                     "terminated": int(d["terminated"][i]), "truncated": int(d["truncated"][i]),
                     "cpu_s": float(d["cpu_s"][i])})
    return rows
