"""The compiled generators against bctpy: same chain, statistically indistinguishable nulls.

Per null we measure statistics that the swap scheme itself determines (fraction of the
real edges still in place, achieved swaps: these differ sharply when the iteration /
attempt scheme differs) and the properties the panel reports (clustering, path length,
strength correlation, rich-club coefficient, assortativity). Both generators run with
fixed seeds, so the outcome is deterministic; the bounds (Mann-Whitney p > 0.001 and a
standardised mean difference below 1) sit ~4 standard errors from zero.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from encephagen.nulls import fast

ITR = 0.5  # small: bctpy is slow, and partial mixing makes the chain's dynamics visible


@pytest.fixture(scope="module")
def tvb96_sym(resources_dir):
    from encephagen.data import load_connectome

    W = load_connectome("tvb96", resources_dir).weights
    return np.maximum(W, W.T)


def _stats(W, W0):
    import bct

    A, A0 = W != 0, W0 != 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rc = bct.rich_club_bu(A.astype(float), 60)[0][59]
        return {
            "overlap": float((A & A0).sum() / A0.sum()),
            "clustering": float(bct.clustering_coef_bu(A.astype(float)).mean()),
            "clustering_w": float(bct.clustering_coef_wu(W / W.max()).mean()),
            "path_length": float(bct.charpath(bct.distance_bin(A.astype(float)))[0]),
            "strength_r": float(np.corrcoef(W.sum(0), W0.sum(0))[0, 1]),
            "richclub60": float(rc),
            "assortativity": float(bct.assortativity_bin(A.astype(float), 0)),
        }


def _compare(ours, theirs, names):
    for name in names:
        a = np.array([s[name] for s in ours])
        b = np.array([s[name] for s in theirs])
        sd = np.sqrt(0.5 * (a.var(ddof=1) + b.var(ddof=1)))
        d = abs(a.mean() - b.mean()) / sd if sd > 0 else abs(a.mean() - b.mean())
        p = mannwhitneyu(a, b).pvalue if sd > 0 else 1.0
        assert d < 1.0 and p > 1e-3, f"{name}: ours {a.mean():.4f}+-{a.std():.4f} vs bctpy " \
                                     f"{b.mean():.4f}+-{b.std():.4f} (d={d:.2f}, p={p:.2g})"


def test_rewire_matches_bctpy_randmio_und(tvb96_sym):
    import bct

    W0 = tvb96_sym
    theirs, eff_b = [], []
    for s in range(16):
        R, eff = bct.randmio_und(W0, ITR, seed=s)
        theirs.append(_stats(R, W0))
        eff_b.append(eff)
    ours, eff_o = [], []
    for s in range(150):
        res = fast.rewire(W0, ITR, seed=s, directed=False)
        R = res["weights"]
        assert np.array_equal((R != 0).sum(0), (W0 != 0).sum(0))
        ours.append(_stats(R, W0))
        eff_o.append(res["achieved"])
    for s, e in zip(theirs, eff_b):
        s["achieved"] = e
    for s, e in zip(ours, eff_o):
        s["achieved"] = e
    _compare(ours, theirs, ["overlap", "achieved", "clustering", "clustering_w", "path_length", "strength_r",
                            "richclub60", "assortativity"])


def test_comparison_can_fail(tvb96_sym):
    """The same comparison rejects a chain run for half as long (the test has power)."""
    import bct

    W0 = tvb96_sym
    theirs = [_stats(bct.randmio_und(W0, ITR, seed=s)[0], W0) for s in range(8)]
    ours = [_stats(fast.rewire(W0, ITR / 2, seed=s, directed=False)["weights"], W0) for s in range(60)]
    with pytest.raises(AssertionError, match="overlap"):
        _compare(ours, theirs, ["overlap"])


def test_strength_weights_match_bctpy_null_model_und_sign(tvb96_sym):
    """The weight-placement step alone (bin_swaps=0: bctpy keeps the topology), same input."""
    import bct

    W0 = tvb96_sym
    m0 = np.triu(W0) != 0

    def stats(R):
        st = _stats(R, W0)
        st["weight_r"] = float(np.corrcoef(R[m0], W0[m0])[0, 1])
        st["strength_mad"] = float(np.abs(R.sum(0) - W0.sum(0)).mean())
        return st

    theirs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for s in range(12):
            R, _ = bct.null_model_und_sign(W0, bin_swaps=0, wei_freq=0.1, seed=s)
            theirs.append(stats(R))
    ours = []
    for s in range(100):
        R = fast.assign_strength_weights(W0, W0, seed=s, directed=False, wei_freq=0.1)
        assert np.array_equal(R != 0, W0 != 0)
        assert np.array_equal(np.sort(R[m0]), np.sort(W0[m0]))
        ours.append(stats(R))
    _compare(ours, theirs, ["strength_r", "strength_mad", "weight_r", "clustering_w"])


def test_directed_rewire_keeps_in_and_out_degree(resources_dir):
    from encephagen.data import load_connectome

    W = load_connectome("tvb96", resources_dir).weights
    res = fast.rewire(W, 5, seed=3, directed=True)
    R = res["weights"]
    assert np.array_equal((R != 0).sum(0), (W != 0).sum(0))
    assert np.array_equal((R != 0).sum(1), (W != 0).sum(1))
    assert np.array_equal(np.sort(R[R != 0]), np.sort(W[W != 0]))
    assert res["achieved"] > 4 * (W != 0).sum()
    assert ((R != 0) & (W != 0)).sum() < 0.7 * (W != 0).sum()


def test_same_seed_same_null_and_rng_state():
    rng = np.random.default_rng(5)
    M = np.triu((rng.random((40, 40)) < 0.3) * rng.random((40, 40)), 1)
    W = M + M.T
    a = fast.rewire(W, 3, seed=123, directed=False)["weights"]
    b = fast.rewire(W, 3, seed=123, directed=False)["weights"]
    c = fast.rewire(W, 3, seed=124, directed=False)["weights"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(fast.rng_state(0), fast.rng_state(0)) and fast.rng_state(0).any()
    with pytest.raises(ValueError, match="non-negative"):
        fast.rng_state(-1)
