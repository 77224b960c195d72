"""Real vs null statistics on synthetic tidy tables with known answers (encephagen.analysis.stats,
decompose): p-values against a plain loop over the definitions, BH against statsmodels on both FDR
scopes, censored and NaN values, the equivalence test, the ladder verdicts, degenerate real networks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from encephagen.analysis.decompose import decompose, ladder_verdict, profile_correlations, LADDER
from encephagen.analysis.stats import TableError, compare_to_nulls, empirical_p, equivalence_p
from encephagen.analysis.synthetic import make_tables
from encephagen.analysis.tables import apply_censoring, regional_to_network


def _ref_p(real: float, nulls) -> dict:
    """The definitions, one null at a time (independent of the vectorised code): centre = median of the
    pooled non-NaN values; a NaN null counts as extreme in every direction; +-inf compare as numbers."""
    vals = [float(x) for x in nulls]
    pool = sorted([x for x in vals if x == x] + [real])
    k = len(pool)
    c = pool[k // 2] if k % 2 else (pool[k // 2 - 1] + pool[k // 2]) / 2
    two = ge = le = 0
    for x in vals:
        if x != x:
            two, ge, le = two + 1, ge + 1, le + 1
            continue
        two += abs(x - c) >= abs(real - c)
        ge += x >= real
        le += x <= real
    n = len(vals)
    return {"p_two": (1 + two) / (1 + n), "p_greater": (1 + ge) / (1 + n), "p_less": (1 + le) / (1 + n)}


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
    assert (r["z"] > 5).all() and (r["cohen_d"] > 3).all() and (r["z_robust"] > 5).all()
    assert (r["direction"] == "higher").all() and (r["outcome"] == "not reproduced").all()
    assert (r["n_nulls"] == 99).all() and (r["n_seeds"] == 4).all()
    assert (r["n_nan"] == 0).all() and (r["n_censored"] == 0).all()
    # the noise floor is the real network's SD over its seeds (seed_sd = 0.3 in the generator)
    assert 0.05 < float(r["real_seed_sd"].iloc[0]) < 0.8


def test_p_values_match_a_plain_loop_over_the_definitions():
    """Ties, a skewed null, censored (+inf) and NaN nulls: the vectorised table equals the loop."""
    df = make_tables(metrics=("a", "b", "c"), families=("degree",), n_nulls=40, n_seeds=1)
    df["value"] = np.round(df["value"], 0)                          # many exact ties
    nul = df.index[(df.family == "degree") & (df.metric == "b")]
    df.loc[nul, "value"] = np.exp(df.loc[nul, "value"])               # skewed: mean and median differ
    c = df.index[(df.family == "degree") & (df.metric == "c")]
    df.loc[c[:3], "value"] = np.inf                                   # censored nulls
    df.loc[c[3:5], "value"] = np.nan                                  # undefined nulls
    st = compare_to_nulls(df, min_nulls=10).set_index("metric")
    for m in ("a", "b", "c"):
        real = float(df[(df.family == "real") & (df.metric == m)]["value"].iloc[0])
        nulls = df[(df.family == "degree") & (df.metric == m)].sort_values("null_index")["value"].to_numpy()
        ref = _ref_p(real, nulls)
        for k in ("p_two", "p_greater", "p_less"):
            assert st.loc[m, k] == pytest.approx(ref[k]), (m, k)
        assert st.loc[m, k] == pytest.approx(empirical_p(real, nulls)[k])
    assert st.loc["c", "n_censored"] == 3 and st.loc["c", "n_nan"] == 2 and st.loc["c", "n_nulls"] == 40
    assert np.isnan(st.loc["c", "z"]) and np.isfinite(st.loc["c", "z_robust"])
    assert "censored" in st.loc["c", "note"] and "NaN null" in st.loc["c", "note"]


def test_censored_nulls_do_not_lower_p():
    """acf_tau_ms is NaN exactly when the time scale is longer than the record. The nulls' true values
    are known here; the most extreme ones are censored. Treated as +inf the p-value is never below the
    p of the true values (dropping them, the former behaviour, gives a smaller p)."""
    rng = np.random.default_rng(3)
    n = 199
    for trial in range(20):
        true = rng.gamma(4.0, 50.0, n)
        real = float(np.quantile(true, 0.9) + rng.normal(0, 5))
        cap = float(np.quantile(true, 0.97))                     # the record length: ~6 nulls censored
        obs = np.where(true > cap, np.nan, true)
        rows = [("syn", "wc", "real", 0, 0, 0.1, "acf_tau_ms", real)]
        rows += [("syn", "wc", "degree", i, 0, 0.1, "acf_tau_ms", v) for i, v in enumerate(obs)]
        df = pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "G", "metric",
                                         "value"])
        st = compare_to_nulls(apply_censoring(df, {"acf_tau_ms": "high"}), min_nulls=10).iloc[0]
        truth = _ref_p(real, true)
        dropped = _ref_p(real, obs[np.isfinite(obs)])
        assert st["n_censored"] == int((true > cap).sum()) > 0 and st["n_nan"] == 0
        for k in ("p_two", "p_greater"):
            assert st[k] >= truth[k] - 1e-12, (trial, k)
        assert st["p_greater"] == pytest.approx(truth["p_greater"])    # one-sided: exact
        assert dropped["p_greater"] < st["p_greater"]                   # what dropping did


def test_nan_nulls_are_worst_case_and_censored_real():
    nulls = np.r_[np.arange(30.0), [np.nan] * 3]
    p = empirical_p(35.0, nulls)
    # whatever the 3 undefined values were, p cannot be larger than counting them as extreme
    for fill in (-1e9, 15.0, 1e9):
        q = empirical_p(35.0, np.nan_to_num(nulls, nan=fill))
        for k in ("p_two", "p_greater", "p_less"):
            assert p[k] >= q[k]
    assert p["n_nan"] == 3 and p["n"] == 33
    # a censored real value: only equally censored nulls count as >= it
    r = empirical_p(np.inf, np.r_[np.arange(30.0), [np.inf, np.inf]])
    assert r["p_greater"] == pytest.approx(3 / 33) and r["p_less"] == pytest.approx(1.0)
    # half or more censored: the two-sided test is refused, not guessed
    assert np.isnan(empirical_p(1.0, np.r_[np.zeros(3), [np.inf] * 4])["p_two"])


def test_regional_means_propagate_nan_and_censoring():
    rg = make_tables(n_regions=8, n_nulls=12, metrics=("acf_tau_ms",), families=("degree",), n_seeds=2)
    i = rg.index[(rg.family == "degree") & (rg.null_index == 3) & (rg.region == 5) & (rg.seed_id == 0)][0]
    rg.loc[i, "value"] = np.nan
    plain = regional_to_network(rg)
    cell = plain[(plain.family == "degree") & (plain.null_index == 3) & (plain.seed_id == 0)]["value"]
    assert cell.isna().all()                                  # not the mean of the 7 other regions
    st = compare_to_nulls(plain, min_nulls=10).iloc[0]
    assert st["n_nan"] == 1 and "NaN null" in st["note"]
    cens = regional_to_network(apply_censoring(rg, {"acf_tau_ms": "high"}))
    cell = cens[(cens.family == "degree") & (cens.null_index == 3) & (cens.seed_id == 0)]["value"]
    assert np.isposinf(cell).all()
    assert compare_to_nulls(cens, min_nulls=10).iloc[0]["n_censored"] == 1


def test_real_drawn_from_nulls_gives_uniform_p():
    # 150 metrics, each with the real network a typical draw from the null distribution
    df = make_tables(metrics=[f"m{i}" for i in range(150)], families=("degree",), n_nulls=49, n_seeds=2)
    st = compare_to_nulls(df, min_nulls=20)
    p = st["p_two"].to_numpy()
    assert 0.4 < p.mean() < 0.6
    assert 0.0 < np.mean(p <= 0.05) < 0.12
    assert np.mean(p <= 0.5) == pytest.approx(0.5, abs=0.12)
    assert st["significant"].sum() <= 2                  # FDR controls false discoveries


def test_bh_both_scopes_match_statsmodels():
    df = make_tables(metrics=("a", "b", "c", "d"), families=("degree", "er"), n_nulls=60, G=(0.1, 0.2, 0.3),
                     real_offset={"a": 2.5})
    st = compare_to_nulls(df, min_nulls=20, fdr_alpha=0.1)
    rej, q, _, _ = multipletests(st["p_two"], alpha=0.1, method="fdr_bh")
    assert np.allclose(st["q_study"], q) and (st["n_tests_study"] == 4 * 3 * 2).all()
    assert np.allclose(st["q"], st["q_study"]) and (st["significant"].to_numpy() == rej).all()
    assert "parameter sets (G) x families" in st["fdr_scope"].iloc[0]
    for _, g in st.groupby(["G", "family"]):
        _, qt, _, _ = multipletests(g["p_two"], alpha=0.1, method="fdr_bh")
        assert np.allclose(g["q_table"], qt) and (g["n_tests_table"] == 4).all()
    tab = compare_to_nulls(df, min_nulls=20, fdr_alpha=0.1, fdr_scope="table")
    assert np.allclose(tab["q"], tab["q_table"]) and "within (atlas, model, G, family)" in tab["fdr_scope"].iloc[0]
    with pytest.raises(ValueError, match="analysis.fdr_scope"):
        compare_to_nulls(df, min_nulls=20, fdr_scope="metric")


def test_study_fdr_is_more_conservative_and_covers_the_sweep():
    """Two strong effects at ONE G among 12 metrics x 5 G values x 3 families: per-table BH (12 tests per
    G and family) passes them; the study-wide BH over all 180 tests, which knows the sweep was searched,
    does not."""
    df = make_tables(metrics=[f"m{i}" for i in range(12)], families=("degree", "er", "strength"), n_nulls=199,
                     n_seeds=1, G=(0.1, 0.2, 0.3, 0.4, 0.5))
    hit = (df.family == "real") & (df.G == 0.3) & df.metric.isin(["m0", "m1"])
    df.loc[hit, "value"] += 8.0
    st = compare_to_nulls(df, min_nulls=20)
    assert (st["n_tests_study"] == 12 * 5 * 3).all() and (st["n_tests_table"] == 12).all()
    assert set(st["G"]) == {0.1, 0.2, 0.3, 0.4, 0.5} and set(st["family"]) == {"degree", "er", "strength"}
    n_study = int((st["q_study"] < 0.05).sum())
    n_table = int((st["q_table"] < 0.05).sum())
    assert n_table >= 6 and n_study < n_table
    eff = st[(st.G == 0.3) & st.metric.isin(["m0", "m1"])]
    assert (eff["q_table"] < 0.05).all() and (eff["q_study"] > eff["q_table"]).all()
    assert int(st["significant"].sum()) == n_study                      # study is the default scope


def test_flags_designs_that_cannot_reach_significance(caplog):
    # 12 nulls: p >= 1/13 > 0.05 -- flagged, with a warning
    df = make_tables(n_nulls=12, real_offset={"m0": 20})
    st = compare_to_nulls(df, min_nulls=10)
    assert not st["can_reach_significance"].any() and not st["significant"].any()
    assert "too few nulls" in caplog.text
    # 39 nulls, 3 metrics x 2 families study-wide: 1/40 < 0.05 alone, but an isolated effect cannot pass (6/40)
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
    assert (~r["significant"]).all() and (r["outcome"] == "not tested").all()
    assert st[st.metric == "m1"]["p_two"].notna().all()
    assert (st[st.metric == "m1"]["n_tests_fdr"] == 2).all()   # study: m1 x 2 families; the NaN tests not counted


def test_regional_stats_fdr_across_regions():
    rg = make_tables(n_regions=12, n_nulls=20, metrics=("tau",), families=("degree",))
    st = compare_to_nulls(rg, min_nulls=10)
    assert len(st) == 12 and (st["n_tests_fdr"] == 12).all()
    assert "regions" in st["fdr_scope"].iloc[0]


# ----------------------------------------------------------------------------- equivalence
def test_equivalence_test_size_and_power():
    """TOST at the margin: a real value exactly `margin` null SDs from the family mean is declared
    equivalent at most alpha of the time; one at the mean almost always with 200 nulls."""
    rng = np.random.default_rng(11)
    m, n, reps = 1.0, 50, 4000
    x = rng.standard_normal((reps, n))
    p_edge = equivalence_p(m, x.mean(1), x.std(1, ddof=1), n, m)
    assert np.mean(p_edge < 0.05) <= 0.05 + 0.012
    x2 = rng.standard_normal((reps, 200))
    p_mid = equivalence_p(0.0, x2.mean(1), x2.std(1, ddof=1), 200, 2.0)
    assert np.mean(p_mid < 0.05) > 0.99
    # far out in either tail: 1, never NaN (scipy's nct is NaN deep in one tail)
    assert equivalence_p([-60.0, 60.0], 0.0, 1.0, 99, 2.0) == pytest.approx([1.0, 1.0])


def _place_real(df: pd.DataFrame, metric: str, z: float) -> pd.DataFrame:
    """Put the real value of ``metric`` exactly ``z`` null SDs (of its nulls' values) above their mean."""
    df = df.copy()
    nul = df[(df.family != "real") & (df.metric == metric)]["value"]
    df.loc[(df.family == "real") & (df.metric == metric), "value"] = nul.mean() + z * nul.std(ddof=1)
    return df


def test_few_nulls_no_difference_is_inconclusive_not_reproduced():
    """The former rule: not significant and |z| < 2 = reproduced. With 20 nulls and z = 1.6 there is
    neither a difference nor equivalence: inconclusive."""
    df = _place_real(make_tables(metrics=("a", "b"), families=("degree",), n_nulls=20, n_seeds=1), "a", 1.6)
    st = compare_to_nulls(df, min_nulls=10).set_index("metric")
    a = st.loc["a"]
    assert a["z"] == pytest.approx(1.6) and not a["significant"]
    assert a["p_equiv"] >= 0.05 and a["outcome"] == "inconclusive"
    d = decompose(compare_to_nulls(df, min_nulls=10)).set_index("metric")
    assert d.loc["a", "verdict_class"] == "inconclusive" and not d.loc["a", "reproduces_degree"]
    # with 400 nulls the same position is shown to be inside the margin
    big = _place_real(make_tables(metrics=("a", "b"), families=("degree",), n_nulls=400, n_seeds=1), "a", 1.6)
    sb = compare_to_nulls(big, min_nulls=10).set_index("metric")
    assert sb.loc["a", "outcome"] == "reproduced" and sb.loc["a", "p_equiv"] < 0.05
    # 12 nulls cannot detect a difference (1/13 > 0.05): no verdict either way, even at the null mean
    tiny = _place_real(make_tables(metrics=("a", "b"), families=("degree",), n_nulls=12, n_seeds=1), "a", 0.0)
    row = compare_to_nulls(tiny, min_nulls=10).set_index("metric").loc["a"]
    assert row["p_equiv"] < 0.05 and row["outcome"] == "inconclusive"


# ----------------------------------------------------------------------------- decomposition
def test_decomposition_known_answers(planted):
    st = compare_to_nulls(planted, min_nulls=20)
    d = decompose(st).set_index("metric")
    assert d.loc["m0", "verdict"].startswith("specific wiring") and d.loc["m0", "difference_kind"] == "wiring"
    assert d.loc["m0", "reproduced_by"] == "" and d.loc["m0", "verdict_class"] == "not reproduced"
    assert d.loc["m1", "reproduces_degree"] and not d.loc["m1", "reproduces_er"]
    assert d.loc["m1", "verdict"] == "explained by degree sequence (degree)"
    assert d.loc["m2", "reproduced_by"] == "er,degree" and d.loc["m2", "explained_by"] == "er"
    assert d.loc["m2", "ladder"] == "er < degree"
    assert not d["non_monotone"].any()


def test_non_monotone_pattern_is_flagged_not_explained():
    """er reproduces m0 but the more constrained degree family differs: the former rule printed
    'explained by density (er)'; the ladder flags it."""
    df = make_tables(metrics=("m0", "m1"), families=("er", "degree", "weight_perm"), n_nulls=199, n_seeds=1,
                     family_shift={"degree": {"m0": 6.0}, "er": {"m1": 6.0}})
    d = decompose(compare_to_nulls(df, min_nulls=10)).set_index("metric")
    assert d.loc["m0", "outcome_er"] == "reproduced" and d.loc["m0", "outcome_degree"] == "not reproduced"
    assert d.loc["m0", "non_monotone"] and "er reproduces but more constrained degree differs" in \
        d.loc["m0", "non_monotone_detail"]
    # weight_perm (the top rung) reproduces m0 too, so it is the only family below which all agree
    assert d.loc["m0", "explained_by"] == "weight_perm"
    assert not d.loc["m1", "non_monotone"] and d.loc["m1", "explained_by"] == "degree"
    assert d.loc["m0", "ladder"] == "er < degree < weight_perm"
    v = ladder_verdict({"er": "reproduced", "degree": "not reproduced"}, levels=LADDER, preserves={},
                       keeps_edges={})
    assert v["verdict_class"] == "non-monotone" and v["verdict"].startswith("non-monotone")


def test_weight_perm_only_design_does_not_say_wiring():
    df = make_tables(metrics=("m0", "m1"), families=("weight_perm",), n_nulls=99, n_seeds=1,
                     real_offset={"m0": 10.0})
    d = decompose(compare_to_nulls(df, min_nulls=10)).set_index("metric")
    assert "wiring" not in d.loc["m0", "verdict"]
    assert d.loc["m0", "verdict"].startswith("specific weight arrangement")
    assert d.loc["m0", "difference_kind"] == "weight arrangement"


def test_complete_graph_speaks_of_weight_arrangement():
    """hcp80: complete, only strength and weight_perm run; both keep every edge."""
    from encephagen.analysis.decompose import keeps_all_edges_from_properties

    df = make_tables(metrics=("m0",), families=("strength", "weight_perm"), n_nulls=99, n_seeds=1,
                     real_offset={"m0": 10.0})
    st = compare_to_nulls(df, min_nulls=10)
    # the top rung that ran keeps every edge: a difference from it is a weight arrangement
    assert "wiring" not in decompose(st).iloc[0]["verdict"]
    only = st[st.family == "strength"]
    assert "specific wiring" in decompose(only).iloc[0]["verdict"]          # density unknown: strength rewires
    props = pd.DataFrame({"atlas": "syn20", "family": ["real", "strength", "strength", "weight_perm"],
                          "density": [1.0, 1.0, 1.0, 1.0]})
    keep, complete = keeps_all_edges_from_properties(props)
    assert complete and keep == {"strength": True, "weight_perm": True}
    for table in (st, only):
        d = decompose(table, keeps_all_edges=keep, complete=complete).iloc[0]
        assert "wiring" not in d["verdict"] and "weight arrangement" in d["verdict"]
        assert d["difference_kind"] == "weight arrangement"
    sparse = props.assign(density=[0.4, 0.4, 0.4, 0.4])
    keep, complete = keeps_all_edges_from_properties(sparse)
    assert not complete and keep == {"strength": False, "weight_perm": True}


def test_unknown_family_kept_off_the_ladder():
    df = make_tables(metrics=("m0",), families=("degree", "random"), n_nulls=30, n_seeds=1)
    d = decompose(compare_to_nulls(df, min_nulls=10)).iloc[0]
    assert d["off_ladder"] == "random" and "outcome_random" in d.index and "random" not in d["ladder"]


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
    assert d["profile_verdict"].iloc[0] == "profile explained by degree sequence (degree)"
    assert "profile_rho_median_er" in d.columns


# ----------------------------------------------------------------------------- degenerate real networks
def _with_regimes(df: pd.DataFrame, real_by_g: dict) -> pd.DataFrame:
    out = df.copy()
    out["network_regime"] = "fixed_point"        # the aggregation's column names
    out["regime_frac_saturated"] = 0.0
    for g, reg in real_by_g.items():
        sel = (out.family == "real") & (out.G == g)
        out.loc[sel, "network_regime"] = reg
        out.loc[sel, "regime_frac_saturated"] = 1.0 if reg == "saturated" else 0.0
    return out


def test_saturated_real_network_flagged_and_excluded():
    df = _with_regimes(make_tables(metrics=("m0", "m1"), families=("degree",), n_nulls=40, G=(0.1, 0.2),
                                   real_offset={"m0": 10}), {0.2: "saturated"})
    st = compare_to_nulls(df, min_nulls=10)
    assert set(st.columns).isdisjoint({"network_regime", "regime_frac_saturated"})     # never parameter columns
    sat = st[st.G == 0.2]
    assert (sat["real_regime"] == "saturated").all() and sat["flag"].str.contains("saturated").all()
    assert sat["p_two"].isna().all() and (sat["outcome"] == "excluded").all()
    assert sat["excluded_reason"].str.contains("analysis.include_degenerate").all()
    ok = st[st.G == 0.1]
    assert (ok["real_regime"] == "fixed_point").all() and ok["p_two"].notna().all() and (ok["flag"] == "").all()
    assert (ok["n_tests_study"] == 2).all()                  # the excluded tests are not in the FDR family
    kept = compare_to_nulls(df, min_nulls=10, include_degenerate=True)
    assert kept[kept.G == 0.2]["p_two"].notna().all() and kept[kept.G == 0.2]["flag"].str.len().gt(0).all()
    d = decompose(st).set_index(["G", "metric"])
    assert d.loc[(0.2, "m0"), "verdict_class"] == "not assessed"
    # older tables without the column: behave as before, regime unknown
    old = compare_to_nulls(df.drop(columns=["network_regime", "regime_frac_saturated"]), min_nulls=10)
    assert (old["real_regime"] == "unknown").all() and old["p_two"].notna().all()


def test_deterministic_model_without_seed_column():
    df = make_tables(n_nulls=30, n_seeds=1, real_offset={"m0": 10}).drop(columns=["seed_id", "seed"])
    st = compare_to_nulls(df, min_nulls=10)
    assert (st["n_seeds"] == 1).all() and st["real_seed_sd"].isna().all()
    assert st.set_index(["metric", "family"]).loc[("m0", "degree"), "p_two"] == pytest.approx(1 / 31)
