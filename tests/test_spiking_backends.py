"""The numba CPU kernels run the same algorithm as the torch path: identical spikes, bit for bit.

Exercised on a connectome network with every feature on: E/I populations, long-range delays
from tract lengths, feedforward inhibition, NMDA-like current in some regions, per-region tau_m,
two networks in one batch; plus the Brunel network.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network, connectome_network
from encephagen.spiking.params import LIFParams


def _run(nets, seeds, backend, steps):
    sim = LIFBatch(nets, seeds, backend=backend)
    sim.random_initial_state()
    ks, ii = [], []
    while sim.t < steps:
        b = sim.step_block(min(sim.K, steps - sim.t))
        ks.append(b.k + b.t0)
        ii.append(b.i)
    state = [x.clone() for x in (sim.v, sim.ie, sim.ii, sim.inm, sim.ref, sim.buf)]
    return torch.cat(ks).numpy(), torch.cat(ii).numpy(), state


def _connectome_nets():
    rng = np.random.default_rng(3)
    R = 6
    W = rng.random((R, R)) * (rng.random((R, R)) < 0.7)
    np.fill_diagonal(W, 0)
    L = rng.uniform(5, 60, (R, R))
    L = (L + L.T) / 2
    p = LIFParams(n_e=40, n_i=10, p_int=0.2, J=1.0, eta=1.1, G=1.0, p_between=0.05, ffi_scale=3.0,
                  tau_m_min=10.0, tau_m_max=30.0)
    tau = np.linspace(10, 30, R)
    nmda = np.zeros(R, bool)
    nmda[[1, 4]] = True
    a = connectome_network(W, L, p, seed=1, tau_m_region=tau, nmda_regions=nmda)
    b = connectome_network(W.T, L, p, seed=2, tau_m_region=tau, nmda_regions=nmda)
    return a, b


@pytest.mark.parametrize("which", ["connectome", "brunel"])
def test_numba_and_torch_give_identical_spikes(which):
    if which == "connectome":
        nets, seeds, steps = list(_connectome_nets()), [10, 11], 1200
    else:
        nets, seeds, steps = [brunel_network(n_e=800, n_i=200, c_e=80, c_i=20, J=0.4, eta=2.0, seed=1)], [4], 800
    kt, it, st = _run(nets, seeds, "torch", steps)
    kn, in_, sn = _run(nets, seeds, "numba", steps)
    assert len(it) > 200
    assert np.array_equal(kt, kn) and np.array_equal(it, in_)
    for a, b in zip(st, sn):
        assert torch.equal(a, b)


def test_features_are_exercised():
    a, _ = _connectome_nets()
    assert (a.nmda_ratio > 0).any() and len(np.unique(a.tau_m)) > 1
    assert len(np.unique(a.delay)) > 3
    long_i = (a.region[a.source] != a.region[a.target]) & ~a.is_exc[a.target]
    long_e = (a.region[a.source] != a.region[a.target]) & a.is_exc[a.target]
    assert long_i.any() and long_e.any()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu_statistically():
    """Same torch code on CUDA: same random drive (counter-based), spikes equal up to float
    reordering in the atomic scatter-add, so rates agree closely."""
    from encephagen.spiking.monitors import SpikeMonitorConfig
    from encephagen.spiking.run import simulate

    nets = [brunel_network(n_e=2000, n_i=500, c_e=200, c_i=50, J=0.4, eta=1.0, tau_s=2.0, seed=s) for s in (1, 2)]
    cfg = SpikeMonitorConfig(bold=False)
    cpu = simulate(nets, [3, 4], 500.0, 100.0, cfg, device="cpu", backend="numba")
    gpu = simulate(nets, [3, 4], 500.0, 100.0, cfg, device="cuda", backend="torch")
    assert np.allclose(cpu["rate"], gpu["rate"], rtol=0.05)
