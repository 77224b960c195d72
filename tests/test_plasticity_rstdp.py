"""Reward-modulated STDP (encephagen.plasticity.rstdp): eligibility, reward-prediction error."""
from __future__ import annotations

import math

import pytest
import torch

from encephagen.plasticity import RSTDP, RSTDPParams, STDPParams


def _pair(rule, lag, t0=20, T=None):
    T = T or t0 + abs(lag) + 50
    for t in range(T):
        rule.step(torch.tensor([[t == t0]]), torch.tensor([[t == t0 + lag]]))


def test_rstdp_eligibility_then_reward():
    """pre at 2 ms, post at 4 ms: c = lam Wmax exp(-2/tau_plus), decaying with tau_c; a reward r
    with baseline b moves w by eta (r - b) c; no reward, no change."""
    q = STDPParams(lam=0.01, w_max=10.0)
    rule = RSTDP(RSTDPParams(tau_c=500.0, eta=2.0, n_baseline=4.0), q, [0], [0], 1, 1, dt=0.1, initial_baseline=0.25)
    w = torch.full((1, 1), 5.0, dtype=torch.float64)
    _pair(rule, 20, T=1000)                                   # post spike at step 40; decays at steps 41..999
    c = 0.1 * math.exp(-2.0 / 20.0) * math.exp(-(999 - 40) * 0.1 / 500.0)
    assert float(rule.c) == pytest.approx(c, rel=1e-12)
    assert float(w) == 5.0                                    # eligibility alone does not change w
    delta = rule.reward(w, 1.0)
    assert float(delta) == pytest.approx(0.75)
    assert float(w) == pytest.approx(5.0 + 2.0 * 0.75 * c, rel=1e-12)
    assert float(rule.b) == pytest.approx(0.25 + 0.75 / 4)


def test_rstdp_predicted_reward_gives_no_change_and_anti_causal_pairs_depress():
    q = STDPParams(lam=0.01, w_max=10.0)
    rule = RSTDP(RSTDPParams(), q, [0], [0], 1, 1, dt=0.1, initial_baseline=1.0)
    w = torch.full((1, 1), 5.0, dtype=torch.float64)
    _pair(rule, 20)
    rule.reward(w, 1.0)                                       # fully predicted: delta = 0
    assert float(w) == 5.0
    anti = RSTDP(RSTDPParams(baseline=False), q, [0], [0], 1, 1, dt=0.1)
    _pair(anti, -20)                                          # post before pre
    assert float(anti.c) < 0
    anti.reward(w, 1.0)
    assert float(w) < 5.0


def test_rstdp_batch_entries_get_their_own_reward_and_inhibitory_synapses_stay():
    q = STDPParams(lam=0.01, w_max=10.0)
    rule = RSTDP(RSTDPParams(baseline=False), q, [0, 1], [0, 0], 2, 1, dt=0.1, batch=2,
                 plastic=torch.tensor([True, False]).numpy())
    w = torch.full((2, 2), 5.0, dtype=torch.float64)
    for t in range(100):
        rule.step(torch.tensor([[t == 10, t == 10]] * 2), torch.tensor([[t == 30]] * 2))
    rule.reward(w, torch.tensor([1.0, -1.0]))
    assert float(w[0, 0]) > 5.0 > float(w[1, 0])
    assert torch.equal(w[:, 1], torch.full((2,), 5.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="'tau_c'"):
        RSTDPParams(tau_c=-1.0)
