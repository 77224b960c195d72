"""Reward-modulated STDP: a three-factor rule with a synaptic eligibility trace and a
reward-prediction-error baseline (Izhikevich 2007, Cereb. Cortex; Fremaux & Gerstner 2016,
Front. Neural Circuits; Fremaux, Sprekeler & Gerstner 2010 for why the baseline is needed).

This is *not* e-prop: the third factor is one scalar per network, and the Hebbian term is the
spike-pair STDP window (no pseudo-derivative, no per-neuron learning signal).

    c_ji <- c_ji exp(-dt / tau_c) + lambda Wmax x_i [post spike at synapse]
                                  - alpha lambda Wmax y_j [pre spike at synapse]     (additive STDP window)
    at a reward r (one value per network):   delta = r - b
        w_ji <- clip(w_ji + eta delta c_ji, 0, Wmax)      (plastic synapses only)
        b    <- b + (r - b) / n_baseline                  (running mean of the reward, the prediction)

Pairing, traces, delays and the plastic mask are those of :class:`encephagen.plasticity.STDP`
(the STDP parameters' ``mu_plus``/``mu_minus`` are not used: the eligibility is additive).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from encephagen.plasticity.stdp import STDP, STDPParams
from encephagen.spiking.params import ParamsMixin, p


@dataclass(frozen=True)
class RSTDPParams(ParamsMixin):
    _kind = "rstdp"
    tau_c: float = p(1000.0, "ms", "decay time of the synaptic eligibility trace (Izhikevich 2007: 1 s)", 0, 1e9,
                     lo_open=True)
    eta: float = p(1.0, "1/(reward unit)", "learning rate: dw = eta * (r - b) * c", 0, 1e9)
    n_baseline: float = p(10.0, "rewards", "the reward prediction b is a running mean over about this many rewards "
                                           "(b <- b + (r - b) / n_baseline); 1 = last reward", 1, 1e9)
    baseline: bool = p(True, "", "subtract the reward prediction b (false: the raw reward modulates, which drifts)")


class RSTDP:
    """Reward-modulated STDP on a synapse list, batched (one reward per batch entry)."""

    def __init__(self, params: RSTDPParams, stdp: STDPParams, pre, post, n_pre: int, n_post: int, dt: float,
                 batch: int = 1, initial_baseline: float = 0.0, **kw):
        if not isinstance(params, RSTDPParams):
            raise TypeError("params must be an RSTDPParams")
        self.params = params
        self.pairs = STDP(stdp, pre, post, n_pre, n_post, dt, batch=batch, **kw)
        self.B, self.nnz = self.pairs.B, self.pairs.nnz
        dev, dt_ = self.pairs.device, self.pairs.dtype
        self.decay_c = math.exp(-float(dt) / params.tau_c)
        self.c = torch.zeros((self.B, self.nnz), dtype=dt_, device=dev)
        self.b = torch.full((self.B,), float(initial_baseline), dtype=dt_, device=dev)

    def step(self, pre_spikes: torch.Tensor, post_spikes: torch.Tensor) -> torch.Tensor:
        """Advance one step; update and return the eligibility ``c`` (B, nnz)."""
        q = self.pairs.params
        ev_post, x, ev_pre, y = self.pairs.advance(pre_spikes, post_spikes)
        self.c.mul_(self.decay_c)
        if ev_post is not None:
            self.c.add_(torch.where(ev_post, q.lam * q.w_max * x, 0.0))
        if ev_pre is not None:
            self.c.sub_(torch.where(ev_pre, q.alpha * q.lam * q.w_max * y, 0.0))
        return self.c

    def reward(self, w: torch.Tensor, r) -> torch.Tensor:
        """Deliver reward ``r`` (scalar or (B,)) now: update ``w`` (B, nnz) in place and the
        prediction; return the reward-prediction error ``delta`` (B,)."""
        if w.shape != (self.B, self.nnz):
            raise ValueError(f"rstdp weights must have shape (batch, nnz) = {(self.B, self.nnz)}, got {tuple(w.shape)}")
        r = torch.as_tensor(r, dtype=self.c.dtype, device=self.c.device).expand(self.B)
        delta = r - self.b if self.params.baseline else r.clone()
        upd = w + self.params.eta * delta[:, None] * self.c
        w.copy_(torch.where(self.pairs.plastic, upd.clamp(0.0, self.pairs.params.w_max), w))
        self.b += (r - self.b) / self.params.n_baseline
        return delta
