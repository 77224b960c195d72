"""Known answers per model: Hopf node at omega, Wilson-Cowan vs scipy solve_ivp, Kuramoto phase
drift, coupling orientation and delays (a directed 2-node network drives only its target)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from encephagen.sim import MonitorConfig, simulate
from encephagen.sim.models import WC_NEUROLIB, WilsonCowanParams


def _trace(dt, n_steps):
    return MonitorConfig(period=dt, record_samples=n_steps, bold=False, fc_activity=False)


def test_hopf_single_node_oscillates_at_omega():
    f_hz, a = 10.0, 25.0                    # omega = 2 pi 10 rad/s; stable radius sqrt(a) = 5
    dt, dur = 1.0, 1500.0                   # ms
    n_steps = int(dur / dt)
    r = simulate("hopf", np.zeros((1, 1)), params={"a": a, "omega": 2 * math.pi * f_hz}, G=0.0, seeds=[0],
                 dt=dt, duration=dur, noise=0.0, integrator="heun", dtype="float64",
                 initial_state=[[0.1], [0.0]], monitors=_trace(dt, n_steps))
    x = r.record[0, :, 0]
    late = x[n_steps // 2:]
    ups = np.nonzero((late[:-1] < 0) & (late[1:] >= 0))[0]
    freq = (len(ups) - 1) / ((ups[-1] - ups[0]) * dt / 1000.0)
    assert freq == pytest.approx(f_hz, rel=2e-3)
    assert np.abs(late).max() == pytest.approx(math.sqrt(a), rel=1e-2)
    # below the bifurcation (a < 0) and without noise the node decays to 0
    r2 = simulate("hopf", np.zeros((1, 1)), params={"a": -5.0, "omega": 2 * math.pi * f_hz}, seeds=[0], dt=dt,
                  duration=1000.0, integrator="heun", dtype="float64", initial_state=[[0.5], [0.0]],
                  monitors=_trace(dt, 2000))
    assert np.abs(r2.final_state).max() < 0.5 * math.exp(-5.0 * 1.0) * 1.05


def test_hopf_per_node_frequencies_and_welch_metric():
    freqs = np.array([8.0, 12.0, 20.0])
    r = simulate("hopf", np.zeros((3, 3)), params={"a": 1.0, "omega": 2 * math.pi * freqs}, seeds=[1], dt=1.0,
                 duration=8000.0, transient=2000.0, integrator="heun", dtype="float64",
                 monitors=MonitorConfig(period=1.0, record_samples=4096, bold=False))
    # Welch resolution: 1000 Hz / 1024 samples ~ 1 Hz
    np.testing.assert_allclose(r.metrics["dominant_freq_hz"][0], freqs, atol=1.0)


def _wc_rhs(prm: dict, P: float):
    def S(x, a, th):
        return 1.0 / (1.0 + np.exp(-a * (x - th)))

    def f(t, y):
        E, I = y
        dE = (-E + (1 - prm["r_e"] * E) * S(prm["w_ee"] * E - prm["w_ei"] * I + P, prm["a_e"], prm["theta_e"])) / prm["tau_e"]
        dI = (-I + (1 - prm["r_i"] * I) * S(prm["w_ie"] * E - prm["w_ii"] * I + prm["P_i"], prm["a_i"], prm["theta_i"])) / prm["tau_i"]
        return [dE, dI]
    return f


def test_wilson_cowan_fixed_points_and_limit_cycle_match_solve_ivp():
    pred = WilsonCowanParams().as_dict()
    nl = dict(pred, **WC_NEUROLIB)
    # (parameter set, P_e): low fixed point, relaxation limit cycle, high fixed point, neurolib cycle
    cases = [(pred, -1.0), (pred, 0.25), (pred, 2.0), (nl, 1.5)]
    B = len(cases)
    params = {k: np.array([c[0][k] for c in cases]) for k in pred}
    params["P_e"] = np.array([c[1] for c in cases])
    dt, dur = 0.01, 60.0
    n_steps = int(round(dur / dt))
    x0 = np.array([0.01, 0.01])
    r = simulate("wc", np.zeros((B, 1, 1)), params=params, G=0.0, seeds=list(range(B)), dt=dt, duration=dur,
                 integrator="heun", dtype="float64", initial_state=np.broadcast_to(x0[None, :, None], (B, 2, 1)),
                 monitors=_trace(dt, n_steps))
    t = (np.arange(n_steps) + 1) * dt
    for b, (prm, P) in enumerate(cases):
        sol = solve_ivp(_wc_rhs(prm, P), (0, dur), x0, t_eval=t, rtol=1e-10, atol=1e-12, method="DOP853")
        ours = r.record[b, :, 0]
        err = np.abs(ours - sol.y[0]).max()
        assert err < 2e-3, (b, P, err)
        tail = sol.y[0][t > dur / 2]
        if b in (1, 3):      # limit cycles: the oscillation is really there
            assert tail.max() - tail.min() > 0.2
        else:                # fixed points: settled, and at the same value
            assert tail.max() - tail.min() < 1e-6
            assert ours[-1] == pytest.approx(sol.y[0][-1], abs=1e-6)


def test_kuramoto_uncoupled_phase_advances_at_omega():
    omega = 2 * math.pi * 40.0
    r = simulate("kuramoto", np.zeros((2, 2)), params={"omega": omega}, seeds=[0], dt=0.1, duration=50.0,
                 dtype="float64", initial_state=[[0.0, 1.0]], monitors=_trace(0.1, 500))
    np.testing.assert_allclose(r.final_state[0, 0], np.array([0.0, 1.0]) + omega * 0.05, rtol=1e-9)


def test_kuramoto_strong_coupling_synchronises():
    w = np.ones((4, 4)) - np.eye(4)
    r = simulate("kuramoto", w, params={"omega": 2 * math.pi * 40.0}, G=50.0, seeds=[3], dt=0.1, duration=300.0,
                 dtype="float64", monitors=MonitorConfig(period=1.0, bold=False))
    th = r.final_state[0, 0]
    order = abs(np.exp(1j * th).mean())
    assert order > 0.99


@pytest.mark.parametrize("velocity", [None, 5.0])
def test_coupling_orientation_and_delay_directed_two_nodes(velocity):
    """weights[target, source]: W[1, 0] = 1 means 0 -> 1. Changing node 0's dynamics changes node 1
    (after the conduction delay) and never the reverse; with W[0, 1] = 1 the roles swap."""
    dt = 0.1
    n_steps = 400
    lengths = np.full((2, 2), 10.0)          # 10 mm at 5 m/s = 2 ms = 20 steps
    delay = 0 if velocity is None else 20

    def run(w, p_e):
        return simulate("wc", w, lengths, params={"P_e": np.array(p_e)}, G=1.0, seeds=[0], dt=dt,
                        duration=n_steps * dt, velocity=velocity, dtype="float64",
                        initial_state=[[0.05, 0.05], [0.02, 0.02]], monitors=_trace(dt, n_steps)).record[0]

    fwd = np.array([[0.0, 0.0], [1.0, 0.0]])
    a = run(fwd, [0.25, -1.0])
    b = run(fwd, [-1.0, -1.0])                # only node 0's drive differs
    d0 = np.nonzero(a[:, 0] != b[:, 0])[0]
    d1 = np.nonzero(a[:, 1] != b[:, 1])[0]
    assert d0[0] == 0                         # node 0 differs from the first step
    assert d1.size and d1[0] == delay + 1     # node 1 follows after the delay (record k = state after step k+1)
    # the target does not drive the source
    c = run(fwd, [-1.0, 0.25])
    e = run(fwd, [-1.0, -1.0])
    np.testing.assert_array_equal(c[:, 0], e[:, 0])
    # reversed orientation: node 1 drives node 0
    rev = fwd.T
    f = run(rev, [0.25, -1.0])
    g = run(rev, [-1.0, -1.0])
    np.testing.assert_array_equal(f[:, 1], g[:, 1])
