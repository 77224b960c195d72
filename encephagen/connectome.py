"""The Connectome object, its on-disk form and its input validation.

Convention (stated once, tested): ``weights[i, j]`` is the connection FROM source
region ``j`` TO target region ``i`` (rows are targets, columns are sources), so the
coupling input to every region is ``weights @ activity``. This is neurolib's Cmat
convention. Loaders of data stored the other way round transpose on load and say so
in ``provenance['orientation']``.

``lengths[i, j]`` is the fibre (or proxy) length in mm of the same connection;
``distances[i, j]`` the Euclidean distance between region centres in mm (the full
pairwise matrix that null connectomes draw the lengths of new edges from, see
:mod:`encephagen.nulls`). ``lengths_source`` says how lengths were obtained.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.io import atomic_h5, kinds, open_validated, read_strings, write_array


class ConnectomeError(ValueError):
    """A connectome fails validation. The message names the connectome (or file) and property."""


CONNECTOME_KIND = kinds.CONNECTOME  # layout: encephagen/io/kinds.py

ISOLATED_POLICIES = ("error", "warn", "allow")


@dataclass(frozen=True)
class Connectome:
    name: str
    weights: np.ndarray                  # (n, n) float64, [target, source]
    lengths: np.ndarray                  # (n, n) mm
    labels: tuple[str, ...]
    hemisphere: tuple[str, ...]          # 'L', 'R' or '' (midline)
    cortical: np.ndarray                 # (n,) bool
    region_class: tuple[str, ...]        # from the hand-reviewed tables in encephagen/data/tables
    directed: bool
    weight_kind: str                     # e.g. 'ordinal tracer (CoCoMac-style)', 'streamline count'
    lengths_source: str                  # e.g. 'tractography', 'Euclidean distance of centres'
    licence: str
    citation: str
    centres: np.ndarray | None = None    # (n, 3) mm
    centres_space: str | None = None     # 'MNI' or the native frame's name
    distances: np.ndarray | None = None  # (n, n) mm, Euclidean between centres
    provenance: Mapping = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    def with_weights(self, weights: np.ndarray, lengths: np.ndarray | None = None,
                     name: str | None = None, **prov) -> "Connectome":
        """A copy with other weights (e.g. a null); lengths default to the same matrix."""
        p = dict(self.provenance)
        p.update(prov)
        return replace(self, weights=np.asarray(weights, dtype=float),
                       lengths=self.lengths if lengths is None else np.asarray(lengths, dtype=float),
                       name=name or self.name, provenance=p)

    def validate(self, isolated: str = "error", source: str | None = None) -> "Connectome":
        validate_connectome(self.weights, self.lengths, name=source or self.name,
                            directed=self.directed, n_expected=len(self.labels), isolated=isolated)
        return self

    # ----------------------------------------------------------------- disk
    def save(self, path: str | Path, provenance: Mapping | None = None) -> Path:
        path = Path(path)
        with atomic_h5(path, kind="connectome", provenance=provenance) as f:
            write_array(f, "weights", self.weights)
            write_array(f, "lengths", self.lengths)
            write_array(f, "labels", np.array(self.labels, dtype=str))
            write_array(f, "hemisphere", np.array(self.hemisphere, dtype=str))
            write_array(f, "cortical", np.asarray(self.cortical, dtype=bool))
            write_array(f, "region_class", np.array(self.region_class, dtype=str))
            if self.centres is not None:
                write_array(f, "centres", self.centres)
            if self.distances is not None:
                write_array(f, "distances", self.distances)
            for key in ("name", "weight_kind", "lengths_source", "licence", "citation"):
                f.attrs[key] = getattr(self, key)
            f.attrs["directed"] = bool(self.directed)
            f.attrs["centres_space"] = self.centres_space or ""
            f.attrs["connectome_provenance"] = json.dumps(dict(self.provenance), sort_keys=True, default=str)
        return path

    @classmethod
    def load(cls, path: str | Path, validate: bool = True, isolated: str = "allow") -> "Connectome":
        path = Path(path)
        with open_validated(path, "connectome") as f:
            c = cls(
                name=str(f.attrs["name"]),
                weights=f["weights"][()].astype(float),
                lengths=f["lengths"][()].astype(float),
                labels=tuple(read_strings(f["labels"])),
                hemisphere=tuple(read_strings(f["hemisphere"])),
                cortical=f["cortical"][()].astype(bool),
                region_class=tuple(read_strings(f["region_class"])),
                directed=bool(f.attrs["directed"]),
                weight_kind=str(f.attrs["weight_kind"]),
                lengths_source=str(f.attrs["lengths_source"]),
                licence=str(f.attrs["licence"]),
                citation=str(f.attrs["citation"]),
                centres=f["centres"][()] if "centres" in f else None,
                centres_space=str(f.attrs.get("centres_space", "")) or None,
                distances=f["distances"][()] if "distances" in f else None,
                provenance=json.loads(f.attrs.get("connectome_provenance", "{}")),
            )
        if validate:
            c.validate(isolated=isolated, source=str(path))
        return c


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(v) for v in np.argwhere(mask)[0])


def validate_connectome(weights, lengths=None, *, name: str, directed: bool = True,
                        n_expected: int | None = None, isolated: str = "error",
                        allow_diagonal: bool = False) -> None:
    """Check one property at a time; raise :class:`ConnectomeError` naming ``name`` and the culprit.

    Properties: 2-D square; node count; finite (first bad (i, j) named); non-negative;
    zero diagonal (unless allowed); symmetric where ``directed`` is False; lengths of the
    same shape, finite, non-negative, and positive wherever a weight is; isolated nodes
    under ``isolated`` = 'error' | 'warn' | 'allow' (never silently averaged over).
    """
    if isolated not in ISOLATED_POLICIES:
        raise ValueError(f"isolated policy must be one of {ISOLATED_POLICIES}, got {isolated!r}")
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ConnectomeError(f"{name}: weights must be a square 2-D matrix, got shape {w.shape}")
    n = w.shape[0]
    if n_expected is not None and n != n_expected:
        raise ConnectomeError(f"{name}: weights are {n}x{n} but {n_expected} regions are labelled")
    if not np.issubdtype(w.dtype, np.number):
        raise ConnectomeError(f"{name}: weights have non-numeric dtype {w.dtype}")
    bad = ~np.isfinite(w)
    if bad.any():
        i, j = _first_bad(bad)
        raise ConnectomeError(f"{name}: weights contain {int(bad.sum())} non-finite values (NaN/Inf), "
                              f"first at (i={i}, j={j}): {w[i, j]}")
    if (w < 0).any():
        i, j = _first_bad(w < 0)
        raise ConnectomeError(f"{name}: weights contain {int((w < 0).sum())} negative values, "
                              f"first at (i={i}, j={j}): {w[i, j]}")
    if not allow_diagonal and np.any(np.diag(w) != 0):
        k = int(np.flatnonzero(np.diag(w))[0])
        raise ConnectomeError(f"{name}: weights have a nonzero diagonal (self-connection), first at "
                              f"region {k}: {w[k, k]}")
    if not directed and not np.allclose(w, w.T, rtol=1e-10, atol=1e-12):
        i, j = _first_bad(~np.isclose(w, w.T, rtol=1e-10, atol=1e-12))
        raise ConnectomeError(f"{name}: declared undirected (symmetric) but weights are asymmetric, "
                              f"first at (i={i}, j={j}): {w[i, j]} vs {w[j, i]}")
    if lengths is not None:
        L = np.asarray(lengths)
        if L.shape != w.shape:
            raise ConnectomeError(f"{name}: lengths have shape {L.shape}, weights {w.shape}")
        bad = ~np.isfinite(L)
        if bad.any():
            i, j = _first_bad(bad)
            raise ConnectomeError(f"{name}: lengths contain non-finite values, first at (i={i}, j={j})")
        if (L < 0).any():
            i, j = _first_bad(L < 0)
            raise ConnectomeError(f"{name}: lengths contain negative values, first at (i={i}, j={j}): "
                                  f"{L[i, j]}")
        zero_len = (w > 0) & (L <= 0)
        if zero_len.any():
            i, j = _first_bad(zero_len)
            raise ConnectomeError(f"{name}: {int(zero_len.sum())} connections have zero length "
                                  f"(no conduction delay possible), first at (i={i}, j={j})")
    if isolated != "allow":
        deg = (w > 0).sum(0) + (w > 0).sum(1)
        iso = np.flatnonzero(deg == 0)
        if iso.size:
            msg = f"{name}: {iso.size} isolated regions (no connections): indices {iso.tolist()}"
            if isolated == "error":
                raise ConnectomeError(msg + " (set the isolated-node policy to 'warn' or 'allow' to accept)")
            import warnings

            warnings.warn(msg, stacklevel=2)


def n_components(weights: np.ndarray) -> int:
    """Number of weakly connected components (scipy)."""
    from scipy.sparse.csgraph import connected_components

    return int(connected_components(np.asarray(weights) != 0, directed=True, connection="weak")[0])


def upper_triangle(m: np.ndarray, k: int = 1) -> np.ndarray:
    m = np.asarray(m)
    return m[np.triu_indices(m.shape[-1], k)] if m.ndim == 2 else m[..., *np.triu_indices(m.shape[-1], k)]


def labels_from(seq: Sequence) -> tuple[str, ...]:
    return tuple(str(s) for s in seq)
