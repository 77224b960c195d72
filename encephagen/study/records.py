"""What every run file of the study layer shares: the element identities written per run, and the
common view :func:`encephagen.study.read_runs` returns. Used by the engine adapters whose layouts
have no region-by-run FC (plastic, evoked, embody); the neural-mass and LIF layouts write theirs
with their own metrics."""
from __future__ import annotations

import json
from typing import Mapping, Sequence

import numpy as np

from encephagen.io import read_strings, write_array
from encephagen.study.network import Element


def write_element_ids(f, elements: Sequence[Element], streams: Sequence[str] = ("build",)) -> None:
    """Per run: atlas, family (strings), null_index, seed_id, seed, ``<stream>_seed`` of each
    stream (int64) and G (float), in element order."""
    for name in ("atlas", "family"):
        write_array(f, name, np.array([getattr(e, name) for e in elements], dtype=str))
    for name in ("null_index", "seed_id", "seed"):
        write_array(f, name, np.array([getattr(e, name) for e in elements], np.int64))
    for s in streams:
        write_array(f, f"{s}_seed", np.array([e.seeds[s] for e in elements], np.int64))
    write_array(f, "G", np.array([e.G for e in elements], float))


ELEMENT_FIELDS = ("null_index", "seed_id", "seed", "build_seed", "G")


def read_elements(f, fields: Sequence[str] = (), strings: Sequence[str] = ("atlas", "family", "labels")) -> dict:
    """The arrays of an open run file (h5py): the string datasets ``strings``, the element ids
    (:data:`ELEMENT_FIELDS`, as written by :func:`write_element_ids` with the build stream), the
    layout's own datasets ``fields`` and the file's attributes (bytes decoded)."""
    d = {k: np.asarray(read_strings(f[k])) for k in strings}
    d.update({k: f[k][()] for k in (*ELEMENT_FIELDS, *fields)})
    d["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    return d


def runs_view(d: Mapping, *, model: str, metrics: Mapping, params: Mapping | None = None,
              activity_name: str = "rate", region_labels: Sequence = (), attrs: Mapping | None = None) -> dict:
    """The common form of a run file without FC or regimes (``study.read_runs``) from a layout
    reader's dict ``d`` (atlas, family, null_index, seed_id, seed, G)."""
    return {"atlas": d["atlas"], "family": d["family"], "null_index": d["null_index"], "seed_id": d["seed_id"],
            "seed": d["seed"], "G": d["G"], "params": dict(params or {}), "metrics": dict(metrics),
            "fc_bold": None, "fc_activity": None, "bold_on": False, "activity_name": activity_name, "regime": None,
            "network_regime": None, "regime_fraction": None, "region_labels": list(region_labels),
            "attrs": {**(attrs or {}), "model": model}}


SEED_RULE_LIF = ("derive_seed(master_seed, atlas, family, null_index, seed_id) (+ 'build' for the "
                 "network); ")


def lif_protocol_header(st: Mapping, result: Mapping, *, model: str, seed_rule: str,
                        provenance: Mapping | None = None, **extra) -> tuple[dict, dict, dict]:
    """(config, provenance, attributes) of a LIF protocol run file (plastic, evoked, cognition):
    the public config keys of ``st["cfg"]``; the master seed and the seed rule (the network rule
    of :data:`SEED_RULE_LIF` followed by ``seed_rule``, the protocol's own streams); the model, dt,
    transient, config, LIF parameters and timings, then ``extra`` attributes."""
    cfg = {k: v for k, v in st["cfg"].items() if not k.startswith("_")}
    prov = {"master_seed": st["master_seed"], "seed_rule": SEED_RULE_LIF + seed_rule, **(provenance or {})}
    attrs = {"model": model, "dt": float(cfg["dt"]), "transient": float(cfg["transient"]),
             "config": json.dumps(cfg), "params": json.dumps(st["cfg"]["_lif"].to_dict()),
             "wall_s": float(result["wall_s"]), "cpu_s": float(result["cpu_s"]),
             "protocol_s": float(result["protocol_s"]), **extra}
    return cfg, prov, attrs


def read_run_file(path, kind: str, fields: Sequence[str], groups: Sequence[str] = ()) -> dict:
    """A run file of layout ``kind`` (validated) as arrays: :func:`read_elements` with ``fields``,
    and each HDF5 group of ``groups`` as a dict of its datasets."""
    import h5py

    from encephagen.io import validate_h5

    validate_h5(path, kind)
    with h5py.File(path, "r") as f:
        d = read_elements(f, fields)
        for g in groups:
            d[g] = {k: f[g][k][()] for k in f[g]}
    return d
