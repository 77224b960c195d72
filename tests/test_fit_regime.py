"""The analytic Hopf fit constrained to where its linearisation can be simulated (``max_rate_ratio``),
its known answer (planted parameters inside the valid regime recovered), and the move of a fitted
parameter set to the simulable, linear regime (``linear_regime``) whose SIMULATED FC then equals the
analytic prediction."""
from __future__ import annotations

import numpy as np
import pytest

import encephagen.fit as F
from encephagen.fit.simulated import dt_for_rate, hopf_bold_model, linear_regime, simulated_scores
from encephagen.hopf import linear as hl


def _sc(n, seed, density=0.4):
    rng = np.random.default_rng(seed)
    C = rng.random((n, n)) * (rng.random((n, n)) < density)
    np.fill_diagonal(C, 0)
    return (C + C.T) / 2


def _smooth_maps(n, k, seed):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    return np.stack([np.sin((j + 1) * np.pi * x + rng.uniform(0, np.pi)) + 0.3 * rng.standard_normal(n)
                     for j in range(k)])


def test_rate_ratio_is_the_condition_number_and_the_constraint_rejects_only_above_it():
    n = 15
    C = _sc(n, 1) * 0.2
    m = F.AnalyticHopf(C)
    G = np.array([0.2, 3.0])
    a = -0.05 * np.exp(np.stack([np.zeros(n), 2.5 * _smooth_maps(n, 1, 0)[0]]))
    ratio = m.rate_ratio(G, {"a": a})
    for i in range(2):
        ev = np.linalg.eigvalsh(np.diag(a[i]) - G[i] * np.asarray(hl.laplacian(C)))
        assert ratio[i] == pytest.approx(ev.min() / ev.max(), rel=1e-10)
    assert ratio[0] < ratio[1]
    cut = float(np.mean(ratio))
    con = F.AnalyticHopf(C, max_rate_ratio=cut)
    out, free = con(G, {"a": a}), m(G, {"a": a})
    assert np.allclose(out["fc"][0].numpy(), free["fc"][0].numpy(), rtol=0, atol=0)
    assert np.isnan(out["fc"][1].numpy()).all() and np.isfinite(free["fc"][1].numpy()).all()
    assert F.Objective(F.Target(free["fc"][0].numpy())).scores(out)["cost"][1] == F.objectives.WORST
    with pytest.raises(F.FitError, match="max_rate_ratio"):
        F.AnalyticHopf(C, max_rate_ratio=0.5)


def test_known_answer_constrained_fit_recovers_planted_parameters_inside_the_valid_regime():
    """FC generated at planted (G, a-map, sigma-map) whose rate ratio is inside the constraint; CMA-ES on the
    constrained model (32 x 60) recovers them: log10 G within 0.05, coefficients within 0.05, r >= 0.9999,
    and the optimum satisfies the constraint."""
    n = 30
    C = _sc(n, 11) * 0.2
    maps = _smooth_maps(n, 2, 5)
    model = F.AnalyticHopf(C, max_rate_ratio=40.0)
    sp = F.ParameterSpace(n, G_bounds=(0.01, 10), base=model.defaults, heterogeneity=[
        F.Heterogeneity("a", "maps", maps[0], names=("m0",)), F.Heterogeneity("sigma", "maps", maps[1], names=("m1",))])
    planted = np.array([np.log10(0.3), 0.5, -0.4])
    p = sp.decode(sp.to_unit(planted))
    G = p.pop("G")
    assert model.rate_ratio(G, p)[0] < 40.0           # the planted point is inside the valid regime
    fc = model(G, p)["fc"][0].numpy()
    # part of the box is outside the constraint (so the constraint is active in this search)
    probe = sp.decode(np.random.default_rng(0).random((256, sp.dim)))
    Gp = probe.pop("G")
    assert (model.rate_ratio(Gp, probe) > 40.0).mean() > 0.1
    res = F.fit(model, sp, F.Objective(F.Target(fc)), seed=3, popsize=32, generations=60)
    got = sp.to_values(res.theta[None])[0]
    assert res.train["fc_r"] >= 0.9999
    assert abs(got[0] - planted[0]) < 0.05, (got, planted)
    assert np.all(np.abs(got[1:] - planted[1:]) < 0.05), (got, planted)
    q = {k: v[None] for k, v in res.params.items() if k != "G"}
    assert model.rate_ratio(np.array([res.params["G"]]), q)[0] <= 40.0


def test_linear_regime_keeps_the_analytic_fc_and_sets_rates_and_noise():
    n = 12
    C = _sc(n, 4) * 0.2
    m = F.AnalyticHopf(C)
    a = -0.02 * np.exp(0.8 * _smooth_maps(n, 1, 2)[0])
    s = 0.02 * np.exp(0.5 * _smooth_maps(n, 1, 3)[0])
    fc0 = m(np.array([0.7]), {"a": a[None], "sigma": s[None]})["fc"][0].numpy()
    lr = linear_regime(C, 0.7, {"a": a, "sigma": s}, slowest_rate=0.2, linearity=0.05)
    fc1 = m(np.array([lr["G"]]), {"a": lr["a"][None], "sigma": lr["sigma"][None]})["fc"][0].numpy()
    assert np.allclose(fc0, fc1, atol=1e-10)
    rates = m.rates(np.array([lr["G"]]), {"a": lr["a"][None]})[0].numpy()
    assert rates[0] == pytest.approx(0.2, rel=1e-9) and lr["fastest_rate"] == pytest.approx(rates[-1], rel=1e-9)
    P = m.covariance(np.array([lr["G"]]), {"a": lr["a"][None], "sigma": lr["sigma"][None]})[0].numpy()
    assert 4 * np.diag(P).max() == pytest.approx(0.05 * 0.2, rel=1e-9)
    lr2 = linear_regime(C, 0.7, {"a": a, "sigma": s}, fastest_rate=2.0)
    assert lr2["fastest_rate"] == pytest.approx(2.0, rel=1e-9)
    assert lr2["rate_ratio"] == pytest.approx(lr["rate_ratio"], rel=1e-9)
    with pytest.raises(F.FitError, match="one of slowest_rate, fastest_rate"):
        linear_regime(C, 0.7, {"a": a}, slowest_rate=1.0, fastest_rate=2.0)
    assert dt_for_rate(2.0, 720.0, 0.1) == pytest.approx(720.0 / 15)


def test_simulated_fc_equals_the_analytic_prediction_in_the_linear_regime():
    """A constrained parameter set moved to the linear regime and SIMULATED (nonlinear Hopf, regional noise,
    x per TR, 8 runs of 432 s in one batch): the run-averaged FC correlates > 0.95 with the analytic FC.
    The same parameters with 60x the noise (the cubic term no longer small) fall below that."""
    n = 10
    C = _sc(n, 7, density=0.6) * 0.2
    m = F.AnalyticHopf(C)
    a = -0.05 * np.exp(0.6 * _smooth_maps(n, 1, 1)[0])
    s = 0.02 * np.exp(0.4 * _smooth_maps(n, 1, 2)[0])
    G = 1.0
    assert m.rate_ratio(np.array([G]), {"a": a[None]})[0] < 30
    lr = linear_regime(C, G, {"a": a, "sigma": s}, fastest_rate=1.0, linearity=0.05)
    target = F.Target(m(np.array([G]), {"a": a[None], "sigma": s[None]})["fc"][0].numpy(), name="analytic")
    model = hopf_bold_model(C, duration_ms=432_000.0, transient_ms=max(60_000.0, 5000.0 / lr["slowest_rate"]),
                            dt=dt_for_rate(lr["fastest_rate"], 720.0), dtype="float64", fcd_window=30, fcd_step=5)
    sc = simulated_scores(model, lr["G"], {"a": lr["a"], "sigma": lr["sigma"]}, [target], runs=8, seed=5)
    assert sc["diverged"] == 0
    assert sc["analytic"]["fc_r"] > 0.95, sc
    loud = simulated_scores(model, lr["G"], {"a": lr["a"], "sigma": 60 * lr["sigma"]}, [target], runs=8, seed=5)
    assert loud["analytic"]["fc_r"] < sc["analytic"]["fc_r"] and loud["analytic"]["fc_r"] < 0.95, loud


def test_stage_option_max_rate_ratio_reaches_the_model_and_the_schema_names_it():
    from encephagen.fit.stage import _model_factory
    from encephagen.schemas import section_defaults, section_problems

    cfg = section_defaults("fit")
    assert cfg["max_rate_ratio"] is None
    assert _model_factory(cfg)(_sc(8, 0)).max_rate_ratio is None
    cfg["max_rate_ratio"] = 30
    assert _model_factory(cfg)(_sc(8, 0)).max_rate_ratio == 30.0
    assert not section_problems("fit", cfg)
    cfg["max_rate_ratio"] = 0.5
    probs = section_problems("fit", cfg)
    assert probs and "fit.max_rate_ratio" in probs[0]


def test_stage_score_fcd_simulates_the_fitted_model_in_the_linear_regime(monkeypatch):
    """A fit made under max_rate_ratio: fit.score_fcd must simulate the model that was FITTED, i.e. the optimum
    moved to the linear regime (same analytic FC; fastest rate as asked; noise scaled to `linearity`), and pick
    the time scale on the training target's 1 - r + KS. Fails if the optimum is simulated as fitted (its
    fastest rate 0.05/s here, far from the rates asked) or the rescaling changes the analytic FC."""
    import encephagen.fit.stage as S
    from encephagen.schemas import section_defaults

    n = 10
    C = _sc(n, 7, density=0.6) * 0.2
    a = -0.002 * np.exp(0.6 * _smooth_maps(n, 1, 1)[0])
    s = 0.02 * np.exp(0.4 * _smooth_maps(n, 1, 2)[0])
    G = 0.05
    free = F.AnalyticHopf(C)
    con = F.AnalyticHopf(C, max_rate_ratio=50.0)
    assert free.rate_ratio(np.array([G]), {"a": a[None]})[0] < 50
    fitted_fast = free.rates(np.array([G]), {"a": a[None]})[0].numpy()[-1]
    assert fitted_fast < 0.2                       # the optimum as fitted is far from the rates asked
    fc_fit = free(np.array([G]), {"a": a[None], "sigma": s[None]})["fc"][0].numpy()
    calls = []

    def fake_scores(model, G_, reg, targets, *, runs, seed):
        calls.append((float(G_), {k: np.asarray(v, float) for k, v in reg.items()}))
        fast = free.rates(np.array([G_]), {"a": np.asarray(reg["a"])[None]})[0].numpy()[-1]
        r = 0.5 + 0.1 * np.log2(fast)              # training score rises with the time scale: 4/s must win
        return {"runs": runs, "diverged": 0, **{t.name: {"fc_r": r, "fc_r_single": r, "fcd_ks": 0.1,
                                                         "n_fcd_values": 1} for t in targets}}

    monkeypatch.setattr(S, "simulated_scores", fake_scores)
    cfg = dict(section_defaults("fit")["score_fcd"], fastest_rates=[1.0, 4.0], linearity=0.05, dt_accuracy=0.1)
    targets = [F.Target(fc_fit, fcd=np.linspace(-1, 1, 50), name="train"), F.Target(fc_fit, name="test")]
    out = S.score_fcd(con, {"G": G, "a": a, "sigma": s}, targets, cfg, seed=1)
    assert len(calls) == 2 and out["fastest_rate"] == 4.0 and set(out["tried"]) == {1.0, 4.0}
    assert out["tried"][4.0] < out["tried"][1.0]
    for (Gs, reg), fr in zip(calls, (1.0, 4.0)):
        rates = free.rates(np.array([Gs]), {"a": reg["a"][None]})[0].numpy()
        assert rates[-1] == pytest.approx(fr, rel=1e-9)                     # the time scale asked
        fc_sim = free(np.array([Gs]), {"a": reg["a"][None], "sigma": reg["sigma"][None]})["fc"][0].numpy()
        assert np.allclose(fc_sim, fc_fit, atol=1e-9)                      # the same analytic FC
        P = free.covariance(np.array([Gs]), {"a": reg["a"][None], "sigma": reg["sigma"][None]})[0].numpy()
        assert 4 * np.diag(P).max() == pytest.approx(0.05 * rates[0], rel=1e-6)  # the linear regime
    slow = free.rates(np.array([calls[-1][0]]), {"a": calls[-1][1]["a"][None]})[0].numpy()[0]
    assert out["steps_per_tr"] == round(720.0 / dt_for_rate(4.0, 720.0, 0.1, slowest_rate=slow,
                                                            omega=con.defaults["omega"]))
    # without the constraint the optimum is simulated as fitted (unchanged G, a, sigma)
    calls.clear()
    S.score_fcd(free, {"G": G, "a": a, "sigma": s}, targets, cfg, seed=1)
    assert len(calls) == 1 and calls[0][0] == G and np.allclose(calls[0][1]["a"], a)
    with pytest.raises(F.FitError, match="fastest_rates"):
        S.score_fcd(con, {"G": G, "a": a, "sigma": s}, targets, dict(cfg, fastest_rates=[]), seed=1)


def test_dt_for_rate_bounds_the_euler_rate_shift_of_the_fastest_and_slowest_rotating_modes():
    """Euler on dz = (-rate + i omega) z dt multiplies |z|^2 by |1 + (-rate + i omega) dt|^2 per step: the
    effective rate is -ln|1 + (-rate + i omega) dt| / dt. With the slowest rate and omega given, dt_for_rate
    keeps the relative shift <= accuracy / 2 (+ 2nd order) at both ends; from the fastest rate alone (the rule
    before session 9) the slowest mode at 1/s, 1/300 s, omega 2 pi 0.05 is not damped at all."""
    omega = 2 * np.pi * 0.05

    def shift(rate, dt_ms):
        dt = dt_ms / 1000.0
        eff = -np.log(abs(1 + complex(-rate, omega) * dt)) / dt
        return abs(eff - rate) / rate

    for fast, ratio in ((1.0, 300.0), (2.0, 300.0), (4.0, 30.0), (0.5, 10.0)):
        slow = fast / ratio
        dt = dt_for_rate(fast, 720.0, 0.1, slowest_rate=slow, omega=omega)
        assert 720.0 / dt == pytest.approx(round(720.0 / dt))
        for rate in (slow, fast):
            assert shift(rate, dt) <= 0.05 * 1.06, (fast, ratio, rate, dt)
    old = dt_for_rate(1.0, 720.0, 0.1)
    assert old == 90.0 and abs(1 + complex(-1 / 300, omega) * old / 1000.0) >= 1.0   # undamped: the defect
    assert dt_for_rate(2.0, 720.0, 0.1) == dt_for_rate(2.0, 720.0, 0.1, omega=0.0)   # omega 0: unchanged rule


def test_split_half_r_rises_with_the_runs_averaged_and_needs_two_runs():
    from encephagen.fit.simulated import split_half_r

    rng = np.random.default_rng(0)
    n = 12
    base = np.corrcoef(rng.standard_normal((n, 40)))

    def runs(k):
        noise = rng.standard_normal((k, n, n))
        return base[None] + 0.1 * (noise + np.swapaxes(noise, 1, 2))

    few, many = split_half_r(runs(4)), split_half_r(runs(256))
    assert few < many and many > 0.95 and few < 0.9
    assert np.isnan(split_half_r(runs(1)))
