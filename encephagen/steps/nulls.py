"""The nulls stage's steps (paths in, read, call :mod:`encephagen.nulls`, write): one batch of one
null family from a connectome file, and the property panel (tables and figure) of every batch of
an atlas. The file layout of a null batch (kind 'nulls') is read by
:func:`encephagen.nulls.read_nulls` and written here (:func:`write_null_batch`)."""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import h5py
import numpy as np

from encephagen.connectome import Connectome
from encephagen.io import atomic_h5, validate_many
from encephagen.io.tables import atomic_path, write_with
from encephagen.nulls.families import generate_batch, prepare_source
from encephagen.nulls.io import _PER_NULL, NullBatch, read_nulls
from encephagen.nulls.lengths import edge_lengths
from encephagen.nulls.pipeline import batch_indices
from encephagen.nulls.properties import COLUMNS, panel_figure, property_panel, summarise

log = logging.getLogger(__name__)

__all__ = ["generate_nulls_file", "properties_files", "write_null_batch", "write_tsv", "save_figure"]


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
    out += save_figure(panel_figure(rows, curve_rows, lengths), figures)
    return out


def write_null_batch(path: str | Path, batch: NullBatch, provenance: Mapping | None = None) -> Path:
    """Write ``batch`` atomically (temp name, 'complete' last, os.replace)."""
    path = Path(path)
    k, n = len(batch), batch.n
    if batch.weights.shape != (k, n, n) or batch.lengths.shape != (k, n, n):
        raise ValueError(f"{path}: weights {batch.weights.shape} / lengths {batch.lengths.shape} "
                         f"do not match (k={k}, n={n})")
    if batch.status == "skipped" and not batch.reason:
        raise ValueError(f"{path}: a skipped batch must record its reason")
    prov = {"nulls": {"family": batch.family, "source": batch.source, "master_seed": batch.master_seed,
                      "null_index": [int(v) for v in batch.null_index],
                      "seed": [int(v) for v in batch.seed]}}
    prov.update(provenance or {})
    if k and not np.array_equal(np.asarray(batch.lengths, dtype=np.float64),
                                edge_lengths(batch.weights, batch.pair_lengths)):
        raise ValueError(f"{path}: the batch's lengths break the length rule (pair_lengths where an edge "
                         f"exists, 0 elsewhere); refusing to write them")
    with atomic_h5(path, kind="nulls", provenance=prov) as f:
        arr = np.asarray(batch.weights, dtype=np.float64)
        if k:
            f.create_dataset("weights", data=arr, chunks=(1, n, n), compression="gzip",
                             compression_opts=4, shuffle=True)
        else:
            f.create_dataset("weights", data=arr)
        for name in _PER_NULL:
            f.create_dataset(name, data=np.asarray(getattr(batch, name), dtype=np.int64).reshape(k))
        f.create_dataset("labels", data=np.array(batch.labels, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("source_weights", data=np.asarray(batch.source_weights, dtype=np.float64))
        f.create_dataset("pair_lengths", data=np.asarray(batch.pair_lengths, dtype=np.float64))
        f.attrs["family"] = batch.family
        f.attrs["source"] = batch.source
        f.attrs["directed"] = bool(batch.directed)
        f.attrs["status"] = batch.status
        f.attrs["reason"] = batch.reason
        f.attrs["master_seed"] = -1 if batch.master_seed is None else int(batch.master_seed)
        f.attrs["params"] = json.dumps(dict(batch.params), sort_keys=True, default=str)
        f.attrs["threshold"] = json.dumps(dict(batch.threshold), sort_keys=True, default=str)
        f.attrs["length_rule"] = json.dumps(dict(batch.length_rule), sort_keys=True, default=str)
    return path


def write_tsv(rows: Sequence[Mapping], path: str | Path, columns: Sequence[str] | None = None) -> Path:
    """Tab-separated table written atomically (:func:`encephagen.io.tables.atomic_path`)."""
    path = Path(path)
    cols = list(columns or (rows[0].keys() if rows else []))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, delimiter="\t", extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: (f"{v:.6g}" if isinstance(v, float) else v) for c, v in r.items() if c in cols})
    return path


def save_figure(fig, paths: Sequence[str | Path]) -> list[Path]:
    """Save ``fig`` to each path (format from the suffix, e.g. .png and .pdf), atomically; close it."""
    import matplotlib.pyplot as plt

    out = []
    for p in paths:
        p = Path(p)
        write_with(p, lambda tmp, p=p: fig.savefig(tmp, dpi=130, format=p.suffix.lstrip(".")))  # atomic
        out.append(p)
    plt.close(fig)
    return out
