"""File-level entry points shared by the CLI and the workflow's thin scripts."""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from encephagen.connectome import Connectome
from encephagen.io import validate_many
from encephagen.nulls.families import generate_batch, get_family, prepare_source
from encephagen.nulls.io import read_nulls, write_null_batch
from encephagen.nulls.properties import COLUMNS, plot_panel, property_panel, summarise, write_tsv

log = logging.getLogger(__name__)


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


def generate_nulls_file(connectome: str | Path | Connectome, out: str | Path, *, atlas: str, family: str,
                        batch: int, batch_size: int, n_per_family: int, master_seed: int,
                        params: Mapping | None = None, threshold: Mapping | None = None,
                        on_refusal: str = "error", progress: bool = False) -> Path:
    """Generate batch ``batch`` of ``family`` from a connectome (file or object) and write it."""
    conn = connectome if isinstance(connectome, Connectome) else Connectome.load(connectome, isolated="allow")
    src = prepare_source(conn, threshold=threshold, name=atlas)
    idx = batch_indices(batch, batch_size, n_per_family, family)
    nb = generate_batch(src, family, idx, master_seed, params=params, on_refusal=on_refusal,
                        progress=progress, atlas=atlas)
    prov = {"nulls_request": {"atlas": atlas, "family": family, "batch": int(batch), "batch_size": int(batch_size),
                              "n_per_family": int(n_per_family), "on_refusal": on_refusal,
                              "connectome": str(connectome) if not isinstance(connectome, Connectome) else conn.name}}
    write_null_batch(out, nb, provenance=prov)
    if nb.skipped:
        log.warning("%s: %s %s skipped: %s", out, atlas, family, nb.reason)
    return Path(out)


def properties_files(batch_paths: Sequence[str | Path], table: str | Path, figures: Sequence[str | Path],
                     summary: str | Path | None = None, curves: str | Path | None = None,
                     max_per_family: int | None = None, rich_fraction: float = 0.15) -> list[Path]:
    """Read every batch of one atlas, write the property table(s) and figure(s)."""
    validate_many(batch_paths, "nulls")
    batches = [read_nulls(p) for p in batch_paths]
    rows, curve_rows, lengths = property_panel(batches, max_per_family=max_per_family,
                                               rich_fraction=rich_fraction)
    out = [write_tsv(rows, table, COLUMNS)]
    if summary is not None:
        srows = summarise(rows)
        cols = []
        for r in srows:
            cols += [c for c in r if c not in cols]
        out.append(write_tsv(srows, summary, cols))
    if curves is not None:
        out.append(write_tsv(curve_rows, curves, ["atlas", "family", "null_index", "k", "phi"]))
    out += plot_panel(rows, curve_rows, lengths, figures)
    return out
