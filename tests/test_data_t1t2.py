"""T1w/T2w per region on every parcellation: the ordering of cortical myelin as in biology."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.data import load_connectome, load_t1t2
from encephagen.data.tables import region_table

# primary sensory/motor subclasses (or classes where a parcellation cannot separate them)
SENSORY = {"visual": {"primary_visual"}, "auditory": {"primary_auditory", "auditory"},
           "somatomotor": {"primary_motor", "primary_somatosensory", "sensorimotor", "paracentral"}}
LIMBIC = {"temporal_pole": {"temporal_pole"}, "anterior_cingulate": {"anterior_cingulate", "subgenual_cingulate"},
          "orbitofrontal": {"orbitofrontal", "medial_orbitofrontal"}}
TABLE = {"hcp80": "aal2", "gw80": "aal2", "schaefer100": "schaefer100", "dk84": "dk84", "tvb96": "tvb96",
         "tvb76": "tvb76", "tvb66": "tvb66", "tvb68": "tvb68"}


def _group_means(atlas, rows):
    table = {r["label"]: r for r in region_table(TABLE[atlas])}
    out = {}
    for groups in (SENSORY, LIMBIC):
        for g, subs in groups.items():
            v = [r["t1t2"] for r in rows if r["status"] == "ok" and table[r["label"]]["subclass"] in subs]
            if v:
                out[g] = float(np.mean(v))
    return out


@pytest.mark.parametrize("atlas", list(TABLE))
def test_t1t2_order_follows_biology(resources_dir, atlas):
    rows = load_t1t2(atlas, resources_dir)
    c = load_connectome(atlas, resources_dir)
    assert [r["label"] for r in rows] == list(c.labels)         # same region order as the SC
    m = _group_means(atlas, rows)
    sens = [m[g] for g in SENSORY if g in m]
    limb = [m[g] for g in LIMBIC if g in m]
    assert len(sens) >= 2 and len(limb) >= 2, (atlas, m)
    assert min(sens) > max(limb), (atlas, m)


@pytest.mark.parametrize("atlas", ["hcp80", "dk84", "tvb96", "tvb76", "schaefer100"])
def test_t1t2_status_and_vertex_counts(resources_dir, atlas):
    rows = load_t1t2(atlas, resources_dir)
    c = load_connectome(atlas, resources_dir)
    for r, cort in zip(rows, c.cortical):
        if r["status"] == "ok":
            assert r["n_vertices"] >= 20 and np.isfinite(r["t1t2"])
        else:
            assert r["reason"] and np.isnan(r["t1t2"])
    ok = np.array([r["status"] == "ok" for r in rows])
    if atlas in ("dk84", "tvb96"):
        assert not ok[~c.cortical].any()                         # subcortical: no surface vertices
    assert ok[c.cortical].mean() > 0.9


def test_schaefer100_agrees_with_cubnm_myelin_map(resources_dir):
    rows = load_t1t2("schaefer100", resources_dir)
    x = np.array([r["t1t2"] for r in rows])
    z = np.array([r["cubnm_myelin_z"] for r in rows])
    assert np.corrcoef(x, z)[0, 1] > 0.85


@pytest.mark.parametrize("k", [200, 300, 400])
def test_schaefer_k_occipital_above_temporal_pole(resources_dir, k):
    from encephagen.data.connectomes import conte69_mesh, schaefer_vertex_labels

    rows = load_t1t2(f"schaefer{k}", resources_dir)
    assert len(rows) == k and all(r["status"] == "ok" for r in rows)
    lh, _, rh, _ = conte69_mesh(resources_dir)
    xyz, lab = np.vstack([lh, rh]), schaefer_vertex_labels(resources_dir, k)
    cen = np.array([xyz[lab == i + 1].mean(0) for i in range(k)])
    v = np.array([r["t1t2"] for r in rows])
    occipital = cen[:, 1] < -85
    pole = (cen[:, 1] > -10) & (cen[:, 2] < -20)
    assert occipital.sum() >= 2 and pole.sum() >= 2
    assert v[occipital].mean() > v[pole].mean()


# ----------------------------------------------- one reader, an explicit missing-value policy (issue 14)

def _table(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("# T1w/T2w per region for toy\n"
                 "index\tlabel\tt1t2\tn_vertices\tstatus\treason\tmethod\n"
                 "0\ta\t1.5\t10\tok\t\tm\n"
                 "1\tb\tnan\t0\tunavailable\tno vertices\tm\n"
                 "2\tc\t2.5\t10\tok\t\tm\n"
                 "3\td\t9.0\t1\tunavailable\ttoo few\tm\n")   # a value, but not usable: status rules
    return p


def test_t1t2_map_missing_value_policies(tmp_path):
    from encephagen.data.fetch import DataError
    from encephagen.data.parcellate import t1t2_map

    p = _table(tmp_path)
    m = t1t2_map(p, missing="nan")
    np.testing.assert_array_equal(m.missing, [False, True, False, True])
    np.testing.assert_array_equal(m.values, [1.5, np.nan, 2.5, np.nan])
    np.testing.assert_array_equal(m.index, [0, 1, 2, 3])
    med = t1t2_map(p, missing="median")
    np.testing.assert_array_equal(med.values, [1.5, 2.0, 2.5, 2.0])
    assert "2 region(s)" in med.notes[0] and "[1, 3]" in med.notes[0]
    with pytest.raises(DataError, match=r"t\.tsv: no usable T1w/T2w value for region\(s\) \['b', 'd'\]"):
        t1t2_map(p, missing="error")
    with pytest.raises(ValueError, match="missing="):
        t1t2_map(p, missing="zero")
    with pytest.raises(TypeError):
        t1t2_map(p)  # the policy is never implicit
    by = t1t2_map(p, ["c", "a"], missing="nan")
    assert by.labels == ["c", "a"] and list(by.values) == [2.5, 1.5] and list(by.index) == [2, 0]
    with pytest.raises(DataError, match=r"t\.tsv: no T1w/T2w row for region label\(s\) \['zz'\]"):
        t1t2_map(p, ["a", "zz"], missing="nan")
    (tmp_path / "empty.tsv").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.tsv: zero-length"):  # a ValueError: never retried
        t1t2_map(tmp_path / "empty.tsv", missing="nan")
    (tmp_path / "other.tsv").write_text("label\tvalue\na\t1\n")
    with pytest.raises(DataError, match=r"other\.tsv: not a T1w/T2w table: no column 'index'"):
        t1t2_map(tmp_path / "other.tsv", missing="nan")


def test_t1t2_map_gives_what_the_three_old_readers_gave(resources_dir):
    """The call sites still reading tables themselves (steps.simulate.t1t2_by_label: NaN; steps.hopf.read_map:
    median; analysis.run_t1t2: NaN by region index) get the same numbers from the one reader."""
    import pandas as pd

    from encephagen.data.parcellate import t1t2_map

    path = resources_dir / "t1t2" / "dk84.tsv"
    t = pd.read_csv(path, sep="\t", comment="#")
    labels = list(t["label"].astype(str))[::-1]
    assert t["status"].ne("ok").any()          # the table has regions without a value
    old_nan = t["t1t2"].astype(float).where(t["status"].eq("ok"))
    by = dict(zip(t["label"].astype(str), old_nan))
    np.testing.assert_array_equal(t1t2_map(path, labels, missing="nan").values, [by[lab] for lab in labels])
    ok = old_nan.notna().to_numpy()
    med = np.where(ok, old_nan.to_numpy(), np.median(old_nan.to_numpy()[ok]))
    np.testing.assert_array_equal(t1t2_map(path, missing="median").values, med)
