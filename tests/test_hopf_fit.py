"""Hopf analytic-FC fitting: batched similarity vs the analysis reference, the train -> held-out
protocol, heterogeneity recovery and its map null, the study files."""
from __future__ import annotations


import numpy as np
import pytest
import torch
from scipy import stats

from encephagen.analysis.fc import fc_similarity
from encephagen.hopf import fit as hf
from encephagen.hopf import linear as hl
from encephagen.hopf import study
from encephagen.steps.hopf import summarise
from encephagen.steps.networks import read_networks


def _sc(n, seed, symmetric=True, density=0.4):
    rng = np.random.default_rng(seed)
    C = rng.random((n, n)) * (rng.random((n, n)) < density)
    np.fill_diagonal(C, 0)
    return (C + C.T) / 2 if symmetric else C


def test_average_ranks_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(4, 7, 50)).astype(float)  # many ties
    r = hf.average_ranks(torch.as_tensor(x)).numpy()
    assert np.array_equal(r, stats.rankdata(x, axis=-1))


@pytest.mark.parametrize("symmetric", [True, False])
def test_sweep_matches_reference_similarity(symmetric):
    n = 16
    Cs = np.stack([_sc(n, s, symmetric) for s in range(3)])
    # a disconnected network: exact zeros across components -> tied ranks in Spearman
    Cd = _sc(n, 9, symmetric)
    Cd[: n // 2, n // 2:] = 0
    Cd[n // 2:, : n // 2] = 0
    Cs = np.concatenate([Cs, Cd[None]])
    G = np.geomspace(0.01, 5, 7)
    emp = {"tr": hl.fc(_sc(n, 20), 0.3, -0.1).numpy(), "te": np.corrcoef(np.random.default_rng(3).random((n, 40)))}
    res = hf.sweep(Cs, G, emp, a=-0.1, chunk=2)
    F = hl.fc_sweep(Cs, G, a=-0.1).numpy()
    for name, e in emp.items():
        ref = fc_similarity(F, e)
        for m in ("pearson", "spearman"):
            assert np.allclose(res.r[m][name], ref[m], atol=1e-12), (name, m)
    # float32 path agrees to single precision
    res32 = hf.sweep(Cs, G, emp, a=-0.1, dtype=torch.float32)
    assert np.allclose(res32.r["pearson"]["tr"], res.r["pearson"]["tr"], atol=1e-4)


def test_g_is_chosen_on_training_and_reported_on_heldout():
    """Training FC made at G=0.2, held-out FC at G=2: the fit must pick 0.2 and report the
    held-out r there (below the held-out maximum, which it never looks at)."""
    n = 20
    C = hf.normalise_sc(_sc(n, 4))
    G = np.geomspace(0.02, 20, 31)
    g_tr, g_te = G[10], G[25]
    emp = {"train": hl.fc(C, g_tr, -0.02).numpy(), "test": hl.fc(C, g_te, -0.02).numpy()}
    arr = study.sweep_networks(C[None], emp["train"], emp["test"],
                               {"G": {"start": 0.02, "stop": 20, "num": 31}, "sc_normalisation": "none"})
    assert arr["best_G"][0] == pytest.approx(g_tr)
    assert arr["r_train_pearson"][0, 10] == pytest.approx(1.0, abs=1e-12)
    test_at_best = arr["r_test_pearson"][0, 10]
    assert test_at_best < np.nanmax(arr["r_test_pearson"][0]) - 1e-3
    assert np.allclose(arr["fc_best"][0], emp["train"], atol=1e-6)


def test_best_index_ignores_nan_and_reports_all_nan():
    r = np.array([[0.1, np.nan, 0.3, 0.2], [np.nan] * 4])
    idx, val = hf.best_index(r)
    assert idx.tolist() == [2, -1] and val[0] == 0.3 and np.isnan(val[1])


def _sample_fc(F, T, rng):
    """Empirical FC of T samples of a Gaussian process with correlation F (a finite cohort's estimate)."""
    X = rng.multivariate_normal(np.zeros(len(F)), F, size=T)
    return np.corrcoef(X.T)


@pytest.mark.parametrize("draw", [0, 1, 2])
def test_heterogeneity_recovers_known_parameters_and_beats_shuffled_maps(draw):
    """Training and held-out FCs are two independent finite-sample estimates of the FC generated from
    a_j = bias (1 - s map_j) (different noise, as two cohorts): the fit recovers (bias, s) to within a
    grid step, its held-out r beats the homogeneous model's and every permuted map's. Several draws
    (map, grid point, noise)."""
    n = 30
    rng = np.random.default_rng(50 + draw)
    C = hf.normalise_sc(_sc(n, 6 + draw, density=0.5))
    xmap = np.sort(rng.random(n))[rng.permutation(n)]
    G = 0.5
    bias_grid = -np.geomspace(0.5, 0.005, 9)
    scale_grid = np.linspace(-0.9, 0.9, 7)
    b0, s0 = bias_grid[[4, 5, 4][draw]], scale_grid[[5, 1, 5][draw]]
    a_true = hf.heterogeneous_a(hf.normalise_map(xmap), b0, s0 * abs(b0))
    F = hl.fc(C, G, a_true).numpy()
    # 20000 samples each (with 3000 the heterogeneity is not recoverable in some draws: measured)
    F_tr, F_te = _sample_fc(F, 20000, rng), _sample_fc(F, 20000, rng)
    assert np.abs(upper_tri(F_tr) - upper_tri(F_te)).max() > 0.005          # really two different FCs
    res = hf.fit_heterogeneity(C, xmap, F_tr, F_te, G, bias_grid, scale_grid, n_null=19, seed=3 + draw,
                               null="permutation")
    lb_step = np.mean(np.abs(np.diff(np.log(-bias_grid))))
    assert abs(np.log(res.best["bias"] / b0)) <= lb_step
    assert abs(res.best["scale_relative"] - s0) <= np.mean(np.diff(scale_grid))
    assert 0.9 < res.best["r_test"] < 0.999 and res.best["r_train"] < 0.999
    assert res.best["r_test"] > res.best["hom_r_test"]
    assert res.null_kind == "permutation"
    assert np.nanmax(res.null_test) < res.best["r_test"]
    assert res.p_test == pytest.approx(1 / 20) and res.p_gain == pytest.approx(1 / 20)


def upper_tri(m):
    return m[np.triu_indices(len(m), 1)]


def test_heterogeneity_null_is_not_fooled_by_a_random_map():
    """A map unrelated to the generating model: p is not small (a false-positive control)."""
    n = 25
    rng = np.random.default_rng(8)
    C = hf.normalise_sc(_sc(n, 7, density=0.5))
    F = hl.fc(C, 0.4, -0.02).numpy()
    noisy = np.tanh(np.arctanh(np.clip(F, -0.99, 0.99)) + 0.05 * rng.standard_normal((n, n)))
    noisy = (noisy + noisy.T) / 2
    np.fill_diagonal(noisy, 1)
    res = hf.fit_heterogeneity(C, rng.random(n), F, noisy, 0.4, -np.geomspace(0.2, 0.005, 7), np.linspace(-1, 1, 5),
                               n_null=19, seed=4, null="permutation", refine=1)
    assert res.p_test > 0.1


def test_study_sweep_file_roundtrip_and_summary(tmp_path):
    """Null-batch files in, hopf_sweep files out, summaries with the real network vs the family."""
    from encephagen.connectome import Connectome
    from encephagen.steps.nulls import generate_nulls_file

    n = 14
    W = _sc(n, 11, density=0.5)
    c = Connectome(name="toy", weights=W, lengths=np.where(W > 0, 10.0, 0.0),
                   labels=tuple(f"r{i}" for i in range(n)), hemisphere=("L",) * n, cortical=np.ones(n, bool),
                   region_class=("x",) * n, directed=False, weight_kind="synthetic", lengths_source="constant",
                   licence="CC0", citation="-")
    src = c.save(tmp_path / "toy.h5")
    fam_files = {}
    for fam, k in (("real", 1), ("weight_perm", 12)):
        fam_files[fam] = generate_nulls_file(src, tmp_path / f"nulls-{fam}.h5", atlas="toy", family=fam, batch=0,
                                             batch_size=k, n_per_family=k, master_seed=1)
    emp_tr = hl.fc(hf.normalise_sc(W), 1.0, -0.02).numpy()
    emp_te = hl.fc(hf.normalise_sc(W), 2.0, -0.02).numpy()
    params = {"G": {"start": 0.1, "stop": 10, "num": 9}}
    outs = []
    for fam, f in fam_files.items():
        net = read_networks(f)
        arr = study.sweep_networks(net["weights"], emp_tr, emp_te, params)
        outs.append(study.write_sweep(tmp_path / f"sweep-{fam}.h5", arr, atlas="toy", family=fam, train="tr",
                                      test="te", params=params, null_index=net["null_index"], seed=net["seed"],
                                      labels=net["labels"]))
    s = study.read_sweep(outs[1])
    assert s["r_train_pearson"].shape == (12, 9) and s["fc_best"].shape == (12, n, n)
    assert s["null_index"].tolist() == list(range(12)) and s["params"]["G"]["num"] == 9
    summarise(outs, tmp_path / "t.tsv.gz", tmp_path / "net.tsv", tmp_path / "held.tsv", tmp_path / "ins.tsv",
                    min_nulls=5)
    import pandas as pd

    held = pd.read_csv(tmp_path / "held.tsv", sep="\t")
    ins = pd.read_csv(tmp_path / "ins.tsv", sep="\t")
    assert held["family"].tolist() == ["weight_perm"] and int(held["n_nulls"][0]) == 12
    # the training FC was made from the real network at a grid G: r = 1, no null can beat it
    assert ins["real_best_train_r"][0] == pytest.approx(1.0, abs=1e-9)
    assert ins["p_greater"][0] == pytest.approx(1 / 13)
    net = pd.read_csv(tmp_path / "net.tsv", sep="\t")
    assert net.loc[net.family == "real", "best_G"].iloc[0] == pytest.approx(1.0)
    # the workflow's hopf_summary then BH-corrects both tables in place
    from encephagen.analysis.run import hopf_fdr

    hopf_fdr(tmp_path / "held.tsv", tmp_path / "ins.tsv")
    held = pd.read_csv(tmp_path / "held.tsv", sep="\t")
    ins = pd.read_csv(tmp_path / "ins.tsv", sep="\t")
    assert {"q_greater_pearson", "q_two_spearman", "fdr_scope"} <= set(held.columns)
    assert (held["n_tests_fdr"] == 4).all() and held["q_greater_pearson"][0] >= held["p_greater_pearson"][0]
    assert (ins["n_tests_fdr"] == 2).all() and ins["q_greater"][0] >= ins["p_greater"][0]


def test_bad_parameters_name_the_culprit():
    with pytest.raises(hl.HopfParameterError, match="hopf.a must be < 0"):
        hf.sweep(_sc(5, 1)[None], [0.1], {"x": np.eye(5)}, a=0.1)
    with pytest.raises(hl.HopfParameterError, match="empirical FC 'x' is"):
        hf.sweep(_sc(5, 1)[None], [0.1], {"x": np.eye(4)})
    with pytest.raises(hl.HopfParameterError, match="hopf.G"):
        hf.g_grid(0, 1, 5, "log")
    with pytest.raises(hl.HopfParameterError, match="no positive weight"):
        hf.normalise_sc(np.zeros((3, 3)))
