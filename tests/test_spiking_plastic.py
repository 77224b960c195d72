"""Plastic E->E synapses inside the batched LIF engine (issue 16): STDP in the network equals the
stand-alone rule (checked against NEST in test_plasticity_stdp.py) on the network's own spikes;
both backends agree; the network stays stable with STDP + synaptic scaling."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from encephagen.plasticity import STDP, ScalingParams, STDPParams
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network

sys.path.insert(0, str(Path(__file__).parent))
from test_spiking_backends import _connectome_nets  # noqa: E402


def _run(nets, seeds, steps, backend="numba", **plastic):
    sim = LIFBatch(nets, seeds, backend=backend)
    sim.random_initial_state()
    pl = sim.enable_plasticity(**plastic) if plastic else None
    ks, ii = [], []
    while sim.t < steps:
        b = sim.step_block(min(sim.K, steps - sim.t))
        ks.append(b.k + b.t0)
        ii.append(b.i)
    return torch.cat(ks).numpy(), torch.cat(ii).numpy(), pl, sim


def _standalone(net, params, k, i, steps, b=0):
    """The stand-alone STDP engine on network b's plastic synapses and its recorded spikes."""
    n = net.n
    sel = (i >= b * n) & (i < (b + 1) * n)
    raster = np.zeros((steps, 1, n), bool)
    raster[k[sel], 0, i[sel] - b * n] = True
    src = net.source
    m = (net.channel == 0) & net.is_exc[src] & net.is_exc[net.target]
    rule = STDP(params, src[m], net.target[m], n, n, net.dt, delay=net.delay[m])
    w0 = torch.as_tensor(net.weight[m].astype(np.float64))
    r = torch.as_tensor(raster)
    return rule.run(w0, r, r)[0].numpy(), m


@pytest.mark.parametrize("case", ["brunel_additive", "connectome_multiplicative_nearest"])
def test_stdp_in_network_equals_standalone_rule(case):
    """Same weights, to the last bit, as encephagen.plasticity.STDP run on the network's spikes;
    with heterogeneous (long-range) delays in the connectome case, two networks in the batch."""
    if case == "brunel_additive":
        nets = [brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=1)]
        params = STDPParams(lam=0.02, alpha=1.1, w_max=4.0, tau_minus=30.0)   # two traces
        steps = 2500
    else:
        nets = list(_connectome_nets())
        params = STDPParams(lam=0.05, alpha=1.2, mu_plus=1.0, mu_minus=1.0, w_max=12.0, pairing="nearest")
        steps = 1500
    k, i, pl, _ = _run(nets, [3, 4][:len(nets)], steps, stdp=params)
    assert pl.n_events > 1000
    for b, net in enumerate(nets):
        w_ref, m = _standalone(net, params, k, i, steps, b)
        got = pl.weights(b)
        assert np.array_equal(got["index"], np.flatnonzero(m))
        assert np.array_equal(got["initial"], net.weight[m].astype(np.float64))
        changed = np.abs(got["final"] - got["initial"]) > 1e-9
        assert changed.mean() > 0.2, changed.mean()
        np.testing.assert_array_equal(got["final"], w_ref)


def _two_network_stdp(monkeypatch, deliver: bool):
    """Two seeds of a 500-neuron Brunel network with additive STDP, the on-demand kernel delivering its
    own synapses or not (PlasticSynapses.DELIVER): (sim, rule)."""
    from encephagen.spiking.plastic import PlasticSynapses

    net = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=1)
    params = STDPParams(lam=0.02, alpha=1.1, w_max=4.0)
    monkeypatch.setattr(PlasticSynapses, "DELIVER", deliver)
    sim = LIFBatch([net, net], [3, 4], backend="numba")
    sim.random_initial_state()
    return sim, sim.enable_plasticity(stdp=params)


@pytest.mark.parametrize("case, horizon", [("connectome", 1000), ("connectome", 40), ("brunel", 1000), ("brunel", 40)])
def test_stdp_on_demand_equals_per_event_potentiation(monkeypatch, case, horizon):
    """The numba path's potentiation on demand (at the presynaptic spike, a scaling step, a read
    of the weights, or ``LAZY_HORIZON`` steps after the last update) gives the same weights and
    spikes, to the last bit, as potentiation applied as each postsynaptic spike arrives
    (stdp_events), for both on-demand kernels (``stdp_lazy_rows`` and session 9's ``stdp_lazy``).
    Connectome: two networks, heterogeneous delays (the post trace from the ring), multiplicative
    potentiation and mu_minus 0.5 (a runtime weight dependence: the scalar arithmetic), two trace
    time constants. Brunel: one delay for every plastic synapse (the post trace as one lagging
    vector), additive (the vectorised arithmetic writing the engine's float32 weights in the same
    pass), one trace. Weights read in mid-run (a flush), a short horizon (frequent forced updates,
    history dropped) as well as the default."""
    from encephagen.spiking.plastic import PlasticSynapses

    if case == "connectome":
        nets = list(_connectome_nets())
        params = STDPParams(lam=0.04, alpha=1.1, mu_plus=1.0, mu_minus=0.5, w_max=12.0, tau_minus=35.0)
        seeds, steps = [3, 4], 1700
    else:
        nets = [brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=1)]
        params = STDPParams(lam=0.02, alpha=1.1, w_max=4.0)
        seeds, steps = [3], 2500
    out = {}
    for lazy, rows in ((False, True), (True, False), (True, True)):
        monkeypatch.setattr(PlasticSynapses, "LAZY", lazy)
        monkeypatch.setattr(PlasticSynapses, "LAZY_ROWS", rows)
        monkeypatch.setattr(PlasticSynapses, "LAZY_HORIZON", horizon)
        sim = LIFBatch(nets, seeds, backend="numba")
        sim.random_initial_state()
        pl = sim.enable_plasticity(stdp=params, record_every=300)
        assert pl._lazy is lazy
        if lazy:   # the connectome's delays differ; the Brunel network's do not
            assert bool(pl._lz_lag[2]) is (case == "brunel")
        ks, ii, mid = [], [], None
        while sim.t < steps:
            b = sim.step_block(min(sim.K, steps - sim.t))
            ks.append(b.k + b.t0)
            ii.append(b.i)
            if mid is None and sim.t >= 700:
                mid = pl.w.clone()
        out[lazy, rows] = (torch.cat(ks).numpy(), torch.cat(ii).numpy(), mid, pl.w.clone(), sim.weight.clone(),
                           pl.trajectory(), pl.n_events)
    k0, i0, m0, w0, sw0, tr0, n0 = out[False, True]
    assert (w0 != pl.w0).float().mean() > 0.2
    for key in ((True, False), (True, True)):
        k1, i1, m1, w1, sw1, tr1, n1 = out[key]
        assert np.array_equal(k0, k1) and np.array_equal(i0, i1), key
        assert torch.equal(m0, m1) and torch.equal(w0, w1) and torch.equal(sw0, sw1), key
        for name in tr0:
            np.testing.assert_array_equal(tr0[name], tr1[name])
        assert n0 == n1, key


def test_rule_delivering_its_synapses_changes_no_bit(monkeypatch):
    """The on-demand STDP kernel delivers the plastic synapses of a spike itself and the engine the
    others from uniform rows (LIFBatch._split_delivery; two networks; two partitions on 2 cores): the same
    spikes, ring and weights as the engine delivering every synapse (DELIVER False); a read of the
    ring mid-run (a flush of the engine's part), reading sim.weight (hands every synapse back to the
    engine), re-attaching the rule (the rule delivers again) and detaching it."""
    out = {}
    for deliver in (False, True):
        sim, pl = _two_network_stdp(monkeypatch, deliver)
        assert sim.rule_delivers is deliver
        ks, seen = [], []
        while sim.t < 160 * sim.K:
            b = sim.step_block()
            ks.append((b.k + b.t0) * sim.N + b.i)
            blk = sim.t // sim.K
            if blk == 40:
                seen.append(sim.buf.clone())
            elif blk == 80:
                seen.append(sim.weight.clone())
                assert not sim.rule_delivers
                sim.plasticity = pl
                assert sim.rule_delivers is deliver
            elif blk == 120:
                w_mid = pl.w.clone()
                sim.plasticity = None
                assert not sim.rule_delivers
        seen.append(sim.buf.clone())
        out[deliver] = (torch.cat(ks), w_mid, seen)
    (k0, w0, s0), (k1, w1, s1) = out[False], out[True]
    assert torch.equal(k0, k1) and torch.equal(w0, w1)
    assert all(torch.equal(a, b) for a, b in zip(s0, s1))
    assert (w1 != pl.w0).float().mean() > 0.2


@pytest.mark.parametrize("horizon", [1000, 40])
def test_float32_copies_left_to_the_read_equal_those_written_at_each_spike(monkeypatch, horizon):
    """While the on-demand kernel delivers its own synapses it does not write the engine's float32
    copies at each spike (``wsync``): they are written when read (``sim.weight``, the rule detached)
    and, for a row about to be potentiated by a forced or read-time flush, first (horizon 40: flushes
    between a spike and the read). They must equal, bit for bit, the copies of the engine delivering
    every synapse (DELIVER False: written at every spike): fails if a flush potentiated a row before
    writing its copies or if a read did not write them."""
    from encephagen.spiking.plastic import PlasticSynapses

    monkeypatch.setattr(PlasticSynapses, "LAZY_HORIZON", horizon)
    out = {}
    for deliver in (False, True):
        sim, pl = _two_network_stdp(monkeypatch, deliver)
        seen, stale = [], []
        for stop in (1200, 2400):
            while sim.t < stop:
                sim.step_block()
            stale.append(int((pl._lz_wsync == 0).sum()))   # rows whose copies were left to the read
            w = pl.w.clone()              # a read-time flush: potentiates rows not written yet
            seen += [w, sim.weight[pl.q].clone()]   # the copies written on the read
            sim.plasticity = pl           # the rule delivers again (hands-back tested above)
        seen.append(sim.weight[pl.q].clone())
        out[deliver] = (seen, stale)
    (s0, stale0), (s1, stale1) = out[False], out[True]
    assert all(torch.equal(a, b) for a, b in zip(s0, s1))
    assert stale0 == [0, 0] and min(stale1) > 0   # only the delivering kernel leaves copies to the read
    assert not torch.equal(s1[0].to(torch.float32), s1[1])   # copies are the spike's weights, not the flushed ones


def test_plastic_network_backends_agree_and_frozen_rule_changes_nothing(monkeypatch):
    """numba (fused blocks: the rule runs between launches) and torch give the same spikes and
    weights, and so do numba's unfused blocks."""
    net = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=2)
    params = STDPParams(lam=0.05, alpha=1.0, w_max=4.0)
    kn, in_, pn, sn = _run([net, net], [5, 6], 1200, "numba", stdp=params)
    kt, it, pt, st = _run([net, net], [5, 6], 1200, "torch", stdp=params)
    assert np.array_equal(kn, kt) and np.array_equal(in_, it)
    assert torch.equal(pn.w, pt.w) and torch.equal(sn.weight, st.weight)
    scaling = ScalingParams(tau=200.0, target_rate=5.0, beta=0.5, interval=7)   # scaling steps inside blocks
    kf, if_, pf, sf = _run([net, net], [5, 6], 1200, "numba", stdp=params, scaling=scaling)
    monkeypatch.setattr(LIFBatch, "FUSE_BLOCKS", False)
    ku, iu, pu, su = _run([net, net], [5, 6], 1200, "numba", stdp=params)
    assert np.array_equal(kn, ku) and np.array_equal(in_, iu)
    assert torch.equal(pn.w, pu.w) and torch.equal(sn.weight, su.weight)
    ku, iu, pu, su = _run([net, net], [5, 6], 1200, "numba", stdp=params, scaling=scaling)
    assert np.array_equal(kf, ku) and np.array_equal(if_, iu)
    assert torch.equal(pf.w, pu.w) and torch.equal(sf.weight, su.weight)
    # lambda = 0: the machinery runs but the spikes equal the static network's
    k0, i0, _, _ = _run([net, net], [5, 6], 1200, "numba")
    kz, iz, pz, _ = _run([net, net], [5, 6], 1200, "numba", stdp=params.replace(lam=0.0))
    assert np.array_equal(k0, kz) and np.array_equal(i0, iz) and pz.n_events > 0
    assert not (len(i0) == len(in_) and np.array_equal(i0, in_))   # learning changes the dynamics


def test_stdp_and_scaling_stay_stable_and_move_rate_to_target():
    """2,000 neurons, 1.5 s: STDP + scaling keep weights within [0, w_max], the rate in a sane
    range, and scaling moves the rate toward its target compared with frozen weights."""
    net = brunel_network(n_e=1600, n_i=400, c_e=160, c_i=40, J=0.2, g=5.0, eta=1.4, seed=3)
    w_e = float(net.weight[net.channel == 0].max())
    steps = 15000
    stdp = STDPParams(lam=0.005, alpha=1.05, w_max=3 * w_e)
    scaling = ScalingParams(tau=100.0, target_rate=5.0, beta=1.0, interval=10)
    k0, i0, _, _ = _run([net], [1], steps)
    k, i, pl, _ = _run([net], [1], steps, stdp=stdp, scaling=scaling, record_every=1000)
    last = lambda kk, ii: np.sum(kk >= steps // 2) / net.n / (steps * net.dt / 2000.0)  # noqa: E731
    r0, r = last(k0, i0), last(k, i)
    tr = pl.trajectory()
    due = 1000 * np.arange(1, steps // 1000 + 1)            # taken at the end of the block reaching it
    assert tr["mean"].shape == (steps // 1000, 1) and np.all((tr["step"] >= due) & (tr["step"] < due + 15))
    print("rate frozen", r0, "plastic", r, "mean w", tr["mean"][[0, -1], 0], "w_e", w_e)
    w = pl.weights(0)["final"]
    assert w.min() >= 0 and w.max() <= 3 * w_e
    assert 0.5 < r < 50, r
    assert abs(r - 5.0) < abs(r0 - 5.0), (r0, r)
    assert np.all(np.isfinite(pl.sensor_rate))


def _run_rewarded(nets, seeds, steps, every, backend="numba", **plastic):
    """Run with R-STDP; a reward per network every ``every`` steps (a function of its own recent
    spike count, so rewards differ between networks and over time)."""
    from encephagen.spiking.plastic import enable

    sim = LIFBatch(nets, seeds, backend=backend)
    sim.random_initial_state()
    pl = enable(sim, **plastic)
    ks, ii, rewards = [], [], []
    count = np.zeros(len(nets))
    while sim.t < steps:
        nxt = (sim.t // every + 1) * every
        b = sim.step_block(min(sim.K, nxt - sim.t, steps - sim.t))
        ks.append(b.k + b.t0)
        ii.append(b.i)
        np.add.at(count, (b.i // sim.n).numpy(), 1)
        if sim.t % every == 0:
            r = np.sin(count / 7.0) + 0.5 * np.arange(len(nets))
            pl.reward(r)
            rewards.append((sim.t, r.copy()))
            count[:] = 0
    return torch.cat(ks).numpy(), torch.cat(ii).numpy(), pl, rewards


@pytest.mark.parametrize("backend, lazy", [("numba", True), ("numba", False), ("torch", False)])
def test_rstdp_in_network_equals_standalone_rule(monkeypatch, backend, lazy):
    """Reward-modulated STDP inside the batch: eligibility, baseline and weights of every network
    equal, to the last bit, encephagen.plasticity.RSTDP run on that network's own spikes with the
    same rewards (two networks with different rewards: each learns independently). numba's
    eligibility decayed at events only (``decay**n``, the default) equals it to rounding (1e-12
    relative): a wrong exponent or a missed catch-up before a reward is far larger."""
    from encephagen.plasticity import RSTDP, RSTDPParams
    from encephagen.spiking.plastic import PlasticSynapses

    monkeypatch.setattr(PlasticSynapses, "LAZY_ELIGIBILITY", lazy)
    same = np.testing.assert_array_equal if not lazy else \
        (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15))  # noqa: E731

    nets = [brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=s) for s in (1, 2)]
    stdp = STDPParams(lam=0.02, alpha=1.1, w_max=4.0, tau_minus=30.0)
    rp = RSTDPParams(tau_c=50.0, eta=2.0, n_baseline=3.0)
    steps, every = 1500, 150
    k, i, pl, rewards = _run_rewarded(nets, [3, 4], steps, every, backend, stdp=stdp, rstdp=rp)
    assert len(rewards) == steps // every and pl.n_events > 1000
    for b, net in enumerate(nets):
        n = net.n
        sel = (i >= b * n) & (i < (b + 1) * n)
        raster = np.zeros((steps, 1, n), bool)
        raster[k[sel], 0, i[sel] - b * n] = True
        src = net.source
        m = (net.channel == 0) & net.is_exc[src] & net.is_exc[net.target]
        rule = RSTDP(rp, stdp, src[m], net.target[m], n, n, net.dt, delay=net.delay[m])
        w = torch.as_tensor(net.weight[m].astype(np.float64)).reshape(1, -1).clone()
        r_at = dict(rewards)
        r_all = torch.as_tensor(raster)
        for t in range(steps):
            rule.step(r_all[t], r_all[t])
            if t + 1 in r_at:
                rule.reward(w, float(r_at[t + 1][b]))
        got = pl.weights(b)
        sel_p = (pl.net_of == b).numpy()
        same(pl.c.numpy()[sel_p], rule.c[0].numpy())
        assert float(pl.baseline[b]) == float(rule.b[0])
        changed = np.abs(got["final"] - got["initial"]) > 1e-9
        assert changed.mean() > 0.1, changed.mean()
        same(got["final"], w[0].numpy())
    assert pl._lazy_c is lazy
    # the weights are transmitted as they change
    assert torch.equal(pl.sim.weight[pl.q], pl.w.to(torch.float32))


def test_rstdp_needs_stdp_window_and_rewards_only_with_rstdp():
    from encephagen.plasticity import RSTDPParams
    from encephagen.spiking.plastic import PlasticSynapses

    net = brunel_network(n_e=80, n_i=20, c_e=8, c_i=2, J=0.5, eta=1.3, seed=1)
    sim = LIFBatch([net], [1])
    with pytest.raises(ValueError, match="rstdp"):
        PlasticSynapses(sim, scaling=ScalingParams(), rstdp=RSTDPParams())
    pl = sim.enable_plasticity(stdp=STDPParams(w_max=4.0))
    with pytest.raises(RuntimeError, match="reward"):
        pl.reward(1.0)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_scaling_with_stdp_keeps_weights_inside_stdp_bounds(backend):
    """Scaling runs after STDP's clip; with STDP on, a scaled weight is clipped to STDP's w_max
    (session 6 found 1.208 > 1.2 mV with scaling's own default bound of 1e12)."""
    net = brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.5, eta=1.3, seed=1)
    w_e = float(net.weight[net.channel == 0].max())
    stdp = STDPParams(lam=0.01, alpha=1.0, w_max=1.02 * w_e)
    scaling = ScalingParams(tau=20.0, target_rate=200.0, beta=1.0, interval=10)   # far below target: weights grow
    _, _, pl, sim = _run([net], [1], 600, backend, stdp=stdp, scaling=scaling)
    w = pl.weights(0)["final"]
    assert w.max() == stdp.w_max and np.mean(w == stdp.w_max) > 0.5, (w.max(), np.mean(w == stdp.w_max))
    assert float(sim.weight[pl.q].max()) <= np.float32(stdp.w_max)
