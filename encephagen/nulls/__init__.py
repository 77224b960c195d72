"""Null connectomes: named families with documented invariants, fast generators, storage.

Public API
----------
- :func:`read_nulls` (path) -> :class:`NullBatch`: read one validated batch file
  (kind ``"nulls"``; layout in :mod:`encephagen.nulls.io`).
- :data:`FAMILIES` / :func:`get_family`: the registry (see :mod:`encephagen.nulls.families`).
- :func:`prepare_source`, :func:`generate_null`, :func:`generate_batch`: make nulls.
- :func:`pair_lengths`, :func:`edge_lengths`: the ONE rule giving every edge its length.
- :func:`property_panel`: properties of nulls vs the real network.

Arrays and batches in and out; the nulls stage's files are written by :mod:`encephagen.steps.nulls`
(:func:`~encephagen.steps.nulls.write_null_batch`, the property tables and figure).

Network identity: (atlas, family, null_index); a null's seed is
``derive_seed(master_seed, atlas, family, null_index)``, whatever batch it lands in.
"""
from encephagen.nulls.io import Null, NullBatch, read_nulls, read_nulls_many

__all__ = ["Null", "NullBatch", "read_nulls", "read_nulls_many"]

try:  # the generators (families.py) may be absent in a partial checkout
    from encephagen.nulls.families import (FAMILIES, Family, NullRefusal, Source, generate_batch,  # noqa: F401
                                           generate_null, get_family, null_seed, prepare_source)
    from encephagen.nulls.lengths import edge_lengths, pair_lengths  # noqa: F401

    __all__ += ["FAMILIES", "Family", "NullRefusal", "Source", "generate_batch", "generate_null",
                "get_family", "null_seed", "prepare_source", "edge_lengths", "pair_lengths"]
except ModuleNotFoundError as _exc:  # pragma: no cover
    if _exc.name not in ("encephagen.nulls.families", "encephagen.nulls.lengths"):
        raise
