"""Numba CPU kernels: the SAME update as the torch path in :mod:`encephagen.spiking.engine`.

The neuron update (:func:`encephagen.spiking.update.lif_step`) and the random numbers
(:func:`encephagen.spiking.rng.draw`, :func:`~encephagen.spiking.rng.count4`) are written once, as
plain Python on values; the torch path calls them on tensors and this module compiles them
(``register_jitable``) into :func:`lif_block`, float32 state, separate multiply and
add, no fused multiply-add, so the two paths give identical spikes
(``tests/test_spiking_backends.py`` checks that bitwise). What is here is only the loop
structure and the spike delivery.

Why a compiled loop at all: torch eager pays ~5-10 us per elementwise kernel and the Poisson
drive needs one random number per neuron and step; the whole block of steps below is one
parallel loop over neurons (each neuron's steps inside a block are independent of every other
neuron, because the shortest delay is at least the block length), which is what makes the CPU
path several times faster than Brian2's generated C++.

On-disk cache: numba keys a cached kernel on its own source file only, so a change to
``update.py`` or ``rng.py`` (or to a helper here that another file's kernel calls) would silently
reuse stale machine code. :func:`cached` adds a hash of those files and this one to the cache key.
"""
from __future__ import annotations

import hashlib
import inspect
import os

import numba
import numpy as np

from encephagen.spiking import rng as _rng
from encephagen.spiking import update as _update

# numba's OpenMP layer busy-waits; next to torch's own OpenMP pool and on a shared machine that
# made a 2-thread block 6 times slower than the plain 'workqueue' layer (measured on 2 cores).
# Respect an explicit choice; the layer must be chosen before the first parallel launch.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

# this module's own source too: kernels in other files (_plastic_kernels) call its helpers
_DEPS_HASH = hashlib.sha256("".join(inspect.getsource(m) for m in (_update, _rng)).encode()
                            + open(__file__, "rb").read()).hexdigest()


def cached(dispatcher):
    """Enable numba's on-disk cache with the shared update's source hash in the key."""
    try:
        from numba.core.caching import FunctionCache

        class _DepCache(FunctionCache):
            def _index_key(self, sig, codegen):
                return super()._index_key(sig, codegen) + (_DEPS_HASH,)

        dispatcher._cache = _DepCache(dispatcher.py_func)
    except Exception:  # pragma: no cover - a numba without this internal API: compile every process
        pass
    return dispatcher


lif_step = _update.lif_step
trace_step = _update.trace_step
rate_step = _update.rate_step
scale_weight = _update.scale_weight
stdp_facilitate = _update.stdp_facilitate
stdp_depress = _update.stdp_depress
draw = _rng.draw
count4 = _rng.count4


@cached
@numba.njit(parallel=True, fastmath=False, nogil=True)
def lif_block(t0, nsteps, nslots, v, ie, ii, inm, ref, buf,
              p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term,
              w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk):
    """Advance every neuron ``nsteps`` steps from global step ``t0``; set spk[k, i] = 1 on spikes."""
    n = v.shape[0]
    kmax = icdf.shape[1]
    for i in numba.prange(n):
        vi = v[i]
        ei = ie[i]
        xi = ii[i]
        ni = inm[i]
        r = np.int64(ref[i])
        k1 = key1[i]
        g = grp[i]
        a22 = p22[i]
        a21e = p21e[i]
        a21i = p21i[i]
        a21n = p21n[i]
        a11e = p11e[i]
        a11i = p11i[i]
        a11n = p11n[i]
        bt = bias_term[i]
        we = w_ext[i]
        ns = nmda_scale[i]
        c0 = icdf[g, 0]
        c1 = icdf[g, 1] if kmax > 1 else c0
        c2 = icdf[g, 2] if kmax > 2 else c1
        c3 = icdf[g, 3] if kmax > 3 else c2
        s = t0 % nslots
        for k in range(nsteps):
            ae = buf[s, 0, i]
            ai = buf[s, 1, i]
            buf[s, 0, i] = 0.0
            buf[s, 1, i] = 0.0
            x = draw(k1, np.int64(t0 + k))
            c = count4(x, c0, c1, c2, c3)
            if c == 4:  # the rare tail: continue the count over the rest of the row
                while c < kmax and icdf[g, c] < x:
                    c += 1
            vi, ei, xi, ni, r, sp = lif_step(vi, ei, xi, ni, r, ae, ai, np.float32(c), we, a22, a21e, a21i, a21n,
                                             a11e, a11i, a11n, ns, bt, theta, v_reset, ref_steps, use_nmda)
            if sp:
                spk[k, i] = 1
            s += 1
            if s == nslots:
                s = 0
        v[i] = vi
        ie[i] = ei
        ii[i] = xi
        inm[i] = ni
        ref[i] = r


@cached
@numba.njit(nogil=True)
def trace_block(x, ring, raster, t0, nsteps, decay, nearest):
    """Plastic synapses' spike trace (float64, :func:`encephagen.spiking.update.trace_step`) over a
    block: ring[(t0 + k) % len(ring)] = trace at step t0 + k, then the step's spikes (raster[k])."""
    nslots = ring.shape[0]
    n = x.shape[0]
    for k in range(nsteps):
        slot = (t0 + k) % nslots
        for i in range(n):
            xi = x[i]
            ring[slot, i] = xi
            x[i] = trace_step(xi, raster[k, i], decay, nearest)


@cached
@numba.njit(nogil=True)
def ltp_events(post_t, post_j, in_ptr, in_perm, d, t0, ka, kb):
    """The LTP events of steps t0+ka .. t0+kb-1 bucketed by step (a counting sort): a postsynaptic
    spike ``post_t``/``post_j`` reaches plastic synapse p ``d[p]`` steps later; the synapses of step
    k are ``ev[cnt[k - ka]:cnt[k - ka + 1]]`` (one definition for the STDP and R-STDP kernels)."""
    nk = kb - ka
    cnt = np.zeros(nk + 1, np.int64)
    for e in range(post_t.shape[0]):
        j = post_j[e]
        for r in range(in_ptr[j], in_ptr[j + 1]):
            k = post_t[e] + d[in_perm[r]] - t0
            if ka <= k < kb:
                cnt[k - ka + 1] += 1
    for k in range(nk):
        cnt[k + 1] += cnt[k]
    ev = np.empty(cnt[nk], np.int64)
    fill = cnt[:nk].copy()
    for e in range(post_t.shape[0]):
        j = post_j[e]
        for r in range(in_ptr[j], in_ptr[j + 1]):
            p = in_perm[r]
            k = post_t[e] + d[p] - t0
            if ka <= k < kb:
                ev[fill[k - ka]] = p
                fill[k - ka] += 1
    return cnt, ev


@numba.njit(nogil=True)
def stdp_block(t0, ka, kb, spk_k, spk_i, m, post_t, post_j, w, weight, q, pre, post, d, out_ptr, in_ptr, in_perm,
               ring_x, ring_y, lam, alpha, mu_plus, mu_minus, w_max):
    """STDP of steps t0+ka .. t0+kb-1 on the plastic synapses (the shared formulas of
    :mod:`encephagen.spiking.update`), in time order; per step LTP (postsynaptic spikes
    ``post_t``/``post_j`` arriving now at the synapse, after their delay ``d``) before LTD (this
    block's presynaptic spikes ``spk_k``/``spk_i``, step-ascending); ``weight[q[p]]`` (float32, the
    engine's) takes a synapse's weight at its presynaptic spike."""
    nslots = ring_x.shape[0]
    nk = kb - ka
    cnt, ev = ltp_events(post_t, post_j, in_ptr, in_perm, d, t0, ka, kb)
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    for k in range(ka, kb):
        t = t0 + k
        sx = t % nslots
        for e in range(cnt[k - ka], cnt[k - ka + 1]):
            p = ev[e]
            w[p] = stdp_facilitate(w[p], ring_x[sx, pre[p]], lam, mu_plus, w_max)
        while js < m and spk_k[js] == k:
            i = spk_i[js]
            for p in range(out_ptr[i], out_ptr[i + 1]):
                sy = (t - d[p]) % nslots
                wp = stdp_depress(w[p], ring_y[sy, post[p]], lam, alpha, mu_minus, w_max)
                w[p] = wp
                weight[q[p]] = np.float32(wp)
            js += 1
    return cnt[nk]


@cached
@numba.njit(nogil=True)
def sensor_block(rate, raster, ka, kb, decay, gain):
    """Scaling's rate sensor over steps ka..kb-1 of a block (:func:`encephagen.spiking.update.rate_step`)."""
    n = rate.shape[0]
    for k in range(ka, kb):
        for i in range(n):
            rate[i] = rate_step(rate[i], raster[k, i], decay, gain)


@cached
@numba.njit(parallel=True, nogil=True)
def scale_block(w, weight, q, post, f, w_max):
    """Synaptic scaling of every plastic synapse (:func:`encephagen.spiking.update.scale_weight`)
    with its postsynaptic neuron's factor ``f``; the engine's float32 weights follow."""
    for p in numba.prange(w.shape[0]):
        v = scale_weight(w[p], f[post[p]], w_max)
        w[p] = v
        weight[q[p]] = np.float32(v)


@numba.njit(cache=True, nogil=True)
def collect(spk, nsteps, out_k, out_i):
    """List the spikes of spk[:nsteps] (step ascending, then neuron) and clear them; return the count.
    ``out_k``/``out_i`` must hold spk[:nsteps].size entries."""
    n = spk.shape[1]
    m = 0
    for k in range(nsteps):
        row = spk[k]
        for i in range(n):
            if row[i]:
                out_k[m] = k
                out_i[m] = i
                m += 1
                row[i] = 0
    return m


@numba.njit(parallel=True, cache=True, nogil=True)
def deliver(t0, spk_k, spk_i, m, nslots, partptr, code, weight, delay, buf_flat):
    """Scatter-add each spike's outgoing synapses into the ring buffer.

    Synapses of every source are grouped by target partition (``partptr[src, p]`` ..
    ``partptr[src, p + 1]``); partition p is written by one thread only, and each address
    receives its additions in spike order, so the sums equal a serial delivery bit for bit.
    """
    stride = buf_flat.shape[0] // nslots
    nparts = partptr.shape[1] - 1
    for p in numba.prange(nparts):
        for j in range(m):
            src = spk_i[j]
            tk = (t0 + spk_k[j]) % nslots
            for s in range(partptr[src, p], partptr[src, p + 1]):
                slot = tk + delay[s]  # delay < nslots, so one conditional subtraction wraps it
                if slot >= nslots:
                    slot -= nslots
                buf_flat[slot * stride + code[s]] += weight[s]


@numba.njit(cache=True, nogil=True)
def partition_pointers(indptr, code, n_total, nparts):
    """partptr[src, p] for synapses already sorted by (source, target partition)."""
    n = indptr.shape[0] - 1
    out = np.empty((n, nparts + 1), np.int64)
    for src in range(n):
        s = indptr[src]
        e = indptr[src + 1]
        out[src, 0] = s
        q = s
        for p in range(nparts):
            hi = (p + 1) * n_total // nparts
            while q < e and (code[q] % n_total) < hi:
                q += 1
            out[src, p + 1] = q
        out[src, nparts] = e
    return out


@numba.njit(cache=True)
def _counting_order(src, indptr):
    n = indptr.shape[0] - 1
    pos = indptr[:-1].copy()
    order = np.empty(src.shape[0], np.int64)
    for j in range(src.shape[0]):
        s = src[j]
        order[pos[s]] = j
        pos[s] += 1
    return order


@numba.njit(parallel=True, cache=True)
def _sort_rows(order, tgt, indptr):
    n = indptr.shape[0] - 1
    for r in numba.prange(n):
        a, b = indptr[r], indptr[r + 1]
        if b - a > 1:
            seg = order[a:b].copy()
            keys = tgt[seg]
            o = np.argsort(keys, kind="mergesort")
            for q in range(b - a):
                order[a + q] = seg[o[q]]


def csr_order(src: np.ndarray, tgt: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(indptr, order): synapses sorted by source, then target (stable), in O(nnz) + row sorts."""
    counts = np.bincount(src, minlength=n)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    order = _counting_order(src.astype(np.int64, copy=False), indptr)
    _sort_rows(order, tgt, indptr)
    return indptr, order

