"""Known answers for the spiking engine (small networks, short runs; CPU)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from encephagen.spiking.engine import LIFBatch, SpikingMemoryError, estimate_memory_bytes
from encephagen.spiking.monitors import SpikeMonitorConfig
from encephagen.spiking.network import brunel_network, uncoupled_network
from encephagen.spiking.params import LIFParams
from encephagen.spiking.rng import draws_torch, neuron_keys, poisson_threshold_table
from encephagen.spiking.run import simulate
from encephagen.spiking.theory import brunel_rate, lif_rate_constant_input, siegert_rate


def _spikes(sim, steps):
    ks, ii = [], []
    while sim.t < steps:
        b = sim.step_block(min(sim.K, steps - sim.t))
        ks.append(b.k + b.t0)
        ii.append(b.i)
    return torch.cat(ks).numpy(), torch.cat(ii).numpy()


def test_fi_curve_matches_analytic():
    """Constant input: the rate equals the analytic LIF rate on the time grid exactly (up to one
    period at the end of the run) and the continuous-time rate within 1.5 %."""
    bias = np.array([20.5, 22.0, 25.0, 30.0, 40.0, 60.0, 100.0, 19.5])
    p = LIFParams()
    net = uncoupled_network(len(bias), p, bias=bias)
    sim = LIFBatch([net], [0], backend="numba")
    T = 20000  # 2 s
    k, i = _spikes(sim, T)
    counts = np.bincount(i, minlength=len(bias))
    for j, mu in enumerate(bias):
        grid = lif_rate_constant_input(mu, p.tau_m, p.theta, p.v_reset, p.t_ref, dt=0.1)
        cont = lif_rate_constant_input(mu, p.tau_m, p.theta, p.v_reset, p.t_ref)
        rate = counts[j] / 2.0
        if mu <= p.theta:
            assert counts[j] == 0
            continue
        # from v = 0: the n-th spike is at step n * period - ref_steps; count within 1 of that
        assert abs(rate - grid) <= 1.0 / 2.0 + 1e-9, (mu, rate, grid)
        assert abs(rate / cont - 1) < 0.015, (mu, rate, cont)


def test_poisson_counts_are_poisson():
    """The counter-based generator + threshold table give Poisson counts (mean, variance, P(0))."""
    lam = 1.1
    table = torch.as_tensor(poisson_threshold_table(np.array([lam])))
    key = torch.as_tensor(neuron_keys(12345, 4000))
    x = draws_torch(key, 0, 50)                                       # (50, 4000)
    c = torch.searchsorted(table.expand(x.shape[1], -1).contiguous(), x.T.contiguous()).double()
    n = c.numel()
    assert abs(c.mean().item() - lam) < 4 * math.sqrt(lam / n)
    assert abs(c.var().item() / lam - 1) < 0.03
    assert abs((c == 0).double().mean().item() - math.exp(-lam)) < 4 * math.sqrt(math.exp(-lam) / n)
    # different seeds, different draws; same seed, same draws
    assert not torch.equal(draws_torch(torch.as_tensor(neuron_keys(1, 10)), 0, 5),
                           draws_torch(torch.as_tensor(neuron_keys(2, 10)), 0, 5))
    assert torch.equal(draws_torch(key, 7, 3), x[7:10])


def test_poisson_driven_neurons_match_siegert():
    """Uncoupled neurons under Poisson input fire at the diffusion-approximation rate (5 %)."""
    p = LIFParams(tau_e=2.0)
    J = 0.5
    R = 1800.0  # Hz: mu = 18 mV, sigma = 3 mV
    net = uncoupled_network(2000, p, ext_rate=R, w_ext=J * p.tau_m / p.tau_e)
    res = simulate([net], [3], duration=2000.0, transient=200.0, monitors=SpikeMonitorConfig(bold=False))
    mu = p.tau_m * J * R / 1000
    sigma = math.sqrt(p.tau_m * J * J * R / 1000)
    pred = siegert_rate(mu, sigma, p.tau_m, p.theta, p.v_reset, p.t_ref, tau_s=p.tau_e)
    assert abs(res["rate"][0, 0] / pred - 1) < 0.05, (res["rate"][0, 0], pred)
    assert res["cv_isi"][0, 0] > 0.5  # fluctuation-driven: irregular


def test_brunel_network_matches_siegert():
    """Brunel's network in the asynchronous irregular state fires at the self-consistent
    diffusion-approximation rate (with the coloured-noise correction) within 10 %."""
    kw = dict(n_e=2000, n_i=500, c_e=200, c_i=50, J=0.4, g=5.0, eta=1.0, tau_s=2.0)
    net = brunel_network(**kw, seed=5)
    res = simulate([net], [11], duration=1000.0, transient=200.0, monitors=SpikeMonitorConfig(bold=False))
    pred = brunel_rate(kw["J"], kw["g"], kw["c_e"], kw["c_i"], kw["eta"], tau_s=kw["tau_s"])
    rate = res["rate"][0, 0]
    assert abs(rate / pred - 1) < 0.10, (rate, pred)
    assert res["cv_isi"][0, 0] > 0.4          # irregular
    assert res["synchrony"][0, 0] < 0.2       # asynchronous
    assert res["flags"] == ["ok"]


def test_same_seed_identical_spikes_different_seed_differs():
    net = brunel_network(n_e=800, n_i=200, c_e=80, c_i=20, J=0.5, eta=1.2, seed=1)
    runs = []
    for seed in (5, 5, 6):
        sim = LIFBatch([net], [seed])
        sim.random_initial_state()
        runs.append(_spikes(sim, 3000))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert len(runs[0][1]) > 100
    assert not (len(runs[0][1]) == len(runs[2][1]) and np.array_equal(runs[0][1], runs[2][1]))


def test_network_alone_equals_network_in_batch():
    """A network's spikes do not depend on its batch position or companions."""
    a = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.2, seed=1)
    b = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.6, eta=1.5, seed=2)
    alone = LIFBatch([a], [9])
    alone.random_initial_state()
    ka, ia = _spikes(alone, 2000)
    both = LIFBatch([b, a], [4, 9])
    both.random_initial_state()
    kb, ib = _spikes(both, 2000)
    sel = ib >= b.n
    assert np.array_equal(kb[sel], ka) and np.array_equal(ib[sel] - b.n, ia)


def test_memory_refusal_names_estimate_and_limit():
    net = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, seed=1)
    with pytest.raises(SpikingMemoryError, match=r"needs about .* GiB .* above the limit of .* GiB"):
        LIFBatch([net] * 4, [0, 1, 2, 3], memory_limit_bytes=1000)
    small = estimate_memory_bytes(1000, 10_000, 30, 15, 1, 1, 100, "numba")
    big = estimate_memory_bytes(64_000, 640_000, 30, 15, 64, 1, 100, "numba")
    assert big > 50 * small
    # a huge request is refused against the real available memory, before allocating
    with pytest.raises(SpikingMemoryError):
        LIFBatch([net], [0], n_bins_hint=10**12)
