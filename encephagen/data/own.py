"""Your own connectome: matrices and region tables from your files -> the same validated
:class:`encephagen.connectome.Connectome` HDF5 the built-in atlases become, so every stage (nulls,
simulations, statistics, figures) treats it exactly as a built-in one.

Declared in the workflow config (``connectomes:``, see docs/own_connectome.md)::

    atlases: [my12]
    connectomes:
      my12:
        weights: data/my12_weights.csv     # (n, n), [target, source]; .npy, .csv, .tsv or whitespace .txt
        lengths: data/my12_lengths.csv     # (n, n) mm; optional when centres are given (Euclidean then)
        labels: data/my12_labels.txt       # one per line, or a .csv/.tsv column 'label'; or a YAML list
        centres: data/my12_centres.csv     # optional (n, 3) mm, MNI unless centres_space says otherwise
        region_class: data/my12_classes.txt  # optional: one per line or a YAML list (default 'unassigned')
        t1t2: data/my12_t1t2.txt           # optional: one value per region (enables the T1w/T2w analyses)

Relative paths are relative to the directory the workflow runs in. Every problem is reported naming
the connectome, the key and the file.
"""
from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from encephagen.connectome import Connectome, ConnectomeError

log = logging.getLogger(__name__)

__all__ = ["OwnConnectomeError", "FILE_KEYS", "own_inputs", "build_own_connectome", "convert_own_connectome",
           "write_own_t1t2", "read_matrix", "read_column"]

OWN_VERSION = 1
FILE_KEYS = ("weights", "lengths", "labels", "centres", "region_class", "hemisphere", "cortical", "t1t2")


class OwnConnectomeError(ConnectomeError):
    """A declared connectome's files are missing or malformed; the message names connectome, key and file."""


def _where(name: str, key: str, path: Any) -> str:
    return f"connectomes.{name}.{key}" + (f" ({path})" if isinstance(path, (str, os.PathLike)) else "")


def _sep(path: Path) -> str | None:
    s = path.name.lower()
    return "," if s.endswith(".csv") else ("\t" if s.endswith(".tsv") else None)


def read_matrix(path: str | os.PathLike, *, name: str = "", key: str = "weights", ncols: int | None = None) -> np.ndarray:
    """A numeric matrix from .npy, .csv, .tsv or whitespace-separated text (no header)."""
    p = Path(path)
    if not p.is_file():
        raise OwnConnectomeError(f"{_where(name, key, p)}: file not found")
    try:
        if p.suffix.lower() == ".npy":
            a = np.load(p, allow_pickle=False)
        else:
            a = np.loadtxt(p, delimiter=_sep(p), dtype=float, ndmin=2, comments="#")
    except ValueError as exc:
        raise OwnConnectomeError(f"{_where(name, key, p)}: not a numeric matrix ({exc}); header rows are not "
                                 "allowed (comment them with #)") from None
    a = np.asarray(a, dtype=float)
    if ncols is not None and (a.ndim != 2 or a.shape[1] != ncols):
        raise OwnConnectomeError(f"{_where(name, key, p)}: expected {ncols} columns, got shape {a.shape}")
    return a


def read_column(value: Any, *, name: str, key: str, column: str | None = None) -> list[str]:
    """Per-region strings: a YAML list, a text file with one entry per line, or a .csv/.tsv with a
    header holding ``column`` (default: the key), else its first column."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    p = Path(value)
    if not p.is_file():
        raise OwnConnectomeError(f"{_where(name, key, p)}: file not found")
    if p.suffix.lower() == ".npy":
        return [str(v) for v in np.load(p, allow_pickle=False).ravel()]
    sep = _sep(p)
    lines = [ln.rstrip("\r\n") for ln in p.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    if sep is None:
        return [ln.strip() for ln in lines]
    rows = list(csv.reader(lines, delimiter=sep))
    head = [h.strip() for h in rows[0]] if rows else []
    col = column or key
    if col in head:
        i = head.index(col)
        return [r[i].strip() for r in rows[1:]]
    return [r[0].strip() for r in rows]


def own_inputs(name: str, spec: Mapping) -> list[str]:
    """The files a declared connectome is built from (workflow inputs: a changed file rebuilds it)."""
    return [str(spec[k]) for k in FILE_KEYS if isinstance(spec.get(k), (str, os.PathLike))]


def _bool_column(vals: Sequence[str], *, name: str, key: str) -> np.ndarray:
    out = []
    for v in vals:
        s = str(v).strip().lower()
        if s in ("1", "true", "yes", "y", "t"):
            out.append(True)
        elif s in ("0", "false", "no", "n", "f"):
            out.append(False)
        else:
            raise OwnConnectomeError(f"{_where(name, key, None)}: {v!r} is not a boolean (1/0, true/false)")
    return np.array(out, dtype=bool)


def build_own_connectome(name: str, spec: Mapping, *, isolated: str = "allow") -> Connectome:
    """A validated Connectome from the files declared under ``connectomes.<name>``."""
    if "weights" not in spec:
        raise OwnConnectomeError(f"connectomes.{name}: 'weights' is required")
    W = read_matrix(spec["weights"], name=name, key="weights")
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise OwnConnectomeError(f"{_where(name, 'weights', spec['weights'])}: must be square, got shape {W.shape}")
    n = W.shape[0]

    def per_region(key: str, default=None) -> list[str] | None:
        if spec.get(key) is None:
            return default
        vals = read_column(spec[key], name=name, key=key, column="label" if key == "labels" else key)
        if len(vals) != n:
            raise OwnConnectomeError(f"{_where(name, key, spec[key])}: {len(vals)} entries for {n} regions "
                                     f"(weights are {n} x {n})")
        return vals

    labels = per_region("labels")
    if labels is None:
        raise OwnConnectomeError(f"connectomes.{name}: 'labels' is required (a file with one label per region, "
                                 "or a YAML list)")
    if len(set(labels)) != n:
        dup = sorted({x for x in labels if labels.count(x) > 1})[:5]
        raise OwnConnectomeError(f"{_where(name, 'labels', spec['labels'])}: duplicate labels {dup}")
    centres = None
    if spec.get("centres") is not None:
        centres = read_matrix(spec["centres"], name=name, key="centres", ncols=3)
        if centres.shape[0] != n:
            raise OwnConnectomeError(f"{_where(name, 'centres', spec['centres'])}: {centres.shape[0]} rows for "
                                     f"{n} regions")
        if not np.isfinite(centres).all():
            raise OwnConnectomeError(f"{_where(name, 'centres', spec['centres'])}: non-finite coordinates")
    distances = None
    if centres is not None:
        distances = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(-1))
    if spec.get("lengths") is not None:
        L = read_matrix(spec["lengths"], name=name, key="lengths")
        if L.shape != W.shape:
            raise OwnConnectomeError(f"{_where(name, 'lengths', spec['lengths'])}: shape {L.shape}, weights are "
                                     f"{W.shape}")
        lengths_source = str(spec.get("lengths_source") or f"user file {Path(spec['lengths']).name}")
    elif distances is not None:
        L = distances.copy()
        lengths_source = "Euclidean distance of centres (no lengths file given)"
    else:
        raise OwnConnectomeError(f"connectomes.{name}: give 'lengths' (an n x n file, mm) or 'centres' "
                                 "(n x 3, mm; lengths are then the Euclidean distances)")
    classes = per_region("region_class", ["unassigned"] * n)
    hemis = per_region("hemisphere")
    if hemis is None:
        hemis = [("L" if c[0] < 0 else "R" if c[0] > 0 else "") for c in centres] \
            if centres is not None and str(spec.get("centres_space") or "MNI") == "MNI" else [""] * n
    cort = per_region("cortical")
    cortical = _bool_column(cort, name=name, key="cortical") if cort is not None else np.ones(n, dtype=bool)
    directed = spec.get("directed")
    if directed is None:
        directed = not np.allclose(W, W.T, rtol=1e-10, atol=0.0)
    c = Connectome(
        name=name, weights=W, lengths=L, labels=tuple(labels), hemisphere=tuple(hemis), cortical=cortical,
        region_class=tuple(classes), directed=bool(directed),
        weight_kind=str(spec.get("weight_kind") or "user-supplied weights"), lengths_source=lengths_source,
        licence=str(spec.get("licence") or "as declared by the user"),
        citation=str(spec.get("citation") or ""), centres=centres,
        centres_space=(str(spec.get("centres_space") or "MNI") if centres is not None else None),
        distances=distances,
        provenance={"source": "own", "files": {k: str(v) for k, v in spec.items()
                                               if k in FILE_KEYS and isinstance(v, (str, os.PathLike))},
                    "orientation": "[target, source] as given by the user (docs/own_connectome.md)",
                    "own_version": OWN_VERSION})
    try:
        c.validate(isolated=isolated, source=f"connectomes.{name} ({spec['weights']})")
    except OwnConnectomeError:
        raise
    except ConnectomeError as exc:
        raise OwnConnectomeError(str(exc)) from None
    return c


