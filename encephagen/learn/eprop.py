"""Reward-based e-prop inside a :class:`~encephagen.spiking.engine.LIFBatch` (Bellec et al. 2020;
the rule of :mod:`encephagen.plasticity.eprop_rl`): every network x seed of the batch learns
independently, on its E->E synapses (within and between regions), with its own policy and value
readouts, fixed random feedback weights and TD error.

The engine's neurons (exponential current synapses, refractoriness, delays) are not the paper's
discrete LIF; the rule uses what the engine gives per step:

* pseudo-derivative ``psi_j = (gamma_pd / theta) max(0, 1 - |v_j - theta| / theta)`` of the
  membrane potential after the step (relative to rest), ``gamma_pd / theta`` for a neuron that
  spiked in the step (its potential was at threshold before the reset); 0 while clamped at reset;
* presynaptic trace ``zbar_i <- alpha_i zbar_i + z_i`` (``alpha_i = exp(-dt / tau_m_i)``: the
  membrane filter of the paper's LIF; the synaptic current filter is not included), read at
  ``t - d`` for a synapse of delay ``d`` (the spike reaches the synapse ``d`` later);
* readouts of all neurons' spikes filtered with ``tau_out``.

Learning happens in trials (:meth:`EPropSynapses.begin_trial` resets every trace; the engine is
stepped one step per block while a trial is on, :meth:`act` takes an action at the next step,
:meth:`end_trial` applies the accumulated updates). The recurrent weights stay in ``[0, w_max]``
(Dale's law: an excitatory weight never changes sign); the transmitted weights follow at the end
of each trial. Compiled per step in :func:`encephagen.spiking._plastic_kernels.eprop_rl_step`
(numba backend); a torch path with the same arithmetic serves the torch backend and CUDA.
Checked against the dense stand-alone :class:`~encephagen.plasticity.eprop_rl.EPropActorCritic`
on the network's own spikes (tests/test_eprop_engine.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from encephagen.plasticity.eprop_rl import ActorCritic, EPropRLParams
from encephagen.spiking.plastic import ee_synapses


class EPropSynapses:
    """Reward-based e-prop on the E->E synapses of ``sim`` (attached as ``sim.plasticity``).

    ``n_actions`` policy outputs per network; ``seeds`` one per network (feedback weights and
    action sampling); ``w_max`` the upper weight bound (engine unit). ``record`` keeps per trial
    the actions, rewards, policies at the action step, values and TD errors.

    ``pool`` (optional, (n,) int, -1 = not read out): the readouts see pooled features instead of
    every neuron: feature ``f`` = the mean of the readout-filtered spikes of the neurons with
    ``pool == f`` (e.g. a region's excitatory neurons). The policy and value readouts and the
    random feedback weights are then per feature, and a neuron's learning signal is its
    feature's (``L_j = sum_f P_jf L_f``: the chain rule through the mean with the feedback weights
    in place of the readout weights; neurons outside every feature get 0).

    ``center`` (0 = off): the readouts see the features minus a running mean ``mu`` of the
    features at the action steps (``mu <- mu + center (x - mu)`` after each learning trial), so a
    rewarded action is credited to what is specific to the stimulus, not to the background
    activity shared by every trial (input centring; the learning signals are unchanged: the
    derivative with respect to the spikes is the same).
    """

    def __init__(self, sim, params: EPropRLParams, n_actions: int, seeds, w_max: float, pool=None,
                 center: float = 0.0):
        if not isinstance(params, EPropRLParams):
            raise TypeError("eprop 'params' must be an EPropRLParams")
        if params.policy != "categorical":
            raise ValueError(f"eprop 'policy' = {params.policy!r}: the in-network rule has a categorical policy only "
                             "(continuous actions: the dense encephagen.plasticity.EPropActorCritic)")
        if len(seeds) != sim.B:
            raise ValueError(f"eprop: {len(seeds)} seeds for a batch of {sim.B} networks")
        self.sim, self.q, self.k = sim, params, int(n_actions)
        self.device = sim.device
        self.nb = sim.backend == "numba"
        _bind_ee(self, sim, w_max)
        f64 = torch.float64
        T = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        N, B, n = sim.N, sim.B, sim.n
        self.kappa = params.kappa(sim.dt)
        self.pool = None
        nf = n
        if pool is not None:
            pool = np.asarray(pool, np.int64)
            if pool.shape != (n,) or pool.max() < 0:
                raise ValueError(f"eprop 'pool': one feature index (or -1) per neuron of a network ({n}), "
                                 "at least one feature")
            nf = int(pool.max()) + 1
            Pm = np.zeros((n, nf))
            sel = pool >= 0
            Pm[np.flatnonzero(sel), pool[sel]] = 1.0
            cnt = Pm.sum(0)
            if np.any(cnt == 0):
                raise ValueError(f"eprop 'pool': features {np.flatnonzero(cnt == 0).tolist()} have no neuron")
            self.pool = T(Pm / cnt)                                      # (n, F): mean pooling
        self.n_features = nf
        if not 0.0 <= float(center) <= 1.0:
            raise ValueError(f"eprop 'center' = {center}: must be in [0, 1]")
        self.center = float(center)
        self.mu = torch.zeros(B, nf, dtype=f64, device=self.device)
        self._mu_next = None
        b_pi, b_v = [], []
        self.rngs = []
        for s in seeds:
            g = torch.Generator().manual_seed(int(s))
            sd = params.feedback_scale / math.sqrt(nf)
            b_pi.append(torch.randn(nf, self.k, generator=g, dtype=f64) * sd)
            b_v.append(torch.randn(nf, generator=g, dtype=f64) * sd)
            self.rngs.append(np.random.default_rng([int(s), 1]))
        self.ac = ActorCritic(params, sim.dt, torch.zeros(B, self.k, nf, dtype=f64, device=self.device),
                              torch.zeros(B, nf, dtype=f64, device=self.device), torch.stack(b_pi).to(self.device),
                              torch.stack(b_v).to(self.device))
        z = lambda *s: torch.zeros(s, dtype=f64, device=self.device)  # noqa: E731
        self.ebar, self.F, self.dW = z(self.P), z(self.P), z(self.P)
        self.zbar, self.ring, self.zk = z(N), z(self.S, N), z(B, n)
        self.active = False
        self._act = False
        self._reward_fn = None
        self.t = sim.t
        self.trials: list[dict] = []
        self.last_psi = None                    # (N,) of the last step (for checks)
        self.last_z = None

    # ------------------------------------------------------------------ trials
    def begin_trial(self):
        """Reset every trace and filter; from now on step the engine one step per block."""
        for x in (self.ebar, self.F, self.dW, self.zbar, self.ring, self.zk):
            x.zero_()
        self.ac.reset()
        self.active = True
        self._rec = {"action": np.full(self.sim.B, -1), "reward": np.zeros(self.sim.B), "pi": None, "V": []}

    def act(self, reward_fn):
        """Take an action at the next step (sampled from each network's policy there) and give
        ``reward_fn(actions) -> (B,) rewards`` right after it."""
        if not self.active:
            raise RuntimeError("eprop: act() outside a trial (call begin_trial first)")
        self._act, self._reward_fn = True, reward_fn

    def end_trial(self, learn: bool = True) -> dict:
        """Terminal TD error; with ``learn`` apply the accumulated updates (recurrent weights
        clipped to [0, w_max], the transmitted weights follow; readouts). Returns the trial's record."""
        delta = self.ac.terminal()
        self.dW.add_(-self.q.eta_rec * delta[self.net_of] * self.F)
        if learn:
            self.w.copy_((self.w + self.dW).clamp(0.0, self.w_max))
            self.sim.weight[self.qi] = self.w.to(self.sim.weight.dtype)
            self.ac.apply_readouts()
            if self._mu_next is not None:
                self.mu.copy_(self._mu_next)
        self._mu_next = None
        self.active = False
        rec = self._rec
        rec["delta_terminal"] = delta.cpu().numpy()
        rec["V"] = np.stack(rec["V"], 1) if rec["V"] else np.zeros((self.sim.B, 0))
        self.trials.append(rec)
        return rec

    # ------------------------------------------------------------------ per block (engine hook)
    def block(self, t0: int, K: int, kk: torch.Tensor, ii: torch.Tensor) -> None:
        zp = _step_spikes(self, t0, K, ii)
        if zp is None:
            return
        (z, psi), sim, f64 = zp, self.sim, torch.float64
        B, n = sim.B, sim.n
        self.zk.mul_(self.kappa).add_(z.view(B, n))
        mask = torch.zeros(B, dtype=torch.bool, device=self.device)
        actions = torch.full((B,), -1, dtype=torch.int64, device=self.device)
        reward = torch.zeros(B, dtype=f64, device=self.device)
        feat = self.zk if self.pool is None else self.zk @ self.pool
        if self.center > 0:
            if self._act:
                self._mu_next = self.mu + self.center * (feat - self.mu)
            feat = feat - self.mu
        if self._act:
            y = torch.bmm(self.ac.w_pi, feat[:, :, None])[:, :, 0]
            pi = torch.softmax(y, dim=1).cpu().numpy()
            a = np.array([r.choice(self.k, p=pi[b] / pi[b].sum()) for b, r in enumerate(self.rngs)])
            r = np.asarray(self._reward_fn(a), np.float64)
            mask[:] = True
            actions = torch.as_tensor(a, device=self.device)
            reward = torch.as_tensor(r, device=self.device)
            self._rec.update(action=a, reward=r, pi=pi)
            self._act = False
        pi_, V, delta, L, LH = self.ac.step(feat, mask, actions, reward)
        if self.pool is not None:
            L, LH = L @ self.pool.T, LH @ self.pool.T
        self._rec["V"].append(V.cpu().numpy())
        q = self.q
        if self.nb:
            from encephagen.spiking._plastic_kernels import eprop_rl_step

            dl = delta if delta is not None else torch.zeros(B, dtype=f64)
            eprop_rl_step(t0, z.numpy(), psi.numpy(), self.zbar.numpy(), self.ring.numpy(), self.alpha.numpy(),
                          self.pre.numpy(), self.post.numpy(), self.d.numpy(), self.net_of.numpy(), self.ebar.numpy(),
                          self.F.numpy(), self.dW.numpy(), L.reshape(-1).numpy(), LH.reshape(-1).numpy(),
                          self.kappa, self.ac.gamma, dl.numpy(), delta is not None, q.eta_rec, q.eta_rec * q.c_e)
        else:
            Lf, LHf = L.reshape(-1), LH.reshape(-1)
            zr = self.ring[(t0 - self.d) % self.S, self.pre]
            self.ebar.mul_(self.kappa).add_(psi[self.post] * zr)
            if delta is not None:
                self.dW.add_(-q.eta_rec * delta[self.net_of] * self.F)
            self.F.mul_(self.ac.gamma).add_(Lf[self.post] * self.ebar)
            self.dW.add_(q.eta_rec * q.c_e * LHf[self.post] * self.ebar)
            self.zbar.mul_(self.alpha).add_(z)
            self.ring[t0 % self.S] = self.zbar

    # ------------------------------------------------------------------ outputs
    def weights(self, b: int) -> dict[str, np.ndarray]:
        """Network ``b``'s plastic synapses (as :meth:`PlasticSynapses.weights`)."""
        return _ee_weights(self, b)


def attach(sim, params: EPropRLParams, n_actions: int, seeds, w_max: float, pool=None,
           center: float = 0.0) -> EPropSynapses:
    """Attach reward-based e-prop to ``sim`` (replacing any other plasticity)."""
    sim.plasticity = EPropSynapses(sim, params, n_actions, seeds, w_max, pool=pool, center=center)
    return sim.plasticity


class EPropSupervisedSynapses:
    """Supervised e-prop (Bellec et al. 2020; the rule of :class:`encephagen.plasticity.EPropLIF`)
    on the E->E synapses of every network of ``sim`` (attached as ``sim.plasticity``): regression
    or classification readouts of every neuron (``n_out`` outputs per network, leaky with
    ``tau_out``), learning signals ``L_j = sum_k B_jk err_k`` through symmetric (``W_out^T``),
    fixed random or adaptive feedback, and per synapse ``grad_ji = sum_t L_j^t ebar_ji^t``.

    From ``params`` (an :class:`~encephagen.plasticity.EPropParams`) it uses ``tau_out``,
    ``gamma_pd``, ``loss`` and ``feedback``; the neuron model (``tau_m``, threshold, delays) is the
    engine's, with the pseudo-derivative and the delayed presynaptic trace of
    :class:`EPropSynapses` (ALIF, ``beta > 0``, and the rate regulariser are not available here).
    Trials: :meth:`begin_trial`, then per step :meth:`set_target` (or None: no loss at this step)
    and ``sim.step_block(1)``; :meth:`end_trial` applies plain gradient steps ``w <- clip(w -
    eta_rec grad, 0, w_max)`` (Dale's law kept), ``W_out <- W_out - eta_out grad_out`` and, for
    adaptive feedback, ``B <- B - eta_out grad_out^T`` (the readout's increment). Torch arithmetic
    (CPU or CUDA); checked against a dense replay of the network's own spikes
    (tests/test_eprop_engine_supervised.py).
    """

    def __init__(self, sim, params, n_out: int, seeds, w_max: float, eta_rec: float, eta_out: float,
                 feedback_scale: float = 1.0):
        from encephagen.plasticity.eprop import EPropParams

        if not isinstance(params, EPropParams):
            raise TypeError("eprop supervised 'params' must be an EPropParams")
        if params.beta != 0 or params.c_reg != 0:
            raise ValueError("eprop supervised in the engine: 'beta' (ALIF) and 'c_reg' must be 0 (LIF engine, "
                             "no rate regulariser here)")
        if len(seeds) != sim.B:
            raise ValueError(f"eprop: {len(seeds)} seeds for a batch of {sim.B} networks")
        if eta_rec < 0 or eta_out < 0:
            raise ValueError("eprop supervised 'eta_rec' and 'eta_out' must be >= 0")
        self.sim, self.q, self.k = sim, params, int(n_out)
        self.eta_rec, self.eta_out = float(eta_rec), float(eta_out)
        self.device = sim.device
        _bind_ee(self, sim, w_max)
        f64 = torch.float64
        T = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        N, B, n = sim.N, sim.B, sim.n
        self.kappa = math.exp(-sim.dt / params.tau_out)
        w_out, fb = [], []
        for s in seeds:
            g = torch.Generator().manual_seed(int(s))
            w_out.append(torch.randn(self.k, n, generator=g, dtype=f64) / math.sqrt(n))
            fb.append(torch.randn(n, self.k, generator=g, dtype=f64) * feedback_scale / math.sqrt(n))
        self.w_out = torch.stack(w_out).to(self.device)
        self.feedback = torch.stack(fb).to(self.device) if params.feedback != "symmetric" else None
        z = lambda *s: torch.zeros(s, dtype=f64, device=self.device)  # noqa: E731
        self.ebar, self.grad = z(self.P), z(self.P)
        self.zbar, self.ring, self.zk, self.y = z(N), z(self.S, N), z(B, n), z(B, self.k)
        self.grad_out, self.loss = z(B, self.k, n), z(B)
        self.target, self.weight = None, None
        self.active = False
        self.t = sim.t
        self.last_psi = self.last_z = self.last_y = None

    def begin_trial(self):
        """Reset every trace, the readout state and the accumulated gradients."""
        for x in (self.ebar, self.grad, self.zbar, self.ring, self.zk, self.y, self.grad_out, self.loss):
            x.zero_()
        self.target = None
        self.active = True

    def set_target(self, target, weight=1.0):
        """The target (B, k) of the next step(s) (class probabilities for classification); None:
        no loss. ``weight``: scalar or (B,) loss weight."""
        self.target = None if target is None else torch.as_tensor(target, dtype=torch.float64, device=self.device)
        self.weight = torch.as_tensor(weight, dtype=torch.float64, device=self.device).expand(self.sim.B)

    def end_trial(self, learn: bool = True) -> dict:
        """Apply the accumulated gradients (``learn``); returns the trial's loss per network."""
        if learn:
            self.w.copy_((self.w - self.eta_rec * self.grad).clamp(0.0, self.w_max))
            self.sim.weight[self.qi] = self.w.to(self.sim.weight.dtype)
            self.w_out.add_(-self.eta_out * self.grad_out)
            if self.q.feedback == "adaptive":
                self.feedback.add_(-self.eta_out * self.grad_out.transpose(1, 2))
        self.active = False
        return {"loss": self.loss.cpu().numpy().copy()}

    def block(self, t0: int, K: int, kk: torch.Tensor, ii: torch.Tensor) -> None:
        zp = _step_spikes(self, t0, K, ii)
        if zp is None:
            return
        (z, psi), sim = zp, self.sim
        B, n = sim.B, sim.n
        zb = z.view(B, n)
        self.zk.mul_(self.kappa).add_(zb)
        self.y.mul_(self.kappa).add_(torch.bmm(self.w_out, zb[:, :, None])[:, :, 0])
        self.last_y = self.y.clone()
        zr = self.ring[(t0 - self.d) % self.S, self.pre]
        self.ebar.mul_(self.kappa).add_(psi[self.post] * zr)
        if self.target is not None:
            m = self.weight
            if self.q.loss == "classification":
                err = (torch.softmax(self.y, dim=1) - self.target) * m[:, None]
                self.loss.add_(-m * (self.target * torch.log_softmax(self.y, dim=1)).sum(1))
            else:
                dd = self.y - self.target
                err = dd * m[:, None]
                self.loss.add_(0.5 * m * (dd * dd).sum(1))
            fb = self.w_out.transpose(1, 2) if self.q.feedback == "symmetric" else self.feedback
            L = torch.bmm(fb, err[:, :, None])[:, :, 0].reshape(-1)
            self.grad.add_(L[self.post] * self.ebar)
            self.grad_out.add_(err[:, :, None] * self.zk[:, None, :])
        self.zbar.mul_(self.alpha).add_(z)
        self.ring[t0 % self.S] = self.zbar

    def weights(self, b: int) -> dict[str, np.ndarray]:
        """Network ``b``'s learned synapses (as :meth:`PlasticSynapses.weights`)."""
        return _ee_weights(self, b)


def attach_supervised(sim, params, n_out: int, seeds, w_max: float, eta_rec: float, eta_out: float,
                      feedback_scale: float = 1.0) -> EPropSupervisedSynapses:
    """Attach supervised e-prop to ``sim`` (replacing any other plasticity)."""
    sim.plasticity = EPropSupervisedSynapses(sim, params, n_out, seeds, w_max, eta_rec, eta_out, feedback_scale)
    return sim.plasticity


def _step_spikes(rule, t0: int, K: int, ii: torch.Tensor):
    """The engine-hook preamble of the in-engine e-prop rules: checks that ``rule`` and the engine
    are at the same step and advances it; outside a trial None; during one (one step per block)
    this step's spikes ``z`` (float64, N) and the pseudo-derivative ``psi`` at the membrane
    potential (gamma_pd / theta at a spike), also kept as ``rule.last_z`` / ``rule.last_psi``."""
    if t0 != rule.t:
        raise RuntimeError(f"eprop is at step {rule.t}, the engine at {t0}")
    rule.t = t0 + K
    if not rule.active:
        return None
    if K != 1:
        raise RuntimeError("eprop: during a trial step the engine one step per block (sim.step_block(1))")
    sim, f64 = rule.sim, torch.float64
    z = torch.zeros(sim.N, dtype=f64, device=rule.device)
    if ii.numel():
        z[ii.to(rule.device)] = 1.0
    v = sim.v.to(f64)
    th, g = rule.theta, rule.q.gamma_pd
    psi = (g / th) * torch.clamp(1.0 - torch.abs(v - th) / th, min=0.0)
    psi = torch.where(z > 0, torch.full_like(psi, g / th), psi)
    rule.last_psi, rule.last_z = psi, z
    return z, psi


def _bind_ee(rule, sim, w_max: float) -> None:
    """The E->E synapses an in-engine e-prop rule learns, bound to ``rule``: their indices into the
    batch's synapse arrays (``qi``), source, target, delay and network (tensors on ``rule.device``),
    ``local``, count ``P``, float64 weights ``w`` / ``w0`` (refused above ``w_max``), ring size ``S``,
    membrane decay ``alpha`` per neuron and the threshold ``theta``."""
    qq, pre, post, d, net_of, rule.local = ee_synapses(sim)
    if pre.size == 0:
        raise ValueError("eprop: the batch has no excitatory -> excitatory synapses")
    T = lambda a: torch.as_tensor(a, device=rule.device)  # noqa: E731
    rule.qi, rule.pre, rule.post, rule.d, rule.net_of = T(qq), T(pre), T(post), T(d), T(net_of)
    rule.P = int(pre.size)
    rule.w = sim.weight[rule.qi].to(torch.float64)
    rule.w0 = rule.w.clone()
    rule.w_max = float(w_max)
    if bool((rule.w > rule.w_max).any()):
        raise ValueError(f"eprop 'w_max' = {w_max}: below the largest initial E->E weight {float(rule.w.max()):.6g}")
    rule.S = int(d.max()) + 1
    tau_m = np.concatenate([np.asarray(net.tau_m, np.float64) for net in sim.networks])
    rule.alpha = T(np.exp(-sim.dt / tau_m))
    rule.theta = float(sim.theta.item())


def _ee_weights(rule, b: int) -> dict[str, np.ndarray]:
    """Network ``b``'s synapses bound by :func:`_bind_ee`: index into its synapse arrays, local
    source and target, initial and current weight."""
    sel = (rule.net_of == b).nonzero().squeeze(1)
    n = rule.sim.n
    return {"index": rule.local[b], "source": (rule.pre[sel] - b * n).cpu().numpy(),
            "target": (rule.post[sel] - b * n).cpu().numpy(),
            "initial": rule.w0[sel].cpu().numpy(), "final": rule.w[sel].cpu().numpy()}
