"""encephagen.data.registry: the one place the workflow asks about built-in datasets (which region
table labels them, per-subject matrices, band-passed FC) covers every dataset of the library's
per-kind registries, and names only region tables that ship."""
from __future__ import annotations

import pytest

from encephagen.data import connectomes, empirical, parcellate, registry
from encephagen.data.fetch import DataError
from encephagen.data.tables import available_tables


def test_every_dataset_is_registered_with_a_shipped_table():
    tables = set(available_tables())
    assert {n for k, n in registry.DATASETS if k == "connectome"} == set(connectomes.CONNECTOMES)
    assert {n for k, n in registry.DATASETS if k == "fc"} == set(empirical.FC_DATASETS)
    for d in registry.DATASETS.values():
        assert d.table in tables, d
    for name, src in empirical.FC_SOURCES.items():  # an FC dataset follows its connectome's regions
        assert registry.dataset("fc", name).table == registry.dataset("connectome", src["connectome"]).table
    for atlas in parcellate.T1T2_ATLASES:
        assert set(registry.t1t2_region_tables(atlas)) <= tables, atlas
    assert all(registry.t1t2_region_tables(a) == [] for a in registry.T1T2_EXTRA)


def test_subject_connectomes_and_bold_fc():
    assert registry.SUBJECT_CONNECTOMES == ("hcp80", "gw80")
    assert [n for (k, n), d in registry.DATASETS.items() if k == "fc" and d.bold] == ["hcp80", "gw80"]


def test_unknown_dataset_is_refused_naming_the_known_ones():
    with pytest.raises(DataError, match="unknown fc dataset 'hcp81'.*schaefer100-train706"):
        registry.dataset("fc", "hcp81")
