"""Networks read from files, for every step: connectome files and the nulls stage's batch files in,
:class:`encephagen.study.Network` objects (or arrays) out. The engines and the study layer never
open these files; the steps read them here and pass arrays on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.connectome import Connectome
from encephagen.nulls import read_nulls
from encephagen.sim.models import ParameterError
from encephagen.study.engine import file_kind  # the one reader of a file's kind (runs: its layout)
from encephagen.study.network import Network

__all__ = ["real_network", "load_networks", "batch_networks", "read_networks", "file_kind", "stage_networks",
           "regions_of_class"]


def real_network(connectome, threshold: Mapping | None = None, name: str | None = None) -> Network:
    """The real network exactly as the nulls stage makes it (family 'real', null_index 0): the
    configured threshold (``nulls.threshold.<atlas>``, if any) and the length rule's edge lengths
    (:func:`encephagen.nulls.families.prepare_source`), the same transform every null gets."""
    c = connectome if isinstance(connectome, Connectome) else Connectome.load(connectome, isolated="allow")
    from encephagen.nulls.families import prepare_source  # the generators (numba) only where a network is prepared

    src = prepare_source(c, threshold=threshold, name=name or c.name)
    return Network(src.name, "real", 0, src.weights, src.real_lengths())


def batch_networks(nb) -> list[Network]:
    """Every network of one read nulls batch (:func:`encephagen.nulls.read_nulls`)."""
    return [Network(nb.source, nb.family, int(nb.null_index[k]), nb.weights[k], nb.lengths[k]) for k in range(len(nb))]


def load_networks(connectomes: Sequence[str | Path] = (), nulls: Sequence[str | Path] = (),
                  thresholds: Mapping[str, Mapping] | None = None) -> tuple[list[Network], list[str]]:
    """Networks from connectome .h5 files (family 'real', null_index 0) and nulls .h5 batches.

    A connectome goes through :func:`real_network` (the nulls stage's transform: threshold from
    ``thresholds[atlas]`` and the length rule), so that it is treated exactly as its nulls.

    Returns (networks, region labels); every file must have the same region labels.
    """
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
        nb = read_nulls(p)
        _labels(nb.labels, p)
        nets += batch_networks(nb)
    if not nets:
        raise ParameterError("no networks: pass at least one connectome or nulls file")
    return nets, labels or []


def read_networks(path: str | Path) -> dict:
    """The networks of a null batch (kind 'nulls') or a connectome file (the real network, as it
    is: no threshold) as arrays: weights (k, n, n), null_index, seed, family, atlas, labels,
    status, reason, directed."""
    path = Path(path)
    kind = file_kind(path)
    if kind == "nulls":
        b = read_nulls(path)
        return dict(weights=b.weights, null_index=np.asarray(b.null_index, dtype=np.int64),
                    seed=np.asarray(b.seed, dtype=np.int64), family=b.family, atlas=b.source,
                    labels=tuple(b.labels), status=b.status, reason=b.reason, directed=b.directed)
    if kind == "connectome":
        c = Connectome.load(path)
        return dict(weights=c.weights[None], null_index=np.zeros(1, np.int64), seed=np.full(1, -1, np.int64),
                    family="real", atlas=c.name, labels=tuple(c.labels), status="ok", reason="",
                    directed=c.directed)
    raise ParameterError(f"{path}: expected a 'nulls' or 'connectome' file, found kind {kind!r}")


def stage_networks(networks_path, n_nulls: int, key: str, action: str = "run"):
    """(batch, networks) of one nulls-stage batch file as a stage runs it: the real network's batch
    whole, of a null batch the nulls with index < ``n_nulls`` (the config key ``key``, named in the
    error); ``action`` words the error of an empty batch ("no networks to <action>")."""
    nb = read_nulls(networks_path)
    if nb.status != "ok" or len(nb) == 0:
        raise ValueError(f"{networks_path}: no networks to {action} ({nb.reason or 'empty batch'})")
    networks = [net for net in batch_networks(nb) if net.family == "real" or net.null_index < n_nulls]
    if not networks:
        raise ValueError(f"{networks_path}: no null with index < {key} = {n_nulls} in this batch")
    return nb, networks


def regions_of_class(atlas: str, labels: Sequence[str], classes: Sequence[str], key: str,
                     hint: str = "") -> tuple[list[int], str]:
    """Indices of the regions whose ``region_class`` in the atlas's hand-reviewed table
    (encephagen/data/tables/<atlas>_regions.tsv) is one of ``classes``, and a one-line description;
    errors name the config key ``key`` (``hint`` is appended to the missing-table error)."""
    from encephagen.data.fetch import DataError
    from encephagen.data.tables import table_for

    labels = [str(x) for x in labels]
    classes = [str(x) for x in classes]
    try:
        rows = table_for(atlas, labels)
    except DataError as exc:
        raise ParameterError(f"{key} needs the region table of {atlas!r} ({exc}){hint}") from exc
    idx = [k for k, r in enumerate(rows) if r["region_class"] in classes]
    if not idx:
        raise ParameterError(f"{key} {classes}: no region of {atlas} has that class")
    return idx, f"{key.rsplit('.', 1)[-1]} {classes} of {atlas}: " + ", ".join(labels[k] for k in idx)
