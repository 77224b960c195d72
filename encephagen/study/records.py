"""What every run file of the study layer shares: the element identities written per run, and the
common view :func:`encephagen.study.read_runs` returns. Used by the engine adapters whose layouts
have no region-by-run FC (plastic, evoked, embody); the neural-mass and LIF layouts write theirs
with their own metrics."""
from __future__ import annotations

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
