"""Homeostatic synaptic scaling (encephagen.plasticity.homeostasis): rate sensor and scaling."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from encephagen.plasticity import RateSensor, ScalingParams, SynapticScaling


def test_rate_sensor_mean_equals_rate_of_a_regular_train():
    """Spikes every m steps: once the transient has decayed, the sensor's mean over one period is
    exactly the rate (1000 / (m dt) Hz), for any tau."""
    dt, m = 1.0, 37                                  # 27.027 Hz
    for tau in (50.0, 200.0):
        s = RateSensor(tau, dt, (1, 1))
        steps = int(20 * tau / dt) + m
        vals = []
        for t in range(steps + m):
            r = s.step(torch.tensor([[t % m == 0]]))
            if t >= steps:
                vals.append(float(r))
        assert np.mean(vals) == pytest.approx(1000.0 / (m * dt), rel=1e-7)


def test_rate_sensor_converges_to_poisson_rate():
    """Poisson input at 8, 20, 40 Hz (dt 1 ms): after 5 tau the time-averaged sensor is within 4
    standard errors of the true rate (shot-noise variance r / (2 tau), correlation time tau)."""
    g = torch.Generator().manual_seed(3)
    dt, tau, T = 1.0, 200.0, 40_000
    rates = torch.tensor([[8.0, 20.0, 40.0]], dtype=torch.float64)
    s = RateSensor(tau, dt, (1, 3))
    acc, n = torch.zeros(1, 3, dtype=torch.float64), 0
    u = torch.rand((T, 1, 3), generator=g, dtype=torch.float64)
    for t in range(T):
        s.step(u[t] < rates * dt / 1000)
        if t >= 5 * tau:
            acc += s.rate
            n += 1
    mean = acc / n
    sd = torch.sqrt(rates / (2 * tau / 1000))                  # Hz, stationary sd of the sensor
    se = sd / math.sqrt(n * dt / (2 * tau))                     # effective samples ~ T / (2 tau)
    assert torch.all((mean - rates).abs() < 4 * se), (mean, rates, se)


def test_scaling_follows_the_logistic_solution():
    """Rate model r_j = G sum_i w_ji: dr/dt = beta r (r_target - r), solved analytically."""
    q = ScalingParams(beta=0.02, target_rate=10.0, tau=1.0)
    n_in, B = 5, 3
    post = np.zeros(n_in, np.int64)
    sc = SynapticScaling(q, post, 1, dt=1.0, batch=B)
    G = 0.5
    w = torch.tensor([[1.0] * n_in, [8.0] * n_in, [0.3] * n_in], dtype=torch.float64)   # r0 = 2.5, 20, 0.75 Hz
    r0 = G * w.sum(1)
    traj = []
    for _ in range(20_000):                                      # 40 s in 2 ms updates
        sc.scale(w, (G * w.sum(1))[:, None], 2.0)
        traj.append(G * w.sum(1))
    t = torch.arange(1, 20_001, dtype=torch.float64)[:, None] * 0.002
    exact = q.target_rate / (1 + (q.target_rate / r0 - 1) * torch.exp(-q.beta * q.target_rate * t))
    err = ((torch.stack(traj) - exact).abs() / exact).max()
    assert err < 5e-3, err                                       # O(beta r_target dt) = 4e-4 per unit
    assert torch.allclose(G * w.sum(1), torch.full((B,), 10.0, dtype=torch.float64), rtol=0.02)


def test_scaling_drives_a_poisson_neuron_to_target_and_keeps_ratios():
    """A Poisson neuron with rate G sum_i w_i nu_i, sensor + scaling in the loop, starting at 2 and
    30 Hz: the sensed rate ends near the 10 Hz target; excitatory weight ratios are kept and
    inhibitory (non-plastic) weights are untouched."""
    g = torch.Generator().manual_seed(5)
    q = ScalingParams(tau=200.0, beta=0.05, target_rate=10.0, interval=10)
    n_in, B, dt = 4, 2, 1.0
    post = np.zeros(n_in, np.int64)
    plastic = np.array([True, True, True, False])
    sc = SynapticScaling(q, post, 1, dt, plastic=plastic, batch=B, initial_rate=0.0)
    w = torch.tensor([[1.0, 2.0, 1.0, 5.0], [15.0, 30.0, 15.0, 5.0]], dtype=torch.float64)
    w0 = w.clone()
    G = 0.5
    rates = []
    for t in range(30_000):                                      # 30 s; relaxation time 1/(beta r_t) = 2 s
        lam = G * w[:, :3].sum(1)                                # Hz (the inhibitory weight does not drive)
        spk = torch.rand((B, 1), generator=g, dtype=torch.float64) < (lam * dt / 1000)[:, None]
        sc.step(w, spk)
        if t >= 20_000:
            rates.append(sc.rate[:, 0].clone())
    rates = torch.stack(rates).mean(0)
    assert torch.all((rates - 10.0).abs() < 1.5), rates
    assert torch.allclose(w[:, 1] / w[:, 0], w0[:, 1] / w0[:, 0], rtol=1e-12)
    assert torch.equal(w[:, 3], w0[:, 3])


def test_scaling_params_errors_name_the_parameter():
    with pytest.raises(ValueError, match="'tau'"):
        ScalingParams(tau=0.0)
    with pytest.raises(ValueError, match="'beta'"):
        ScalingParams(beta=-1.0)
    with pytest.raises(ValueError, match="'interval'"):
        ScalingParams(interval=0)
    with pytest.raises(ValueError, match="'post'"):
        SynapticScaling(ScalingParams(), [0, 3], 2, 1.0)
