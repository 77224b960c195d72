"""Null families on real connectomes: invariants (exact where exact, stated tolerances where
approximate), the one length rule, seeds, refusals, thresholding, and the batch file format."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from encephagen.connectome import Connectome, n_components
from encephagen.io import OutputError
from encephagen.nulls import (FAMILIES, NullRefusal, generate_batch, generate_null, null_seed,
                              prepare_source, read_nulls)
from encephagen.nulls.families import length_bin_classes, rich_club_classes
from encephagen.seeds import derive_seed
from encephagen.steps.nulls import write_null_batch

SWAP_FAMILIES = ("degree", "degree_connected", "strength", "richclub", "geometry")
MASTER = 20261123


@pytest.fixture(scope="module")
def sources(resources_dir):
    from encephagen.data import load_connectome

    return {name: prepare_source(load_connectome(name, resources_dir)) for name in ("tvb96", "schaefer100")}


def _edges(src, W):
    mask = (W != 0) if src.directed else np.triu(W != 0, 1)
    return mask


def _check_common(src, W):
    """Every null: finite, non-negative, zero diagonal, same edge count and weight values."""
    assert W.shape == src.weights.shape
    assert np.all(np.isfinite(W)) and (W >= 0).all()
    assert not np.diag(W).any()
    if not src.directed:
        assert np.array_equal(W, W.T)
    m0, m = _edges(src, src.weights), _edges(src, W)
    assert m.sum() == m0.sum()
    assert np.array_equal(np.sort(W[m]), np.sort(src.weights[m0])), "weight values not kept"


def _degrees_equal(src, W):
    A, A0 = W != 0, src.adjacency
    return np.array_equal(A.sum(0), A0.sum(0)) and np.array_equal(A.sum(1), A0.sum(1))


CASES = [(atlas, fam) for atlas in ("tvb96", "schaefer100") for fam in FAMILIES if fam != "real"]


@pytest.mark.parametrize("atlas, family", CASES)
def test_family_invariants(sources, atlas, family):
    src = sources[atlas]
    if atlas == "schaefer100" and family == "geometry":
        # 93 % dense: length-bin-preserving swaps are almost never possible -> refused, not copied
        with pytest.raises(NullRefusal, match="swaps achieved"):
            generate_null(src, family, null_seed(MASTER, atlas, family, 0))
        return
    for idx in range(2):
        res = generate_null(src, family, null_seed(MASTER, atlas, family, idx))
        W = res.weights
        _check_common(src, W)
        assert not np.array_equal(W, src.weights), "a null identical to its source"
        if family in SWAP_FAMILIES:
            assert _degrees_equal(src, W), "degree (in/out) not exact"
            assert res.swaps_requested > 0
            assert res.swaps_achieved >= 0.5 * (src.n_edges if not src.directed else src.n_edges)
        if family == "degree_connected":
            assert n_components(W) == 1
        if family == "strength":
            for axis in (0, 1):
                r = np.corrcoef(W.sum(axis), src.weights.sum(axis))[0, 1]
                assert r >= 0.95, f"strength r {r:.3f} below the stated 0.95"
        if family == "weight_perm":
            assert np.array_equal(W != 0, src.adjacency)
        if family == "er":
            assert not _degrees_equal(src, W)
        if family in ("richclub", "geometry"):
            C, _ = (rich_club_classes(src, 0.15) if family == "richclub" else length_bin_classes(src, 10))
            m0, m = _edges(src, src.weights), _edges(src, W)
            for c in np.unique(C):
                assert (m & (C == c)).sum() == (m0 & (C == c)).sum(), f"edges in class {c} changed"
                assert np.array_equal(np.sort(W[m & (C == c)]), np.sort(src.weights[m0 & (C == c)]))


def test_richclub_coefficient_exact(sources):
    import bct

    src = sources["tvb96"]
    _, info = rich_club_classes(src, 0.15)
    k = int(np.floor(info["k_level"]))
    phi0 = bct.rich_club_bd((src.adjacency).astype(float), k)[0][k - 1]
    for fam, exact in (("richclub", True), ("degree", False)):
        W = generate_null(src, fam, null_seed(MASTER, "tvb96", fam, 0)).weights
        phi = bct.rich_club_bd((W != 0).astype(float), k)[0][k - 1]
        assert bool(phi == phi0) is exact, (fam, phi, phi0)


def test_geometry_keeps_length_distribution_better_than_degree(sources):
    from scipy.stats import ks_2samp

    src = sources["tvb96"]
    L0 = src.pair_lengths[_edges(src, src.weights)]
    ks = {}
    for fam in ("geometry", "degree"):
        W = generate_null(src, fam, null_seed(MASTER, "tvb96", fam, 0)).weights
        ks[fam] = ks_2samp(src.pair_lengths[_edges(src, W)], L0).statistic
    assert ks["geometry"] < 0.03 < ks["degree"], ks


def test_lengths_follow_one_rule(sources, tmp_path):
    for atlas in ("tvb96", "schaefer100"):
        src = sources[atlas]
        P = src.pair_lengths
        assert np.array_equal(P, P.T) and not np.diag(P).any()
        off = ~np.eye(src.n, dtype=bool)
        assert (P[off] > 0).all(), "every pair needs a length (a null edge may land anywhere)"
        # real edges keep their measured length (directed: mean of the two directions)
        conn_L = np.asarray(src.weights != 0) * P
        assert np.array_equal(src.real_lengths(), conn_L)
        fams = ["real", "degree", "er"]
        for fam in fams:
            b = generate_batch(src, fam, [0] if fam == "real" else [0, 1], MASTER, atlas=atlas)
            assert np.array_equal(b.lengths, np.where(b.weights != 0, P, 0.0))
            assert ((b.lengths > 0) == (b.weights != 0)).all(), "an edge without a length (no delay)"


def test_measured_lengths_kept_and_missing_pairs_from_distances(resources_dir):
    from encephagen.data import load_connectome

    c = load_connectome("schaefer100", resources_dir)
    src = prepare_source(c)
    has = c.lengths > 0
    assert np.allclose(src.pair_lengths[has], c.lengths[has])
    rule = src.length_rule
    assert rule["from_distances_pairs"] + rule["measured_pairs"] == rule["n_pairs"]
    if rule["from_distances_pairs"]:
        miss = ~has & ~np.eye(c.n, dtype=bool)
        assert np.allclose(src.pair_lengths[miss], rule["stretch"] * c.distances[miss])


def test_seed_reproduces_null_regardless_of_batch(sources):
    src = sources["tvb96"]
    for fam in ("degree", "strength", "er", "geometry"):
        big = generate_batch(src, fam, range(6), MASTER, atlas="tvb96")
        small = generate_batch(src, fam, [4, 2], MASTER, atlas="tvb96")
        assert np.array_equal(small.weights[0], big.weights[4])
        assert np.array_equal(small.weights[1], big.weights[2])
        assert small.seed[0] == derive_seed(MASTER, "tvb96", fam, 4)
        assert not np.array_equal(big.weights[0], big.weights[1])
        other = generate_batch(src, fam, [4], MASTER + 1, atlas="tvb96")
        assert not np.array_equal(other.weights[0], big.weights[4])


def _toy(W, name="toy", directed=False, lengths=None):
    n = W.shape[0]
    L = np.where(W != 0, 10.0, 0.0) if lengths is None else lengths
    rng = np.random.default_rng(0)
    centres = rng.random((n, 3)) * 100
    D = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    return Connectome(name=name, weights=W, lengths=L, labels=tuple(f"r{i}" for i in range(n)),
                      hemisphere=("",) * n, cortical=np.ones(n, bool), region_class=("",) * n,
                      directed=directed, weight_kind="synthetic", lengths_source="synthetic", licence="-",
                      citation="-", centres=centres, distances=D)


def test_complete_graph_refused_or_recorded_skip(resources_dir, tmp_path):
    from encephagen.data import load_connectome

    src = prepare_source(load_connectome("hcp80", resources_dir))
    assert src.density == 1.0
    for fam in ("degree", "degree_connected", "richclub", "geometry", "er"):
        with pytest.raises(NullRefusal, match="complete graph"):
            generate_null(src, fam, 1)
    b = generate_batch(src, "degree", range(3), MASTER, on_refusal="skip", atlas="hcp80")
    assert b.skipped and len(b) == 0 and "complete graph" in b.reason
    p = write_null_batch(tmp_path / "skip.h5", b)
    back = read_nulls(p)
    assert back.skipped and "complete graph" in back.reason and back.weights.shape == (0, 80, 80)
    # the families that do act on a complete graph change it
    for fam in ("weight_perm", "strength"):
        W = generate_null(src, fam, 1).weights
        _check_common(src, W)
        assert not np.array_equal(W, src.weights)
    assert np.corrcoef(generate_null(src, "strength", 1).weights.sum(0), src.weights.sum(0))[0, 1] > 0.95


def test_star_graph_refused_in_bounded_time():
    n = 30
    W = np.zeros((n, n))
    W[0, 1:] = W[1:, 0] = 1.0
    src = prepare_source(_toy(W, "star"))
    for fam in ("degree", "degree_connected", "strength"):
        with pytest.raises(NullRefusal, match="star-like"):
            generate_null(src, fam, 3)


def test_disconnected_source_refused_by_connected_family():
    rng = np.random.default_rng(1)
    n = 20
    W = np.zeros((n, n))
    for block in (range(0, 10), range(10, 20)):
        b = np.array(block)
        M = (rng.random((10, 10)) < 0.5).astype(float)
        W[np.ix_(b, b)] = np.triu(M, 1) + np.triu(M, 1).T
    src = prepare_source(_toy(W, "two-blocks"))
    assert n_components(W) == 2
    with pytest.raises(NullRefusal, match="connected components"):
        generate_null(src, "degree_connected", 1)
    generate_null(src, "degree", 1)  # the plain family still acts


def test_binary_network_refused_by_weight_perm():
    rng = np.random.default_rng(2)
    M = np.triu((rng.random((20, 20)) < 0.3).astype(float), 1)
    src = prepare_source(_toy(M + M.T, "binary"))
    with pytest.raises(NullRefusal, match="same weight"):
        generate_null(src, "weight_perm", 1)


def test_threshold_is_explicit_and_recorded(resources_dir, tmp_path):
    from encephagen.data import load_connectome

    c = load_connectome("schaefer100", resources_dir)
    src = prepare_source(c, threshold={"method": "density", "value": 0.2})
    assert abs(src.density - 0.2) < 0.005
    assert src.threshold["method"] == "density" and src.threshold["nonzero_after"] < src.threshold["nonzero_before"]
    kept = src.weights != 0
    assert src.weights[kept].min() >= c.weights[~kept & ~np.eye(c.n, dtype=bool)].max()
    b = generate_batch(src, "geometry", [0], MASTER, atlas="schaefer100")  # acts once thresholded
    assert _degrees_equal(src, b.weights[0])
    p = write_null_batch(tmp_path / "th.h5", b)
    back = read_nulls(p)
    assert back.threshold["method"] == "density" and back.threshold["value"] == 0.2
    assert np.array_equal(back.source_weights, src.weights)
    with pytest.raises(ValueError, match="threshold method"):
        prepare_source(c, threshold={"method": "top"})


def test_batch_file_roundtrip_and_incomplete_rejected(sources, tmp_path):
    src = sources["tvb96"]
    b = generate_batch(src, "degree", [7, 8, 9], MASTER, atlas="tvb96")
    p = write_null_batch(tmp_path / "b.h5", b)
    back = read_nulls(p)
    assert back.family == "degree" and back.source == "tvb96" and back.directed
    assert back.labels == src.labels and back.master_seed == MASTER
    assert back.null_index.tolist() == [7, 8, 9]
    assert np.array_equal(back.weights, b.weights) and np.array_equal(back.lengths, b.lengths)
    assert (back.swaps_achieved <= back.swaps_requested).all() and (back.swaps_achieved > 0).all()
    assert back.by_index(8).seed == derive_seed(MASTER, "tvb96", "degree", 8)
    with h5py.File(p, "r") as f:
        assert f["weights"].chunks == (1, src.n, src.n) and f["weights"].compression == "gzip"
    with h5py.File(p, "a") as f:
        del f.attrs["complete"]
    with pytest.raises(OutputError, match="incomplete"):
        read_nulls(p)


def test_unknown_family_and_parameter_named():
    src = prepare_source(_toy(np.ones((5, 5)) - np.eye(5)))
    with pytest.raises(KeyError, match="unknown null family 'degre'"):
        generate_null(src, "degre", 1)
    with pytest.raises(ValueError, match="no parameter 'iters'"):
        generate_null(src, "weight_perm", 1, {"iters": 3})


def test_nan_edge_rejected_before_any_null():
    from encephagen.connectome import ConnectomeError

    rng = np.random.default_rng(3)
    M = np.triu(rng.random((12, 12)), 1)
    W = M + M.T
    W[2, 5] = W[5, 2] = np.nan
    with pytest.raises(ConnectomeError, match=r"non-finite.*\(i=2, j=5\)"):
        prepare_source(_toy(W, "nan-edge", lengths=np.where(np.isnan(W) | (W != 0), 10.0, 0.0)))
