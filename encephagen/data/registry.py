"""One registry of the built-in datasets, as the workflow (and any caller) asks about them.

The library keeps one registry per kind: connectomes (:data:`encephagen.data.connectomes.SPECS`,
:class:`ConnectomeSpec`), empirical FC datasets (:data:`encephagen.data.empirical.FC_SOURCES`, each
naming its connectome) and T1w/T2w routes (``encephagen.data.parcellate.INPUTS``). This module
joins them and states, once, the few facts the per-kind registries do not carry: the region table a
dataset is labelled with, which connectomes have per-subject matrices, which FC datasets are computed
from BOLD here (band-pass settings apply). rules/data_common.smk asks this module instead of testing
dataset names. Light: no torch, nothing read from disk at import.
"""
from __future__ import annotations

from dataclasses import dataclass

from encephagen.data import connectomes as _C
from encephagen.data import empirical as _E
from encephagen.data import sources as _S
from encephagen.data.fetch import DataError

# Region table (encephagen/data/tables/<table>_regions.tsv) of connectomes not labelled with their own.
_CONNECTOME_TABLE = {"hcp80": "aal2", "gw80": "aal2", "schaefer100-test303": "schaefer100"}
# Connectomes converted with their per-subject matrices (a second output, <name>_subjects.h5).
_SUBJECTS = ("hcp80", "gw80")
# FC datasets computed here from BOLD time series (the band-pass settings apply; the rest ship as FC).
_BOLD_FC = ("hcp80", "gw80")
# T1w/T2w routes that read a second region table (tvb66/68 go through the DK-84 surface labels).
_T1T2_VIA = {"tvb66": ("dk84",), "tvb68": ("dk84",)}
# T1w/T2w tables built alongside schaefer100 that have no region table of their own.
T1T2_EXTRA = tuple(f"schaefer{k}" for k in _S.SCHAEFER_SIZES if k != 100)


@dataclass(frozen=True)
class Dataset:
    name: str
    kind: str  # "connectome" or "fc"
    table: str  # region table its regions follow
    connectome: str  # the connectome it belongs to (itself for a connectome)
    subjects: bool = False  # connectome: per-subject matrices are written too
    bold: bool = False  # FC: computed from BOLD here (the band-pass settings apply)


def _build() -> dict[tuple[str, str], Dataset]:
    out = {}
    for name in _C.CONNECTOMES:
        out["connectome", name] = Dataset(name, "connectome", _CONNECTOME_TABLE.get(name, name), name,
                                          subjects=name in _SUBJECTS)
    for name, src in _E.FC_SOURCES.items():
        conn = out["connectome", src["connectome"]]
        out["fc", name] = Dataset(name, "fc", conn.table, conn.name, bold=name in _BOLD_FC)
    return out


DATASETS = _build()
CONNECTOMES = _C.CONNECTOMES
FC_DATASETS = _E.FC_DATASETS
SUBJECT_CONNECTOMES = tuple(n for n in CONNECTOMES if DATASETS["connectome", n].subjects)


def dataset(kind: str, name: str) -> Dataset:
    try:
        return DATASETS[kind, name]
    except KeyError:
        known = ", ".join(n for k, n in DATASETS if k == kind)
        raise DataError(f"unknown {kind} dataset {name!r}; available: {known}") from None


def region_table(name: str) -> str:
    """Name of the region table a connectome, FC dataset or T1w/T2w atlas is labelled with."""
    for kind in ("connectome", "fc"):
        if (kind, name) in DATASETS:
            return DATASETS[kind, name].table
    return name  # a parcellation (aal2, ...) is its own table


def t1t2_region_tables(atlas: str) -> list[str]:
    """Region tables the T1w/T2w route of ``atlas`` reads ([] for the extra Schaefer sizes)."""
    if atlas in T1T2_EXTRA:
        return []
    return [region_table(atlas), *_T1T2_VIA.get(atlas, ())]
