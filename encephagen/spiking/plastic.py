"""Plastic excitatory synapses inside a :class:`~encephagen.spiking.engine.LIFBatch`: pair-based
STDP and homeostatic synaptic scaling on the E->E synapses of every network of the batch, with
weights that change during the run and are transmitted as they change.

The rules are those of :mod:`encephagen.plasticity` (the stand-alone engines checked against
NEST's ``stdp_synapse`` and against the logistic solution of scaling), with the same formulas
(:func:`encephagen.spiking.update.stdp_facilitate`, :func:`~encephagen.spiking.update.stdp_depress`,
:func:`~encephagen.spiking.update.trace_step`) and the same order of operations, so a network's
weights equal the stand-alone rule's on the network's own spikes
(tests/test_spiking_plastic.py). Conventions (NEST's): the whole transmission delay ``d`` is
dendritic; a presynaptic spike at t depresses with the postsynaptic trace at ``t - d``; a
postsynaptic spike at t potentiates at ``t + d`` with the presynaptic trace there; per step LTP
comes before LTD; a spike is transmitted with the weight after its own update.

Which synapses learn: excitatory source and excitatory target (Dale's law: inhibitory weights
and E->I weights stay fixed), within and between regions. Weights are float64 here (the rule's
state); the engine transmits them as float32.

How it runs: after each block of ``K`` steps (the engine's block, at most the shortest delay),
with the block's spikes known and before they are delivered. All information a block's updates
need is then available: presynaptic spikes of the block, postsynaptic spikes up to ``K`` steps
before the block's first arrival (``d >= K``), traces from per-step recursions. The work per block is
proportional to the number of spike-synapse events, plus one trace update per neuron and step.
On the numba backend the same formulas run compiled (``_plastic_kernels.trace_spikes``,
``sensor_spikes``, ``ltp_groups``, ``stdp_events``) on the block's spike list: depression walks each
presynaptic spike's outgoing plastic synapses (one contiguous row), potentiation walks the incoming
plastic synapses of each postsynaptic spike through an index by target built once, cut into delay
groups (a spike reaches a group in one step; the groups are bucketed by arrival step), with the
post-spike history and scratch kept in preallocated arrays. Without scaling (``LAZY``) potentiation
runs on demand instead (``stdp_lazy``, ``flush_ltp``: NEST's scheme): a synapse's pending
potentiation is applied at its presynaptic spike, before the depression and in the same
sequential pass over the spike's outgoing row, when the weights are read (``w``, ``weights``,
the records) and at the latest ``LAZY_HORIZON`` steps after its last update; the presynaptic
trace at an arrival is recomputed with the same per-step multiplications, so the weights are bit
for bit those of the per-event kernel. ``stdp_lazy_rows`` (``LAZY_ROWS``, default) runs it with the
presynaptic traces of eight spikes recomputed together, a row in two passes (a scalar gather of
the targets' recent spikes and traces, then the arithmetic vectorised over the row) and, when
every plastic synapse has the same delay, the postsynaptic trace kept as one vector at ``t - d``
(advanced per step from the postsynaptic history) instead of the ring of traces; the same bits.
With ``DELIVER`` (session 11) it also adds each spike's updated plastic weights to the engine's
ring (the engine delivers the other synapses, from uniform rows: ``LIFBatch._split_delivery``), and
the forced potentiation runs through the same machinery (``flush_rows``); while it delivers, the
engine's float32 copies of the plastic weights are written when needed rather than at each spike
(``sync_weights``, session 12: before a flush potentiates a row and when ``sim.weight`` is read).
The torch implementation (events
applied in rounds, one per synapse) serves the torch backend and CUDA. Both give the same weights
bit for bit (STDP; the scaling step's ``exp`` is torch's on both).

Reward-modulated STDP (``rstdp``, with ``stdp`` giving the pair window): the pairings do not
change the weights; they feed a synaptic eligibility trace (decayed every step, the stand-alone
:class:`encephagen.plasticity.RSTDP`'s arithmetic, ``_plastic_kernels.rstdp_block`` on numba) and
:meth:`PlasticSynapses.reward` applies ``w <- clip(w + eta (r - b) c, 0, Wmax)`` with one reward
and one reward prediction ``b`` per network of the batch (every network x seed learns
independently), at a block boundary (step the engine with ``step_block(n)`` to reach the
reward's step). The trace decays on every plastic synapse every step (``O(P)`` per step).

Scaling (if given) runs after STDP in each step: the rate sensor every step, the multiplicative
scaling every ``interval`` steps; a scaling step changes the transmitted weights of the block's
remaining spikes at the end of the block (within at most ``K`` steps, the shortest delay). With
STDP on, a scaled weight is clipped to ``min(scaling.w_max, stdp.w_max)``: scaling never takes a
weight outside STDP's bounds.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from encephagen.spiking.update import rate_step, scale_weight, scaling_factor, stdp_depress, stdp_facilitate, trace_step


def ee_synapses(sim):
    """Excitatory -> excitatory synapses of every network of ``sim``: (q into ``sim.weight``,
    pre, post (batch neuron indices), delay (steps), network, local index per network)."""
    n = sim.n
    q, pre, post, d, net_of, local = [], [], [], [], [], []
    off = 0
    for b, net in enumerate(sim.networks):
        src = net.source
        ids = np.flatnonzero((net.channel == 0) & net.is_exc[src] & net.is_exc[net.target])
        local.append(ids)
        q.append(ids + off)
        pre.append(src[ids].astype(np.int64) + b * n)
        post.append(net.target[ids].astype(np.int64) + b * n)
        d.append(net.delay[ids].astype(np.int64))
        net_of.append(np.full(ids.size, b, np.int64))
        off += net.nnz
    c = np.concatenate
    return c(q), c(pre), c(post), c(d), c(net_of), local


class PlasticSynapses:
    """STDP and/or synaptic scaling on the E->E synapses of ``sim`` (see the module docstring).

    Parameters
    ----------
    sim: the :class:`LIFBatch` (weights are updated in ``sim.weight`` in place).
    stdp: :class:`encephagen.plasticity.STDPParams` or None. ``w_max`` is in the engine's weight
        unit (mV current jump: an efficacy J is ``J tau_m / tau_e``).
    scaling: :class:`encephagen.plasticity.ScalingParams` or None.
    record_every: record weight statistics per network every this many steps (0: never); the
        records are taken at the end of the block that reaches the step.
    """

    #: numba STDP: potentiation on demand (``_plastic_kernels.stdp_lazy``; False: per event as it arrives)
    LAZY = True
    #: numba R-STDP: decay a synapse's eligibility at its events (``decay**n``), not every step
    LAZY_ELIGIBILITY = True
    #: numba STDP on demand: a synapse is potentiated at the latest this many steps after its last update
    LAZY_HORIZON = 1000
    #: numba STDP on demand: the restructured kernel (``_plastic_kernels.stdp_lazy_rows``: spikes in
    #: gangs, vectorised arithmetic, the post trace as one vector with a single plastic delay);
    #: False: ``stdp_lazy`` (session 9). The same weights bit for bit. Read when the synapses are made.
    LAZY_ROWS = True
    #: the numba engine may fuse blocks under these synapses (``LIFBatch.step_block``: the rule runs
    #: between a fused launch, which lists the block's spikes, and the next, which delivers them)
    FUSED_BLOCKS = True
    #: numba STDP on demand (``stdp_lazy_rows``): the kernel delivers the plastic synapses of a spike as
    #: it updates them and the engine the others, from uniform rows where they qualify
    #: (``LIFBatch._split_delivery``); the same sums bit for bit. False: the engine delivers all.
    DELIVER = True

    def __init__(self, sim, stdp=None, scaling=None, record_every: int = 0, rstdp=None,
                 initial_baseline: float = 0.0):
        from encephagen.plasticity.homeostasis import ScalingParams
        from encephagen.plasticity.rstdp import RSTDPParams
        from encephagen.plasticity.stdp import STDPParams

        if stdp is None and scaling is None:
            raise ValueError("plasticity: give stdp and/or scaling parameters")
        if rstdp is not None and not isinstance(rstdp, RSTDPParams):
            raise TypeError("plasticity 'rstdp' must be an RSTDPParams")
        if rstdp is not None and stdp is None:
            raise ValueError("plasticity: reward-modulated STDP ('rstdp') needs 'stdp' parameters for its pair window")
        self.rstdp = rstdp
        if stdp is not None and not isinstance(stdp, STDPParams):
            raise TypeError("plasticity 'stdp' must be an STDPParams")
        if scaling is not None and not isinstance(scaling, ScalingParams):
            raise TypeError("plasticity 'scaling' must be a ScalingParams")
        self.sim, self.stdp, self.scaling = sim, stdp, scaling
        dev = self.device = sim.device
        N = sim.N
        q, pre, post, d, net_of, self.local = ee_synapses(sim)
        cat = lambda x: torch.as_tensor(x, device=dev)  # noqa: E731
        self.q, self.pre, self.post, self.d, self.net_of = cat(q), cat(pre), cat(post), cat(d), cat(net_of)
        self.P = int(self.q.numel())
        if self.P == 0:
            raise ValueError("plasticity: the batch has no excitatory -> excitatory synapses")
        self._w = sim.weight[self.q].to(torch.float64)
        # the engine's weights, written during a block without the property (which would deliver a
        # fused block's pending spikes before this block's plasticity is done)
        self._w32 = sim.weight.numpy() if sim.backend == "numba" else None
        self.w0 = self._w.clone()
        if stdp is not None and bool((self._w > stdp.w_max).any()):
            raise ValueError(f"stdp parameter 'w_max' = {stdp.w_max}: below the largest initial E->E weight "
                             f"{float(self._w.max()):.6g} (weights are current jumps in mV: J tau_m / tau_e)")
        rng = torch.arange(N + 1, device=dev)
        self.out_ptr = torch.searchsorted(self.pre, rng)                 # q is sorted by source
        self.in_perm = torch.argsort(self.post, stable=True)
        self.in_ptr = torch.searchsorted(self.post[self.in_perm], rng)
        self.dmin, self.dmax = int(self.d.min()), int(self.d.max())
        if self.dmin < sim.K:
            raise AssertionError("a plastic delay is shorter than the engine's block")  # K <= every delay
        self.Sy = self.dmax + sim.K
        f64 = torch.float64
        if stdp is not None:
            self.decay_plus = math.exp(-sim.dt / stdp.tau_plus)
            self.decay_minus = math.exp(-sim.dt / stdp.tau_minus)
            self.nearest = stdp.pairing == "nearest"
            # one trace per neuron serves as pre and post trace when the two windows are equal
            self.same_trace = self.decay_plus == self.decay_minus
            self.x = torch.zeros(N, dtype=f64, device=dev)
            self.y = self.x if self.same_trace else torch.zeros(N, dtype=f64, device=dev)
            self.ring_x = torch.zeros((self.Sy, N), dtype=f64, device=dev)   # trace at each recent step
            self.ring_y = self.ring_x if self.same_trace else torch.zeros((self.Sy, N), dtype=f64, device=dev)
            self._post_hist: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (last step, steps, neurons)
        if scaling is not None:
            self.s_decay = math.exp(-sim.dt / scaling.tau)
            self.s_gain = (1.0 - self.s_decay) * 1000.0 / sim.dt
            self.rate = torch.full((N,), float(scaling.target_rate), dtype=f64, device=dev)
        if rstdp is not None:
            self.decay_c = math.exp(-sim.dt / rstdp.tau_c)
            self.a_plus = stdp.lam * stdp.w_max
            self.a_minus = stdp.alpha * stdp.lam * stdp.w_max
            self._c = torch.zeros(self.P, dtype=f64, device=dev)                      # eligibility per synapse
            self.baseline = torch.full((sim.B,), float(initial_baseline), dtype=f64, device=dev)
            self.rewards: list[tuple[int, np.ndarray, np.ndarray]] = []             # (step, r, delta) per reward
        self._nb = sim.backend == "numba"
        # numba R-STDP: eligibility decayed at a synapse's events only (LAZY_ELIGIBILITY; to rounding)
        self._lazy_c = self._nb and rstdp is not None and self.LAZY_ELIGIBILITY
        if self._nb and stdp is not None and rstdp is not None:   # numpy views for the compiled R-STDP kernel
            self._nb_args = (self._w.numpy(), sim.weight.numpy(), self.q.numpy(), self.pre.numpy(), self.post.numpy(),
                             self.d.numpy(), self.out_ptr.numpy(), self.in_ptr.numpy(), self.in_perm.numpy(),
                             self.ring_x.numpy(), self.ring_y.numpy())
            self._out_cnt = (self.out_ptr[1:] - self.out_ptr[:-1]).numpy()
            if self._lazy_c:
                self._tc = np.full(self.P, -1, np.int64)       # step of each synapse's last update
                self._pw = self.decay_c ** np.arange(65536, dtype=np.float64)
        # potentiation on demand on numba, without scaling (its full update every ``interval`` steps
        # would flush every synapse that often: slower than per-event potentiation, same weights)
        self._lazy = self._nb and stdp is not None and rstdp is None and scaling is None and self.LAZY
        self._rows = bool(self.LAZY_ROWS)
        if self._nb and stdp is not None and rstdp is None:   # the by-target index of _plastic_kernels, built once
            self._nb_index(q, pre, post, d, N)
        # the numba block's short path (_block_nb): the rows kernel keeping the post trace as one vector
        self._lz_fast = self._lazy and self._rows and bool(self._lz_lag[2])
        if scaling is not None:   # with STDP a scaled weight stays inside STDP's bounds [0, w_max]
            self._scale_cap = float(scaling.w_max) if stdp is None else min(float(scaling.w_max), float(stdp.w_max))
        self.t = sim.t
        self.record_every = int(record_every)
        self.records: dict[str, list] = {"step": [], "mean": [], "sd": [], "min": [], "max": []}
        self._count = torch.bincount(self.net_of, minlength=sim.B).to(f64)
        self.n_events = 0

    def _nb_index(self, q, pre, post, d, N):
        """numba STDP: int32 copies of the source-ordered synapse arrays (depression reads them
        sequentially), the by-target index in delay groups (potentiation), the postsynaptic spike
        history and scratch buffers (no allocation per block)."""
        from encephagen.spiking._plastic_kernels import target_index

        i32 = lambda a, n: np.ascontiguousarray(a, np.int32 if n < 2**31 - 1 else np.int64)  # noqa: E731
        order, self._gptr, self._glo, self._gd, self._has_in = target_index(post, d, N)
        self._kargs = (self._glo, i32(order, self.P), i32(pre[order], N), self._w.numpy(), self.sim.weight.numpy(),
                       i32(q, self.sim.weight.numel()), i32(post, N), i32(d, self.Sy), self.out_ptr.numpy(),
                       self.ring_x.numpy(), self.ring_y.numpy())
        self._hist_t = np.zeros(1024, np.int64)
        self._hist_j = np.zeros(1024, np.int64)
        self._h = 0
        self._cnt = np.zeros(self.sim.K + 1, np.int64)
        self._gev = np.zeros(1024, np.int64)
        # potentiation on demand (_plastic_kernels.stdp_lazy): per presynaptic neuron the step up to
        # which its synapses are potentiated and its trace anchor; the postsynaptic history
        K, H = self.sim.K, self.LAZY_HORIZON
        self._lz_tflush = np.full(N, -1, np.int64)
        self._lz_tx = np.zeros(N, np.int64)
        self._lz_xv = np.zeros(N, np.float64)
        self._lz_chain = np.zeros(2 * H + 2 * K + 2, np.float64)
        self._lz_buf = np.zeros(2 * H + 2 * K + self.dmax + 2, np.int64)
        self._lz_t = np.zeros(1024, np.int64)
        self._lz_prev = np.zeros(1024, np.int64)
        self._lz_last = np.full(N, -1, np.int64)
        self._lz_recent = np.full((N, 4), -2**30, np.int32)   # steps < 2**31 (checked per block)
        self._lz_h = 0
        self._lz_base = 0
        self._lz_out = (self.sim.weight.numpy(), i32(q, self.sim.weight.numel()), i32(post, N), i32(d, self.Sy),
                        self.out_ptr.numpy())
        # stdp_lazy_rows: gang chains, per-row scratch, the post as unsigned, the neuron of each history
        # entry; with one delay for every plastic synapse the post trace as one vector at t - d
        from encephagen.spiking._plastic_kernels import GANG

        pu = self._lz_out[2]
        self._lz_postu = pu.view(np.uint32 if pu.dtype == np.int32 else np.uint64)
        self._lz_gchain = np.zeros(GANG * (2 * H + 2 * K + 3), np.float64)
        rows = int(np.diff(self.out_ptr.numpy()).max()) if N else 1
        self._lz_scratch = np.zeros((8, max(rows, GANG)), np.float64)
        self._lz_mask = np.zeros((1, max(rows, 1)), np.uint8)
        self._lz_gidx = np.zeros((4, GANG), np.int64)
        self._lz_hj = np.zeros(self._lz_t.size, np.int64)
        self._lz_yl = np.zeros(N, np.float64)
        self._lz_args = None              # stdp_lazy_rows' fixed arguments (_lz_rows_args)
        # per presynaptic neuron: 1 while the engine's float32 copies of its plastic synapses are
        # current; 0 after a spike the delivering kernel did not write them for (sync_weights)
        self._lz_wsync = np.ones(N, np.uint8)
        uniform = self.dmin == self.dmax
        self._ring = self.sim._buf.view(-1).numpy()   # the engine's ring (delivered_synapses)
        self._lz_lag = np.array([self.sim.t, 0, int(uniform), self.dmin, int(post.min()), int(post.max()) + 1],
                                np.int64)
        # per presynaptic neuron: the delay of all its plastic synapses, the engine index of the first
        # when they are consecutive in the engine (-1 where not): depression's fast path
        ptr = self.out_ptr.numpy()
        a, b = ptr[:-1], ptr[1:]
        has = b > a
        self._lz_dsrc = np.full(N, -1, np.int64)
        self._lz_qsrc = np.full(N, -1, np.int64)
        if has.any():
            dmn = np.minimum.reduceat(d, a[has])
            dmx = np.maximum.reduceat(d, a[has])
            self._lz_dsrc[has] = np.where(dmn == dmx, dmn, -1)
            cons = (q[b[has] - 1] - q[a[has]]) == (b[has] - a[has] - 1)   # q ascends within a row
            self._lz_qsrc[has] = np.where(cons, q[a[has]], -1)

    def delivered_synapses(self):
        """The engine indices of the synapses this rule delivers itself (numba STDP on demand with
        ``stdp_lazy_rows``), or None (the engine delivers every synapse). Asked by the engine when the
        rule is attached (``LIFBatch.plasticity``)."""
        if self._lazy and self._rows and self.DELIVER:
            return self.q.numpy()
        return None

    def _lz_state(self):
        return (self._lz_tflush, self._lz_tx, self._lz_xv, self._lz_chain, self._lz_buf, self._lz_recent, self._lz_t,
                self._lz_prev, self._lz_last, self._lz_base, self._w.numpy())

    def _lz_flush(self, T, older_than):
        """Pending potentiation up to step T of the presynaptic neurons last updated before
        ``older_than`` (``_plastic_kernels.flush_rows`` with ``LAZY_ROWS``, else ``flush_ltp``)."""
        from encephagen.spiking._plastic_kernels import flush_ltp

        wt, qq, post, d, out_ptr = self._lz_out
        q = self.stdp
        if self._rows:
            from encephagen.spiking._plastic_kernels import flush_rows

            st = self._lz_state()
            self.n_events += int(flush_rows(T, older_than, st[0], st[1], st[2], st[3], self._lz_gchain, *st[4:], post,
                                            self._lz_postu, d, out_ptr, self._lz_dsrc, self._lz_yl, self._lz_scratch,
                                            self._lz_mask, self._lz_gidx, wt, qq, self._lz_wsync, self.decay_plus,
                                            q.lam, q.mu_plus, q.w_max))
            return
        self.n_events += int(flush_ltp(T, older_than, *self._lz_state(), post, d, out_ptr, self.decay_plus, q.lam,
                                       q.mu_plus, q.w_max))

    def sync_weights(self) -> None:
        """Bring the engine's float32 copies of the plastic weights (``sim.weight[q]``) up to date: the
        kernel delivering its own synapses (``stdp_lazy_rows``) does not write them at each spike
        (nothing reads them meanwhile; session 12). Called by the engine before the weights are read
        from outside or the rule is detached; each copy is the weight transmitted at the synapse's last
        presynaptic spike, the same bits as written there."""
        if self._lazy and self._rows:
            from encephagen.spiking._plastic_kernels import sync_weights

            wt, qq, post, d, out_ptr = self._lz_out
            sync_weights(self._lz_wsync, self._w.numpy(), wt, qq, out_ptr)

    def _flush(self):
        """Bring every plastic weight up to date (the numba STDP path potentiates on demand)."""
        if self._lazy and self.t > 0:
            self._lz_flush(self.t - 1, self.t)

    @property
    def c(self) -> torch.Tensor:
        """R-STDP's eligibility per plastic synapse, decayed up to the current step."""
        if self._lazy_c and self.t > 0:
            from encephagen.spiking._plastic_kernels import rstdp_decay_to

            rstdp_decay_to(self._c.numpy(), self._tc, self.t - 1, self._pw, self.decay_c)
        return self._c

    @property
    def w(self) -> torch.Tensor:
        """The plastic weights (float64, engine weight unit), up to date at the current step."""
        self._flush()
        return self._w

    def _lz_block_end(self, t0, K, sk, si, m):
        """After a block: its postsynaptic spikes into the history; every ``LAZY_HORIZON`` steps the
        synapses not updated for that long are potentiated and the history older than needed dropped."""
        from encephagen.spiking._plastic_kernels import add_post_spikes

        n = self._lz_h - self._lz_base
        if n + m > self._lz_t.size:
            self._lz_t = np.resize(self._lz_t, 2 * (n + m))
            self._lz_prev = np.resize(self._lz_prev, 2 * (n + m))
            self._lz_hj = np.resize(self._lz_hj, 2 * (n + m))
            self._lz_args = None          # stdp_lazy_rows' cached arguments hold the old arrays
        self._lz_h = add_post_spikes(self._lz_recent, self._lz_t, self._lz_prev, self._lz_hj, self._lz_last,
                                     self._lz_h, self._lz_base, sk, si, m, t0, self._has_in)
        if t0 + K >= 2**31 - 1:
            raise OverflowError("plasticity: the numba STDP path keeps spike steps as int32 (runs < 2**31 steps)")
        H = self.LAZY_HORIZON
        if (t0 + K) // H > t0 // H:
            T = t0 + K - 1
            self._lz_flush(T, T - H)            # now every synapse is potentiated up to T - H or later
            n = self._lz_h - self._lz_base
            cut = int(np.searchsorted(self._lz_t[:n], T - H - self.dmax, side="left"))
            if self._rows and self._lz_lag[2]:   # never past the post trace's next entry
                cut = min(cut, int(self._lz_lag[1]) - self._lz_base)
            if cut:
                self._lz_t[:n - cut] = self._lz_t[cut:n]
                self._lz_prev[:n - cut] = self._lz_prev[cut:n]
                self._lz_hj[:n - cut] = self._lz_hj[cut:n]
                self._lz_base += cut

    def _lz_rows_args(self):
        """``stdp_lazy_rows``' arguments that do not change from block to block, in four groups (the
        history's base, its count and the delivery flag go between them), built once: a block's call
        then costs the kernel's dispatch, not ~4 us of attribute look-ups and torch -> numpy views per
        block (session 12). Rebuilt after the postsynaptic history's arrays grow (``_lz_block_end``)."""
        wt, qq, post, d, out_ptr = self._lz_out
        q = self.stdp
        self._lz_args = ((self._lz_tflush, self._lz_tx, self._lz_xv, self._lz_gchain, self._lz_buf, self._lz_recent,
                          self._lz_t, self._lz_prev, self._lz_last),
                         (self._w.numpy(), wt, qq, post, self._lz_postu, d, out_ptr, self.ring_y.numpy(), self._lz_dsrc,
                          self._lz_qsrc, self._lz_yl, self._lz_lag, self._lz_hj),
                         (self._lz_scratch, self._lz_mask, self._lz_gidx, self._ring, self._lz_wsync),
                         (self.decay_plus, self.decay_minus, self.nearest, q.lam, q.alpha, q.mu_plus, q.mu_minus,
                          q.w_max))
        return self._lz_args

    def _nb_lazy(self, t0, ka, kb, sk, si, m):
        """numba STDP of the presynaptic spikes of steps ka..kb-1 (``_plastic_kernels.stdp_lazy``)."""
        if self._rows:
            from encephagen.spiking._plastic_kernels import stdp_lazy_rows

            A, B, C, D = self._lz_args or self._lz_rows_args()
            n1, n2 = stdp_lazy_rows(t0, ka, kb, sk, si, m, *A, self._lz_base, *B, self._lz_h, *C,
                                    self.sim._plasticity is self and self.sim.rule_delivers, *D)
            self.n_events += n1 + n2
            return
        from encephagen.spiking._plastic_kernels import stdp_lazy

        wt, qq, post, d, out_ptr = self._lz_out
        q = self.stdp
        n1, n2 = stdp_lazy(t0, ka, kb, sk, si, m, *self._lz_state(), wt, qq, post, d, out_ptr, self.ring_y.numpy(),
                           self._lz_dsrc, self._lz_qsrc, self.decay_plus, self.nearest, q.lam, q.alpha, q.mu_plus,
                           q.mu_minus, q.w_max)
        self.n_events += int(n1) + int(n2)

    def _nb_stdp(self, t0, ka, kb, sk, si, m):
        """numba STDP of steps ka..kb-1 of the block (``_plastic_kernels.ltp_groups``, ``stdp_events``)."""
        from encephagen.spiking._plastic_kernels import ltp_groups, stdp_events

        q = self.stdp
        while True:
            n = ltp_groups(self._hist_t, self._hist_j, self._h, self._gptr, self._gd, t0, ka, kb, self.dmin, self.dmax,
                           self._cnt, self._gev)
            if n >= 0:
                break
            self._gev = np.zeros(2 * int(self._cnt[kb - ka]), np.int64)
        n1, n2 = stdp_events(t0, ka, kb, sk, si, m, self._cnt, self._gev, *self._kargs, q.lam, q.alpha, q.mu_plus,
                             q.mu_minus, q.w_max)
        self.n_events += int(n1) + int(n2)

    def _block_nb(self, t0, K, kk, ii):
        """The numba backend's block: compiled kernels on the block's spike list (no raster)."""
        from encephagen.spiking import _plastic_kernels as pk

        sk, si = kk.numpy(), ii.numpy()
        m = si.size
        if self._lz_fast:   # STDP on demand, one plastic delay, no scaling: the kernel and the history only
            self._nb_lazy(t0, 0, K, sk, si, m)
            self._lz_block_end(t0, K, sk, si, m)
            self.t = t0 + K
            if self.record_every and (self.t // self.record_every) > (t0 // self.record_every):
                self._record()
            return
        sim = self.sim
        stdp = self.stdp is not None
        # the on-demand path recomputes the presynaptic trace; with one plastic delay its rows kernel
        # keeps the post trace as one vector (no ring)
        lag = self._lazy and self._rows and bool(self._lz_lag[2])
        if stdp and not lag:
            if not (self._lazy and not self.same_trace):
                pk.trace_spikes(self.x.numpy(), self.ring_x.numpy(), t0, 0, K, sk, si, m, self.decay_plus,
                                self.nearest)
            if not self.same_trace:
                pk.trace_spikes(self.y.numpy(), self.ring_y.numpy(), t0, 0, K, sk, si, m, self.decay_minus,
                                self.nearest)
            if self.rstdp is not None:
                self._nb_prepare(t0, kk, ii)
        if self.rstdp is not None:
            run = lambda a, b: self._nb_apply(t0, a, b)   # noqa: E731
        elif self._lazy:
            run = lambda a, b: self._nb_lazy(t0, a, b, sk, si, m)   # noqa: E731
        else:
            run = lambda a, b: self._nb_stdp(t0, a, b, sk, si, m)   # noqa: E731
        if self.scaling is None:
            run(0, K)
        else:
            s = self.scaling
            a = 0
            for k in range(K):
                if (t0 + k + 1) % s.interval == 0 or k == K - 1:
                    pk.sensor_spikes(self.rate.numpy(), a, k + 1, sk, si, m, self.s_decay, self.s_gain)
                    if stdp:   # STDP of steps a..k, then scaling at the end of k
                        run(a, k + 1)
                    a = k + 1
                    if (t0 + k + 1) % s.interval == 0:
                        from encephagen.spiking._numba_kernels import scale_block

                        if self._lazy:    # scaling acts on the weights after all STDP up to now
                            self._lz_flush(t0 + k, t0 + k + 1)
                        f = scaling_factor(self.rate, s.beta, s.target_rate, s.interval * sim.dt)
                        scale_block(self._w.numpy(), self._w32, self.q.numpy(), self.post.numpy(),
                                    f.numpy(), self._scale_cap)
        if stdp and self.rstdp is not None:
            if ii.numel():
                self._post_hist.append((t0 + K - 1, kk + t0, ii))
        elif stdp and self._lazy:
            self._lz_block_end(t0, K, sk, si, m)
        elif stdp:
            if self._h + m > self._hist_t.size:
                cap = 2 * (self._h + m)
                self._hist_t = np.resize(self._hist_t, cap)
                self._hist_j = np.resize(self._hist_j, cap)
            self._h = pk.keep_post_spikes(self._hist_t, self._hist_j, self._h, sk, si, m, t0, t0 + K - self.dmax,
                                          self._has_in)
        self.t = t0 + K
        if self.record_every and (self.t // self.record_every) > ((t0) // self.record_every):
            self._record()

    # ------------------------------------------------------------------ per block
    def block(self, t0: int, K: int, kk: torch.Tensor, ii: torch.Tensor) -> None:
        """Apply the plasticity of steps t0..t0+K-1 given the block's spikes (step in block, neuron)."""
        if t0 != self.t:
            raise RuntimeError(f"plasticity is at step {self.t}, the engine at {t0}")
        if self._nb:
            return self._block_nb(t0, K, kk.cpu(), ii.cpu())
        sim, dev = self.sim, self.device
        kk = kk.to(dev)
        ii = ii.to(dev)
        raster = torch.zeros((K, sim.N), dtype=torch.bool, device=dev)
        if ii.numel():
            raster[kk, ii] = True
        if self.stdp is not None:
            self._traces(t0, K, raster)
            ltp_p, ltp_k = self._ltp_events(t0, K)
            ltd_p, ltd_k = self._ltd_events(kk, ii)
            self.n_events += int(ltp_p.numel() + ltd_p.numel())
        if self.scaling is None:
            if self.stdp is not None:
                self._apply(t0, ltp_p, ltp_k, ltd_p, ltd_k, 0, K)
        else:
            s = self.scaling
            refresh = False
            a = 0
            for k in range(K):
                self.rate = rate_step(self.rate, raster[k].to(torch.float64), self.s_decay, self.s_gain)
                if (t0 + k + 1) % s.interval == 0 or k == K - 1:
                    if self.stdp is not None:   # STDP of steps a..k, then scaling at the end of k
                        m1 = (ltp_k >= a) & (ltp_k <= k)
                        m2 = (ltd_k >= a) & (ltd_k <= k)
                        self._apply(t0, ltp_p[m1], ltp_k[m1], ltd_p[m2], ltd_k[m2], a, k + 1)
                    a = k + 1
                    if (t0 + k + 1) % s.interval == 0:
                        f = scaling_factor(self.rate, s.beta, s.target_rate, s.interval * sim.dt)
                        self._w.copy_(scale_weight(self._w, f[self.post], self._scale_cap))
                        refresh = True
            if refresh:
                sim.weight[self.q] = self._w.to(sim.weight.dtype)
        if self.stdp is not None and ii.numel():
            self._post_hist.append((t0 + K - 1, kk + t0, ii))
        self.t = t0 + K
        if self.record_every and (self.t // self.record_every) > ((t0) // self.record_every):
            self._record()

    def _nb_prepare(self, t0, kk, ii):
        """numba backend: the arrays the compiled event kernel reads for this block."""
        lo = t0 - self.dmax
        self._post_hist = [e for e in self._post_hist if e[0] >= lo]
        if self._post_hist:
            pt = torch.cat([e[1] for e in self._post_hist]).numpy()
            pj = torch.cat([e[2] for e in self._post_hist]).numpy()
        else:
            pt = pj = np.zeros(0, np.int64)
        self._blk = (kk.numpy(), ii.numpy(), int(ii.numel()), pt, pj)

    def _nb_apply(self, t0, ka, kb):
        """numba R-STDP eligibility of steps ka..kb-1 (``_plastic_kernels.rstdp_block``)."""
        from encephagen.spiking._plastic_kernels import rstdp_block

        sk, si, m, pt, pj = self._blk
        a = self._nb_args
        if self._lazy_c:
            from encephagen.spiking._plastic_kernels import rstdp_events

            n_ltp = rstdp_events(t0, ka, kb, sk, si, m, pt, pj, self._c.numpy(), self._tc, self._pw, a[3], a[4], a[5],
                                 a[6], a[7], a[8], a[9], a[10], self.decay_c, self.a_plus, self.a_minus)
        else:
            n_ltp = rstdp_block(t0, ka, kb, sk, si, m, pt, pj, self._c.numpy(), a[3], a[4], a[5], a[6], a[7], a[8],
                                a[9], a[10], self.decay_c, self.a_plus, self.a_minus)
        lo = np.searchsorted(sk[:m], ka)
        hi = np.searchsorted(sk[:m], kb)
        self.n_events += int(n_ltp) + int((self._out_cnt[si[lo:hi]]).sum()) if hi > lo else int(n_ltp)

    def _traces(self, t0, K, raster):
        """Traces at each step of the block (spikes strictly before the step) into the rings."""
        pairs = [(self.x, self.ring_x, self.decay_plus)]
        if not self.same_trace:
            pairs.append((self.y, self.ring_y, self.decay_minus))
        out = []
        for x, ring, dec in pairs:
            for k in range(K):
                ring[(t0 + k) % self.Sy] = x
                x = trace_step(x, raster[k], dec, self.nearest)
            out.append(x)
        self.x = out[0]
        self.y = self.x if self.same_trace else out[1]

    def _apply(self, t0, ltp_p, ltp_k, ltd_p, ltd_k, ka=0, kb=None):
        if self.rstdp is not None:
            return self._apply_eligibility(t0, ltp_p, ltp_k, ltd_p, ltd_k, ka, self.sim.K if kb is None else kb)
        return self._apply_stdp(t0, ltp_p, ltp_k, ltd_p, ltd_k)

    def _apply_eligibility(self, t0, ltp_p, ltp_k, ltd_p, ltd_k, ka, kb):
        """R-STDP eligibility over steps ka..kb-1 of a block, step by step as the stand-alone rule:
        decay every trace, add the LTP term, subtract the LTD term (at most one of each per synapse
        and step)."""
        for k in range(ka, kb):
            self._c.mul_(self.decay_c)
            m1 = ltp_k == k
            if bool(m1.any()):
                pp = ltp_p[m1]
                self._c[pp] = self._c[pp] + self.a_plus * self.ring_x[(t0 + k) % self.Sy, self.pre[pp]]
            m2 = ltd_k == k
            if bool(m2.any()):
                pp = ltd_p[m2]
                yv = self.ring_y[(t0 + k - self.d[pp]) % self.Sy, self.post[pp]]
                self._c[pp] = self._c[pp] - self.a_minus * yv

    def reward(self, r) -> np.ndarray:
        """Deliver reward ``r`` (scalar or one value per network of the batch) now, at a block
        boundary: ``delta = r - b`` (``r`` without the baseline), ``w <- clip(w + eta delta c, 0,
        Wmax)`` on every plastic synapse of each network, ``b <- b + (r - b) / n_baseline``; the
        transmitted weights follow. Returns ``delta`` (B,)."""
        if self.rstdp is None:
            raise RuntimeError("plasticity: reward() needs reward-modulated STDP (enable_plasticity(rstdp=...))")
        if self.t != self.sim.t:
            raise RuntimeError(f"plasticity is at step {self.t}, the engine at {self.sim.t}")
        B, q = self.sim.B, self.rstdp
        r = torch.as_tensor(np.asarray(r, np.float64), device=self.device).expand(B)
        if not bool(torch.isfinite(r).all()):
            raise ValueError(f"rstdp reward must be finite, got {r.tolist()}")
        delta = r - self.baseline if q.baseline else r.clone()
        upd = self._w + (q.eta * delta)[self.net_of] * self.c
        self._w.copy_(upd.clamp(0.0, self.stdp.w_max))
        self.sim.weight[self.q] = self._w.to(self.sim.weight.dtype)
        self.baseline += (r - self.baseline) / q.n_baseline
        out = delta.cpu().numpy()
        self.rewards.append((self.t, r.cpu().numpy().copy(), out.copy()))
        return out

    def _apply_stdp(self, t0, ltp_p, ltp_k, ltd_p, ltd_k):
        """STDP events of (part of) a block, in time order per synapse (LTP before LTD in a step).

        Synapses are independent, so the events are applied in rounds: round r applies every
        synapse's r-th event at once (one per synapse and round: the same arithmetic per synapse
        as a step-by-step loop). A synapse rarely has more than one event per block."""
        n1 = ltp_p.numel()
        if n1 + ltd_p.numel() == 0:
            return
        q, sim, K2 = self.stdp, self.sim, 2 * (self.sim.K + 1)
        p = torch.cat([ltp_p, ltd_p])
        k = torch.cat([ltp_k, ltd_k])
        is_ltd = torch.arange(p.numel(), device=self.device) >= n1
        order = torch.argsort(p * K2 + 2 * k + is_ltd.to(torch.int64))
        p, k, is_ltd = p[order], k[order], is_ltd[order]
        new = torch.ones_like(p, dtype=torch.bool)
        new[1:] = p[1:] != p[:-1]
        pos = torch.arange(p.numel(), device=self.device)
        first = torch.cummax(torch.where(new, pos, 0), 0).values
        rank = pos - first
        for r in range(int(rank.max()) + 1):
            sel = rank == r if r else new
            up = sel & ~is_ltd
            if bool(up.any()):
                pp = p[up]
                self._w[pp] = stdp_facilitate(self._w[pp], self.ring_x[(t0 + k[up]) % self.Sy, self.pre[pp]],
                                             q.lam, q.mu_plus, q.w_max)
            dn = sel & is_ltd
            if bool(dn.any()):
                pp = p[dn]
                yv = self.ring_y[(t0 + k[dn] - self.d[pp]) % self.Sy, self.post[pp]]
                wp = stdp_depress(self._w[pp], yv, q.lam, q.alpha, q.mu_minus, q.w_max)
                self._w[pp] = wp
                sim.weight[self.q[pp]] = wp.to(sim.weight.dtype)   # transmitted with its own update

    def _expand(self, ptr, nodes):
        start = ptr[nodes]
        cnt = ptr[nodes + 1] - start
        total = int(cnt.sum())
        if total == 0:
            z = torch.zeros(0, dtype=torch.int64, device=self.device)
            return z, z
        rep = torch.repeat_interleave(torch.arange(nodes.numel(), device=self.device), cnt)
        excl = torch.cumsum(cnt, 0) - cnt
        idx = start[rep] + torch.arange(total, device=self.device) - excl[rep]
        return idx, rep

    def _ltd_events(self, kk, ii):
        """(plastic synapse, step in block) for every presynaptic spike of the block."""
        idx, rep = self._expand(self.out_ptr, ii)
        return idx, kk[rep]

    def _ltp_events(self, t0, K):
        """(plastic synapse, step in block) for postsynaptic spikes arriving at a synapse in the block."""
        lo = t0 - self.dmax
        self._post_hist = [e for e in self._post_hist if e[0] >= lo]
        if not self._post_hist:
            z = torch.zeros(0, dtype=torch.int64, device=self.device)
            return z, z
        tp = torch.cat([e[1] for e in self._post_hist])
        j = torch.cat([e[2] for e in self._post_hist])
        keep = (tp >= lo) & (tp < t0 + K - self.dmin)
        tp, j = tp[keep], j[keep]
        pos, rep = self._expand(self.in_ptr, j)
        p = self.in_perm[pos]
        ta = tp[rep] + self.d[p]
        inb = (ta >= t0) & (ta < t0 + K)
        return p[inb], ta[inb] - t0

    # ------------------------------------------------------------------ outputs
    def _record(self):
        self._flush()
        B = self.sim.B
        s = torch.zeros(B, dtype=torch.float64, device=self.device).index_add_(0, self.net_of, self._w)
        s2 = torch.zeros(B, dtype=torch.float64, device=self.device).index_add_(0, self.net_of, self._w * self._w)
        mean = s / self._count
        sd = torch.sqrt(torch.clamp(s2 / self._count - mean * mean, min=0.0))
        mn = torch.full((B,), math.inf, dtype=torch.float64, device=self.device).scatter_reduce(
            0, self.net_of, self._w, "amin")
        mx = torch.full((B,), -math.inf, dtype=torch.float64, device=self.device).scatter_reduce(
            0, self.net_of, self._w, "amax")
        self.records["step"].append(self.t)
        for k, v in (("mean", mean), ("sd", sd), ("min", mn), ("max", mx)):
            self.records[k].append(v.cpu().numpy())

    def trajectory(self) -> dict[str, np.ndarray]:
        """Recorded weight statistics: ``step`` (n_records,), ``mean``/``sd``/``min``/``max``
        (n_records, B) of each network's plastic weights (engine weight unit)."""
        out = {"step": np.asarray(self.records["step"], np.int64)}
        for k in ("mean", "sd", "min", "max"):
            v = self.records[k]
            out[k] = np.stack(v) if v else np.zeros((0, self.sim.B))
        return out

    def weights(self, b: int) -> dict[str, np.ndarray]:
        """Network ``b``'s plastic synapses: ``index`` into its synapse arrays (LIFNetwork order),
        ``source``/``target`` (neurons of the network), ``initial`` and ``final`` weights (float64)."""
        self._flush()
        sel = (self.net_of == b).nonzero().squeeze(1)
        n = self.sim.n
        return {"index": self.local[b], "source": (self.pre[sel] - b * n).cpu().numpy(),
                "target": (self.post[sel] - b * n).cpu().numpy(),
                "initial": self.w0[sel].cpu().numpy(), "final": self._w[sel].cpu().numpy()}

    @property
    def sensor_rate(self) -> np.ndarray | None:
        """Scaling's rate sensor (Hz) per neuron of the batch, or None without scaling."""
        return None if self.scaling is None else self.rate.cpu().numpy()


def enable(sim, stdp=None, scaling=None, rstdp=None, record_every: int = 0, initial_baseline: float = 0.0):
    """:meth:`LIFBatch.enable_plasticity` with reward-modulated STDP as well: the same memory
    check (through the engine's method, whose synapses are then replaced by these), returns the
    :class:`PlasticSynapses` attached to ``sim``."""
    if rstdp is None:
        return sim.enable_plasticity(stdp=stdp, scaling=scaling, record_every=record_every)
    sim.plasticity = PlasticSynapses(sim, stdp=stdp, scaling=scaling, record_every=record_every, rstdp=rstdp,
                                     initial_baseline=initial_baseline)
    return sim.plasticity
