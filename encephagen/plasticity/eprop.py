"""Supervised e-prop for recurrent LIF networks (Bellec et al. 2020, Nat. Commun. 11:3625),
online, batched over a leading dimension (every network x seed learns independently).

Model (discrete time, step ``dt``; the paper's equations, LIF without refractoriness):

    v_j^t   = alpha v_j^{t-1} + sum_i W^rec_ji z_i^{t-1} + sum_i W^in_ji x_i^t - v_th z_j^{t-1}
    z_j^t   = H(v_j^t - v_th)                                        alpha = exp(-dt / tau_m)
    y_k^t   = kappa y_k^{t-1} + sum_j W^out_kj z_j^t                 kappa = exp(-dt / tau_out)
    E       = 1/2 sum_t sum_k (y_k^t - y*_k^t)^2                     (regression)

e-prop replaces the total derivative by eligibility traces and learning signals:

    psi_j^t = (gamma_pd / v_th) max(0, 1 - |v_j^t - v_th| / v_th)   (pseudo-derivative)
    e_ji^t  = psi_j^t zbar_i^{t-1}   (recurrent; zbar_i^t = alpha zbar_i^{t-1} + z_i^t)
    e_ji^t  = psi_j^t xbar_i^t       (input;     xbar_i^t = alpha xbar_i^{t-1} + x_i^t)
    ebar^t  = kappa ebar^{t-1} + e^t
    L_j^t   = sum_k B_jk (y_k^t - y*_k^t)       B = W_out^T (symmetric) or fixed random
    dE/dW_ji ~ sum_t L_j^t ebar_ji^t,    dE/dW^out_kj = sum_t (y_k^t - y*_k^t) zbar^kappa_j^t (exact)

With symmetric feedback this is exactly the gradient of E when the spikes' effect on other
neurons (recurrent input) and on the neuron's own reset is treated as constant (stop-gradient)
and H' is replaced by psi: :func:`truncated_autodiff_gradients` computes that with torch
autograd, the paper's own numerical check.

ALIF (``beta > 0``): threshold ``v_th + beta a_j^t``, ``a_j^t = rho a_j^{t-1} + z_j^{t-1}``,
``rho = exp(-dt / tau_a)``; psi is taken at ``v - beta a``; the reset stays ``v_th z``. Eligibility
vectors: ``eps^v`` as above, ``eps^a_{t+1} = psi^t eps^v_t + (rho - psi^t beta) eps^a_t``,
``e^t = psi^t (eps^v_t - beta eps^a_t)`` (the adaptation path is the neuron's own hidden state,
so autodiff keeps its gradient).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from encephagen.spiking.params import ParamsMixin, p


@dataclass(frozen=True)
class EPropParams(ParamsMixin):
    _kind = "eprop"
    dt: float = p(1.0, "ms", "time step (the paper: 1 ms)", 0, 100, lo_open=True)
    tau_m: float = p(20.0, "ms", "membrane time constant", 0, 1e5, lo_open=True)
    tau_out: float = p(20.0, "ms", "readout (leaky integrator) time constant; also filters the eligibility traces", 0, 1e5,
                       lo_open=True)
    v_th: float = p(0.6, "1", "firing threshold (potentials in units of the input weights; rest 0)", 0, 1e6, lo_open=True)
    gamma_pd: float = p(0.3, "1", "pseudo-derivative dampening factor gamma", 0, 10)
    feedback: str = p("symmetric", "", "learning-signal feedback B: symmetric (B = W_out^T) or random (fixed)",
                      choices=("symmetric", "random"))
    beta: float = p(0.0, "1", "ALIF threshold adaptation strength: threshold = v_th + beta a (0 = LIF; the paper's "
                              "tutorials: 1.6)", 0, 1e6)
    tau_a: float = p(200.0, "ms", "ALIF adaptation time constant (a decays with rho = exp(-dt / tau_a))", 0, 1e9,
                     lo_open=True)

    @property
    def rho(self) -> float:
        return math.exp(-self.dt / self.tau_a)

    @property
    def alpha(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def kappa(self) -> float:
        return math.exp(-self.dt / self.tau_out)


def pseudo_derivative(v: torch.Tensor, v_th: float, gamma: float) -> torch.Tensor:
    return (gamma / v_th) * torch.clamp(1.0 - torch.abs(v - v_th) / v_th, min=0.0)


class _Spike(torch.autograd.Function):
    """Heaviside forward, pseudo-derivative backward."""

    @staticmethod
    def forward(ctx, v, v_th, gamma):
        ctx.save_for_backward(v)
        ctx.v_th, ctx.gamma = v_th, gamma
        return (v >= v_th).to(v.dtype)

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        return g * pseudo_derivative(v, ctx.v_th, ctx.gamma), None, None


def _check_weights(w_in, w_rec, w_out):
    if w_in.ndim != 3 or w_rec.ndim != 3 or w_out.ndim != 3:
        raise ValueError("e-prop weights must be batched: w_in (B, n, n_in), w_rec (B, n, n), w_out (B, k, n)")
    B, n, _ = w_in.shape
    if w_rec.shape != (B, n, n):
        raise ValueError(f"e-prop 'w_rec' must have shape {(B, n, n)}, got {tuple(w_rec.shape)}")
    if w_out.shape[0] != B or w_out.shape[2] != n:
        raise ValueError(f"e-prop 'w_out' must have shape (B={B}, k, n={n}), got {tuple(w_out.shape)}")
    return B, n, w_in.shape[2], w_out.shape[1]


class EPropLIF:
    """Online e-prop: call :meth:`step` per time step; gradients accumulate in ``grad_in``,
    ``grad_rec``, ``grad_out`` (same shapes as the weights), for an optimiser to apply.

    ``feedback`` (B, n, k) is the fixed random B for ``feedback='random'`` (ignored otherwise).
    """

    def __init__(self, params: EPropParams, w_in: torch.Tensor, w_rec: torch.Tensor, w_out: torch.Tensor,
                 feedback: torch.Tensor | None = None):
        self.params = params
        self.B, self.n, self.n_in, self.k = _check_weights(w_in, w_rec, w_out)
        self.w_in, self.w_rec, self.w_out = w_in, w_rec, w_out
        if params.feedback == "random":
            if feedback is None or feedback.shape != (self.B, self.n, self.k):
                raise ValueError(f"e-prop feedback='random' needs a 'feedback' tensor of shape {(self.B, self.n, self.k)}")
        self.feedback = feedback
        self.reset()

    def reset(self):
        """Zero the network state, traces and accumulated gradients (a new trial)."""
        B, n, dev, dt = self.B, self.n, self.w_in.device, self.w_in.dtype
        z = lambda *s: torch.zeros(s, dtype=dt, device=dev)  # noqa: E731
        self.v, self.z, self.y, self.a = z(B, n), z(B, n), z(B, self.k), z(B, n)
        self.epsa_rec, self.epsa_in = (z(B, n, n), z(B, n, self.n_in)) if self.params.beta > 0 else (None, None)
        self.zbar, self.xbar, self.zbar_k = z(B, n), z(B, self.n_in), z(B, n)
        self.ebar_rec, self.ebar_in = z(B, n, n), z(B, n, self.n_in)
        self.grad_rec, self.grad_in, self.grad_out = z(B, n, n), z(B, n, self.n_in), z(B, self.k, n)
        self.loss = z(B)

    @torch.no_grad()
    def step(self, x: torch.Tensor, target: torch.Tensor | None = None):
        """One step with input ``x`` (B, n_in); with ``target`` (B, k) accumulate e-prop gradients.
        Returns (z, y)."""
        q = self.params
        a, kap, beta = q.alpha, q.kappa, q.beta
        zbar_prev = self.zbar                                    # zbar^{t-1} = eps^v_t (recurrent)
        v = a * self.v + torch.bmm(self.w_rec, self.z[:, :, None])[:, :, 0] \
            + torch.bmm(self.w_in, x[:, :, None])[:, :, 0] - q.v_th * self.z
        self.xbar = a * self.xbar + x                            # xbar^t = eps^v_t (input)
        if beta > 0:
            self.a = q.rho * self.a + self.z                     # a^t
            u = v - beta * self.a                                # v - (threshold - v_th)
        else:
            u = v
        z = (u >= q.v_th).to(v.dtype)
        psi = pseudo_derivative(u, q.v_th, q.gamma_pd)
        self.y = kap * self.y + torch.bmm(self.w_out, z[:, :, None])[:, :, 0]
        self.zbar = a * zbar_prev + z
        self.zbar_k = kap * self.zbar_k + z
        ps = psi[:, :, None]
        if beta > 0:                                             # e^t = psi^t (eps^v_t - beta eps^a_t)
            ev_rec = zbar_prev[:, None, :] - beta * self.epsa_rec
            ev_in = self.xbar[:, None, :] - beta * self.epsa_in
            self.ebar_rec = kap * self.ebar_rec + ps * ev_rec
            self.ebar_in = kap * self.ebar_in + ps * ev_in
            # eps^a_{t+1} = psi^t eps^v_t + (rho - psi^t beta) eps^a_t
            self.epsa_rec = q.rho * self.epsa_rec + ps * ev_rec
            self.epsa_in = q.rho * self.epsa_in + ps * ev_in
        else:
            self.ebar_rec.mul_(kap).addcmul_(ps, zbar_prev[:, None, :])
            self.ebar_in.mul_(kap).addcmul_(ps, self.xbar[:, None, :])
        if target is not None:
            err = self.y - target                                    # (B, k)
            fb = self.w_out.transpose(1, 2) if q.feedback == "symmetric" else self.feedback
            L = torch.bmm(fb, err[:, :, None])                      # learning signal (B, n, 1)
            self.grad_rec.addcmul_(L, self.ebar_rec)
            self.grad_in.addcmul_(L, self.ebar_in)
            self.grad_out.addcmul_(err[:, :, None], self.zbar_k[:, None, :])
            self.loss += 0.5 * (err * err).sum(1)
        self.v, self.z = v, z
        return z, self.y

    def run(self, x: torch.Tensor, target: torch.Tensor | None = None):
        """A trial: ``x`` (T, B, n_in), ``target`` (T, B, k). Resets first. Returns (z, y) rasters."""
        self.reset()
        zs, ys = [], []
        for t in range(x.shape[0]):
            z, y = self.step(x[t], None if target is None else target[t])
            zs.append(z)
            ys.append(y)
        return torch.stack(zs), torch.stack(ys)


def truncated_autodiff_gradients(params: EPropParams, w_in, w_rec, w_out, x, target):
    """Gradient of E by torch autograd through the same network, with the e-prop truncation:
    spikes entering other neurons (recurrent input) and the neuron's own reset are stop-gradient,
    and H' = psi. Returns (grad_in, grad_rec, grad_out, loss per network)."""
    q = params
    w_in = w_in.detach().clone().requires_grad_(True)
    w_rec = w_rec.detach().clone().requires_grad_(True)
    w_out = w_out.detach().clone().requires_grad_(True)
    B, n, _, k = _check_weights(w_in, w_rec, w_out)
    v = torch.zeros(B, n, dtype=w_in.dtype, device=w_in.device)
    z = torch.zeros(B, n, dtype=w_in.dtype, device=w_in.device)
    y = torch.zeros(B, k, dtype=w_in.dtype, device=w_in.device)
    a = torch.zeros(B, n, dtype=w_in.dtype, device=w_in.device)
    loss = torch.zeros(B, dtype=w_in.dtype, device=w_in.device)
    for t in range(x.shape[0]):
        zd = z.detach()
        v = q.alpha * v + torch.einsum("bji,bi->bj", w_rec, zd) + torch.einsum("bji,bi->bj", w_in, x[t]) - q.v_th * zd
        a = q.rho * a + z                 # ALIF: the neuron's own adaptation keeps its gradient
        z = _Spike.apply(v - q.beta * a, q.v_th, q.gamma_pd)
        y = q.kappa * y + torch.einsum("bkj,bj->bk", w_out, z)
        loss = loss + 0.5 * ((y - target[t]) ** 2).sum(1)
    loss.sum().backward()
    return w_in.grad, w_rec.grad, w_out.grad, loss.detach()
