"""Regional hierarchy: class summaries, variogram-matching spatial nulls, T1w/T2w, silencing order."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from encephagen.analysis.hierarchy import (PERMUTATION_NULL, SPATIAL_NULL, VariogramSurrogates, class_summary,
                                           class_table,
                                           permutation_surrogates, silencing_order, t1t2_correlation,
                                           _spearman_rows)
from encephagen.analysis.synthetic import make_silencing, make_tables
from encephagen.analysis.tables import TableError


def _smooth_field(n=100, scale=30.0, seed=1, k=1):
    """k independent maps with exponential spatial covariance on random 3-D points."""
    rng = np.random.default_rng(seed)
    P = rng.uniform(0, 100, (n, 3))
    D = cdist(P, P)
    L = np.linalg.cholesky(np.exp(-D / scale) + 1e-8 * np.eye(n))
    return D, L, rng


def test_variogram_surrogates_preserve_variogram():
    D, L, rng = _smooth_field()
    x = L @ rng.standard_normal(100)
    gen = VariogramSurrogates(x, D, resample=False)
    surr = gen(300, seed=3)
    assert surr.shape == (300, 100)
    target = gen.target
    vs = gen.variogram(surr).mean(axis=0)
    vp = gen.variogram(permutation_surrogates(x, 300, seed=3)).mean(axis=0)
    err_s = np.median(np.abs(vs - target) / target)
    err_p = np.median(np.abs(vp - target) / target)
    # surrogates follow the rising variogram (spatial autocorrelation); permutations are flat
    assert err_s < 0.25 and err_s < 0.5 * err_p
    assert stats.pearsonr(vs, target)[0] > 0.9
    assert np.ptp(vp) < 0.2 * np.ptp(target)
    # resampling keeps exactly the target's values; same seed, same surrogates
    rs = VariogramSurrogates(x, D, resample=True)(20, seed=5)
    assert np.allclose(np.sort(rs, axis=1), np.sort(x)[None, :])
    assert np.array_equal(rs, VariogramSurrogates(x, D, resample=True)(20, seed=5))


def test_spatial_null_controls_false_positives_permutation_does_not():
    # two INDEPENDENT smooth maps correlate by chance; the permutation null calls that significant
    D, L, rng = _smooth_field(n=60, scale=30.0, seed=2)
    hits_s = hits_p = 0
    k = 40
    for i in range(k):
        x, y = L @ rng.standard_normal(60), L @ rng.standard_normal(60)
        rho = stats.spearmanr(x, y)[0]
        for gen, name in ((VariogramSurrogates(x, D)(100, seed=i), "s"), (permutation_surrogates(x, 100, seed=i), "p")):
            ref = _spearman_rows(gen, y)
            p = (1 + np.sum(np.abs(ref - ref.mean()) >= abs(rho - ref.mean()))) / (1 + len(ref))
            if p < 0.05:
                if name == "s":
                    hits_s += 1
                else:
                    hits_p += 1
    assert hits_s / k <= 0.12
    assert hits_p / k >= 0.15 and hits_p > 2 * hits_s


def test_bad_surrogate_inputs_named():
    D, L, rng = _smooth_field(n=20)
    x = L @ rng.standard_normal(20)
    with pytest.raises(ValueError, match="distances must be"):
        VariogramSurrogates(x, D[:10, :10])
    x[3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        VariogramSurrogates(x, D)


@pytest.fixture(scope="module")
def regional():
    return make_tables(n_regions=40, n_nulls=20, n_seeds=3, metrics=("tau",), families=("degree", "er"),
                       profile_scale={"er": 0.0})


def test_t1t2_correlation_references(regional):
    prof = regional[regional.family == "real"].groupby("region")["value"].mean()
    rng = np.random.default_rng(0)
    t1t2 = pd.Series(-prof.to_numpy() + rng.normal(0, 1.0, prof.size), index=prof.index)
    t1t2.iloc[0] = np.nan                                   # a region without T1w/T2w is dropped
    P = rng.uniform(0, 100, (40, 3))
    res = t1t2_correlation(regional, t1t2, distances=cdist(P, P), n_surrogates=200, seed=7)
    assert list(res["reference"]) == [SPATIAL_NULL, "degree null networks", "er null networks"]
    expected = stats.spearmanr(prof.iloc[1:], t1t2.iloc[1:])[0]
    assert res["rho"].iloc[0] == pytest.approx(expected)
    assert (res["n_regions"] == 39).all()
    assert res.set_index("reference").loc[SPATIAL_NULL, "p_two"] < 0.05
    # degree nulls keep the profile (their rho is like the real one); er nulls do not
    assert res.set_index("reference").loc["er null networks", "p_two"] < 0.1
    ix = res.set_index("reference")
    rho = ix["rho"].iloc[0]
    assert abs(ix.loc["degree null networks", "ref_median"] - rho) < 0.5 * abs(ix.loc["er null networks", "ref_median"] - rho)
    plain = t1t2_correlation(regional, t1t2, distances=None, n_surrogates=50, seed=7)
    assert plain["reference"].iloc[0] == PERMUTATION_NULL
    with pytest.raises(TableError, match="only 1 regions"):
        t1t2_correlation(regional, t1t2.iloc[:2], n_surrogates=10, seed=1)


def test_class_summary(regional):
    cs = class_summary(regional)
    real = cs[cs.family == "real"]
    assert set(real.region_class) == {"sensory", "association", "limbic", "subcortical"}
    assert (real["n"] == 3).all() and (real["n_regions"] == 10).all()
    assert (real["lo"] <= real["mean"]).all() and (real["mean"] <= real["hi"]).all()
    # the mean over seeds of the class mean equals the plain mean of the rows
    r = regional[(regional.family == "real") & (regional.region_class == "limbic")]["value"].mean()
    assert real.set_index("region_class").loc["limbic", "mean"] == pytest.approx(r)
    nul = cs[cs.family == "degree"]
    assert (nul["n"] == 20).all() and nul["interval"].str.contains("null networks").all()


def test_class_table_contrast_detects_steeper_real_gradient():
    from encephagen.analysis.stats import compare_to_nulls

    # real: sensory regions +3 (a steeper sensory-association gradient than any null)
    rg = make_tables(n_regions=16, n_nulls=60, n_seeds=2, metrics=("tau",), families=("degree",))
    real_sens = (rg.family == "real") & (rg.region_class == "sensory")
    rg.loc[real_sens, "value"] += 3.0
    ct = class_table(rg, contrasts=[("sensory", "association")])
    assert {"tau[sensory]", "tau[association]", "tau[sensory - association]"} <= set(ct.metric)
    st = compare_to_nulls(ct, min_nulls=10).set_index("metric")
    assert st.loc["tau[sensory - association]", "z"] > 3
    assert st.loc["tau[sensory - association]", "p_greater"] == pytest.approx(1 / 61)
    with pytest.raises(TableError, match="no region class 'motor'"):
        class_table(rg, contrasts=[("motor", "sensory")])


def test_silencing_order_known():
    df = make_silencing(n_nulls=15)
    per, summ = silencing_order(df, metric="rate", threshold=0.5)
    real = summ[summ.family == "real"].set_index("region_class")
    assert real["order"].iloc[0] == "sensory<association<limbic<subcortical"
    assert real.loc["sensory", "g_first_median"] < real.loc["subcortical", "g_first_median"]
    fam = summ.groupby("family")["same_order_frac"].first()
    assert fam["degree"] > 0.8 and fam["er"] < 0.4
    assert set(per.columns) >= {"g_first", "g_median", "frac_silenced_at_max"}
    with pytest.raises(TableError, match="not present"):
        silencing_order(df, metric="nope", threshold=1.0)
    with pytest.raises(TableError, match="sweep"):
        silencing_order(df[df.G == 0.5], metric="rate", threshold=0.5)
