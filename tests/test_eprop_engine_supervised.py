"""Supervised e-prop inside the batched LIF engine (encephagen.learn.eprop.EPropSupervisedSynapses):
the accumulated gradient of every E->E synapse and of the readout equals a dense replay of the
network's own spikes and pseudo-derivatives (the rule of encephagen.plasticity.eprop on the
engine's neurons), regression and classification, symmetric and adaptive feedback."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from encephagen.learn.eprop import attach_supervised
from encephagen.plasticity import EPropActorCritic, EPropParams, EPropRLParams
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.network import brunel_network


def _run(q, steps=200, n_trials=2, eta_rec=0.02, eta_out=0.01):
    nets = [brunel_network(n_e=160, n_i=40, c_e=16, c_i=4, J=0.2, g=4.0, eta=1.6, delay_ms=1.5, dt=0.1, seed=s)
            for s in (3, 4)]
    sim = LIFBatch(nets, [11, 12], backend="numba")
    sim.random_initial_state()
    for _ in range(20):
        sim.step_block()
    w_e = float(nets[0].weight[nets[0].channel == 0].max())
    rule = attach_supervised(sim, q, 2, seeds=[101, 102], w_max=3 * w_e, eta_rec=eta_rec, eta_out=eta_out)
    t = np.arange(steps) * sim.dt
    tgt = np.stack([np.sin(2 * math.pi * t / 10.0), np.cos(2 * math.pi * t / 7.0)], 1)   # (T, 2)
    lab = np.eye(2)[[0, 1]]                                                             # network b: class b
    trials = []
    for _ in range(n_trials):
        w_out0 = rule.w_out.clone()
        fb0 = None if rule.feedback is None else rule.feedback.clone()
        rule.begin_trial()
        zs, psis = [], []
        for k in range(steps):
            if q.loss == "classification":
                rule.set_target(lab if k >= steps // 2 else None)
            else:
                rule.set_target(np.repeat(tgt[k][None], 2, 0))
            sim.step_block(1)
            zs.append(rule.last_z.clone())
            psis.append(rule.last_psi.clone())
        grad, grad_out = rule.grad.clone(), rule.grad_out.clone()
        rec = rule.end_trial()
        trials.append(dict(z=torch.stack(zs), psi=torch.stack(psis), grad=grad, grad_out=grad_out, loss=rec["loss"],
                           w_out0=w_out0, fb0=fb0, tgt=tgt, lab=lab))
    return sim, rule, trials, nets


@pytest.mark.parametrize("loss,feedback", [("regression", "symmetric"), ("classification", "adaptive")])
def test_engine_supervised_eprop_equals_dense_replay(loss, feedback):
    """Two networks x two trials: every E->E synapse's accumulated gradient, the readout gradient
    and the loss equal the dense rule replaying the same spikes and pseudo-derivatives (delays as
    a shifted raster), 1e-12 relative; the updates move the weights within [0, w_max]; adaptive
    feedback receives the readout's increments; shifting the delay by one step breaks equality."""
    q = EPropParams(tau_out=5.0, loss=loss, feedback=feedback)
    sim, rule, trials, nets = _run(q)
    B, n = sim.B, sim.n
    d = int(rule.d[0])
    assert bool((rule.d == d).all())
    alpha = torch.exp(-sim.dt / torch.as_tensor(np.asarray(nets[0].tau_m, np.float64)))
    pre, post, b_of = (rule.pre % n).numpy(), (rule.post % n).numpy(), rule.net_of.numpy()
    kappa = math.exp(-sim.dt / q.tau_out)
    worst = 0.0
    for shift in (0, 1):
        worst_s = 0.0
        for tr in trials:
            obs = EPropActorCritic(EPropRLParams(tau_out=q.tau_out), sim.dt, torch.zeros(B, 1, n, dtype=torch.float64),
                                   torch.zeros(B, n, dtype=torch.float64), torch.zeros(B, n, 1, dtype=torch.float64),
                                   torch.zeros(B, n, dtype=torch.float64), alpha=alpha)
            z = tr["z"].view(-1, B, n)
            psi = tr["psi"].view(-1, B, n)
            T = z.shape[0]
            y = torch.zeros(B, 2, dtype=torch.float64)
            grad = torch.zeros(B, n, n, dtype=torch.float64)
            grad_out = torch.zeros(B, 2, n, dtype=torch.float64)
            W = tr["w_out0"]
            fb = W.transpose(1, 2) if feedback == "symmetric" else tr["fb0"]
            for t in range(T):
                s = t - d - shift + 1
                obs.observe(z[s] if s >= 0 else torch.zeros(B, n, dtype=torch.float64), psi[t], z[t])
                y = kappa * y + torch.einsum("bkn,bn->bk", W, z[t])
                if loss == "classification":
                    if t < T // 2:
                        continue
                    err = torch.softmax(y, 1) - torch.as_tensor(tr["lab"])
                else:
                    err = y - torch.as_tensor(tr["tgt"][t])[None]
                L = torch.einsum("bnk,bk->bn", fb, err)
                grad += L[:, :, None] * obs.ebar
                grad_out += err[:, :, None] * obs.zk[:, None, :]
            dense = grad[b_of, post, pre].numpy()
            sparse = tr["grad"].numpy()
            scale = np.abs(dense).max()
            assert scale > 0 and np.count_nonzero(sparse) > 0.1 * sparse.size
            worst_s = max(worst_s, float(np.abs(dense - sparse).max() / scale),
                          float((grad_out - tr["grad_out"]).abs().max() / grad_out.abs().max()))
        if shift == 0:
            worst = worst_s
        else:
            assert worst_s > 1e-3                                   # the delay matters: the check is not vacuous
    print(f"{loss}/{feedback}: max relative difference engine vs dense replay {worst:.2e}")
    assert worst < 1e-12
    w = rule.w.numpy()
    assert np.all(w >= 0) and np.all(w <= rule.w_max) and np.any(w != rule.w0.numpy())
    np.testing.assert_array_equal(sim.weight[rule.qi].numpy(), w.astype(np.float32))
    if feedback == "adaptive":
        tr = trials[1]
        torch.testing.assert_close(rule.feedback - tr["fb0"], (rule.w_out - tr["w_out0"]).transpose(1, 2),
                                   rtol=1e-12, atol=1e-15)


def test_engine_supervised_refuses_alif_and_bad_seeds():
    nets = [brunel_network(n_e=40, n_i=10, c_e=4, c_i=1, J=0.2, g=4.0, eta=1.6, delay_ms=1.5, dt=0.1, seed=1)]
    sim = LIFBatch(nets, [1], backend="numba")
    with pytest.raises(ValueError, match="'beta'"):
        attach_supervised(sim, EPropParams(beta=1.0), 2, [1], 10.0, 0.1, 0.1)
    with pytest.raises(ValueError, match="seeds"):
        attach_supervised(sim, EPropParams(), 2, [1, 2], 10.0, 0.1, 0.1)
