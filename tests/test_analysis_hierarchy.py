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


def _smooth_regional(D, L, rng, profile, n_nulls=20, n_seeds=2):
    """A regional table whose real profile is ``profile`` (+ seed noise); degree nulls keep it (+ noise),
    er nulls are independent smooth fields on the same distances."""
    rows = []
    for fam, k in (("real", 1), ("degree", n_nulls), ("er", n_nulls)):
        for i in range(k):
            base = profile if fam != "er" else L @ rng.standard_normal(len(profile))
            net = base + (0.3 * rng.standard_normal(len(profile)) if fam == "degree" else 0)
            for s in range(n_seeds):
                vals = net + 0.05 * rng.standard_normal(len(profile))
                rows += [("syn", "wc", fam, i, s, 0.1, r, "x", "tau", v) for r, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "G", "region",
                                       "region_class", "metric", "value"])


def test_t1t2_correlation_detects_planted_relation_on_spatial_maps():
    """Maps with spatial autocorrelation on the parcellation's distances. Planted: T1w/T2w = -profile + noise
    (rho ~ -0.6): detected against the variogram null; unrelated smooth maps are not (the false-positive
    control of the two nulls is test_spatial_null_controls_false_positives_permutation_does_not)."""
    D, L, rng = _smooth_field(n=60, scale=30.0, seed=4)
    prof = L @ rng.standard_normal(60)
    reg = _smooth_regional(D, L, rng, prof)
    t1t2 = pd.Series(-prof + 0.8 * np.std(prof) * rng.standard_normal(60))
    t1t2.iloc[0] = np.nan                                   # a region without T1w/T2w is dropped
    res = t1t2_correlation(reg, t1t2, distances=D, n_surrogates=300, seed=7).set_index("reference")
    assert list(res.index) == [SPATIAL_NULL, "degree null networks", "er null networks"]
    real_prof = reg[reg.family == "real"].groupby("region")["value"].mean()
    assert res["rho"].iloc[0] == pytest.approx(stats.spearmanr(real_prof.iloc[1:], t1t2.iloc[1:])[0])
    assert -0.9 < res["rho"].iloc[0] < -0.3
    assert (res["n_regions"] == 59).all() and (res["n_reference_nan"] == 0).all()
    assert res.loc[SPATIAL_NULL, "p_two"] < 0.05
    # degree nulls keep the profile (their rho is like the real one); er nulls (other smooth maps) do not
    assert res.loc["er null networks", "p_two"] < 0.05 and res.loc["degree null networks", "p_two"] > 0.05
    # non-detection: maps unrelated to the profile (equally smooth): rarely significant
    hits = 0
    for i in range(10):
        other = pd.Series(L @ rng.standard_normal(60))
        hits += t1t2_correlation(reg, other, distances=D, n_surrogates=100, seed=i).iloc[0]["p_two"] < 0.05
    assert hits <= 3
    assert t1t2_correlation(reg, t1t2, distances=None, n_surrogates=50, seed=7).iloc[0]["reference"] == \
        PERMUTATION_NULL
    with pytest.raises(TableError, match="only 1 regions"):
        t1t2_correlation(reg, t1t2.iloc[:2], n_surrogates=10, seed=1)


def test_t1t2_nan_region_gives_no_rho_and_nan_null_counts():
    D, L, rng = _smooth_field(n=30, scale=30.0, seed=5)
    prof = L @ rng.standard_normal(30)
    reg = _smooth_regional(D, L, rng, prof, n_nulls=10)
    sel = (reg.family == "er") & (reg.null_index == 2) & (reg.region == 4)
    reg.loc[sel, "value"] = np.nan
    res = t1t2_correlation(reg, pd.Series(-prof), distances=D, n_surrogates=50, seed=1).set_index("reference")
    assert res.loc["er null networks", "n_reference_nan"] == 1 and res.loc["er null networks", "n_reference"] == 10
    reg.loc[(reg.family == "real") & (reg.region == 3), "value"] = np.nan
    res = t1t2_correlation(reg, pd.Series(-prof), distances=D, n_surrogates=50, seed=1)
    assert res["rho"].isna().all() and res["p_two"].isna().all()     # never a rho over fewer regions


def test_class_summary_against_a_plain_loop(regional):
    cs = class_summary(regional)
    real = cs[cs.family == "real"].set_index("region_class")
    assert set(real.index) == {"sensory", "association", "limbic", "subcortical"}
    assert (real["n"] == 3).all() and (real["n_regions"] == 10).all() and (real["n_nan"] == 0).all()
    assert (real["lo"] <= real["mean"]).all() and (real["mean"] <= real["hi"]).all()
    # reference: per seed the mean over the class's regions, then mean and t-interval over seeds
    r = regional[regional.family == "real"]
    for cls in real.index:
        per_seed = []
        for s in sorted(set(r.seed_id)):
            v = r[(r.seed_id == s) & (r.region_class == cls)]["value"].to_numpy()
            per_seed.append(sum(v) / len(v))
        m = sum(per_seed) / len(per_seed)
        half = stats.t.ppf(0.975, len(per_seed) - 1) * np.std(per_seed, ddof=1) / np.sqrt(len(per_seed))
        assert real.loc[cls, "mean"] == pytest.approx(m)
        assert real.loc[cls, "hi"] - real.loc[cls, "lo"] == pytest.approx(2 * half)
    # null family: mean over networks of their seed-means; interval = central 95 % of networks
    d = regional[(regional.family == "degree") & (regional.region_class == "limbic")]
    nets = [d[d.null_index == i].groupby("seed_id")["value"].mean().mean() for i in range(20)]
    row = cs[(cs.family == "degree") & (cs.region_class == "limbic")].iloc[0]
    assert row["n"] == 20 and row["mean"] == pytest.approx(np.mean(nets))
    assert row["lo"] == pytest.approx(np.quantile(nets, 0.025)) and "null networks" in row["interval"]


def test_class_means_do_not_skip_nan_regions(regional):
    rg = regional.copy()
    i = rg.index[(rg.family == "real") & (rg.region_class == "limbic") & (rg.seed_id == 1)][0]
    rg.loc[i, "value"] = np.nan
    real = class_summary(rg).query("family == 'real'").set_index("region_class")
    assert np.isnan(real.loc["limbic", "mean"]) and real.loc["limbic", "n_nan"] == 1
    assert real.loc["limbic", "n_regions_nan"] == 1 and np.isfinite(real.loc["sensory", "mean"])
    ct = class_table(rg)
    cell = ct[(ct.family == "real") & (ct.seed_id == 1) & (ct.metric == "tau[limbic]")]["value"]
    assert cell.isna().all()                 # not the mean of the class's 9 other regions


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
    tau = summ.groupby("family")["kendall_tau_median"].first()
    assert tau["degree"] > 0.9 and tau["er"] < 0.5
    assert set(per.columns) >= {"g_first", "g_median", "frac_silenced_at_max_G", "frac_silenced_any_G"}
    with pytest.raises(TableError, match="not present"):
        silencing_order(df, metric="nope", threshold=1.0)
    with pytest.raises(TableError, match="sweep"):
        silencing_order(df[df.G == 0.5], metric="rate", threshold=0.5)


def _silencing_table(g_c: dict, G=(0.2, 0.4, 0.6, 0.8, 1.0), recover: dict | None = None, n_nulls=4,
                     null_g_c: dict | None = None):
    """Rate 10 below each class's critical G, 0 at and above it (a region of class c is silent from
    g_c[c] on; np.inf = never); ``recover``: class -> G from which it is active again."""
    rows = []
    for fam, k in (("real", 1), ("degree", n_nulls)):
        gc = g_c if fam == "real" or null_g_c is None else null_g_c
        for i in range(k):
            for s in range(2):
                for g in G:
                    for r, c in enumerate(sorted(gc) * 2):
                        silent = g >= gc[c] and not (recover and c in recover and g >= recover[c])
                        rows.append(("syn", "wc", fam, i, s, g, r, c, "rate", 0.0 if silent else 10.0))
    return pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "G", "region",
                                       "region_class", "metric", "value"])


def test_silencing_ties_are_reported_as_ties():
    """Two classes silenced at the same G: the former code ordered them alphabetically and gave them
    ranks 1 and 2. Never-silenced classes are marked, not ranked last by name."""
    df = _silencing_table({"visual": 0.4, "auditory": 0.4, "limbic": 0.8, "subcortical": np.inf})
    _, summ = silencing_order(df, metric="rate", threshold=0.5)
    real = summ[summ.family == "real"].set_index("region_class")
    assert real["order"].iloc[0] == "auditory=visual<limbic"
    assert real.loc["auditory", "rank"] == real.loc["visual", "rank"] == 1.5
    assert real.loc["auditory", "tie_group"] == real.loc["visual", "tie_group"] == 1
    assert real.loc["limbic", "rank"] == 3 and real.loc["limbic", "tie_group"] == 2
    assert real.loc["subcortical", "never_silenced"] and np.isnan(real.loc["subcortical", "rank"])
    assert real["never_silenced_classes"].iloc[0] == "subcortical"
    assert real.loc["subcortical", "n_never_silenced"] == 2          # both seeds
    # nulls with the same weak order agree; the never-silenced class is not part of the comparison
    assert summ[summ.family == "degree"]["same_order_frac"].iloc[0] == 1.0
    # nulls that break the tie (visual first) do not have the real order
    df2 = _silencing_table({"visual": 0.4, "auditory": 0.4, "limbic": 0.8, "subcortical": np.inf},
                           null_g_c={"visual": 0.2, "auditory": 0.4, "limbic": 0.8, "subcortical": np.inf})
    _, s2 = silencing_order(df2, metric="rate", threshold=0.5)
    assert s2[s2.family == "degree"]["same_order_frac"].iloc[0] == 0.0
    assert s2[s2.family == "degree"]["order"].iloc[0] == "visual<auditory<limbic"


def test_same_order_frac_undefined_when_nothing_is_silenced():
    """The default case of the former code: nothing silenced, same_order_frac = 1.0."""
    df = _silencing_table({"a": np.inf, "b": np.inf, "c": np.inf})
    _, summ = silencing_order(df, metric="rate", threshold=0.5)
    nul = summ[summ.family == "degree"]
    assert nul["same_order_frac"].isna().all() and nul["same_order_reason"].str.contains("order needs >= 2").all()
    assert (summ["order"] == "").all() and summ["never_silenced"].all()
    one = _silencing_table({"a": 0.4, "b": np.inf, "c": np.inf})
    _, s1 = silencing_order(one, metric="rate", threshold=0.5)
    assert s1[s1.family == "degree"]["same_order_frac"].isna().all()


def test_frac_silenced_at_max_g_differs_from_any_g():
    """A class silent at G 0.4-0.6 and active again from 0.8: silenced at some G, not at the largest."""
    df = _silencing_table({"a": 0.4, "b": 0.6}, recover={"a": 0.8})
    per, _ = silencing_order(df, metric="rate", threshold=0.5)
    a = per[(per.family == "real") & (per.region_class == "a")]
    b = per[(per.family == "real") & (per.region_class == "b")]
    assert (a["frac_silenced_any_G"] == 1.0).all() and (a["frac_silenced_at_max_G"] == 0.0).all()
    assert (b["frac_silenced_any_G"] == 1.0).all() and (b["frac_silenced_at_max_G"] == 1.0).all()
