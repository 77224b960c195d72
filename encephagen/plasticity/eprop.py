"""Supervised e-prop for recurrent LIF networks (Bellec et al. 2020, Nat. Commun. 11:3625),
online, batched over a leading dimension (every network x seed learns independently).

Model (discrete time, step ``dt``; the paper's equations, LIF without refractoriness):

    v_j^t   = alpha v_j^{t-1} + sum_i W^rec_ji z_i^{t-1} + sum_i W^in_ji x_i^t - v_th z_j^{t-1}
    z_j^t   = H(v_j^t - v_th)                                        alpha = exp(-dt / tau_m)
    y_k^t   = kappa y_k^{t-1} + sum_j W^out_kj z_j^t                 kappa = exp(-dt / tau_out)
    E       = 1/2 sum_t m^t sum_k (y_k^t - y*_k^t)^2                 (loss='regression')
    E       = -sum_t m^t sum_k y*_k^t log pi_k^t,  pi^t = softmax(y^t)   (loss='classification')

``m^t`` (``weight``, default 1) says at which steps (and how much) the loss counts.

e-prop replaces the total derivative by eligibility traces and learning signals:

    psi_j^t = (gamma_pd / v_th) max(0, 1 - |v_j^t - v_th| / v_th)   (pseudo-derivative)
    e_ji^t  = psi_j^t zbar_i^{t-1}   (recurrent; zbar_i^t = alpha zbar_i^{t-1} + z_i^t)
    e_ji^t  = psi_j^t xbar_i^t       (input;     xbar_i^t = alpha xbar_i^{t-1} + x_i^t)
    ebar^t  = kappa ebar^{t-1} + e^t
    err_k^t = m^t (y_k^t - y*_k^t)  (regression)   or   m^t (pi_k^t - y*_k^t)  (classification)
    L_j^t   = sum_k B_jk err_k^t      B = W_out^T (symmetric), fixed random, or adaptive
    dE/dW_ji ~ sum_t L_j^t ebar_ji^t,    dE/dW^out_kj = sum_t err_k^t zbar^kappa_j^t (exact)

Feedback ``B``: ``symmetric`` (``W_out^T``), ``random`` (fixed), ``adaptive`` (Bellec et al.'s
adaptive e-prop, Kolen-Pollack: B starts random and receives the readout's weight change,
``B <- (1 - lambda) (B + Delta W_out^T)``, ``W_out <- (1 - lambda) W_out`` with ``lambda =
feedback_decay``, so ``B - W_out^T`` shrinks by ``(1 - lambda)`` per update; see :meth:`EPropLIF.sync_feedback`).

Firing-rate regulariser (``c_reg > 0``): ``E_reg = c_reg / 2 sum_j (f_j - f_target)^2`` with
``f_j`` the neuron's rate over the trial (Hz). Its gradient adds ``c_reg (f_j - f_target)
df_j/dz`` to the learning signal, against the *unfiltered* eligibility traces (the regulariser
acts on the spikes, not through the readout filter): ``dE_reg/dW_ji = c_reg (f_j - f_target)
(1000 / (T dt)) sum_t e_ji^t``. ``f_j`` is the trial's rate, known at its end, so the term is
added by :meth:`EPropLIF.finish` (called by :meth:`EPropLIF.run`); the paper's online variant uses a
running average of the rate instead.

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
    feedback: str = p("symmetric", "", "learning-signal feedback B: symmetric (B = W_out^T), random (fixed) or "
                                       "adaptive (B follows the readout's weight changes, Kolen-Pollack)",
                      choices=("symmetric", "random", "adaptive"))
    feedback_decay: float = p(0.0, "1", "adaptive feedback: weight decay lambda applied to W_out and B at each "
                                        "sync_feedback (B - W_out^T shrinks by 1 - lambda)", 0, 1)
    loss: str = p("regression", "", "regression (E = 1/2 sum (y - y*)^2) or classification (softmax readout, "
                                    "cross-entropy; targets are class probabilities)",
                  choices=("regression", "classification"))
    c_reg: float = p(0.0, "1/Hz^2", "firing-rate regulariser weight: E_reg = c_reg/2 sum_j (f_j - f_target)^2 "
                                    "(0 = off)", 0, 1e9)
    f_target: float = p(10.0, "Hz", "firing-rate regulariser's target rate", 0, 1e6)
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

    ``feedback`` (B, n, k): the fixed random B for ``feedback='random'``, the initial B for
    ``'adaptive'`` (copied; the current one is ``self.feedback``); ignored for ``'symmetric'``.
    With ``'adaptive'`` B follows the readout: :meth:`sync_feedback` (called by :meth:`reset`,
    i.e. at the start of every :meth:`run`, when ``w_out`` changed in place since the last sync)
    adds the change of ``w_out`` to B.
    """

    def __init__(self, params: EPropParams, w_in: torch.Tensor, w_rec: torch.Tensor, w_out: torch.Tensor,
                 feedback: torch.Tensor | None = None):
        self.params = params
        self.B, self.n, self.n_in, self.k = _check_weights(w_in, w_rec, w_out)
        self.w_in, self.w_rec, self.w_out = w_in, w_rec, w_out
        if params.feedback in ("random", "adaptive"):
            if feedback is None or feedback.shape != (self.B, self.n, self.k):
                raise ValueError(f"e-prop feedback={params.feedback!r} needs a 'feedback' tensor of shape "
                                 f"{(self.B, self.n, self.k)}")
            if params.feedback == "adaptive":
                feedback = feedback.detach().clone().to(w_out.dtype)
        self.feedback = feedback
        self._w_out_synced = w_out.detach().clone() if params.feedback == "adaptive" else None
        self.n_feedback_syncs = 0
        self.reset()

    def sync_feedback(self) -> bool:
        """Adaptive feedback: ``B <- (1 - lambda) (B + (W_out - W_out,last)^T)`` and ``W_out <-
        (1 - lambda) W_out`` (in place; lambda = ``feedback_decay``), if ``w_out`` changed since the
        last sync. Returns whether it did anything (always False unless ``feedback='adaptive'``)."""
        if self.params.feedback != "adaptive":
            return False
        dw = self.w_out - self._w_out_synced
        if not bool((dw != 0).any()):
            return False
        with torch.no_grad():
            self.feedback.add_(dw.transpose(1, 2))
            lam = self.params.feedback_decay
            if lam > 0:
                self.feedback.mul_(1.0 - lam)
                self.w_out.mul_(1.0 - lam)
            self._w_out_synced = self.w_out.detach().clone()
        self.n_feedback_syncs += 1
        return True

    def reset(self):
        """Zero the network state, traces and accumulated gradients (a new trial); adaptive
        feedback first follows any change of ``w_out`` (:meth:`sync_feedback`)."""
        self.sync_feedback()
        B, n, dev, dt = self.B, self.n, self.w_in.device, self.w_in.dtype
        z = lambda *s: torch.zeros(s, dtype=dt, device=dev)  # noqa: E731
        self.v, self.z, self.y, self.a = z(B, n), z(B, n), z(B, self.k), z(B, n)
        self.epsa_rec, self.epsa_in = (z(B, n, n), z(B, n, self.n_in)) if self.params.beta > 0 else (None, None)
        self.zbar, self.xbar, self.zbar_k = z(B, n), z(B, self.n_in), z(B, n)
        self.ebar_rec, self.ebar_in = z(B, n, n), z(B, n, self.n_in)
        self.grad_rec, self.grad_in, self.grad_out = z(B, n, n), z(B, n, self.n_in), z(B, self.k, n)
        self.loss = z(B)
        self.pi = None
        self.n_steps, self.count = 0, z(B, n)
        self.esum_rec, self.esum_in = (z(B, n, n), z(B, n, self.n_in)) if self.params.c_reg > 0 else (None, None)
        self.rate = None

    def _fb(self):
        return self.w_out.transpose(1, 2) if self.params.feedback == "symmetric" else self.feedback

    @torch.no_grad()
    def step(self, x: torch.Tensor, target: torch.Tensor | None = None, weight=None):
        """One step with input ``x`` (B, n_in); with ``target`` (B, k) accumulate e-prop gradients
        (classification: ``target`` the class probabilities, one-hot for a label). ``weight``
        (scalar or (B,)): the loss's weight at this step (default 1). Returns (z, y)."""
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
            e_rec, e_in = ps * ev_rec, ps * ev_in
            self.ebar_rec = kap * self.ebar_rec + e_rec
            self.ebar_in = kap * self.ebar_in + e_in
            # eps^a_{t+1} = psi^t eps^v_t + (rho - psi^t beta) eps^a_t
            self.epsa_rec = q.rho * self.epsa_rec + e_rec
            self.epsa_in = q.rho * self.epsa_in + e_in
            if self.esum_rec is not None:
                self.esum_rec.add_(e_rec)
                self.esum_in.add_(e_in)
        else:
            self.ebar_rec.mul_(kap).addcmul_(ps, zbar_prev[:, None, :])
            self.ebar_in.mul_(kap).addcmul_(ps, self.xbar[:, None, :])
            if self.esum_rec is not None:
                self.esum_rec.addcmul_(ps, zbar_prev[:, None, :])
                self.esum_in.addcmul_(ps, self.xbar[:, None, :])
        self.count.add_(z)
        self.n_steps += 1
        if q.loss == "classification":
            self.pi = torch.softmax(self.y, dim=1)
        if target is not None:
            m = torch.ones(self.B, dtype=v.dtype, device=v.device) if weight is None else \
                torch.as_tensor(weight, dtype=v.dtype, device=v.device).expand(self.B)
            if q.loss == "classification":
                err = (self.pi - target) * m[:, None]                # dE/dy: pi - y*
                self.loss -= m * (target * torch.log_softmax(self.y, dim=1)).sum(1)
            else:
                d = self.y - target
                err = d * m[:, None]                                 # (B, k)
                self.loss += 0.5 * m * (d * d).sum(1)
            L = torch.bmm(self._fb(), err[:, :, None])              # learning signal (B, n, 1)
            self.grad_rec.addcmul_(L, self.ebar_rec)
            self.grad_in.addcmul_(L, self.ebar_in)
            self.grad_out.addcmul_(err[:, :, None], self.zbar_k[:, None, :])
        self.v, self.z = v, z
        return z, self.y

    @torch.no_grad()
    def finish(self):
        """End of a trial: the trial's rates ``self.rate`` (B, n) in Hz and, with ``c_reg > 0``, the
        firing-rate regulariser's gradient added to ``grad_rec`` / ``grad_in`` and its value to
        ``loss``: ``L^reg_j = c_reg (f_j - f_target)`` times ``df/dz = 1000 / (T dt)`` against the
        unfiltered eligibility traces summed over the trial."""
        q = self.params
        if self.n_steps == 0:
            raise RuntimeError("e-prop finish() before any step")
        scale = 1000.0 / (self.n_steps * q.dt)
        self.rate = self.count * scale
        if q.c_reg > 0:
            dev = self.rate - q.f_target
            L = (q.c_reg * scale * dev)[:, :, None]
            self.grad_rec.addcmul_(L, self.esum_rec)
            self.grad_in.addcmul_(L, self.esum_in)
            self.loss += 0.5 * q.c_reg * (dev * dev).sum(1)
        return self.rate

    def run(self, x: torch.Tensor, target: torch.Tensor | None = None, weight=None):
        """A trial: ``x`` (T, B, n_in), ``target`` (T, B, k), ``weight`` (T,) or (T, B) the loss's
        weight per step (default 1). Resets first, calls :meth:`finish` at the end. Returns (z, y)
        rasters."""
        self.reset()
        zs, ys = [], []
        for t in range(x.shape[0]):
            z, y = self.step(x[t], None if target is None else target[t], None if weight is None else weight[t])
            zs.append(z)
            ys.append(y)
        self.finish()
        return torch.stack(zs), torch.stack(ys)


def truncated_autodiff_gradients(params: EPropParams, w_in, w_rec, w_out, x, target, weight=None):
    """Gradient of E (+ E_reg) by torch autograd through the same network, with the e-prop
    truncation: spikes entering other neurons (recurrent input) and the neuron's own reset are
    stop-gradient, and H' = psi. ``weight`` (T,) or (T, B) as in :meth:`EPropLIF.run`. Returns
    (grad_in, grad_rec, grad_out, loss per network)."""
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
    count = torch.zeros(B, n, dtype=w_in.dtype, device=w_in.device)
    T = x.shape[0]
    for t in range(T):
        zd = z.detach()
        v = q.alpha * v + torch.einsum("bji,bi->bj", w_rec, zd) + torch.einsum("bji,bi->bj", w_in, x[t]) - q.v_th * zd
        a = q.rho * a + z                 # ALIF: the neuron's own adaptation keeps its gradient
        z = _Spike.apply(v - q.beta * a, q.v_th, q.gamma_pd)
        count = count + z
        y = q.kappa * y + torch.einsum("bkj,bj->bk", w_out, z)
        m = 1.0 if weight is None else torch.as_tensor(weight[t], dtype=w_in.dtype).expand(B)
        if q.loss == "classification":
            loss = loss - m * (target[t] * torch.log_softmax(y, dim=1)).sum(1)
        else:
            loss = loss + 0.5 * m * ((y - target[t]) ** 2).sum(1)
    if q.c_reg > 0:
        rate = count * (1000.0 / (T * q.dt))
        loss = loss + 0.5 * q.c_reg * ((rate - q.f_target) ** 2).sum(1)
    loss.sum().backward()
    return w_in.grad, w_rec.grad, w_out.grad, loss.detach()
