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
