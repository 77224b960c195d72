"""The hand-reviewed region tables shipped in ``encephagen/data/tables/<atlas>_regions.tsv``.

Each table lists every region of one parcellation in the order of its source matrices, with
``region_class`` (anatomical class, controlled vocabulary :data:`REGION_CLASSES`), a finer
``subclass``, ``hemisphere`` ('L', 'R' or '') and ``cortical`` (0/1), reviewed label by label
(see the header comments of each file). Code never guesses a class from a label's spelling.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from encephagen.data.fetch import DataError

TABLES = Path(__file__).resolve().parent / "tables"

REGION_CLASSES = (
    "visual", "auditory", "somatosensory", "sensorimotor", "motor", "premotor", "prefrontal",
    "orbitofrontal", "parietal", "temporal", "temporal_pole", "cingulate", "insula", "hippocampal",
    "parahippocampal", "amygdala", "olfactory", "thalamus", "basal_ganglia", "cerebellum", "placeholder",
)


@lru_cache(maxsize=None)
def region_table(atlas: str) -> tuple[dict, ...]:
    """Rows of ``tables/<atlas>_regions.tsv`` as dicts (comment lines skipped), validated."""
    path = TABLES / f"{atlas}_regions.tsv"
    if not path.is_file():
        raise DataError(f"no region table for atlas {atlas!r} ({path} missing); available: {available_tables()}")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t"))
    for k, r in enumerate(rows):
        if int(r["index"]) != k:
            raise DataError(f"{path}: row {k} has index {r['index']} (indices must be 0..n-1 in order)")
        if r["region_class"] not in REGION_CLASSES:
            raise DataError(f"{path}: row {k} ({r['label']}): unknown region_class {r['region_class']!r}; "
                            f"allowed: {REGION_CLASSES}")
        if r["hemisphere"] not in ("L", "R", ""):
            raise DataError(f"{path}: row {k} ({r['label']}): hemisphere must be L, R or empty")
        if r["cortical"] not in ("0", "1"):
            raise DataError(f"{path}: row {k} ({r['label']}): cortical must be 0 or 1")
    return tuple(rows)


def available_tables() -> list[str]:
    return sorted(p.name[: -len("_regions.tsv")] for p in TABLES.glob("*_regions.tsv"))


def table_for(atlas: str, labels: Sequence[str] | None = None, rows: Sequence[int] | None = None) -> list[dict]:
    """The table rows (optionally a subset by row index) checked against ``labels`` in order."""
    table = region_table(atlas)
    sel = [table[i] for i in rows] if rows is not None else list(table)
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != len(sel):
            raise DataError(f"region table {atlas}: {len(sel)} rows for {len(labels)} labels")
        for k, (r, lab) in enumerate(zip(sel, labels)):
            if r["label"] != lab:
                raise DataError(f"region table {atlas}: position {k} is {r['label']!r} in the table but "
                                f"{lab!r} in the data (region order differs)")
    return sel
