"""Reward-based e-prop (actor-critic, Bellec et al. 2020): the in-network rule on the LIF engine
(encephagen.learn.eprop, numba and torch) against the dense stand-alone reference
(encephagen.plasticity.eprop_rl.EPropActorCritic) on the network's own spikes, and the dense
rule learning a 3-way stimulus-action task (frozen control at chance)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from encephagen.learn.eprop import attach
from encephagen.plasticity import EPropActorCritic, EPropLIF, EPropParams, EPropRLParams
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network


def _engine_trials(backend, q, n_trials=2, steps=260, act_at=200, **kw):
    nets = [brunel_network(n_e=160, n_i=40, c_e=16, c_i=4, J=0.2, g=4.0, eta=1.6, delay_ms=1.5, dt=0.1, seed=s)
            for s in (3, 4)]
    sim = LIFBatch(nets, [11, 12], backend=backend)
    sim.random_initial_state()
    for _ in range(20):
        sim.step_block()
    w_e = float(nets[0].weight[nets[0].channel == 0].max())
    rule = attach(sim, q, 3, seeds=[101, 102], w_max=3 * w_e, **kw)
    init = {"b_pi": rule.ac.b_pi.clone(), "b_v": rule.ac.b_v.clone()}
    trials = []
    for _ in range(n_trials):
        rule.begin_trial()
        zs, psis = [], []
        for k in range(steps):
            if k == act_at:
                rule.act(lambda a: (a == 0).astype(float))
            sim.step_block(1)
            zs.append(rule.last_z.clone())
            psis.append(rule.last_psi.clone())
        rec = rule.end_trial()
        trials.append({"z": torch.stack(zs), "psi": torch.stack(psis), "dW": rule.dW.clone(), "rec": rec,
                       "w_pi": rule.ac.w_pi.clone(), "w_v": rule.ac.w_v.clone()})
    return sim, rule, init, trials, nets


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_engine_eprop_equals_dense_reference(backend):
    """Two networks x two trials: the in-network updates of every E->E synapse (accumulated dW),
    the readouts and TD errors equal the dense reference replaying the same spikes and
    pseudo-derivatives (delays as a shifted raster), to 1e-12 relative; networks independent."""
    q = EPropRLParams(eta_rec=0.05, eta_out=0.5, c_e=0.1, tau_gamma=20.0)
    sim, rule, init, trials, nets = _engine_trials(backend, q)
    B, n = sim.B, sim.n
    d = int(rule.d[0])
    assert bool((rule.d == d).all())                                     # uniform delay in this network
    alpha = torch.exp(-sim.dt / torch.as_tensor(np.asarray(nets[0].tau_m, np.float64)))
    w_pi = torch.zeros(B, 3, n, dtype=torch.float64)
    w_v = torch.zeros(B, n, dtype=torch.float64)
    ref = EPropActorCritic(q, sim.dt, w_pi, w_v, init["b_pi"], init["b_v"], alpha=alpha)
    pre = (rule.pre % n).numpy()
    post = (rule.post % n).numpy()
    b_of = rule.net_of.numpy()
    worst = 0.0
    for tr in trials:
        ref.reset()
        z = tr["z"].view(-1, B, n)
        psi = tr["psi"].view(-1, B, n)
        T = z.shape[0]
        act_at = 200
        for t in range(T):
            z_pre = z[t - d + 1] if t - d + 1 >= 0 else torch.zeros(B, n, dtype=torch.float64)
            ref.observe(z_pre, psi[t], z[t])
            m = torch.full((B,), t == act_at)
            a = torch.as_tensor(tr["rec"]["action"]) if t == act_at else torch.full((B,), -1)
            r = torch.as_tensor(tr["rec"]["reward"]) if t == act_at else torch.zeros(B, dtype=torch.float64)
            ref.learn_step(m, a, r)
        delta = ref.end_trial()
        np.testing.assert_allclose(delta.numpy(), tr["rec"]["delta_terminal"], rtol=1e-12, atol=0)
        dense = ref.d_rec[b_of, post, pre].numpy()
        sparse = tr["dW"].numpy()
        scale = np.abs(dense).max()
        assert scale > 0 and np.count_nonzero(sparse) > 0.1 * sparse.size      # non-trivial updates
        worst = max(worst, float(np.abs(dense - sparse).max() / scale))
        for mine, theirs in ((tr["w_pi"], ref.ac.w_pi), (tr["w_v"], ref.ac.w_v)):
            assert float(theirs.abs().max()) > 0
            worst = max(worst, float((mine - theirs).abs().max() / theirs.abs().max()))
    print(f"{backend}: max relative difference engine vs dense reference {worst:.2e}")
    assert worst < 1e-12
    # weights moved, stayed in bounds, and only where the rule says
    w = rule.w.numpy()
    assert np.all(w >= 0) and np.all(w <= rule.w_max) and np.any(w != rule.w0.numpy())
    np.testing.assert_array_equal(sim.weight[rule.qi].numpy(), w.astype(np.float32))


def test_engine_eprop_backends_agree():
    """numba and torch paths give the same updates (the same spikes: weights only change at the
    end of a trial)."""
    q = EPropRLParams(eta_rec=0.05, eta_out=0.5, c_e=0.1, tau_gamma=20.0)
    _, r1, _, t1, _ = _engine_trials("numba", q, n_trials=1)
    _, r2, _, t2, _ = _engine_trials("torch", q, n_trials=1)
    assert torch.equal(t1[0]["z"], t2[0]["z"])
    np.testing.assert_allclose(t1[0]["dW"].numpy(), t2[0]["dW"].numpy(), rtol=1e-12, atol=1e-300)


def _three_way(eta_rec, eta_out, n_trials, seed=0, B=8):
    """Dense LIF network (40 neurons, each driven by one of 3 groups of 10 input channels, Poisson
    50 Hz when its stimulus is on), 3 stimuli, 3 actions; reward 1 for the stimulus's action at
    the end of a 50-step trial (1 ms steps)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n, n_in, k, T = 40, 30, 3, 50
    ep = EPropParams(dt=1.0, tau_m=20.0, tau_out=20.0, v_th=0.6)
    w_in = torch.randn(B, n, n_in, generator=g, dtype=torch.float64).abs() * 0.2
    w_in *= (torch.arange(n)[:, None] % 3 == torch.arange(n_in)[None, :] // 10).double()   # neuron j <- channel group j % 3
    w_rec = torch.randn(B, n, n, generator=g, dtype=torch.float64) * 0.02
    w_rec[:, torch.arange(n), torch.arange(n)] = 0
    net = EPropLIF(ep, w_in, w_rec, torch.zeros(B, k, n, dtype=torch.float64))
    q = EPropRLParams(eta_rec=eta_rec, eta_out=eta_out, eta_value=eta_out * 1e-2, c_e=0.01, tau_gamma=1000.0)
    b_pi = torch.randn(B, n, k, generator=g, dtype=torch.float64) / n ** 0.5
    b_v = torch.randn(B, n, generator=g, dtype=torch.float64) / n ** 0.5
    ac = EPropActorCritic(q, 1.0, torch.zeros(B, k, n, dtype=torch.float64), torch.zeros(B, n, dtype=torch.float64),
                          b_pi, b_v, net=net)
    rng = np.random.default_rng(seed)
    correct = np.zeros((n_trials, B))
    for tr in range(n_trials):
        net.reset()
        ac.reset()
        s = torch.as_tensor(rng.integers(0, 3, B))
        rate = torch.zeros(B, n_in, dtype=torch.float64)
        for b in range(B):
            rate[b, 10 * int(s[b]):10 * int(s[b]) + 10] = 0.05
        for t in range(T):
            x = (torch.rand(B, n_in, generator=g, dtype=torch.float64) < rate).double()
            net.step(x)
            if t == T - 1:
                y = torch.bmm(ac.ac.w_pi, net.zbar_k[:, :, None])[:, :, 0]
                pi = torch.softmax(y, 1).numpy()
                a = torch.as_tensor([rng.choice(3, p=pi[b] / pi[b].sum()) for b in range(B)])
                r = (a == s).double()
                correct[tr] = r.numpy()
                ac.learn_step(torch.ones(B, dtype=torch.bool), a, r, zk=net.zbar_k, ebar=net.ebar_rec,
                              ebar_in=net.ebar_in)
            else:
                ac.learn_step(torch.zeros(B, dtype=torch.bool), torch.full((B,), -1), torch.zeros(B, dtype=torch.float64),
                              zk=net.zbar_k, ebar=net.ebar_rec, ebar_in=net.ebar_in)
        ac.end_trial()
    return correct


def test_dense_actor_critic_learns_three_way_task():
    """8 networks learn the stimulus -> action map: accuracy over the last 40 trials well above
    chance (1/3; measured 0.43 in the first 40 trials -> 0.77 in the last 40); with the learning
    rates 0 (frozen) it stays at chance."""
    learned = _three_way(1e-4, 2e-3, 200)
    frozen = _three_way(0.0, 0.0, 200)
    acc, acc0 = learned[-40:].mean(), frozen[-40:].mean()
    print(f"3-way task, last 40 trials: e-prop {acc:.3f}, frozen {acc0:.3f} (chance 0.333)")
    assert acc > 0.6
    assert abs(acc0 - 1 / 3) < 0.1


def test_pooled_readout_identity_equals_neuron_readout_and_pooling_maps_signals():
    """A pool with one feature per neuron gives the neuron readout's updates exactly; a pool of
    neuron pairs has one readout weight per pair, and every neuron's learning signal is its
    pair's / 2 (the chain rule through the mean): the recurrent updates differ from the neuron
    readout's; a wrong pool is refused."""
    q = EPropRLParams(eta_rec=0.05, eta_out=0.5, c_e=0.1, tau_gamma=20.0)
    _, r0, _, t0, _ = _engine_trials("numba", q, n_trials=1)
    n = r0.sim.n
    _, r1, _, t1, _ = _engine_trials("numba", q, n_trials=1, pool=np.arange(n))
    np.testing.assert_array_equal(t0[0]["dW"].numpy(), t1[0]["dW"].numpy())
    np.testing.assert_array_equal(t0[0]["w_pi"].numpy(), t1[0]["w_pi"].numpy())
    _, r2, _, t2, _ = _engine_trials("numba", q, n_trials=1, pool=np.arange(n) // 2)
    assert t2[0]["w_pi"].shape == (2, 3, n // 2) and r2.pool.shape == (n, n // 2)
    np.testing.assert_allclose(r2.pool.sum(0).numpy(), 1.0)
    assert not np.allclose(t2[0]["dW"].numpy(), t0[0]["dW"].numpy())
    with pytest.raises(ValueError, match="pool"):
        _engine_trials("numba", q, n_trials=1, pool=np.arange(n - 1))


def test_feature_centring_off_is_identity_and_updates_only_when_learning():
    """center = 0 gives exactly the uncentred rule; with center > 0 the running mean moves after a
    learning trial (and the first trial, mu = 0, equals the uncentred one)."""
    q = EPropRLParams(eta_rec=0.05, eta_out=0.5, c_e=0.1, tau_gamma=20.0)
    _, r0, _, t0, _ = _engine_trials("numba", q, n_trials=2)
    _, r1, _, t1, _ = _engine_trials("numba", q, n_trials=2, center=0.0)
    _, r2, _, t2, _ = _engine_trials("numba", q, n_trials=2, center=0.5)
    for a, b in ((t0, t1), (t0[:1], t2[:1])):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x["dW"].numpy(), y["dW"].numpy())
    assert float(r1.mu.abs().max()) == 0.0 and float(r2.mu.abs().max()) > 0.0
    assert not np.array_equal(t0[1]["w_pi"].numpy(), t2[1]["w_pi"].numpy())


def test_stimulus_action_protocol_records_and_frozen_control():
    """The k-way stimulus-action protocol on the engine: per-trial records of the right shape,
    rewards that follow the rule (correct action <-> reward 1), weights in [0, w_max] that change
    with learning and stay exactly as they were without it (the frozen control)."""
    from encephagen.learn import protocols as P

    out = {}
    for learn in (True, False):
        nets = [brunel_network(n_e=80, n_i=20, c_e=8, c_i=2, J=0.2, g=4.0, eta=1.6, delay_ms=1.5, dt=0.1, seed=s)
                for s in (1, 2)]
        sim = LIFBatch(nets, [5, 6], backend="numba")
        sim.random_initial_state()
        w_e = float(nets[0].weight[nets[0].channel == 0].max())
        rule = attach(sim, EPropRLParams(eta_rec=0.5, eta_out=1e-2, eta_value=1e-5), 3, seeds=[7, 8], w_max=3 * w_e)
        pats = [[np.arange(10 * g, 10 * g + 10) for g in range(3)] for _ in range(2)]
        stim = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
        res = P.stimulus_action(sim, rule, pats, stim, on_ms=10.0, iti_ms=5.0, amplitude=10.0, learn=learn)
        out[learn] = (res, rule)
        assert res["correct"].shape == (2, 4) and np.array_equal(res["stimulus"], stim)
        np.testing.assert_array_equal(res["reward"], (res["action"] == stim).astype(float))
        assert np.all((res["p_correct"] > 0) & (res["p_correct"] < 1))
        w = rule.w.numpy()
        assert np.all(w >= 0) and np.all(w <= rule.w_max)
        np.testing.assert_array_equal(sim.weight[rule.qi].numpy(), w.astype(np.float32))
    assert np.any(out[True][1].w.numpy() != out[True][1].w0.numpy())
    np.testing.assert_array_equal(out[False][1].w.numpy(), out[False][1].w0.numpy())
    assert float(out[False][1].ac.w_pi.abs().max()) == 0.0
