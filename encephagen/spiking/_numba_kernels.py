"""Numba CPU kernels: the SAME algorithm as the torch path in :mod:`encephagen.spiking.engine`,
step for step and in the same floating-point order (float32 state, separate multiply and add,
no fused multiply-add, identical counter-based random numbers, delivery in the same order), so
the two paths give identical spikes; ``tests/test_spiking_backends.py`` checks that bitwise.

Why a second path at all: torch eager pays ~5-10 us per elementwise kernel and the Poisson
drive needs one random number per neuron and step; the whole block of steps below is one
parallel loop over neurons (each neuron's steps inside a block are independent of every other
neuron, because the shortest delay is at least the block length), which is what makes the CPU
path several times faster than Brian2's generated C++.
"""
from __future__ import annotations

import os

import numba
import numpy as np

# numba's OpenMP layer busy-waits; next to torch's own OpenMP pool and on a shared machine that
# made a 2-thread block 6 times slower than the plain 'workqueue' layer (measured on 2 cores).
# Respect an explicit choice; the layer must be chosen before the first parallel launch.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@numba.njit(inline="always")
def _draw(key, t):
    """32-bit draw for step t: SplitMix64 output (see encephagen.spiking.rng)."""
    z = key + np.uint64(t) * _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return np.int64(z >> np.uint64(32))


@numba.njit(parallel=True, cache=True, fastmath=False, nogil=True)
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
        r = ref[i]
        k1 = np.uint64(key1[i])
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
            t = t0 + k
            if r > 0:
                vn = v_reset
                r -= 1
            else:
                vn = a22 * vi
                vn = vn + a21e * ei
                vn = vn + a21i * xi
                if use_nmda:
                    vn = vn + a21n * ni
                vn = vn + bt
            ae = buf[s, 0, i]
            ai = buf[s, 1, i]
            buf[s, 0, i] = 0.0
            buf[s, 1, i] = 0.0
            x = _draw(k1, t)
            # Poisson count = number of thresholds below x (branch-free for the first four)
            c = np.int64(c0 < x) + np.int64(c1 < x) + np.int64(c2 < x) + np.int64(c3 < x)
            if c == 4:
                while c < kmax and icdf[g, c] < x:
                    c += 1
            ei = a11e * ei
            ei = ei + ae
            ei = ei + np.float32(c) * we
            xi = a11i * xi
            xi = xi + ai
            if use_nmda:
                ni = a11n * ni
                ni = ni + ns * ae
            if vn >= theta:
                spk[k, i] = 1
                vn = v_reset
                r = ref_steps
            vi = vn
            s += 1
            if s == nslots:
                s = 0
        v[i] = vi
        ie[i] = ei
        ii[i] = xi
        inm[i] = ni
        ref[i] = r


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

