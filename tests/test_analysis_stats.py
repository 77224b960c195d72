"""Real vs null statistics on synthetic tidy tables with known answers (encephagen.analysis.stats,
decompose)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from encephagen.analysis.decompose import decompose, profile_correlations
from encephagen.analysis.stats import TableError, compare_to_nulls, empirical_p
from encephagen.analysis.synthetic import make_tables
from encephagen.analysis.tables import network_means, regional_to_network


@pytest.fixture(scope="module")
def planted():
    # m0: real planted 10 null SDs above every family; m1: the 'er' family is shifted by 5 SDs
    # (so only 'degree' reproduces it); m2: nothing planted.
    return make_tables(metrics=("m0", "m1", "m2"), families=("degree", "er"), n_nulls=99, n_seeds=4,
                       real_offset={"m0": 10.0}, family_shift={"er": {"m1": 5.0}})


def test_planted_real_far_outside_nulls(planted):
    st = compare_to_nulls(planted, min_nulls=20)
    r = st[st.metric == "m0"]
    assert len(r) == 2
    assert np.allclose(r["p_two"], 1 / 100)             # the +1-corrected floor with N = 99
    assert np.allclose(r["p_greater"], 1 / 100)
    assert np.allclose(r["p_less"], 1.0)
    assert (r["p_floor"] == 1 / 100).all()
    assert r["significant"].all() and (r["q"] < 0.05).all()
    assert (r["z"] > 5).all() and (r["cohen_d"] > 3).all()
    assert (r["direction"] == "higher").all()
    assert (r["n_nulls"] == 99).all() and (r["n_seeds"] == 4).all()
    # the noise floor is the real network's SD over its seeds (seed_sd = 0.3 in the generator)
    assert 0.05 < float(r["real_seed_sd"].iloc[0]) < 0.8


def test_p_values_match_scalar_reference(planted):
    st = compare_to_nulls(planted, min_nulls=20)
    nm = network_means(planted)
    for _, row in st.iterrows():
        real = nm[(nm.family == "real") & (nm.metric == row.metric)]["value"].iloc[0]
        nulls = nm[(nm.family == row.family) & (nm.metric == row.metric)]["value"]
        ref = empirical_p(real, nulls)
        assert row.p_two == pytest.approx(ref["p_two"])
        assert row.p_greater == pytest.approx(ref["p_greater"])
        assert row.p_less == pytest.approx(ref["p_less"])
        assert row.n_nulls == ref["n"] == len(nulls)
        assert row.z == pytest.approx((real - nulls.mean()) / nulls.std(ddof=1))


def test_real_drawn_from_nulls_gives_uniform_p():
    # 150 metrics, each with the real network a typical draw from the null distribution
    df = make_tables(metrics=[f"m{i}" for i in range(150)], families=("degree",), n_nulls=49, n_seeds=2)
    st = compare_to_nulls(df, min_nulls=20)
    p = st["p_two"].to_numpy()
    assert 0.4 < p.mean() < 0.6
    assert 0.0 < np.mean(p <= 0.05) < 0.12
    assert np.mean(p <= 0.5) == pytest.approx(0.5, abs=0.12)
    assert st["significant"].sum() <= 2                  # FDR controls false discoveries


def test_bh_matches_statsmodels(planted):
    st = compare_to_nulls(planted, min_nulls=20, fdr_alpha=0.1)
    for fam, g in st.groupby("family"):
        rej, q, _, _ = multipletests(g["p_two"], alpha=0.1, method="fdr_bh")
        assert np.allclose(g["q"], q)
        assert (g["significant"].to_numpy() == rej).all()
        assert (g["n_tests_fdr"] == 3).all()
    assert "BH across metrics" in st["fdr_scope"].iloc[0]


def test_flags_designs_that_cannot_reach_significance(caplog):
    # 12 nulls: p >= 1/13 > 0.05 -- flagged, with a warning
    df = make_tables(n_nulls=12, real_offset={"m0": 20})
    st = compare_to_nulls(df, min_nulls=10)
    assert not st["can_reach_significance"].any() and not st["significant"].any()
    assert "too few nulls" in caplog.text
    # 39 nulls, 3 metrics: any p can pass alone (1/40 < 0.05) but an isolated effect cannot (3/40 > 0.05)
    st = compare_to_nulls(make_tables(n_nulls=39, real_offset={"m0": 20}), min_nulls=10)
    assert st["can_reach_significance"].all() and not st["single_effect_detectable"].any()
    assert not st.set_index(["metric", "family"]).loc[("m0", "degree"), "significant"]


def test_pseudo_replication_refused():
    # one real run against nulls with four seeds each: the predecessor's design
    df = make_tables(n_nulls=20, n_seeds=4, real_seeds=1)
    with pytest.raises(TableError, match=r"pseudo-replication.*real network has 1 noise seed.*has 4"):
        compare_to_nulls(df, min_nulls=10)


def test_too_few_nulls_refused_naming_family():
    df = make_tables(families=("degree", "er"), n_nulls=5)
    with pytest.raises(TableError, match=r"'degree' has 5.*min_nulls=10"):
        compare_to_nulls(df, min_nulls=10)


def test_n_recorded_per_family_when_unequal():
    a = make_tables(families=("degree",), n_nulls=30)
    b = make_tables(families=("er",), n_nulls=45)
    df = pd.concat([a, b[b.family == "er"]], ignore_index=True)
    st = compare_to_nulls(df, min_nulls=10)
    assert set(st.loc[st.family == "degree", "n_nulls"]) == {30}
    assert set(st.loc[st.family == "er", "n_nulls"]) == {45}
    assert np.allclose(st.loc[st.family == "er", "p_floor"], 1 / 46)


def test_duplicates_and_missing_real_refused():
    df = make_tables(n_nulls=12)
    with pytest.raises(TableError, match="duplicate"):
        compare_to_nulls(pd.concat([df, df.iloc[:1]]), min_nulls=10)
    with pytest.raises(TableError, match="no rows with family == 'real'"):
        compare_to_nulls(df[df.family != "real"], min_nulls=10)


def test_family_missing_a_metric_refused():
    df = make_tables(n_nulls=12, families=("degree", "er"))
    gap = df[~((df.family == "er") & (df.metric == "m2"))]
    with pytest.raises(TableError, match=r"'er' has no values for 1 unit.*metric=m2"):
        compare_to_nulls(gap, min_nulls=10)
    # a family absent from a whole connectome (skipped there) is fine
    other = make_tables(n_nulls=12, families=("degree",), atlas="other")
    st = compare_to_nulls(pd.concat([df, other], ignore_index=True), min_nulls=10)
    assert set(st[st.atlas == "other"].family) == {"degree"}


def test_nan_seed_propagates_not_dropped():
    df = make_tables(n_nulls=12, metrics=("m0", "m1"))
    i = df.index[(df.family == "real") & (df.metric == "m0") & (df.seed_id == 1)][0]
    df.loc[i, "value"] = np.nan
    st = compare_to_nulls(df, min_nulls=10)
    r = st[st.metric == "m0"]
    assert r["p_two"].isna().all() and r["note"].str.contains("NaN").all()
    assert (~r["significant"]).all()
    assert st[st.metric == "m1"]["p_two"].notna().all()
    assert (st[st.metric == "m1"]["n_tests_fdr"] == 1).all()   # the NaN test is not counted


def test_regional_stats_fdr_across_regions():
    rg = make_tables(n_regions=12, n_nulls=20, metrics=("tau",), families=("degree",))
    st = compare_to_nulls(rg, min_nulls=10)
    assert len(st) == 12 and (st["n_tests_fdr"] == 12).all()
    assert "regions" in st["fdr_scope"].iloc[0]


def test_decomposition_known_answers(planted):
    st = compare_to_nulls(planted, min_nulls=20)
    d = decompose(st, reproduce_z=2.0).set_index("metric")
    assert d.loc["m0", "verdict"].startswith("specific wiring")
    assert d.loc["m0", "reproduced_by"] == ""
    assert d.loc["m1", "reproduces_degree"] and not d.loc["m1", "reproduces_er"]
    assert d.loc["m1", "verdict"] == "explained by degree sequence (degree)"
    # m2: both reproduce; the verdict names the least constrained family (er before degree)
    assert d.loc["m2", "reproduced_by"] == "er,degree"
    assert "er" in d.loc["m2", "verdict"]


def test_reproduce_needs_small_z_not_only_nonsignificance():
    # with only 10 nulls a 3-SD real value may miss FDR significance: it must still not count as reproduced
    df = make_tables(metrics=("a", "b", "c", "d"), families=("degree",), n_nulls=10, real_offset={"a": 3.0})
    st = compare_to_nulls(df, min_nulls=10)
    d = decompose(st, reproduce_z=2.0).set_index("metric")
    row = st.set_index("metric").loc["a"]
    assert abs(row["z"]) >= 2
    assert not d.loc["a", "reproduces_degree"]


def test_profile_correlations_separate_families():
    # 'degree' nulls keep the regional profile, 'er' nulls lose it (profile scale 0)
    rg = make_tables(n_regions=24, n_nulls=20, metrics=("tau",), families=("degree", "er"),
                     profile_scale={"er": 0.0})
    pc = profile_correlations(rg)
    med = pc.groupby("family")["rho"].median()
    assert med["degree"] > 0.8 and abs(med["er"]) < 0.35
    assert pc["real_split_half_rho"].iloc[0] > 0.8
    nt = regional_to_network(rg)
    assert set(nt.metric) == {"tau_mean_over_regions"}
    d = decompose(compare_to_nulls(nt, min_nulls=10), regional=rg)
    assert d["profile_reproduced_by"].iloc[0] == "degree"
    assert "profile_rho_median_er" in d.columns


def test_deterministic_model_without_seed_column():
    df = make_tables(n_nulls=30, n_seeds=1, real_offset={"m0": 10}).drop(columns=["seed_id", "seed"])
    st = compare_to_nulls(df, min_nulls=10)
    assert (st["n_seeds"] == 1).all() and st["real_seed_sd"].isna().all()
    assert st.set_index(["metric", "family"]).loc[("m0", "degree"), "p_two"] == pytest.approx(1 / 31)
