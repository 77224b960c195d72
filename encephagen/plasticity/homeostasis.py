"""Homeostatic synaptic scaling (Turrigiano et al. 1998; van Rossum, Bi & Turrigiano 2000),
batched over a leading dimension, on a synapse list shared by the batch.

Rate sensor per neuron (an exponentially filtered spike train, in Hz):

    a_j <- d a_j + c s_j,   d = exp(-dt / tau),   c = (1 - d) * 1000 / dt

so that the mean of ``a`` equals the neuron's rate exactly for a stationary train (any
statistics); its time constant is ``tau``. Every ``interval`` steps the plastic (excitatory)
incoming weights of neuron j are scaled multiplicatively toward the target rate:

    w_ji <- w_ji * exp(beta (r_target - a_j) interval dt / 1000)

the exact solution of ``dw/dt = beta w (r_target - a_j)`` for ``a_j`` held over the interval
(``beta`` in 1/(Hz s), time in s); weights never change sign and their ratios, e.g. those STDP
learned, are kept. For a neuron whose rate is proportional to its input weights the rate then
follows the logistic equation dr/dt = beta r (r_target - r).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from encephagen.plasticity.stdp import _as_index
from encephagen.spiking.params import ParamsMixin, p
from encephagen.spiking.update import rate_step, scale_weight, scaling_factor


@dataclass(frozen=True)
class ScalingParams(ParamsMixin):
    _kind = "scaling"
    tau: float = p(1000.0, "ms", "time constant of the rate sensor (must be much longer than an inter-spike "
                                 "interval; the predecessor: 500 ms)", 0, 1e9, lo_open=True)
    target_rate: float = p(10.0, "Hz", "target firing rate r_target", 0, 1000)
    beta: float = p(0.01, "1/(Hz s)", "scaling rate: dw/dt = beta w (r_target - a); relaxation time of the rate "
                                     "~ 1 / (beta r_target)", 0, 1e6)
    interval: int = p(1, "steps", "apply the scaling every this many steps (the sensor runs every step)", 1, 10**9)
    w_max: float = p(1e12, "weight unit", "upper bound of a scaled weight (clipped)", 0, 1e300, lo_open=True)


class RateSensor:
    """Exponentially filtered spike count per neuron, in Hz; ``rate`` is (B, n)."""

    def __init__(self, tau: float, dt: float, shape, device="cpu", dtype=torch.float64, initial: float = 0.0):
        if not (tau > 0 and dt > 0):
            raise ValueError(f"rate sensor: 'tau' = {tau} ms and 'dt' = {dt} ms must be > 0")
        self.decay = math.exp(-dt / tau)
        self.gain = (1.0 - self.decay) * 1000.0 / dt
        self.rate = torch.full(tuple(shape), float(initial), dtype=dtype, device=device)

    def step(self, spikes: torch.Tensor) -> torch.Tensor:
        self.rate.copy_(rate_step(self.rate, spikes.to(self.rate.dtype), self.decay, self.gain))
        return self.rate


class SynapticScaling:
    """Multiplicative scaling of the plastic incoming weights ``w`` (B, nnz) of each ``post`` neuron."""

    def __init__(self, params: ScalingParams, post, n_post: int, dt: float, plastic=None, batch: int = 1,
                 device="cpu", dtype=torch.float64, initial_rate: float | None = None):
        if not isinstance(params, ScalingParams):
            raise TypeError("params must be a ScalingParams")
        if not (isinstance(dt, (int, float)) and dt > 0):
            raise ValueError(f"scaling 'dt' = {dt!r}: must be a positive number of ms")
        self.params, self.dt, self.B, self.n_post = params, float(dt), int(batch), int(n_post)
        post = _as_index(post, "post", self.n_post)
        self.nnz = post.size
        if plastic is None:
            plastic = np.ones(self.nnz, bool)
        plastic = np.asarray(plastic)
        if plastic.shape != (self.nnz,) or plastic.dtype != bool:
            raise ValueError(f"scaling 'plastic' must be a bool array with one entry per synapse ({self.nnz})")
        self.device = torch.device(device)
        self.post = torch.as_tensor(post, device=self.device)
        self.plastic = torch.as_tensor(plastic, device=self.device)
        init = params.target_rate if initial_rate is None else float(initial_rate)
        self.sensor = RateSensor(params.tau, dt, (self.B, self.n_post), self.device, dtype, init)
        self.t = 0

    @property
    def rate(self) -> torch.Tensor:
        return self.sensor.rate

    def scale(self, w: torch.Tensor, rate: torch.Tensor, duration_ms: float) -> torch.Tensor:
        """Apply ``duration_ms`` of scaling with the given per-neuron rates (B, n_post); in place."""
        q = self.params
        f = scaling_factor(rate, q.beta, q.target_rate, duration_ms)   # (B, n_post)
        fs = f[:, self.post]
        w.copy_(torch.where(self.plastic, scale_weight(w, fs, q.w_max), w))
        return w

    def step(self, w: torch.Tensor, post_spikes: torch.Tensor) -> torch.Tensor:
        """Advance one step: update the sensor with this step's spikes (B, n_post); scale every
        ``interval`` steps. ``w`` (B, nnz) is updated in place and returned."""
        if w.shape != (self.B, self.nnz):
            raise ValueError(f"scaling weights must have shape (batch, nnz) = {(self.B, self.nnz)}, got {tuple(w.shape)}")
        self.sensor.step(torch.as_tensor(post_spikes, device=self.device).reshape(self.B, self.n_post))
        self.t += 1
        if self.t % self.params.interval == 0:
            self.scale(w, self.sensor.rate, self.params.interval * self.dt)
        return w
