"""Which nulls a batch holds and a family's settings from the ``nulls`` config section (no files;
the nulls stage's steps are :mod:`encephagen.steps.nulls`)."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from encephagen.nulls.families import get_family


def n_batches(n_per_family: int, batch_size: int) -> int:
    if n_per_family < 1 or batch_size < 1:
        raise ValueError(f"n_per_family ({n_per_family}) and batch_size ({batch_size}) must be >= 1")
    return max(1, math.ceil(n_per_family / batch_size))


def batch_indices(batch: int, batch_size: int, n_per_family: int, family: str | None = None) -> np.ndarray:
    """Global null indices held by batch ``batch`` (family 'real' holds only index 0 in batch 0)."""
    if family == "real":
        if int(batch) != 0:
            raise ValueError(f"family 'real' has one batch (0), asked for batch {batch}")
        return np.array([0], dtype=np.int64)
    nb = n_batches(n_per_family, batch_size)
    if not 0 <= int(batch) < nb:
        raise ValueError(f"batch {batch} out of range: {n_per_family} nulls in batches of {batch_size} "
                         f"make batches 0..{nb - 1}")
    lo = int(batch) * batch_size
    return np.arange(lo, min(lo + batch_size, n_per_family), dtype=np.int64)


def family_settings(nulls_cfg: Mapping, family: str) -> dict:
    """Generator parameters of ``family`` from the workflow's ``nulls`` config section."""
    fam = get_family(family)
    p = {}
    keys = {"itr": "rewiring_iterations", "min_swaps_per_edge": "min_swaps_per_edge",
            "wei_freq": "strength_wei_freq", "rich_fraction": "richclub_fraction",
            "n_bins": "geometry_bins"}
    for k, cfg_key in keys.items():
        if k in fam.defaults and cfg_key in nulls_cfg:
            p[k] = nulls_cfg[cfg_key]
    return p


def threshold_for(nulls_cfg: Mapping, atlas: str) -> dict | None:
    th = (nulls_cfg.get("threshold") or {}).get(atlas)
    return dict(th) if th else None
