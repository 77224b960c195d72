"""Golden hashes: the networks the builders make and the spikes and state the numba kernels produce,
fixed to the values of the engine as it stood before the set-up and kernel speed work (session 7).

A change to a builder (connectivity draw, CSR order, weights, delays), to the neuron update, the
Poisson drive or the delivery that alters a single bit of a network array, a spike or the final state
fails here; a deliberate change of results must update the hashes and say so in docs/spiking.md."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network, connectome_network
from encephagen.spiking.params import LIFParams


def _h(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a))
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _net_hash(net):
    return _h(net.indptr, net.target, net.channel, net.weight, net.delay, net.region, net.is_exc, net.tau_m,
              net.ext_rate, net.w_ext, net.nmda_ratio, net.bias)


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
    return [connectome_network(W, L, p, seed=1, tau_m_region=tau, nmda_regions=nmda),
            connectome_network(W.T, L, p, seed=2, tau_m_region=tau, nmda_regions=nmda)]


def _brunel_nets():
    return [brunel_network(n_e=1600, n_i=400, c_e=160, c_i=40, J=0.2, eta=1.3, seed=1)]


def _run_hash(nets, seeds, steps, threads):
    import numba

    old = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        sim = LIFBatch(nets, seeds, backend="numba")
        sim.random_initial_state()
        ks, ii = [], []
        while sim.t < steps:
            b = sim.step_block(min(sim.K, steps - sim.t))
            ks.append((b.k + b.t0).numpy())
            ii.append(b.i.numpy())
    finally:
        numba.set_num_threads(old)
    k, i = np.concatenate(ks), np.concatenate(ii)
    props = _h(sim.p22, sim.p21e, sim.p21i, sim.p21n, sim.p11e, sim.p11i, sim.p11n, sim.icdf_np)
    return props, len(i), _h(k, i), _h(sim.v, sim.ie, sim.ii, sim.inm, sim.ref, sim.buf)


GOLDEN = {
    "brunel": {"networks": ["c8e09ec2a89c2223"], "propagators": "cd9aa092d72079c7", "n_spikes": 2086,
               "spikes": "08d84af224c0b363", "state": "c5f8909d9aff44ad"},
    "connectome": {"networks": ["e741bf78da49910e", "bc653565498718d1"], "propagators": "cf050d616d85e5a2",
                   "n_spikes": 1116, "spikes": "2a103856eb1c9702", "state": "2ab2133abd060582"},
}


@pytest.mark.parametrize("which", ["brunel", "connectome"])
@pytest.mark.parametrize("threads", [1, 2])
def test_networks_spikes_and_state_match_golden_hashes(which, threads):
    nets, seeds, steps = ((_brunel_nets(), [4], 600) if which == "brunel" else (_connectome_nets(), [10, 11], 900))
    nets_h = [_net_hash(x) for x in nets]
    props, n_spikes, spikes_h, state_h = _run_hash(nets, seeds, steps, threads)
    g = GOLDEN[which]
    assert nets_h == g["networks"], nets_h
    if props != g["propagators"]:  # exp() of this machine's libm/numpy differs in the last bit
        pytest.skip(f"propagators hash {props} != {g['propagators']}: this machine's exp() rounds differently, "
                    "so spikes cannot be compared with the recorded hashes")
    assert n_spikes > 200
    assert (n_spikes, spikes_h, state_h) == (g["n_spikes"], g["spikes"], g["state"])
