"""File-level entry points: tables in, TSVs out (atomic), on synthetic tables and real T1w/T2w."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from encephagen.analysis.fc import similarity_table
from encephagen.analysis.hierarchy import SPATIAL_NULL
from encephagen.analysis.run import (read_table, run_fc_fit, run_silencing, run_statistics, run_t1t2,
                                     write_table)
from encephagen.analysis.synthetic import make_fc_sweep, make_silencing, make_tables


def test_run_statistics_writes_all_tables(tmp_path):
    net = make_tables(metrics=("mean_fc", "sync"), n_nulls=199, real_offset={"sync": 8})
    reg = make_tables(metrics=("tau",), n_regions=8, n_nulls=199)
    p = tmp_path / "network.tsv.gz"
    write_table(net, p)
    assert read_table(p).shape == net.shape
    out = {k: tmp_path / f"{k}.tsv" for k in ("network_stats", "regional_stats", "decomposition", "class_summary")}
    w = run_statistics(p, reg, out=out, min_nulls=10, class_contrasts=[("sensory", "association")])
    assert set(w) == set(out)
    st = pd.read_csv(out["network_stats"], sep="\t")
    assert set(st.metric) == {"mean_fc", "sync", "tau_mean_over_regions", "tau[sensory]", "tau[association]",
                              "tau[limbic]", "tau[subcortical]", "tau[sensory - association]"}
    assert st.set_index(["metric", "family"]).loc[("sync", "degree"), "significant"]
    # study-wide FDR: 8 metrics x 2 families = 16 tests; an isolated effect passes (16/200 > 0.05 does not)
    assert (st["n_tests_study"] == 16).all() and (st["n_tests_table"] == 8).all()
    assert not st["single_effect_detectable"].any()
    assert {"q_study", "q_table", "outcome", "p_equiv", "n_censored", "n_nan", "real_regime", "flag"} <= set(st.columns)
    d = pd.read_csv(out["decomposition"], sep="\t")
    assert d.set_index("metric").loc["sync", "verdict"].startswith("specific wiring")
    assert not [x for x in tmp_path.iterdir() if ".tmp-" in x.name]


def test_run_statistics_complete_graph_and_censored_metric(tmp_path):
    """hcp80-like: only strength and weight_perm, density 1 (from the nulls stage's property table), and a
    regional acf_tau_ms that is NaN for the slowest null regions (longer than the record)."""
    fams = ("strength", "weight_perm")
    net = make_tables(metrics=("sync",), families=fams, n_nulls=199, n_seeds=2, real_offset={"sync": 8})
    reg = make_tables(metrics=("acf_tau_ms",), families=fams, n_regions=8, n_nulls=199, n_seeds=2)
    slow = (reg.family == "strength") & (reg.null_index < 3) & (reg.region == 2)
    reg.loc[slow, "value"] = np.nan
    props = pd.DataFrame({"atlas": "syn20", "family": ["real"] + ["strength"] * 3 + ["weight_perm"] * 3,
                          "density": 1.0})
    out = {k: tmp_path / f"{k}.tsv" for k in ("network_stats", "regional_stats", "decomposition")}
    run_statistics(net, reg, out=out, min_nulls=10, null_properties=props)
    st = pd.read_csv(out["network_stats"], sep="\t").set_index(["metric", "family"])
    # the censored regions make those nulls' mean over regions +inf: counted, never dropped
    assert st.loc[("acf_tau_ms_mean_over_regions", "strength"), "n_censored"] == 3
    assert st.loc[("acf_tau_ms_mean_over_regions", "weight_perm"), "n_censored"] == 0
    rs = pd.read_csv(out["regional_stats"], sep="\t")
    assert rs[(rs.region == 2) & (rs.family == "strength")]["n_censored"].iloc[0] == 3
    d = pd.read_csv(out["decomposition"], sep="\t").set_index("metric")
    assert "wiring" not in d.loc["sync", "verdict"] and "weight arrangement" in d.loc["sync", "verdict"]


def test_run_fc_fit_and_silencing(tmp_path):
    sim, meta, emp = make_fc_sweep(n=16, n_nulls=10, n_seeds=3)
    t = similarity_table(sim, meta, {"a": emp["train"], "b": emp["test"]})
    w = run_fc_fit(t, train="a", test="b", min_nulls=10, baselines={"raw_pearson": 0.1},
                   out={k: tmp_path / f"{k}.tsv" for k in ("networks", "summary", "curve", "curve_train")})
    s = pd.read_csv(w["summary"], sep="\t")
    assert s["real_best_G"].iloc[0] == pytest.approx(0.3) and s["n_nulls"].iloc[0] == 10
    # BH over the table's 4 p-values (1 family x greater/two-sided x pearson/spearman)
    assert (s["n_tests_fdr"] == 4).all() and s["q_greater_pearson"].iloc[0] >= s["p_greater_pearson"].iloc[0]
    assert "pooled" in s["fdr_scope"].iloc[0]
    w = run_silencing(make_silencing(n_nulls=5, n_regions=8), metric="rate", threshold=0.5,
                      out={"summary": tmp_path / "sil.tsv"})
    assert {"order", "tie_group", "never_silenced"} <= set(pd.read_csv(w["summary"], sep="\t").columns)


def _schaefer_regional(profile, rng, n_nulls=10):
    rows = []
    for fam, k in (("real", 1), ("degree", n_nulls)):
        for i in range(k):
            prof = profile if fam == "real" else rng.permutation(profile)
            for s in range(2):
                vals = prof + rng.normal(0, 0.02 * np.std(profile), profile.size)
                rows += [("schaefer100", "hopf", fam, i, s, r, "tau", v) for r, v in enumerate(vals)]
    return pd.DataFrame(rows, columns=["atlas", "model", "family", "null_index", "seed_id", "region", "metric",
                                       "value"])


def test_run_t1t2_real_schaefer100(tmp_path, resources_dir):
    """Real T1w/T2w and distances of schaefer100. A profile planted as -T1w/T2w plus noise (rho ~ -0.5) is
    detected against the variogram null; a smooth profile unrelated to T1w/T2w (a random field with the
    parcellation's spatial autocorrelation) is not."""
    from encephagen.data import load_connectome

    c = load_connectome("schaefer100", resources_dir)
    assert c.distances is not None
    t = pd.read_csv(resources_dir / "t1t2" / "schaefer100.tsv", sep="\t", comment="#")
    x = t["t1t2"].to_numpy()
    ok = np.isfinite(x)
    rng = np.random.default_rng(0)
    xs = np.where(ok, x, np.nanmean(x))
    planted = -xs + rng.normal(0, 1.6 * np.std(xs), x.size)
    D = np.asarray(c.distances, dtype=float)
    L = np.linalg.cholesky(np.exp(-D / np.median(D[D > 0]) * 3) + 1e-6 * np.eye(len(D)))
    res = {}
    for name, prof in (("planted", planted), ("unrelated", L @ rng.standard_normal(len(D)))):
        path = run_t1t2(_schaefer_regional(prof, rng), resources_dir / "t1t2" / "schaefer100.tsv",
                        out=tmp_path / f"t1t2-{name}.tsv", distances=resources_dir / "connectomes" / "schaefer100.h5",
                        n_surrogates=200, seed=3)
        res[name] = pd.read_csv(path, sep="\t").set_index("reference")
    p = res["planted"].loc[SPATIAL_NULL]
    assert -0.8 < p["rho"] < -0.2 and p["p_two"] <= 0.05 and p["q_two"] <= 0.05
    assert p["n_regions"] == int(ok.sum())
    u = res["unrelated"].loc[SPATIAL_NULL]
    assert u["p_two"] > 0.05 and u["q_two"] > 0.05
    # q over all rows of the table (map null + each family), and within each reference
    assert (res["planted"]["n_tests_fdr"] == 2).all() and (res["planted"]["n_tests_reference"] == 1).all()


def test_run_statistics_excludes_a_saturated_real_network_everywhere(tmp_path):
    """The aggregation's per-network regime (network table only): a real network saturated at G = 0.2 is
    flagged and kept out of the network, regional and decomposition tables at that G; one seed
    saturated ('mixed') is flagged but tested."""
    net = make_tables(metrics=("sync",), families=("degree",), n_nulls=30, n_seeds=2, G=(0.1, 0.2, 0.3))
    reg = make_tables(metrics=("tau",), families=("degree",), n_regions=6, n_nulls=30, n_seeds=2, G=(0.1, 0.2, 0.3))
    net["network_regime"] = "oscillating"
    net.loc[(net.family == "real") & (net.G == 0.2), "network_regime"] = "saturated"
    net.loc[(net.family == "real") & (net.G == 0.3) & (net.seed_id == 0), "network_regime"] = "saturated"
    out = {k: tmp_path / f"{k}.tsv" for k in ("network_stats", "regional_stats", "decomposition")}
    run_statistics(net, reg, out=out, min_nulls=10)
    st = pd.read_csv(out["network_stats"], sep="\t")
    rs = pd.read_csv(out["regional_stats"], sep="\t")
    d = pd.read_csv(out["decomposition"], sep="\t")
    for t in (st, rs):
        sat = t[t.G == 0.2]
        assert (sat["real_regime"] == "saturated").all() and sat["p_two"].isna().all()
        assert (sat["outcome"] == "excluded").all()
        mixed = t[t.G == 0.3]
        assert (mixed["real_regime"] == "mixed").all() and mixed["p_two"].notna().all()
        assert mixed["flag"].str.contains("partly degenerate").all()
        assert (t[t.G == 0.1]["real_regime"] == "oscillating").all()
    assert (d[d.G == 0.2]["verdict_class"] == "not assessed").all()
