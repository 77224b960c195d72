"""Property panel: the real network first, every family's rows, skipped families recorded."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from encephagen.nulls import generate_batch, prepare_source
from encephagen.steps.nulls import properties_files
from encephagen.steps.nulls import write_null_batch


@pytest.fixture(scope="module")
def batches(resources_dir, tmp_path_factory):
    from encephagen.data import load_connectome

    d = tmp_path_factory.mktemp("panel")
    paths = {}
    for atlas in ("tvb96", "hcp80"):
        src = prepare_source(load_connectome(atlas, resources_dir))
        ps = [write_null_batch(d / f"{atlas}-real.h5", generate_batch(src, "real", [0], 1, atlas=atlas))]
        for fam in ("degree", "weight_perm", "geometry"):
            b = generate_batch(src, fam, range(3), 1, on_refusal="skip", atlas=atlas)
            ps.append(write_null_batch(d / f"{atlas}-{fam}.h5", b))
        paths[atlas] = ps
    return d, paths


def _rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_panel_table_and_figure(batches):
    d, paths = batches
    out = properties_files(paths["tvb96"], d / "t.tsv", [d / "f.png", d / "f.pdf"], summary=d / "s.tsv",
                           curves=d / "c.tsv")
    assert all(p.exists() for p in out)
    rows = _rows(d / "t.tsv")
    assert rows[0]["family"] == "real" and float(rows[0]["length_ks"]) == 0.0
    fam = {r["family"]: [] for r in rows}
    for r in rows:
        fam[r["family"]].append(r)
    assert len(fam["degree"]) == 3 and len(fam["weight_perm"]) == 3
    for r in fam["degree"] + fam["geometry"]:
        assert int(r["degree_max_abs_diff"]) == 0 and int(r["swaps_achieved"]) > 0
    real = rows[0]
    for r in fam["weight_perm"]:  # binary properties identical to the real network's
        for col in ("clustering_bin", "path_length_bin", "richclub_phi_k", "density"):
            assert r[col] == real[col]
        assert r["clustering_wei"] != real["clustering_wei"]
    for r in fam["geometry"]:
        assert float(r["length_ks"]) < 0.03
    assert all(r["weights_equal"] == "True" for r in rows)
    summary = {r["family"]: r for r in _rows(d / "s.tsv")}
    assert float(summary["degree"]["degree_max_abs_diff_mean"]) == 0.0
    curves = _rows(d / "c.tsv")
    assert {c["family"] for c in curves} == {"real", "degree", "weight_perm", "geometry"}


def test_panel_records_skipped_family(batches):
    d, paths = batches
    properties_files(paths["hcp80"], d / "h.tsv", [d / "h.png"])
    rows = {r["family"]: r for r in _rows(d / "h.tsv")}
    assert rows["degree"]["status"] == "skipped" and "complete graph" in rows["degree"]["reason"]
    assert rows["weight_perm"]["status"] == "ok"


def test_panel_refuses_mixed_sources(batches):
    d, paths = batches
    with pytest.raises(ValueError, match="mixed"):
        properties_files([paths["tvb96"][1], paths["hcp80"][2]], d / "x.tsv", [d / "x.png"])


def test_rich_club_curve_and_ks_equal_the_libraries(resources_dir):
    import warnings

    import bct
    from scipy.stats import ks_2samp

    from encephagen.data import load_connectome
    from encephagen.nulls import generate_null
    from encephagen.nulls.properties import _ks, rich_club_curve

    for atlas in ("tvb96", "schaefer100"):
        src = prepare_source(load_connectome(atlas, resources_dir))
        for fam in ("real", "degree", "er"):
            W = generate_null(src, fam, 3).weights
            A = (W != 0).astype(float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                ref = (bct.rich_club_bd(A, 150) if src.directed else bct.rich_club_bu(A, 150))[0]
            assert np.allclose(rich_club_curve(W, src.directed, 150), ref, equal_nan=True)
    rng = np.random.default_rng(0)
    a, b = rng.random(300), rng.random(400) + 0.05
    assert _ks(a, b) == pytest.approx(ks_2samp(a, b).statistic, abs=1e-12)
