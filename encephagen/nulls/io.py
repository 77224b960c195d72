"""On-disk form of null connectomes: one HDF5 file per (atlas, family, batch).

Layout (kind ``"nulls"``; read by :func:`read_nulls`, written by :func:`encephagen.steps.nulls.write_null_batch`)::

    weights          (k, n, n) float64   null weights, [target, source] like Connectome.weights
    (lengths are not stored per null: the one length rule makes them pair_lengths where an
     edge exists, 0 elsewhere; :func:`read_nulls` rebuilds them, and the writer refuses a batch
     whose lengths break the rule. This keeps 10,000-null batches at the size of their weights.)
    null_index       (k,) int64          global index within the family, 0..N-1
    seed             (k,) int64          derive_seed(master_seed, atlas, family, null_index)
    swaps_requested  (k,) int64          swaps asked for (0 for families that do not swap)
    swaps_achieved   (k,) int64          swaps actually made
    labels           (n,) str            region labels of the source connectome
    source_weights   (n, n)              the matrix the nulls were made from (after any
                                         configured, recorded thresholding)
    pair_lengths     (n, n)              the full pairwise length matrix every edge (real or
                                         null) takes its length from
    attrs: family, source (atlas), directed, status ('ok' | 'skipped'), reason (why skipped),
           master_seed, params (JSON: generator settings), threshold (JSON), length_rule (JSON)

Rows are chunked one null per chunk and gzip-compressed. A batch may hold zero nulls when
the family cannot act on the source (``status == 'skipped'``, ``reason`` says why): a
recorded skip, never a silent copy of the input.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np

from encephagen.io import kinds, open_validated, read_provenance, read_strings, validate_many
from encephagen.nulls.lengths import edge_lengths

_PER_NULL = kinds.NULLS_PER_NULL
NULLS_KIND = kinds.NULLS  # layout: encephagen/io/kinds.py


@dataclass(frozen=True)
class Null:
    """One null network: identity (source, family, null_index), its seed and matrices."""

    source: str
    family: str
    null_index: int
    seed: int
    weights: np.ndarray
    lengths: np.ndarray
    swaps_requested: int
    swaps_achieved: int


@dataclass(frozen=True)
class NullBatch:
    """A batch of nulls of one family made from one source connectome (see module doc)."""

    family: str
    source: str
    directed: bool
    labels: tuple[str, ...]
    weights: np.ndarray            # (k, n, n)
    lengths: np.ndarray            # (k, n, n)
    null_index: np.ndarray         # (k,)
    seed: np.ndarray               # (k,)
    swaps_requested: np.ndarray    # (k,)
    swaps_achieved: np.ndarray     # (k,)
    source_weights: np.ndarray     # (n, n)
    pair_lengths: np.ndarray       # (n, n)
    status: str = "ok"
    reason: str = ""
    master_seed: int | None = None
    params: Mapping = field(default_factory=dict)
    threshold: Mapping = field(default_factory=dict)
    length_rule: Mapping = field(default_factory=dict)
    provenance: Mapping = field(default_factory=dict)
    path: str | None = None

    def __len__(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n(self) -> int:
        return len(self.labels)

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    def __getitem__(self, k: int) -> Null:
        return Null(self.source, self.family, int(self.null_index[k]), int(self.seed[k]),
                    self.weights[k], self.lengths[k], int(self.swaps_requested[k]),
                    int(self.swaps_achieved[k]))

    def __iter__(self) -> Iterator[Null]:
        for k in range(len(self)):
            yield self[k]

    def by_index(self, null_index: int) -> Null:
        """The null with global index ``null_index`` (KeyError naming the file otherwise)."""
        hit = np.flatnonzero(self.null_index == null_index)
        if hit.size == 0:
            raise KeyError(f"{self.path or 'batch'}: no null with null_index {null_index} "
                           f"(holds {self.null_index.min() if len(self) else '-'}.."
                           f"{self.null_index.max() if len(self) else '-'})")
        return self[int(hit[0])]


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def read_nulls(path: str | Path, indices: Sequence[int] | None = None) -> NullBatch:
    """Read a validated batch file (OutputError naming the file if partial/foreign/malformed).

    ``indices`` selects rows (positions within the batch) without reading the others.
    """
    path = Path(path)
    with open_validated(path, "nulls") as f:
        sel = slice(None) if indices is None else np.sort(np.asarray(indices, dtype=np.int64))
        ms = int(f.attrs["master_seed"])
        weights = f["weights"][sel]
        pair = f["pair_lengths"][()]
        return NullBatch(
            family=_s(f.attrs["family"]),
            source=_s(f.attrs["source"]),
            directed=bool(f.attrs["directed"]),
            labels=tuple(read_strings(f["labels"])),
            weights=weights,
            lengths=edge_lengths(weights, pair),
            null_index=f["null_index"][sel],
            seed=f["seed"][sel],
            swaps_requested=f["swaps_requested"][sel],
            swaps_achieved=f["swaps_achieved"][sel],
            source_weights=f["source_weights"][()],
            pair_lengths=pair,
            status=_s(f.attrs["status"]),
            reason=_s(f.attrs["reason"]),
            master_seed=None if ms < 0 else ms,
            params=json.loads(_s(f.attrs["params"])),
            threshold=json.loads(_s(f.attrs.get("threshold", "{}"))),
            length_rule=json.loads(_s(f.attrs.get("length_rule", "{}"))),
            provenance=read_provenance(f),
            path=str(path),
        )


def read_nulls_many(paths: Sequence[str | Path]) -> list[NullBatch]:
    """Read several batches; every file is validated first and all bad files named at once."""
    validate_many(paths, "nulls")
    return [read_nulls(p) for p in paths]
