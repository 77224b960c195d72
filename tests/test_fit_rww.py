"""Reduced Wong-Wang with feedback inhibition control (encephagen.sim.rww): the known answer
(excitatory rate held at 3 Hz across G by the analytic FIC, in the runner and in an independent
numpy integration), and what happens without FIC."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.sim import rww
from encephagen.sim.models import ParameterError, get_model
from encephagen.sim.runner import simulate


def _net(n=30, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
    W = (W + W.T) / 2
    np.fill_diagonal(W, 0)
    return W / W.sum(1).mean()          # mean in-strength 1


def test_fic_fixed_point_is_3hz_exactly():
    W = _net()
    p = rww.RWWParams()
    for G in (0.0, 0.4, 0.8):
        J = rww.fic_weights(W, G)
        x = p.gamma_E * 3.0 * p.tau_E / 1000
        se = np.full(len(W), x / (1 + x))
        # S_I* from the I balance: the rates at (S_E*, S_I*) are 3 Hz in every region
        ii = np.linspace(-0.5, 1.0, 200001)
        f = ii - p.W_I * p.I0 - p.J_N * se[0] + p.tau_I / 1000 * rww.transfer(ii, p.a_I, p.b_I, p.d_I)
        si = p.tau_I / 1000 * rww.transfer(ii[np.argmin(np.abs(f))], p.a_I, p.b_I, p.d_I)
        re, _ = rww.rates_from_state(se, np.full(len(W), si), W @ se, G, p, J)
        assert np.allclose(re, 3.0, atol=1e-3)
    assert rww.fic_weights(W, 0.8).std() > 0          # J_i follows the in-strength


def test_rww_fic_holds_3hz_across_G_in_the_runner():
    """Runner (Euler, dt 0.2 ms, 2.5 s, noise 1e-4 on S): r_E stays within 0.1 Hz of 3 Hz in every region
    at G = 0, 0.4, 0.8; without FIC (J_i = 1) the rate at G = 0.8 is far above (> 10 Hz)."""
    W = _net()
    n = len(W)
    Gs = np.array([0.0, 0.4, 0.8, 0.8])
    J = np.stack([rww.fic_weights(W, g) for g in Gs[:3]] + [np.ones(n)])
    res = simulate("rww_fic", W, params={"J_i": J}, G=Gs, seeds=np.arange(4) + 1, dt=0.2, duration=2500.0,
                   transient=1500.0, noise=1e-4, monitors={"fc_activity": False, "record_samples": 16},
                   dtype="float64")
    fs = res.final_state
    re = np.array([rww.rates_from_state(fs[b, 0], fs[b, 1], W @ fs[b, 0], Gs[b], rww.RWWParams(), J[b])[0]
                   for b in range(4)])
    assert np.all(np.abs(re[:3] - 3.0) < 0.1), re[:3].round(3)
    assert re[3].mean() > 10.0
    # the independent numpy integration agrees (strongest coupling)
    assert np.allclose(rww.fixed_point_rates(W, Gs[2], J[2], t_ms=2500.0, dt=0.2), 3.0, atol=0.05)


def test_rww_is_registered_and_rejects_bad_fic_input():
    assert get_model("rww_fic") is rww.RWW_FIC
    with pytest.raises(ParameterError, match="G"):
        rww.fic_weights(_net(), -1.0)
    with pytest.raises(ParameterError, match="non-negative"):
        rww.fic_weights(-_net(), 0.5)


def test_rww_fic_model_is_one_batched_simulation_with_bold_fc_fcd():
    """The fitting adapter: a population of 3 candidates (G and regional w_p) is one runner call giving
    BOLD (B, n, T), finite FC and FCD values; J_i comes from FIC for each candidate's own G and w_p."""
    import encephagen.fit as F
    from encephagen.fit.simulated import rww_fic_model

    W = _net(8, 1)
    m = rww_fic_model(W, duration_ms=3000.0, transient_ms=500.0, dt=0.5, tr_ms=100.0, bold_warmup_ms=500.0,
                      min_bold_samples=15, fcd_window=8, fcd_step=2, noise=1e-3)
    wp = np.stack([np.full(8, 1.4), np.full(8, 1.4), np.linspace(1.3, 1.5, 8)])
    out = m(np.array([0.2, 0.6, 0.6]), {"w_p": wp}, seed=5)
    assert out["bold"].shape == (3, 8, 20)
    assert np.isfinite(out["fc"]).all() and all(np.isfinite(v).all() and v.size for v in out["fcd"])
    J_het = rww.fic_weights(W, 0.6, rww.RWWParams().replace(w_p=wp[2]))
    assert not np.allclose(J_het, rww.fic_weights(W, 0.6))      # w_p enters the FIC
    with pytest.raises(F.FitError, match="w_p"):
        m(np.array([0.2]), {"J_N": np.ones((1, 8))}, seed=0)


def test_rww_imports_first_in_a_fresh_interpreter():
    """`import encephagen.sim.rww` before anything else used to be a circular import (rww.py builds
    on models.py, which registered rww); either import order must register the model."""
    import subprocess
    import sys

    for first in ("encephagen.sim.rww", "encephagen.sim.models"):
        code = (f"import {first}; from encephagen.sim.models import get_model; from encephagen.sim import rww; "
                "assert get_model('rww_fic') is rww.RWW_FIC")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert r.returncode == 0, f"import {first} first: {r.stderr[-500:]}"
