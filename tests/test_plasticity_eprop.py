"""e-prop (encephagen.plasticity.eprop): hand-coded eligibility traces vs torch autodiff of the
truncated objective (Bellec et al. 2020's numerical check), and a learned pattern-generation task."""
from __future__ import annotations

import math

import pytest
import torch

from encephagen.plasticity import EPropLIF, EPropParams, truncated_autodiff_gradients


def _net(B, n, n_in, k, seed, dtype=torch.float64, scale_in=0.8, scale_rec=0.3):
    g = torch.Generator().manual_seed(seed)
    w_in = torch.randn(B, n, n_in, generator=g, dtype=torch.float64).to(dtype) * scale_in
    w_rec = torch.randn(B, n, n, generator=g, dtype=torch.float64).to(dtype) * scale_rec
    w_rec[:, torch.arange(n), torch.arange(n)] = 0
    w_out = torch.randn(B, k, n, generator=g, dtype=torch.float64).to(dtype) * 0.5
    return w_in, w_rec, w_out, g


@pytest.mark.parametrize("tau_out,beta", [(20.0, 0.0), (5.0, 0.0), (20.0, 1.6), (5.0, 0.5)])
def test_eprop_equals_truncated_autodiff(tau_out, beta):
    """Symmetric feedback: e-prop's online gradients == autograd of the truncated objective, 1e-6
    relative (float64), for input, recurrent and readout weights, in every network of a batch;
    LIF (beta 0) and ALIF (beta > 0, tau_a 200 ms)."""
    B, n, n_in, k, T = 3, 10, 4, 2, 120
    q = EPropParams(tau_m=20.0, tau_out=tau_out, v_th=0.6, beta=beta, tau_a=200.0)
    w_in, w_rec, w_out, g = _net(B, n, n_in, k, seed=1)
    x = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    target = torch.randn(T, B, k, generator=g, dtype=torch.float64)
    e = EPropLIF(q, w_in, w_rec, w_out)
    z, _ = e.run(x, target)
    assert 0.02 < z.mean() < 0.5                                    # the network spikes
    gi, gr, go, loss = truncated_autodiff_gradients(q, w_in, w_rec, w_out, x, target)
    worst = 0.0
    for mine, ref in ((e.grad_in, gi), (e.grad_rec, gr), (e.grad_out, go)):
        for b in range(B):
            assert ref[b].abs().max() > 1.0                          # non-trivial gradients
            rel = float((mine[b] - ref[b]).abs().max() / ref[b].abs().max())
            worst = max(worst, rel)
    print(f"tau_out={tau_out} beta={beta}: max relative difference e-prop vs autodiff {worst:.2e}")
    assert worst < 1e-6
    assert torch.allclose(e.loss, loss, rtol=1e-12)


def test_eprop_differs_from_full_bptt():
    """Sanity of the comparison: the truncation matters (full BPTT through the recurrent spikes
    gives a different recurrent gradient), so the equality above is not vacuous."""
    B, n, n_in, k, T = 1, 10, 4, 2, 120
    q = EPropParams(v_th=0.6)
    w_in, w_rec, w_out, g = _net(B, n, n_in, k, seed=2, scale_rec=0.6)
    x = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    target = torch.randn(T, B, k, generator=g, dtype=torch.float64)
    e = EPropLIF(q, w_in, w_rec, w_out)
    e.run(x, target)
    from encephagen.plasticity.eprop import _Spike
    wr = w_rec.clone().requires_grad_(True)
    v = torch.zeros(B, n, dtype=torch.float64)
    z = torch.zeros(B, n, dtype=torch.float64)
    y = torch.zeros(B, k, dtype=torch.float64)
    loss = 0.0
    for t in range(T):                                               # no stop-gradient anywhere
        v = q.alpha * v + torch.einsum("bji,bi->bj", wr, z) + torch.einsum("bji,bi->bj", w_in, x[t]) - q.v_th * z
        z = _Spike.apply(v, q.v_th, q.gamma_pd)
        y = q.kappa * y + torch.einsum("bkj,bj->bk", w_out, z)
        loss = loss + 0.5 * ((y - target[t]) ** 2).sum()
    loss.backward()
    assert float((e.grad_rec - wr.grad).abs().max() / wr.grad.abs().max()) > 1e-3


def test_eprop_learns_pattern_generation():
    """Bellec et al.'s pattern-generation task, reduced: 50 LIF neurons, 20 frozen Poisson inputs
    (50 Hz), a 300 ms target that is a sum of 2, 3 and 5 Hz sinusoids; e-prop gradients, Adam
    (lr 0.01), 60 trials, seed 0, float32. Loss stated: normalised MSE (MSE / target variance)
    falls from ~1.9 to below 0.3 (measured 0.16)."""
    torch.manual_seed(0)
    T, n, n_in, B, iters = 300, 50, 20, 1, 60
    q = EPropParams(dt=1.0, tau_m=20.0, tau_out=20.0, v_th=0.6)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(T, B, n_in, generator=g) < 0.05).float()
    t = torch.arange(T, dtype=torch.float64) * 1e-3
    tgt = sum(a * torch.sin(2 * math.pi * f * t + ph) for a, f, ph in ((1.0, 2, 0.0), (0.6, 3, 1.0), (0.4, 5, 2.0)))
    tgt = (tgt / tgt.abs().max()).float()[:, None, None].contiguous()
    var = float(tgt.var())
    w_in = torch.randn(B, n, n_in, generator=g) * 0.6 / math.sqrt(n_in)
    w_rec = torch.randn(B, n, n, generator=g) * 0.3 / math.sqrt(n)
    w_rec[:, torch.arange(n), torch.arange(n)] = 0
    w_out = torch.randn(B, 1, n, generator=g) / math.sqrt(n)
    params = [torch.nn.Parameter(w) for w in (w_in, w_rec, w_out)]
    opt = torch.optim.Adam(params, lr=0.01)
    e = EPropLIF(q, *[p.data for p in params])
    nmse = []
    for _ in range(iters):
        _, y = e.run(x, tgt)
        nmse.append(float(((y - tgt) ** 2).mean()) / var)
        for p, gr in zip(params, (e.grad_in, e.grad_rec, e.grad_out)):
            p.grad = gr / T
        params[1].grad[:, torch.arange(n), torch.arange(n)] = 0          # no autapses
        opt.step()
    _, y = e.run(x, tgt)
    final = float(((y - tgt) ** 2).mean()) / var
    print(f"pattern generation: normalised MSE {nmse[0]:.3f} -> {final:.3f} after {iters} trials")
    assert final < 0.3 and final < nmse[0] / 5


def test_eprop_random_feedback_and_batch_independence():
    """feedback='random' uses the given B (with B = W_out^T it equals symmetric e-prop; with another
    B only the hidden-weight gradients change); a network's gradients do not depend on the batch."""
    B, n, n_in, k, T = 2, 8, 3, 2, 80
    w_in, w_rec, w_out, g = _net(B, n, n_in, k, seed=4)
    x = (torch.rand(T, B, n_in, generator=g) < 0.2).double()
    target = torch.randn(T, B, k, generator=g, dtype=torch.float64)
    sym = EPropLIF(EPropParams(), w_in, w_rec, w_out)
    sym.run(x, target)
    same = EPropLIF(EPropParams(feedback="random"), w_in, w_rec, w_out, feedback=w_out.transpose(1, 2).clone())
    same.run(x, target)
    assert torch.allclose(same.grad_rec, sym.grad_rec, rtol=1e-13, atol=0)
    rnd = EPropLIF(EPropParams(feedback="random"), w_in, w_rec, w_out,
                   feedback=torch.randn(B, n, k, generator=g, dtype=torch.float64))
    rnd.run(x, target)
    assert torch.equal(rnd.grad_out, sym.grad_out) and not torch.allclose(rnd.grad_rec, sym.grad_rec)
    one = EPropLIF(EPropParams(), w_in[1:], w_rec[1:], w_out[1:])
    one.run(x[:, 1:], target[:, 1:])
    assert torch.allclose(one.grad_rec[0], sym.grad_rec[1], rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="'feedback'"):
        EPropLIF(EPropParams(feedback="random"), w_in, w_rec, w_out)
    with pytest.raises(ValueError, match="'tau_m'"):
        EPropParams(tau_m=0)
