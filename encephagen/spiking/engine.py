"""Batched event-driven simulation of LIF networks (torch on CPU or CUDA; numba on CPU).

Algorithm (identical in both backends)
--------------------------------------
All networks of a batch are laid side by side in one index space (network b's neuron i is
``b * n + i``); synapses form one CSR by source. Time advances in blocks of ``K`` steps, where
``K`` is the shortest synaptic delay (in steps): a spike emitted inside a block reaches its
targets no earlier than the next block, so within a block every neuron evolves independently.
Per step and neuron (exact integration of the linear subthreshold dynamics, float32), the
update :func:`encephagen.spiking.update.lif_step`, written once for both backends:

    if refractory: v' = v_reset
    else:          v' = P22 v + P21e I_e + P21i I_i [+ P21n I_n] + (1 - P22) bias
    I_e' = P11e I_e + ring[slot, E] + count * w_ext     (count ~ Poisson(rate * dt))
    I_i' = P11i I_i + ring[slot, I]
    [I_n' = P11n I_n + nmda_scale * ring[slot, E]]
    spike if v' >= theta: v' = v_reset, refractory for round(t_ref / dt) steps

After a block, the spikes' outgoing rows are scatter-added into the ring buffer at slot
``(t_spike + delay) mod S`` (S = max delay + K). Poisson counts come from the counter-based
generator of :mod:`encephagen.spiking.rng` (a pure function of network seed, neuron, step).

Backends: ``torch`` (any device; calls ``lif_step`` on tensors) and ``numba`` (CPU only; the
same ``lif_step`` compiled; identical spikes, checked in tests/test_spiking_backends.py).
``auto`` = numba on CPU, torch on CUDA. The numba path fuses a block: one compiled call per
thread's partition of the neurons delivers the PREVIOUS block's spikes onto them, advances them
and lists their spikes (``_numba_kernels.block_part``; the calling thread and persistent helper
threads run the partitions, :class:`_Team`); ``buf``/``weight``/``plasticity`` are properties that
deliver the pending spikes first (:meth:`LIFBatch.flush`). With plasticity, blocks are not fused
(unless the rule sets ``FUSED_BLOCKS``: it then runs between the launches). A rule may deliver its
own synapses as it updates them (``delivered_synapses``; :meth:`LIFBatch._split_delivery`): the
engine then delivers the others, from uniform rows.
"""
from __future__ import annotations

import _thread
import logging
import math
import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import torch

from encephagen.spiking.network import LIFNetwork
from encephagen.spiking.rng import count4, draws_torch, neuron_keys, poisson_threshold_table
from encephagen.spiking.update import lif_step

log = logging.getLogger(__name__)


class SpikingMemoryError(MemoryError):
    """The requested batch would not fit; the message names the estimate and the limit."""


def _p21(tau_m: np.ndarray, tau_s: float, dt: float) -> np.ndarray:
    """Exact propagator from a synaptic current (tau_s) to the membrane (tau_m) over dt."""
    tau_m = np.asarray(tau_m, dtype=np.float64)
    out = np.empty_like(tau_m)
    same = np.isclose(tau_m, tau_s, rtol=1e-9)
    tm = tau_m[~same]
    out[~same] = tau_s / (tau_s - tm) * (np.exp(-dt / tau_s) - np.exp(-dt / tm))
    out[same] = dt / tau_m[same] * np.exp(-dt / tau_m[same])
    return out


def available_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))


def estimate_memory_bytes(n_total: int, nnz_total: int, n_slots: int, block: int, n_networks: int,
                          n_regions: int, n_bins: int, backend: str, kmax: int = 16) -> int:
    """Bytes the simulation allocates on its device (plus host-side monitor traces)."""
    syn = nnz_total * (8 + 4 + 4)                 # code int64 + weight f32 + delay i32
    if backend != "torch":
        syn += nnz_total * (4 if n_slots * 2 * n_total < 2**31 - 1 else 8)  # delivery offsets
        syn += nnz_total * 2                      # uniform rows' 2-byte target offsets (when the rows qualify)
    csr = (n_total + 1) * 8
    ring = n_slots * 2 * n_total * 4
    neurons = n_total * (4 * 14 + 8 * 3 + kmax * 8)  # state, propagators, keys, cdf rows (torch)
    spk = block * n_total * 1
    if backend == "torch":
        temp = block * n_total * (8 * 4 + 8)       # hash temporaries + uniforms + counts
        # delivery temporaries: up to ~(rate * block * dt) spikes x out-degree; bounded by 5% of syn
        temp += int(0.05 * nnz_total) * 8 * 4 + n_total * 4 * 8
    else:
        temp = n_total * (8 * 8 + 4)               # thresholds (8 x int64), lif_block scratch (counts)
        temp += n_total * (4 * 8 + 12)             # block spike lists (merged, per partition), uniform rows' base + weight
    monitors = n_total * 8 * 10 + n_bins * n_networks * n_regions * 4 * 2
    return int(syn + csr + ring + neurons + spk + temp + monitors)


class _Team:
    """Runs a fused block's partitions: the calling thread runs partition 0 and persistent helper
    threads (daemon, created on first use, shared by every batch of the process) the others, each a
    compiled call that releases the GIL; one partition is a plain call. Per block this is one wake-up
    of each helper and one wait for it, where a numba parallel launch (workqueue layer) hands every
    worker two tasks (its thread-count sync and the work) with the caller waiting idle: measured in
    this VM, an empty 2-thread numba launch costs 50-75 us of CPU (docs/spiking.md)."""

    def __init__(self):
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)   # a forked child has none of the threads

    def _reset(self):
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()

    def run(self, fn, nparts: int, args: tuple) -> None:
        if nparts == 1:
            fn(0, *args)
            return
        with self._lock:
            while len(self._workers) < nparts - 1:
                self._workers.append(_Worker())
            ws = self._workers[:nparts - 1]
            for p, w in enumerate(ws, 1):
                w.submit(fn, p, args)
            try:
                fn(0, *args)
            finally:   # the helpers work on the same arrays: wait for every one before anything else
                errs = [w.wait() for w in ws]
            for e in errs:
                if e is not None:
                    raise e


class _Worker:
    def __init__(self):
        self.go = _thread.allocate_lock()
        self.go.acquire()
        self.done = _thread.allocate_lock()
        self.done.acquire()
        self.task, self.exc = None, None
        threading.Thread(target=self._loop, daemon=True, name="encephagen-spiking-partition").start()

    def _loop(self):
        while True:
            self.go.acquire()
            fn, p, args = self.task
            try:
                fn(p, *args)
            except BaseException as e:  # handed to the caller
                self.exc = e
            self.task = None
            self.done.release()

    def submit(self, fn, p, args):
        self.task, self.exc = (fn, p, args), None
        self.go.release()

    def wait(self):
        self.done.acquire()
        e, self.exc = self.exc, None
        return e


_TEAM = _Team()


@dataclass
class BlockSpikes:
    t0: int          # first global step of the block
    k: torch.Tensor  # (m,) int64 step within block
    i: torch.Tensor  # (m,) int64 neuron in the batch index space


class LIFBatch:
    """Many networks (same number of neurons, same dt) simulated together on one device."""

    # numba path without plasticity: one parallel launch per block (the previous block's delivery and
    # this block's update, per thread's partition of the neurons) instead of two; False: separate
    # update and delivery launches (the same bits; the benchmark's A/B)
    FUSE_BLOCKS = True
    # who runs a fused block's partitions: "team" (the calling thread and persistent helper threads,
    # :class:`_Team`) or "numba" (one numba parallel launch); the same bits either way
    FUSED_RUNNER = "team"
    # chunk flags the numba update may use (chunk_kinds: 1 one Poisson rate, 2 one set of propagators);
    # the benchmark's A/B clears them, the same bits either way
    CHUNK_KINDS = 3

    def __init__(self, networks: list[LIFNetwork], seeds: list[int], device: str | torch.device = "cpu",
                 backend: str = "auto", memory_limit_bytes: int | None = None, names: list[str] | None = None,
                 n_bins_hint: int = 0, threads: int | None = None):
        if not networks:
            raise ValueError("no networks to simulate")
        if len(seeds) != len(networks):
            raise ValueError(f"{len(networks)} networks but {len(seeds)} seeds")
        self.device = torch.device(device)
        if backend == "auto":
            backend = "numba" if self.device.type == "cpu" else "torch"
        if backend not in ("torch", "numba"):
            raise ValueError(f"spiking backend {backend!r}: must be 'auto', 'torch' or 'numba'")
        if backend == "numba" and self.device.type != "cpu":
            raise ValueError("the numba backend runs on the CPU only; use backend='torch' on CUDA")
        self.backend = backend
        if threads:
            torch.set_num_threads(int(threads))
        net0 = networks[0]
        n = net0.n
        for b, net in enumerate(networks):
            if net.n != n or net.dt != net0.dt or net.n_regions != net0.n_regions:
                raise ValueError(f"network {b} ({(names or [''] * len(networks))[b]}): every network in a batch "
                                 f"needs the same neuron count, region count and dt "
                                 f"(got n={net.n}, R={net.n_regions}, dt={net.dt}; first: n={n}, R={net0.n_regions}, dt={net0.dt})")
        self.networks = networks
        self.names = names or [f"network{b}" for b in range(len(networks))]
        self.seeds = [int(s) for s in seeds]
        self.B, self.n, self.R, self.dt = len(networks), n, net0.n_regions, float(net0.dt)
        N = self.N = self.B * n
        nnz = sum(net.nnz for net in networks)
        dmin = min((int(net.delay.min()) for net in networks if net.nnz), default=64)
        dmax = max((int(net.delay.max()) for net in networks if net.nnz), default=1)
        self.K = max(1, min(dmin, 64))
        self.S = dmax + self.K
        est = estimate_memory_bytes(N, nnz, self.S, self.K, self.B, self.R, n_bins_hint, backend)
        limit = memory_limit_bytes if memory_limit_bytes is not None else int(0.8 * available_memory_bytes(self.device))
        self.memory_estimate = est
        if est > limit:
            raise SpikingMemoryError(
                f"spiking batch of {self.B} networks x {n} neurons ({nnz:,} synapses, ring buffer {self.S} slots) "
                f"needs about {est / 2**30:.2f} GiB on {self.device}, above the limit of {limit / 2**30:.2f} GiB; "
                f"use fewer networks per batch (spiking.batch_size) or a larger device")
        t = time.perf_counter()
        self._build(networks)
        self.setup_seconds = time.perf_counter() - t
        self.t = 0  # global step counter
        self._plasticity = None

    def enable_plasticity(self, stdp=None, scaling=None, record_every: int = 0):
        """Make the E->E synapses plastic (STDP and/or synaptic scaling; see
        :class:`encephagen.spiking.plastic.PlasticSynapses`) from the current step on; returns it."""
        from encephagen.spiking.plastic import PlasticSynapses

        n_plastic = sum(int(((net.channel == 0) & net.is_exc[net.target]).sum()) for net in self.networks)
        dmax = max((int(net.delay.max()) for net in self.networks if net.nnz), default=1)
        # per plastic synapse: w, w0 (f64), q, pre, post, delay, in_perm (i64) + temporaries; two trace rings
        est = n_plastic * (8 * 7 + 32) + 2 * (dmax + self.K) * self.N * 8
        if self.backend == "numba":   # the others as uniform rows when the rule delivers its own (_split_delivery):
            # 2-byte offsets kept, the mask, codes, delays and weights of the others copied while building them
            est += (int(self.code.numel()) - n_plastic) * (2 + 1 + self.code.element_size() + 4 + 4)
        limit = int(0.8 * available_memory_bytes(self.device))
        if est > limit:
            raise SpikingMemoryError(f"plastic synapses ({n_plastic:,} E->E) need about {est / 2**30:.2f} GiB on "
                                     f"{self.device}, above the limit of {limit / 2**30:.2f} GiB")
        self.plasticity = PlasticSynapses(self, stdp=stdp, scaling=scaling, record_every=record_every)
        return self.plasticity

    # ------------------------------------------------------------------ set-up
    def _build(self, networks):
        dev, n, N, dt = self.device, self.n, self.N, self.dt
        f32 = torch.float32

        def cat(attr, dtype):
            return torch.as_tensor(np.concatenate([np.asarray(getattr(x, attr)) for x in networks]).astype(dtype), device=dev)

        p0 = networks[0].params
        for net in networks:
            q = net.params
            if (q.tau_e, q.tau_i, q.tau_nmda, q.theta, q.v_reset, q.t_ref) != (p0.tau_e, p0.tau_i, p0.tau_nmda, p0.theta, p0.v_reset, p0.t_ref):
                raise ValueError("every network in a batch needs the same tau_e, tau_i, tau_nmda, theta, v_reset and t_ref")
        tau_m = np.concatenate([x.tau_m for x in networks]).astype(np.float64)
        self.tau_m = torch.as_tensor(tau_m, dtype=f32, device=dev)
        p22 = np.exp(-dt / tau_m)
        self.p22 = torch.as_tensor(p22, dtype=f32, device=dev)
        self.p21e = torch.as_tensor(_p21(tau_m, p0.tau_e, dt), dtype=f32, device=dev)
        self.p21i = torch.as_tensor(_p21(tau_m, p0.tau_i, dt), dtype=f32, device=dev)
        self.p21n = torch.as_tensor(_p21(tau_m, p0.tau_nmda, dt), dtype=f32, device=dev)
        self.p11e = torch.full((N,), math.exp(-dt / p0.tau_e), dtype=f32, device=dev)
        self.p11i = torch.full((N,), math.exp(-dt / p0.tau_i), dtype=f32, device=dev)
        self.p11n = torch.full((N,), math.exp(-dt / p0.tau_nmda), dtype=f32, device=dev)
        nmda = np.concatenate([x.nmda_ratio for x in networks]).astype(np.float64)
        self.use_nmda = bool(np.any(nmda > 0))
        self.nmda_scale = torch.as_tensor(nmda * p0.tau_e / p0.tau_nmda, dtype=f32, device=dev)
        bias = np.concatenate([x.bias for x in networks]).astype(np.float64)
        self.bias_term = torch.as_tensor((1.0 - p22) * bias, dtype=f32, device=dev)
        self.w_ext = cat("w_ext", np.float32)
        self.theta = torch.tensor(p0.theta, dtype=f32, device=dev)
        self.v_reset = torch.tensor(p0.v_reset, dtype=f32, device=dev)
        self.ref_steps = int(round(p0.t_ref / dt))
        # Poisson drive: one CDF row per distinct per-step mean
        lam = np.concatenate([x.ext_rate for x in networks]) * dt / 1000.0
        uniq, grp = np.unique(lam, return_inverse=True)
        self.icdf_np = poisson_threshold_table(uniq)
        self.grp = torch.as_tensor(grp.astype(np.int32), device=dev)
        self.icdf = torch.as_tensor(self.icdf_np, device=dev)
        self.key = torch.as_tensor(np.concatenate([neuron_keys(s, n) for s in self.seeds]), device=dev)
        # synapses: one CSR over the batch; code = channel * N + global target
        from encephagen.spiking._numba_kernels import fill_codes

        indptr = [np.zeros(1, np.int64)]
        off = 0
        code = np.empty(sum(net.nnz for net in networks), np.int64)
        for b, net in enumerate(networks):
            indptr.append(net.indptr[1:] + off)
            fill_codes(net.channel, net.target, N, b * n, off, code)
            off += net.nnz
        self.indptr = torch.as_tensor(np.concatenate(indptr), device=dev)
        self.code = torch.as_tensor(code, device=dev)
        # one copy each (the batch's weights change under plasticity; the networks' must not)
        self._weight = torch.as_tensor(np.concatenate([net.weight for net in networks], dtype=np.float32), device=dev)
        self.delay = torch.as_tensor(np.concatenate([net.delay for net in networks], dtype=np.int32), device=dev)
        # state
        self.v = torch.zeros(N, dtype=f32, device=dev)
        self.ie = torch.zeros(N, dtype=f32, device=dev)
        self.ii = torch.zeros(N, dtype=f32, device=dev)
        self.inm = torch.zeros(N, dtype=f32, device=dev)
        self.ref = torch.zeros(N, dtype=torch.int32, device=dev)
        self._buf = torch.zeros((self.S, 2, N), dtype=f32, device=dev)
        self._pm = 0   # spikes of the last block not yet delivered (numba, fused blocks; see step_block)
        if self.backend == "torch":
            self.icdf_rows = self.icdf[self.grp.long()].contiguous()  # (N, kmax) for the rare tail
            pad = torch.full((self.icdf.shape[0], 4), 1 << 32, dtype=torch.int64, device=dev)
            pad[:, :min(4, self.icdf.shape[1])] = self.icdf[:, :4]
            self.thr4 = pad[self.grp.long()].T.contiguous()              # (4, N): first four thresholds
        else:
            import numba

            from encephagen.spiking import _numba_kernels as nk  # compiled on first use, cached on disk

            self._nk = nk
            # one partition per thread, none under 256 neurons (a helper's wake-up would cost more than its work)
            self.nparts = max(1, min(numba.get_num_threads(), -(-N // 256)))
            # one partition of the neurons per thread, near-equal in neurons + incoming synapses: a
            # thread updates its partition's neurons and delivers the spikes onto them
            indeg = np.concatenate([np.bincount(net.target, minlength=n) for net in networks])
            self.bounds = nk.part_bounds(indeg, self.nparts)
            self.partptr = nk.partition_pointers(self.indptr.numpy(), self.code.numpy(), N, self.bounds)
            self._spk = np.zeros((self.K, N), np.uint8)
            # chunks of at most CHUNK neurons, the same number per partition
            self._cb, self._cpart = nk.chunk_bounds(self.bounds, nk.CHUNK)
            self._cs = np.zeros((len(self._cb) - 1, int(np.diff(self._cb).max(initial=1))), np.int32)  # Poisson counts
            self._pos = nk.delivery_offsets(self.delay.numpy(), self.code.numpy(), self.S, N)
            self._hot = nk.hot_delay(self.delay.numpy())   # the ring slot delivery streams in per step
            per = -(-self.K // (self.ref_steps + 1))       # spikes a neuron can emit in a block
            self._out_k = np.empty(N * per, np.int64)      # a block's spikes (step, then neuron)
            self._out_i = np.empty(N * per, np.int64)
            self._ck = np.empty(N * per, np.int64)         # fused blocks: each partition's spikes ...
            self._ci = np.empty(N * per, np.int64)
            self._coff = self.bounds[:-1] * per            # ... from its own offset
            self._cnt = np.zeros(self.nparts, np.int64)
            self._pt0 = 0
            # a neuron's synapses sharing weight and delay (Brunel's network): delivery reads 2 bytes
            # a synapse instead of 8; any outside access to the weights turns this off (see weight)
            ok, self._rbase, self._rw, self._tg = nk.uniform_rows(self.indptr.numpy(), self.code.numpy(),
                                                                  self.delay.numpy(), self._weight.numpy(), N)
            self._rows = bool(ok)
            if not self._rows:
                self._rbase, self._rw, self._tg = self._rbase[:0], self._rw[:0], self._tg[:0]
            # a plasticity rule delivering its own synapses: the others' (partptr, rbase, rw, tg) as
            # uniform rows (_split_delivery), None otherwise
            self._split = None
            self._args = None

    # The ring buffer, the weights and the plasticity hook are properties: with fused blocks (numba,
    # no plasticity) the last block's spikes are delivered at the start of the next block, so any
    # access from outside first delivers them (:meth:`flush`); everything outside sees the ring and
    # weights exactly as after an unfused block.
    @property
    def buf(self) -> torch.Tensor:
        """(S, 2, N) ring buffer of arriving synaptic input (all spikes emitted so far delivered)."""
        self.flush()
        return self._buf

    @property
    def weight(self) -> torch.Tensor:
        """(nnz,) float32 synaptic weights of the batch (write in place; the last block's spikes are
        delivered with the weights they had when the block ended)."""
        self.flush()
        if self.backend == "numba" and self._split is not None:   # the rule delivering its synapses writes
            self._sync_rule_weights()                               # their float32 copies on demand
        # the caller may change them: per-synapse weights from now on, every synapse delivered by the engine
        if self.backend == "numba" and (self._rows or self._split is not None):
            self._rows = False
            self._split = None
            self._args = None
        return self._weight

    @weight.setter
    def weight(self, value) -> None:
        self.flush()
        self._weight = value
        if self.backend == "numba":
            self._rows = False
            self._split = None
        self._args = None

    @property
    def plasticity(self):
        return self._plasticity

    @plasticity.setter
    def plasticity(self, rule) -> None:
        self.flush()   # a rule sees and changes weights between blocks (fused only with its FUSED_BLOCKS)
        if self.backend == "numba" and self._split is not None:   # the engine delivers every synapse again
            self._sync_rule_weights()
            self._split = None
            self._args = None
        self._plasticity = rule
        own = getattr(rule, "delivered_synapses", None) if self.backend == "numba" else None
        q = own() if own is not None else None
        if q is not None:
            self._split_delivery(np.asarray(q, np.int64))

    def _sync_rule_weights(self) -> None:
        """The float32 weights of the synapses the rule delivers itself, made current before the engine
        or outside code reads them (the rule writes them on demand: ``PlasticSynapses.sync_weights``)."""
        sync = getattr(self._plasticity, "sync_weights", None)
        if sync is not None:
            sync()

    @property
    def rule_delivers(self) -> bool:
        """True while the plasticity rule delivers its own synapses (:meth:`_split_delivery`)."""
        return self.backend == "numba" and self._split is not None

    def _split_delivery(self, q: np.ndarray) -> bool:
        """Let the plasticity rule deliver synapses ``q`` itself (as it updates their weights, with
        the same float32 additions in the same order) and deliver the others from uniform rows
        (2-byte target offsets, :func:`_numba_kernels.uniform_rows`) instead of per-synapse weights.
        Only when the others' rows qualify and no other synapse writes the ring entries (channel,
        target) of ``q`` (then every entry's sum is unchanged bit for bit). Returns whether it is on."""
        nk, N = self._nk, self.N
        code = self.code.numpy()
        keep = np.ones(code.size, bool)
        keep[q] = False
        mine = np.zeros(2 * N, bool)
        mine[code[q]] = True
        if q.size == 0 or mine[code[keep]].any():
            return False
        indptr = self.indptr.numpy()
        indptr_s = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])[indptr]
        code_s = np.ascontiguousarray(code[keep])
        ok, rbase, rw, tg = nk.uniform_rows(indptr_s, code_s, np.ascontiguousarray(self.delay.numpy()[keep]),
                                            np.ascontiguousarray(self._weight.numpy()[keep]), N)
        if not ok:
            return False
        self._split = (nk.partition_pointers(indptr_s, code_s, N, self.bounds), rbase, rw, tg)
        self._args = None
        return True

    def _deliver(self, t0, m) -> None:
        """Deliver ``m`` spikes of the block at ``t0`` (``_out_k``/``_out_i``): every synapse, or with
        a rule delivering its own (``_split``) the others from their uniform rows."""
        if self._split is not None:
            self._nk.deliver_rows(t0, self._out_k, self._out_i, m, self.S, self._split[0], self.bounds,
                                  *self._split[1:], self._buf.view(-1).numpy(), self._hot)
        else:
            self._nk.deliver(t0, self._out_k, self._out_i, m, self.S, *self._dargs)

    def flush(self) -> None:
        """Deliver the last block's spikes now (numba path, fused blocks; a no-op otherwise)."""
        if self._pm:
            self._views()
            self._deliver(self._pt0, self._pm)
            self._pm = 0

    def _views(self) -> None:
        if self._args is None:  # numpy views of the (in-place updated) torch state
            nk = self._nk
            self._args = (self.v.numpy(), self.ie.numpy(), self.ii.numpy(), self.inm.numpy(),
                          self.ref.numpy(), self._buf.numpy(), self.p22.numpy(), self.p21e.numpy(),
                          self.p21i.numpy(), self.p21n.numpy(), self._decay(self.p11e),
                          self._decay(self.p11i), self._decay(self.p11n), self.nmda_scale.numpy(),
                          self.bias_term.numpy(),
                          self.w_ext.numpy(), np.float32(self.theta.item()), np.float32(self.v_reset.item()),
                          self.ref_steps, self.key.numpy(), self.grp.numpy(),
                          self.icdf_np, self.use_nmda, self._spk,
                          nk.threshold_rows(self.icdf_np, self.grp.numpy()), self._cs, self._cb,
                          nk.chunk_kinds(self._cb, self.grp.numpy(), self.p22.numpy(), self.p21e.numpy(),
                                         self.p21i.numpy(), self.p21n.numpy(), self.nmda_scale.numpy(),
                                         self.bias_term.numpy(), self.w_ext.numpy()) & self.CHUNK_KINDS)
            self._dargs = (self.partptr, self.bounds, self._pos, self._weight.numpy(), self._buf.view(-1).numpy(),
                           self._hot)
            rows = (self.partptr, self._rows, self._rbase, self._rw, self._tg)
            if self._split is not None:   # the rule delivers its synapses; the others from uniform rows
                rows = (self._split[0], True, *self._split[1:])
            self._fargs = (rows[0], self.bounds, self._cpart, self._pos, self._weight.numpy(),
                           self._buf.view(-1).numpy(), self._hot, self._ck, self._ci, self._coff, self._cnt, *rows[1:])

    def state_changed(self) -> None:
        """Call after changing the batch's drive or state arrays in place (``grp`` / ``icdf``, the
        rates of the Poisson drive; ``v`` / ``ie`` / ``ii`` replaced): the numba path caches numpy
        views and per-neuron Poisson threshold rows between blocks, rebuilt at its next block."""
        self._args = None

    def set_state(self, v=None, ie=None, ii=None):
        """Initial conditions (float arrays of length n per network, or N for the batch)."""
        for name, val in (("v", v), ("ie", ie), ("ii", ii)):
            if val is not None:
                val = torch.as_tensor(np.asarray(val, np.float32), device=self.device)
                if val.numel() == self.n:
                    val = val.repeat(self.B)
                getattr(self, name).copy_(val.reshape(-1))

    def random_initial_state(self, low: float | None = None, high: float | None = None):
        """V uniform in [low, high) (default [v_reset, theta)) from each network's own seed."""
        from encephagen.seeds import numpy_rng

        p = self.networks[0].params
        low = p.v_reset if low is None else low
        high = p.theta if high is None else high
        v = np.concatenate([numpy_rng(s ^ 0x5EED).uniform(low, high, self.n) for s in self.seeds])
        self.v.copy_(torch.as_tensor(v.astype(np.float32), device=self.device))

    # ------------------------------------------------------------------ stepping
    def step_block(self, nsteps: int | None = None) -> BlockSpikes:
        """Advance ``nsteps`` (<= K) steps; return the spikes. Their delivery into the ring is done
        before anything reads the ring, the weights or the next block's arrivals (fused blocks deliver
        them at the start of the next block or on :meth:`flush`)."""
        K = self.K if nsteps is None else int(nsteps)
        if not 1 <= K <= self.K:
            raise ValueError(f"a block is 1..{self.K} steps, got {K}")
        t0 = self.t
        rule = self._plasticity   # a rule with FUSED_BLOCKS runs between fused launches
        if self.backend == "numba" and (rule is None or getattr(rule, "FUSED_BLOCKS", False)) and self.FUSE_BLOCKS:
            # fused: the previous block's spikes delivered and this block's neurons advanced and
            # their spikes listed in one parallel launch (nk.block_fused); this block's spikes are
            # delivered by the next block, or by flush() before anything outside reads the ring or
            # the weights
            nk = self._nk
            self._views()
            args = (t0, K, self.S, *self._args, self._pt0, self._out_k, self._out_i, self._pm, *self._fargs)
            if self.FUSED_RUNNER == "numba":
                nk.block_fused(*args)
            else:
                _TEAM.run(nk.block_part, self.nparts, args)
            m = nk.merge_parts(self._ck, self._ci, self._coff, self._cnt, K, self._out_k, self._out_i)
            self._pt0, self._pm = t0, m
            kk = torch.from_numpy(self._out_k[:m].copy())
            ii = torch.from_numpy(self._out_i[:m].copy())
            if rule is not None:   # weights of this block's spikes, before the next launch delivers them
                rule.block(t0, K, kk, ii)
        elif self.backend == "numba":
            nk = self._nk
            self.flush()
            self._views()
            nk.lif_block(t0, K, self.S, *self._args)
            m = nk.collect(self._spk, K, self._out_k, self._out_i)
            kk = torch.from_numpy(self._out_k[:m].copy())
            ii = torch.from_numpy(self._out_i[:m].copy())
            if self.plasticity is not None:  # weights of this block's spikes, before they are sent
                self.plasticity.block(t0, K, kk, ii)
            if m:
                self._deliver(t0, m)
        else:
            spk = torch.zeros((K, self.N), dtype=torch.bool, device=self.device)
            self._torch_block(t0, K, spk)
            nz = spk.nonzero()
            kk, ii = nz[:, 0], nz[:, 1]
            if self.plasticity is not None:
                self.plasticity.block(t0, K, kk, ii)
            self._torch_deliver(t0, kk, ii)
        self.t = t0 + K
        return BlockSpikes(t0, kk, ii)

    @staticmethod
    def _decay(p11: torch.Tensor) -> np.float32:
        """A synaptic decay (the same for every neuron of a batch) as the numba kernel's scalar."""
        v = p11.numpy()
        if v.size and not np.all(v == v[0]):
            raise ValueError("the numba backend needs one synaptic decay (P11) for the whole batch")
        return np.float32(v[0] if v.size else 1.0)

    def _torch_block(self, t0, K, spk):
        x = draws_torch(self.key, t0, K)                          # (K, N) int64
        # count = #thresholds below x: four comparisons, then a search for the rare larger counts
        counts = count4(x, self.thr4[0], self.thr4[1], self.thr4[2], self.thr4[3])
        tk, tn = (counts == 4).nonzero(as_tuple=True)
        if tk.numel():
            counts[tk, tn] = torch.searchsorted(self.icdf_rows[tn], x[tk, tn].unsqueeze(1)).squeeze(1)
        n_ext = counts.to(torch.float32)                                      # (K, N)
        v, ie, ii, inm, ref = self.v, self.ie, self.ii, self.inm, self.ref
        for k in range(K):
            s = (t0 + k) % self.S
            ae, ai = self._buf[s, 0].clone(), self._buf[s, 1].clone()
            self._buf[s].zero_()
            v, ie, ii, inm, ref, sp = lif_step(v, ie, ii, inm, ref, ae, ai, n_ext[k], self.w_ext, self.p22, self.p21e,
                                               self.p21i, self.p21n, self.p11e, self.p11i, self.p11n, self.nmda_scale,
                                               self.bias_term, self.theta, self.v_reset, self.ref_steps, self.use_nmda)
            spk[k] = sp
        self.v, self.ie, self.ii, self.inm, self.ref = v, ie, ii, inm, ref.to(torch.int32)

    def _torch_deliver(self, t0, kk, ii):
        if ii.numel() == 0:
            return
        start = self.indptr[ii]
        cnt = self.indptr[ii + 1] - start
        total = int(cnt.sum())
        if total == 0:
            return
        rep_start = torch.repeat_interleave(start, cnt)
        excl = torch.cumsum(cnt, 0) - cnt
        syn = rep_start + torch.arange(total, device=self.device) - torch.repeat_interleave(excl, cnt)
        tk = torch.repeat_interleave(kk + t0, cnt)
        slot = (tk + self.delay[syn]) % self.S
        flat = slot * (2 * self.N) + self.code[syn]
        self._buf.view(-1).index_add_(0, flat, self._weight[syn])
