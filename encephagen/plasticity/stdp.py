"""Pair-based STDP with traces (Song, Miller & Abbott 2000; Morrison, Diesmann & Gerstner 2008),
clock-driven, batched, with NEST ``stdp_synapse`` semantics for weights, bounds and delays.

Conventions
-----------
* Time is an integer step ``t`` of ``dt`` ms. Spikes are boolean tensors ``(B, n)``: ``B`` is the
  batch (every network x seed learns independently), ``n`` the neurons of one network.
* Synapses are one list shared by the batch: ``pre[k]``, ``post[k]`` (neuron indices) and integer
  delays in steps. Weights are ``(B, nnz)``. Networks with different synapse lists go in one flat
  index space with ``B = 1`` (as :class:`encephagen.spiking.engine.LIFBatch` lays them out).
* Delays (Morrison et al. 2008, sec. 4.3): a presynaptic spike at ``t_pre`` reaches the synapse
  at ``t_pre + d_axonal``; a postsynaptic spike at ``t_post`` reaches it (back-propagating) at
  ``t_post + d_dendritic``. Pairing happens at the synapse. NEST's ``stdp_synapse`` treats the
  whole transmission delay as dendritic: ``d_axonal = 0``, ``d_dendritic = delay`` (the default
  here when only ``delay`` is given).
* Traces (all-to-all): ``x_i(t) = sum_{t_pre < t} exp(-(t - t_pre)/tau_plus)`` (strictly before
  ``t``, so a spike never pairs with itself), ``y_j`` likewise with ``tau_minus``. Nearest-
  neighbour pairing: the trace is reset to 1 at a spike instead of incremented, so only the
  most recent earlier spike counts (symmetric nearest-neighbour scheme, Morrison et al. 2008,
  Fig. 7A; NEST ``stdp_nn_symm_synapse``).
* At each step, for every plastic synapse, first potentiation for a postsynaptic spike arriving
  at the synapse now, with the presynaptic trace at the synapse; then depression for a
  presynaptic spike arriving now, with the postsynaptic trace at the synapse (NEST's order):

      w <- Wmax * min(1, w/Wmax + lambda * (1 - w/Wmax)**mu_plus * x)            (LTP)
      w <- Wmax * max(0, w/Wmax - alpha * lambda * (w/Wmax)**mu_minus * y)       (LTD)

  ``mu_plus = mu_minus = 0``: additive rule with hard bounds [0, Wmax]; ``mu = 1``: multiplicative
  (weight-dependent, van Rossum et al. 2000); intermediate: Guetig et al. 2003.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from encephagen.spiking.params import ParamsMixin, p
from encephagen.spiking.update import stdp_depress, stdp_facilitate, trace_step


@dataclass(frozen=True)
class STDPParams(ParamsMixin):
    _kind = "stdp"
    tau_plus: float = p(20.0, "ms", "decay time of the presynaptic trace (potentiation window)", 0, 1e6, lo_open=True)
    tau_minus: float = p(20.0, "ms", "decay time of the postsynaptic trace (depression window; NEST: a property "
                                     "of the postsynaptic neuron)", 0, 1e6, lo_open=True)
    lam: float = p(0.01, "1", "step size lambda: one LTP pairing at zero lag adds lambda * Wmax (additive form)", 0, 1)
    alpha: float = p(1.0, "1", "depression/potentiation asymmetry: LTD step = alpha * lambda", 0, 100)
    mu_plus: float = p(0.0, "1", "weight-dependence exponent of LTP: 0 additive, 1 multiplicative (NEST default 1)", 0, 10)
    mu_minus: float = p(0.0, "1", "weight-dependence exponent of LTD: 0 additive, 1 multiplicative (NEST default 1)", 0, 10)
    w_max: float = p(100.0, "weight unit", "upper hard bound Wmax (lower bound 0); weights are normalised by it", 0, 1e12,
                     lo_open=True)
    pairing: str = p("all_to_all", "", "all_to_all (traces add) or nearest (traces reset to 1: symmetric "
                                       "nearest-neighbour pairing)", choices=("all_to_all", "nearest"))

    @classmethod
    def from_amplitudes(cls, a_plus: float, a_minus: float, w_max: float, **kw) -> "STDPParams":
        """Additive rule from absolute amplitudes (weight units per pairing at zero lag)."""
        if w_max <= 0:
            raise ValueError(f"stdp parameter 'w_max' = {w_max}: must be > 0")
        if a_plus <= 0:
            raise ValueError(f"stdp amplitude 'a_plus' = {a_plus}: must be > 0 (lambda = a_plus / w_max)")
        return cls(lam=a_plus / w_max, alpha=a_minus / a_plus, w_max=w_max, **kw)


def _as_index(x, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"stdp synapse array {name!r} must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.all(a == np.round(a)):
            raise ValueError(f"stdp synapse array {name!r} must hold integers")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"stdp synapse array {name!r} has negative entries")
    if n is not None and a.size and a.max() >= n:
        raise ValueError(f"stdp synapse array {name!r} has index {a.max()} >= its neuron count {n}")
    return a


class STDP:
    """Clock-driven pair-based STDP on a synapse list, batched over a leading dimension.

    Parameters
    ----------
    params: :class:`STDPParams`
    pre, post: ``(nnz,)`` presynaptic / postsynaptic neuron index of each synapse.
    n_pre, n_post: neuron counts of the source and target populations (one network).
    dt: step in ms.
    delay: ``(nnz,)`` or scalar transmission delay in steps, all dendritic (NEST); or give
        ``delay_axonal`` and ``delay_dendritic`` explicitly.
    plastic: ``(nnz,)`` bool, the synapses that learn (e.g. excitatory sources only: Dale's law
        keeps inhibitory weights fixed). Default: all.
    batch: ``B``. device, dtype: of the state (float64 for reference comparisons).
    """

    def __init__(self, params: STDPParams, pre, post, n_pre: int, n_post: int, dt: float, delay=0,
                 delay_axonal=None, delay_dendritic=None, plastic=None, batch: int = 1,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float64):
        if not isinstance(params, STDPParams):
            raise TypeError("params must be an STDPParams")
        if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
            raise ValueError(f"stdp 'dt' = {dt!r}: must be a positive number of ms")
        if int(batch) < 1:
            raise ValueError(f"stdp 'batch' = {batch}: must be >= 1")
        self.params, self.dt, self.B = params, float(dt), int(batch)
        self.n_pre, self.n_post = int(n_pre), int(n_post)
        pre = _as_index(pre, "pre", self.n_pre)
        post = _as_index(post, "post", self.n_post)
        if pre.shape != post.shape:
            raise ValueError(f"stdp synapse arrays 'pre' {pre.shape} and 'post' {post.shape} differ in length")
        nnz = self.nnz = pre.size

        def dl(v, name):
            v = np.broadcast_to(np.asarray(v), (nnz,)) if np.ndim(v) == 0 else np.asarray(v)
            if v.shape != (nnz,):
                raise ValueError(f"stdp {name!r} must be a scalar or have one entry per synapse ({nnz}), got {v.shape}")
            return _as_index(v, name)

        if delay_axonal is None and delay_dendritic is None:
            d_ax, d_dd = np.zeros(nnz, np.int64), dl(delay, "delay")
        else:
            d_ax = dl(0 if delay_axonal is None else delay_axonal, "delay_axonal")
            d_dd = dl(0 if delay_dendritic is None else delay_dendritic, "delay_dendritic")
        if plastic is None:
            plastic = np.ones(nnz, bool)
        plastic = np.asarray(plastic)
        if plastic.shape != (nnz,) or plastic.dtype != bool:
            raise ValueError(f"stdp 'plastic' must be a bool array with one entry per synapse ({nnz}), "
                             f"got {plastic.dtype} {plastic.shape}")
        dev = self.device = torch.device(device)
        self.dtype = dtype
        self.L_pre = int(d_ax.max(initial=0)) + 1     # history lengths (steps kept)
        self.L_post = int(d_dd.max(initial=0)) + 1
        self.pre = torch.as_tensor(pre, device=dev)
        self.post = torch.as_tensor(post, device=dev)
        self.d_ax = torch.as_tensor(d_ax, device=dev)
        self.d_dd = torch.as_tensor(d_dd, device=dev)
        self.plastic = torch.as_tensor(plastic, device=dev)
        # uniform delays (the common case) take a cheaper path: one history slot per step
        self._ax_u = int(d_ax[0]) if nnz and np.all(d_ax == d_ax[0]) else None
        self._dd_u = int(d_dd[0]) if nnz and np.all(d_dd == d_dd[0]) else None
        self.all_plastic = bool(plastic.all())
        self.decay_plus = math.exp(-self.dt / params.tau_plus)
        self.decay_minus = math.exp(-self.dt / params.tau_minus)
        self.reset()

    def reset(self):
        """Zero traces and spike histories; the step counter restarts at 0."""
        B, dev, dt = self.B, self.device, self.dtype
        # x[t], y[t]: traces at step t from spikes strictly before t; rings of the last L steps
        self.x_hist = torch.zeros((B, self.L_pre, self.n_pre), dtype=dt, device=dev)
        self.y_hist = torch.zeros((B, self.L_post, self.n_post), dtype=dt, device=dev)
        self.s_pre_hist = torch.zeros((B, self.L_pre, self.n_pre), dtype=torch.bool, device=dev)
        self.s_post_hist = torch.zeros((B, self.L_post, self.n_post), dtype=torch.bool, device=dev)
        self._x = torch.zeros((B, self.n_pre), dtype=dt, device=dev)   # trace at the current step
        self._y = torch.zeros((B, self.n_post), dtype=dt, device=dev)
        self.t = 0

    # ------------------------------------------------------------------ helpers
    def _facilitate(self, w, k):
        q = self.params
        return stdp_facilitate(w, k, q.lam, q.mu_plus, q.w_max)

    def _depress(self, w, k):
        q = self.params
        return stdp_depress(w, k, q.lam, q.alpha, q.mu_minus, q.w_max)

    def _at_synapse(self, hist, L, delay, idx, n, t=None, uniform=None):
        """(B, nnz) values of a per-neuron history at step t - delay, per synapse."""
        t = self.t if t is None else t
        if uniform is not None:
            return hist[:, (t - uniform) % L][:, idx]
        slot = (t - delay) % L
        return hist.reshape(self.B, L * n)[:, slot * n + idx]

    # ------------------------------------------------------------------ stepping
    def advance(self, pre_spikes: torch.Tensor, post_spikes: torch.Tensor):
        """Advance the traces and histories one step with this step's somatic spikes; return the
        pairing terms at the synapses ``(ev_post, x, ev_pre, y)``: masks (B, nnz) of post / pre
        spikes arriving at a plastic synapse now, and the pre / post trace there (``None`` when
        no such event)."""
        B = self.B
        pre_spikes = torch.as_tensor(pre_spikes, device=self.device).reshape(B, self.n_pre).bool()
        post_spikes = torch.as_tensor(post_spikes, device=self.device).reshape(B, self.n_post).bool()
        q = self.params
        t = self.t
        sp, so = t % self.L_pre, t % self.L_post
        self.x_hist[:, sp] = self._x
        self.y_hist[:, so] = self._y
        self.s_pre_hist[:, sp] = pre_spikes
        self.s_post_hist[:, so] = post_spikes
        # events at the synapse now: post spike of step t - d_dendritic, pre spike of t - d_axonal
        ev_post = x = ev_pre = y = None
        if self._dd_u is None or bool(self.s_post_hist[:, (t - self._dd_u) % self.L_post].any()):
            ev = self._at_synapse(self.s_post_hist, self.L_post, self.d_dd, self.post, self.n_post, t, self._dd_u)
            if not self.all_plastic:
                ev = ev & self.plastic
            if bool(ev.any()):
                ev_post = ev
                x = self._at_synapse(self.x_hist, self.L_pre, self.d_ax, self.pre, self.n_pre, t, self._ax_u)
        if self._ax_u is None or bool(self.s_pre_hist[:, (t - self._ax_u) % self.L_pre].any()):
            ev = self._at_synapse(self.s_pre_hist, self.L_pre, self.d_ax, self.pre, self.n_pre, t, self._ax_u)
            if not self.all_plastic:
                ev = ev & self.plastic
            if bool(ev.any()):
                ev_pre = ev
                y = self._at_synapse(self.y_hist, self.L_post, self.d_dd, self.post, self.n_post, t, self._dd_u)
        # traces for the next step (spikes of this step included)
        nearest = q.pairing == "nearest"
        self._x = trace_step(self._x, pre_spikes, self.decay_plus, nearest)
        self._y = trace_step(self._y, post_spikes, self.decay_minus, nearest)
        self.t += 1
        return ev_post, x, ev_pre, y

    def step(self, w: torch.Tensor, pre_spikes: torch.Tensor, post_spikes: torch.Tensor) -> torch.Tensor:
        """Advance one step with the somatic spikes of this step; update ``w`` (B, nnz) in place.

        Returns ``w``. Spikes are ``(B, n_pre)`` and ``(B, n_post)`` booleans (or 0/1).
        """
        if w.shape != (self.B, self.nnz):
            raise ValueError(f"stdp weights must have shape (batch, nnz) = {(self.B, self.nnz)}, got {tuple(w.shape)}")
        ev_post, x, ev_pre, y = self.advance(pre_spikes, post_spikes)
        if ev_post is not None:                      # LTP first, then LTD (NEST's order)
            w.copy_(torch.where(ev_post, self._facilitate(w, x), w))
        if ev_pre is not None:
            w.copy_(torch.where(ev_pre, self._depress(w, y), w))
        return w

    def run(self, w0, pre_trains, post_trains, record_at_pre: bool = False):
        """Convenience: step through ``(T, B, n_pre)`` / ``(T, B, n_post)`` spike rasters.

        Returns the final weights, and with ``record_at_pre`` also a list of
        ``(step, weights after the update)`` at every step with a presynaptic event at a synapse.
        """
        w = torch.as_tensor(w0, dtype=self.dtype, device=self.device).clone().reshape(self.B, self.nnz)
        pre_trains = torch.as_tensor(pre_trains, device=self.device)
        post_trains = torch.as_tensor(post_trains, device=self.device)
        if pre_trains.shape[0] != post_trains.shape[0]:
            raise ValueError(f"pre and post rasters differ in length: {pre_trains.shape[0]} vs {post_trains.shape[0]} steps")
        rec = []
        for t in range(pre_trains.shape[0]):
            self.step(w, pre_trains[t], post_trains[t])
            if record_at_pre:
                ev = self._at_synapse(self.s_pre_hist, self.L_pre, self.d_ax, self.pre, self.n_pre, t) & self.plastic
                if bool(ev.any()):
                    rec.append((t, w.clone()))
        return (w, rec) if record_at_pre else w
