"""Simulated models for fitting (encephagen.fit.simulated): the Hopf model with regional noise through the
exactly rescaled model, the FCD score of a fitted parameter set, and a diverging candidate of a batched
rWW-FIC population (worst cost and a warning; the rest of the population unchanged)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import encephagen.fit as F
from encephagen.fit.simulated import CandidateFailed, hopf_bold_model, rww_fic_model, simulated_scores
from encephagen.hopf import fit as hf


def _net(n, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    W = (W + W.T) / 2
    np.fill_diagonal(W, 0)
    return W


def test_scaled_hopf_with_homogeneous_noise_is_the_hopf_model():
    """Regional 'sigma' goes through HOPF_SCALED; with every sigma equal (D = 1) it is the plain 'hopf' model:
    the same series (float64) for the same seeds."""
    C = hf.normalise_sc(_net(8))
    m = hopf_bold_model(C, duration_ms=72_000.0, transient_ms=7_200.0, dtype="float64", fcd_window=10, fcd_step=5)
    a = np.full((2, 8), -0.05)
    plain = m(np.array([0.5, 2.0]), {"a": a}, seed=3)["bold"]
    scaled = m(np.array([0.5, 2.0]), {"a": a, "sigma": np.full((2, 8), 0.02)}, seed=3)["bold"]
    assert plain.shape == (2, 8, 100)
    np.testing.assert_allclose(scaled, plain, rtol=1e-7, atol=1e-10)


def test_scaled_hopf_regional_noise_matches_the_analytic_fc():
    """Regional noise (a factor 10 across regions) in the linear regime (a = -0.5, amplitudes << |a|): the
    simulated FC (4 runs of 1200 TRs averaged) matches the analytic regional-sigma FC (r > 0.97) and not the
    homogeneous-sigma FC (r lower by > 0.05): the noise really is regional and the rescaling exact."""
    n = 10
    C = hf.normalise_sc(_net(n, 2))
    sig = np.geomspace(0.005, 0.05, n)[np.random.default_rng(1).permutation(n)]
    G, a = 2.0, np.full(n, -0.5)
    ana = F.AnalyticHopf(C)
    fc_reg = ana(np.array([G]), {"a": a[None], "sigma": sig[None]})["fc"][0].numpy()
    fc_hom = ana(np.array([G]), {"a": a[None]})["fc"][0].numpy()
    m = hopf_bold_model(C, a=-0.5)
    tr = F.Target(fc_reg, name="regional")
    th = F.Target(fc_hom, name="homogeneous")
    sc = simulated_scores(m, G, {"a": a, "sigma": sig}, [tr, th], runs=4, seed=0)
    assert sc["regional"]["fc_r"] > 0.97, sc
    assert sc["regional"]["fc_r"] > sc["homogeneous"]["fc_r"] + 0.05, sc
    assert np.isnan(sc["regional"]["fcd_ks"]) and sc["diverged"] == 0


def test_simulated_scores_pool_fcd_of_runs_and_average_fc():
    """FCD KS against a target's FCD from the pooled windows of every run; the run-averaged FC scores at least
    as well as a single run on average (group FC is an average)."""
    C = hf.normalise_sc(_net(8, 4))
    m = hopf_bold_model(C, duration_ms=216_000.0, transient_ms=14_400.0, fcd_window=30, fcd_step=5)
    fc = F.AnalyticHopf(C)(np.array([1.0]))["fc"][0].numpy()
    t = F.Target(fc, fcd=np.random.default_rng(0).uniform(-0.2, 0.9, 500), name="t")
    sc = simulated_scores(m, 1.0, {}, [t], runs=3, seed=1)
    per_run = (300 - 30) // 5 + 1
    assert sc["t"]["n_fcd_values"] == 3 * per_run * (per_run - 1) // 2
    assert 0 < sc["t"]["fcd_ks"] <= 1
    assert sc["t"]["fc_r"] >= sc["t"]["fc_r_single"] - 1e-9
    with pytest.raises(F.FitError, match="runs"):
        simulated_scores(m, 1.0, {}, [t], runs=0, seed=1)


def test_rww_population_survives_a_planted_diverging_candidate():
    """A population of 3 rWW-FIC candidates in ONE batched simulation, the middle one planted to diverge
    (G = 1e7: BOLD NaN): it gets the worst cost with a CandidateFailed warning naming it, the others are
    finite and equal to the same candidates simulated in a population without the planted one (same seeds)."""
    W = _net(8, 1)
    W = W / W.sum(1).mean()
    m = rww_fic_model(W, duration_ms=2500.0, transient_ms=500.0, dt=0.5, tr_ms=100.0, bold_warmup_ms=500.0,
                      min_bold_samples=15, fcd_window=8, fcd_step=2, noise=1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CandidateFailed)
        out = m(np.array([0.3, 1e7, 0.6]), {}, seed=2)
    msgs = [str(w.message) for w in caught if issubclass(w.category, CandidateFailed)]
    assert len(msgs) == 1 and "candidates [1]" in msgs[0], msgs
    assert np.isnan(out["bold"][1]).all() and np.isfinite(out["bold"][[0, 2]]).all()
    obj = F.Objective(F.Target(np.corrcoef(np.random.default_rng(0).normal(size=(8, 50))),
                               fcd=np.linspace(-0.5, 1, 50)), w_fc=1.0, w_fcd=1.0)
    cost = obj.scores(out)["cost"]
    assert cost[1] == F.objectives.WORST and (cost[[0, 2]] < F.objectives.WORST).all()
    clean = m(np.array([0.3, 0.45, 0.6]), {}, seed=2)["bold"]
    np.testing.assert_allclose(out["bold"][[0, 2]], clean[[0, 2]], rtol=1e-5, atol=1e-7)


def test_stage_score_fcd_simulates_each_fitted_optimum():
    """fit.score_fcd on a tiny case: two networks fitted (CMA-ES 4 x 2, space G + sigma ~ a map), each optimum
    simulated (2 runs of 100 TRs) and scored on the training and held-out FC and FCD; the columns are filled,
    the generating network's simulated FC is the closer one, and the analytic-only run leaves them NaN. The
    FCD values of an FC file come from 'fcd_tril' or the subjects' 'fcd' matrices."""
    from encephagen.fit.stage import fcd_values, fit_batch
    from encephagen.schemas import section_defaults

    n = 24
    W = np.stack([_net(n, 0), _net(n, 5)])
    C = hf.normalise_sc(W[0])
    ana = F.AnalyticHopf(C)
    m = np.linspace(-1, 1, n)
    fc = ana(np.array([2.0]), {"sigma": (0.02 * np.exp(0.5 * m))[None]})["fc"][0].numpy()
    cfg = section_defaults("fit")
    cfg["optimiser"].update(popsize=4, generations=2)
    cfg["space"]["heterogeneity"] = [{"parameter": "sigma", "maps": ["t1t2"], "bounds": [-1.0, 1.0]}]
    kw = dict(fc_train=fc, fc_test=fc, seed=3, atlas="toy", family="real", null_index=[0, 1], t1t2=m)
    plain = fit_batch(W, cfg=cfg, **kw)
    assert np.isnan(plain[0]["test_fcd_ks"]) and np.isnan(plain[0]["sim_test_fc_r"])
    cfg["score_fcd"].update(enabled=True, runs=2, seconds=72.0, transient_seconds=7.2, window=10, step=5)
    with pytest.raises(F.FitError, match="score_fcd"):
        fit_batch(W, cfg=cfg, **kw)
    emp = {"fcd": np.stack([np.corrcoef(np.random.default_rng(s).normal(size=(6, 40))) for s in range(2)])}
    fcd = fcd_values(emp)
    assert fcd.size == 2 * 15
    assert np.array_equal(fcd_values({"fcd_tril": np.array([0.1, np.nan, 0.3])}), [0.1, 0.3])
    with pytest.raises(F.FitError, match="no FCD"):
        fcd_values({"fc": fc}, "x.h5")
    rows = fit_batch(W, cfg=cfg, fcd_train=fcd, fcd_test=fcd, **kw)
    for r in rows:
        assert r["sim_runs"] == 2 and r["sim_seconds"] == 72.0
        assert 0 < r["test_fcd_ks"] <= 1 and 0 < r["train_fcd_ks"] <= 1
        assert np.isfinite(r["sim_test_fc_r"]) and r["G"] == plain[rows.index(r)]["G"]   # same fit
        assert r["sim_steps_per_tr"] >= 8 and r["reason"] == ""
    assert rows[0]["sim_test_fc_r"] > rows[1]["sim_test_fc_r"]
    # a stiff optimum (more steps per TR than allowed) is not simulated: NaN scores and the reason
    cfg["score_fcd"]["max_steps_per_tr"] = 4
    stiff = fit_batch(W[:1], cfg=cfg, fcd_train=fcd, fcd_test=fcd, **{**kw, "null_index": [0]})
    assert np.isnan(stiff[0]["test_fcd_ks"]) and "max_steps_per_tr" in stiff[0]["reason"]


def test_stiffness_steps_follow_the_fastest_rate():
    """dt shrinks with max|a|, G x the largest in-strength, and sigma (rate x dt <= accuracy)."""
    from encephagen.fit.stage import stiffness_steps

    C = np.array([[0.0, 2.0], [1.0, 0.0]])
    base = {"G": 0.0, "a": np.array([-0.02, -0.02]), "sigma": np.array([0.0, 0.0])}
    assert stiffness_steps(C, base, 720.0, 0.2) == 1
    assert stiffness_steps(C, {**base, "a": np.array([-472.0, -1e-7])}, 720.0, 0.2) == int(np.ceil(0.72 * 472 / 0.2))
    assert stiffness_steps(C, {**base, "G": 10.0}, 720.0, 0.2) == int(np.ceil(0.72 * (0.02 + 40) / 0.2))
    assert stiffness_steps(C, {**base, "sigma": np.array([1.0, 3.0])}, 720.0, 0.2) == int(np.ceil(0.72 * 9.02 / 0.2))
