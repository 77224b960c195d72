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
from importlib import import_module as _import_module

from encephagen.nulls.io import Null, NullBatch, read_nulls, read_nulls_many

# The generators (families.py: numba, ~0.3 CPU s) are loaded on first use (PEP 562): the many jobs
# that only read a batch (read_nulls) do not pay for them.
_LAZY = {**{n: "families" for n in ("FAMILIES", "Family", "NullRefusal", "Source", "generate_batch",
                                      "generate_null", "get_family", "null_seed", "prepare_source")},
         "edge_lengths": "lengths", "pair_lengths": "lengths"}

__all__ = ["Null", "NullBatch", "read_nulls", "read_nulls_many", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(_import_module(f"encephagen.nulls.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'encephagen.nulls' has no attribute {name!r}")
