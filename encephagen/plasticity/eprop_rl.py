"""Reward-based e-prop (Bellec et al. 2020, Nat. Commun. 11:3625, "reward-based e-prop"):
actor-critic with per-neuron learning signals through fixed random feedback weights and the
temporal-difference error as the third factor, batched over a leading dimension ``B`` (every
network x seed learns independently).

Per step ``t`` (after the network's step; ``ebar`` the readout-filtered eligibility traces of
:mod:`encephagen.plasticity.eprop`, ``zk`` the readout-filtered spikes):

    y^t = W_pi zk^t,  pi^t = softmax(y^t)            (policy readout, k actions)
    V^t = w_V . zk^t                                  (value readout, the critic)
    delta^t = r^t + gamma V^{t+1} - V^t               (TD error; terminal: r^T - V^T)
    L_j^t = -c_V B^V_j + m^t sum_k B^pi_jk (pi_k^t - 1[a^t = k])      (learning signal)
    F^t_ji = gamma F^{t-1}_ji + L_j^t ebar_ji^t       (discounted filter F_gamma of the paper)
    Delta W_ji = -eta sum_t delta^t F^t_ji + eta c_e sum_t m^t L^H_j^t ebar_ji^t
    L^H_j^t = sum_k B^pi_jk dH/dy_k,  dH/dy_k = -pi_k (log pi_k + H)     (entropy bonus)

``m^t`` is 1 at the steps where an action is taken (sampled from ``pi^t``), 0 otherwise. The
readouts learn by the same rule with their exact gradients: ``F^pi_kj = gamma F^pi_kj + m (pi_k -
1[a = k]) zk_j``, ``F^V_j = gamma F^V_j - c_V zk_j``. Updates are accumulated during a trial and
applied by :meth:`ActorCritic.end_trial` (the weights are fixed within a trial).

**Continuous actions (an extension, not in the paper)**: ``policy='gaussian'``: the policy
readout gives the mean ``mu^t = W_pi zk^t`` of ``a^t ~ N(mu^t, diag(sigma^2))`` (k action
dimensions), ``log sigma`` (B, k) fixed at ``log_sigma`` or learned (``eta_sigma > 0``). The
categorical ``pi_k - 1[a = k]`` (= -d log pi(a)/dy_k) is replaced by the score function of the
Gaussian, ``-d log p(a)/d mu_k = (mu_k - a_k) / sigma_k^2``, in the learning signal and the
readout's filter; ``log sigma`` learns by the same actor rule with ``-d log p/d log sigma_k = 1 -
(a_k - mu_k)^2 / sigma_k^2`` (filter ``F^sigma``, rate ``eta_sigma``) plus the entropy bonus
``c_e dH/d log sigma_k = c_e`` (the Gaussian's entropy does not depend on the mean, so ``L^H = 0``).

``gamma = exp(-dt / tau_gamma)``. This module holds the readout/critic part shared by the dense
stand-alone network (:class:`EPropActorCritic`, on :class:`encephagen.plasticity.EPropLIF`, LIF
or ALIF) and the sparse in-network rule (:mod:`encephagen.learn.eprop`, the same arithmetic per
synapse, compiled in :func:`encephagen.spiking._plastic_kernels.eprop_rl_step`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from encephagen.spiking.params import ParamsMixin, p


@dataclass(frozen=True)
class EPropRLParams(ParamsMixin):
    _kind = "eprop_rl"
    tau_out: float = p(20.0, "ms", "readout filter (policy and value readouts; also filters the eligibility traces)",
                       0, 1e6, lo_open=True)
    tau_gamma: float = p(1000.0, "ms", "discount horizon: gamma = exp(-dt / tau_gamma) per step", 0, 1e9, lo_open=True)
    gamma_pd: float = p(0.3, "1", "pseudo-derivative dampening factor", 0, 10)
    c_v: float = p(0.1, "1", "weight of the value (critic) loss in the learning signal", 0, 1e6)
    c_e: float = p(0.01, "1", "entropy bonus", 0, 1e6)
    eta_rec: float = p(1e-3, "1", "learning rate of the recurrent (network) weights", 0, 1e6)
    eta_out: float = p(1e-2, "1", "learning rate of the policy readout", 0, 1e6)
    eta_value: float = p(1e-4, "1", "learning rate of the value readout (it sums a gradient over every step of a "
                                    "trial: keep it well below eta_out)", 0, 1e6)
    feedback_scale: float = p(1.0, "1", "SD of the fixed random feedback weights x sqrt(n_neurons)", 0, 1e6)
    policy: str = p("categorical", "", "categorical (softmax over k actions, the paper) or gaussian (k continuous "
                                       "action dimensions, mean from the readout: an extension of the paper)",
                    choices=("categorical", "gaussian"))
    log_sigma: float = p(math.log(0.5), "1", "gaussian policy: initial log of the action SD", -20, 20)
    eta_sigma: float = p(0.0, "1", "gaussian policy: learning rate of log sigma (0 = fixed sigma)", 0, 1e6)

    def gamma(self, dt: float) -> float:
        return math.exp(-dt / self.tau_gamma)

    def kappa(self, dt: float) -> float:
        return math.exp(-dt / self.tau_out)


def entropy_grad(pi: torch.Tensor) -> torch.Tensor:
    """dH/dy_k for H = -sum pi log pi, pi = softmax(y): -pi_k (log pi_k + H)."""
    lp = torch.log(pi.clamp_min(1e-300))
    H = -(pi * lp).sum(-1, keepdim=True)
    return -pi * (lp + H)


class ActorCritic:
    """Policy and value readouts, TD error, learning signals and the readouts' own updates,
    batched over ``B``. The recurrent part (dense or sparse) asks for ``L`` (B, n) and ``LH``
    (B, n) per step and for the TD error to apply; see :class:`EPropActorCritic`.

    ``w_pi`` (B, k, n), ``w_v`` (B, n), ``b_pi`` (B, n, k), ``b_v`` (B, n): float64 tensors.
    """

    def __init__(self, params: EPropRLParams, dt: float, w_pi, w_v, b_pi, b_v):
        self.q, self.dt = params, float(dt)
        self.gamma = params.gamma(dt)
        self.w_pi, self.w_v, self.b_pi, self.b_v = w_pi, w_v, b_pi, b_v
        self.B, self.k, self.n = w_pi.shape
        self.gaussian = params.policy == "gaussian"
        self.log_sigma = torch.full((self.B, self.k), params.log_sigma, dtype=w_pi.dtype, device=w_pi.device) \
            if self.gaussian else None
        if w_v.shape != (self.B, self.n) or b_pi.shape != (self.B, self.n, self.k) or b_v.shape != (self.B, self.n):
            raise ValueError("eprop_rl: w_pi (B, k, n), w_v (B, n), b_pi (B, n, k), b_v (B, n)")
        self.reset()

    def reset(self):
        """A new trial: zero the filters, the accumulated updates and the TD state."""
        z = lambda *s: torch.zeros(s, dtype=self.w_pi.dtype, device=self.w_pi.device)  # noqa: E731
        self.F_pi, self.F_v = z(self.B, self.k, self.n), z(self.B, self.n)
        self.d_pi, self.d_v = z(self.B, self.k, self.n), z(self.B, self.n)
        self.F_s, self.d_s = z(self.B, self.k), z(self.B, self.k)           # gaussian: log sigma's filter, update
        self.V_prev, self.r_prev = None, None
        self.deltas: list[torch.Tensor] = []

    def policy(self, zk):
        """The policy at readout input ``zk`` (B, n): categorical ``pi`` (B, k), gaussian the mean (B, k)."""
        y = torch.bmm(self.w_pi, zk[:, :, None])[:, :, 0]
        return y if self.gaussian else torch.softmax(y, dim=1)

    def sample(self, out, generator: torch.Generator | None = None):
        """Actions from :meth:`policy`'s output: (B,) long (categorical) or (B, k) (gaussian: mean +
        sigma * N(0, 1))."""
        if self.gaussian:
            eps = torch.randn(out.shape, generator=generator, dtype=out.dtype, device="cpu").to(out.device)
            return out + torch.exp(self.log_sigma) * eps
        return torch.multinomial(out, 1, generator=generator)[:, 0]

    def step(self, zk, act_mask, actions, reward):
        """One step given the readout-filtered spikes ``zk`` (B, n); ``act_mask`` (B,) bool: an
        action is taken now (``actions`` (B,) long); ``reward`` (B,) received after this step.
        Returns (pi, V, delta_prev or None, L, LH): the TD error of the previous step (to be
        applied by the caller to the recurrent filter *before* it is advanced), the learning
        signal and the entropy signal (zero where no action). Gaussian policy: ``actions`` (B, k)
        float (ignored where no action) and ``pi`` is the mean."""
        q = self.q
        y = torch.bmm(self.w_pi, zk[:, :, None])[:, :, 0]
        V = (self.w_v * zk).sum(1)
        delta = None
        if self.V_prev is not None:
            delta = self.r_prev + self.gamma * V - self.V_prev
            self._apply_delta(delta)
        m = act_mask.to(zk.dtype)
        if self.gaussian:
            pi = y
            a = torch.where(act_mask[:, None], actions.to(zk.dtype), y)
            var = torch.exp(2.0 * self.log_sigma)
            err = (y - a) / var * m[:, None]                               # -d log p(a) / d mu
            hg = torch.zeros_like(y)                                       # H does not depend on mu
            self.F_s.mul_(self.gamma).add_((1.0 - (a - y) ** 2 / var) * m[:, None])   # -d log p / d log sigma
            self.d_s.add_(q.eta_sigma * q.c_e * m[:, None].expand_as(y))   # dH / d log sigma = 1
        else:
            pi = torch.softmax(y, dim=1)
            onehot = torch.zeros_like(pi)
            if bool(act_mask.any()):
                onehot.scatter_(1, actions.clamp_min(0)[:, None], 1.0)
            err = (pi - onehot) * m[:, None]                               # (B, k)
            hg = entropy_grad(pi) * m[:, None]                             # (B, k)
        L = -q.c_v * self.b_v + torch.bmm(self.b_pi, err[:, :, None])[:, :, 0]
        LH = torch.bmm(self.b_pi, hg[:, :, None])[:, :, 0]
        self.F_pi.mul_(self.gamma).add_(err[:, :, None] * zk[:, None, :])
        self.F_v.mul_(self.gamma).add_(-q.c_v * zk)
        self.d_pi.add_(q.eta_out * q.c_e * hg[:, :, None] * zk[:, None, :])
        self.V_prev, self.r_prev = V, reward.to(zk.dtype)
        return pi, V, delta, L, LH

    def _apply_delta(self, delta):
        self.deltas.append(delta)
        self.d_pi.add_(-self.q.eta_out * delta[:, None, None] * self.F_pi)
        self.d_v.add_(-self.q.eta_value * delta[:, None] * self.F_v)
        if self.gaussian:
            self.d_s.add_(-self.q.eta_sigma * delta[:, None] * self.F_s)

    def terminal(self):
        """End of a trial: the terminal TD error ``r^T - V^T`` (returned, (B,)), applied to the
        readouts' filters; the caller applies it to the recurrent filter too."""
        if self.V_prev is None:
            raise RuntimeError("eprop_rl: terminal() before any step")
        delta = self.r_prev - self.V_prev
        self._apply_delta(delta)
        return delta

    def apply_readouts(self):
        self.w_pi.add_(self.d_pi)
        self.w_v.add_(self.d_v)
        if self.gaussian:
            self.log_sigma.add_(self.d_s)


class EPropActorCritic:
    """Dense stand-alone reward-based e-prop (every recurrent weight in a (B, n, n) matrix): the
    reference the in-network sparse rule is checked against.

    Two ways to drive it. With an :class:`encephagen.plasticity.EPropLIF` ``net`` (LIF or ALIF;
    ``net.w_out`` unused, the policy readout is ``w_pi``): per step ``net.step(x)`` then
    ``learn_step(..., zk=net.zbar_k, ebar=net.ebar_rec, ebar_in=net.ebar_in)``. With spikes and
    pseudo-derivatives from elsewhere (the LIF engine): per step :meth:`observe` then
    :meth:`learn_step`. :meth:`end_trial` applies the accumulated updates.
    """

    def __init__(self, params: EPropRLParams, dt: float, w_pi, w_v, b_pi, b_v, net=None, alpha=None,
                 mask: torch.Tensor | None = None):
        self.q, self.net, self.dt = params, net, float(dt)
        self.ac = ActorCritic(params, self.dt, w_pi, w_v, b_pi, b_v)
        self.gamma = self.ac.gamma
        self.kappa = params.kappa(self.dt)
        self.alpha = alpha                                 # presynaptic trace decay for observe() (scalar or (n,))
        self.mask = mask                                   # (B, n, n) which recurrent weights learn (None: all)
        self.reset()

    def reset(self):
        B, n = self.ac.B, self.ac.n
        z = lambda *s: torch.zeros(s, dtype=self.ac.w_pi.dtype, device=self.ac.w_pi.device)  # noqa: E731
        self.F_rec, self.d_rec = z(B, n, n), z(B, n, n)
        self.ebar, self.zk, self.zbar = z(B, n, n), z(B, n), z(B, n)
        n_in = self.net.n_in if self.net is not None else 0
        self.F_in, self.d_in = z(B, n, n_in), z(B, n, n_in)
        self.ac.reset()

    def observe(self, z_pre, psi, z):
        """Eligibility from outside spikes (B, n) each: ``z_pre`` the presynaptic spikes as they
        reach the synapses at this step, ``psi`` the pseudo-derivative, ``z`` this step's spikes
        (for the readouts): ``ebar <- kappa ebar + psi_j zbar_i`` (``zbar`` before this step),
        ``zk <- kappa zk + z``, ``zbar <- alpha zbar + z_pre``."""
        self.ebar.mul_(self.kappa).add_(psi[:, :, None] * self.zbar[:, None, :])
        self.zk.mul_(self.kappa).add_(z)
        self.zbar.mul_(self.alpha).add_(z_pre)

    def learn_step(self, act_mask, actions, reward, zk=None, ebar=None, ebar_in=None):
        """After the step's traces: readouts, TD error, learning signals, filters. Returns (pi, V)."""
        zk = self.zk if zk is None else zk
        ebar = self.ebar if ebar is None else ebar
        pi, V, delta, L, LH = self.ac.step(zk, act_mask, actions, reward)
        if delta is not None:
            self._apply_delta(delta)
        self.F_rec.mul_(self.gamma).add_(L[:, :, None] * ebar)
        self.d_rec.add_(self.q.eta_rec * self.q.c_e * LH[:, :, None] * ebar)
        if ebar_in is not None:
            self.F_in.mul_(self.gamma).add_(L[:, :, None] * ebar_in)
            self.d_in.add_(self.q.eta_rec * self.q.c_e * LH[:, :, None] * ebar_in)
        return pi, V

    def _apply_delta(self, delta):
        self.d_rec.add_(-self.q.eta_rec * delta[:, None, None] * self.F_rec)
        self.d_in.add_(-self.q.eta_rec * delta[:, None, None] * self.F_in)

    def end_trial(self, apply: bool = True):
        """Terminal TD error, then (``apply`` and a ``net``) add the accumulated updates to the
        weights (the recurrent ones only where ``mask``) and to the readouts. Returns the
        terminal delta (B,)."""
        delta = self.ac.terminal()
        self._apply_delta(delta)
        if apply:
            if self.net is not None:
                d = self.d_rec if self.mask is None else self.d_rec * self.mask
                self.net.w_rec.add_(d)
                if self.F_in.shape[2]:
                    self.net.w_in.add_(self.d_in)
            self.ac.apply_readouts()
        return delta
