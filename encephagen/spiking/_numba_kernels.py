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
parallel loop over chunks of neurons (each neuron's steps inside a block are independent of every
other neuron, because the shortest delay is at least the block length), which is what makes the
CPU path several times faster than Brian2's generated C++. Inside a chunk the steps are the outer
loop and the neurons the inner one: a neuron's step is a chain of dependent float operations
(~20 cycles of latency), so one neuron at a time (the first version) was latency-bound; across
neurons the loops vectorise (AVX2) and run 2.5-3x faster, with the same operations per neuron.

On-disk cache: numba keys a cached kernel on its own source file only, so a change to
``update.py`` or ``rng.py`` (or to a helper here that another file's kernel calls) would silently
reuse stale machine code. :func:`cached` adds a hash of those files and this one to the cache key.
"""
from __future__ import annotations

import hashlib
import inspect
import os
import pathlib

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

from encephagen.spiking import rng as _rng
from encephagen.spiking import update as _update

# numba's OpenMP layer busy-waits; next to torch's own OpenMP pool and on a shared machine that
# made a 2-thread block 6 times slower than the plain 'workqueue' layer (measured on 2 cores).
# Respect an explicit choice; the layer must be chosen before the first parallel launch.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

# this module's own source too: kernels in other files (_plastic_kernels) call its helpers
_DEPS_HASH = hashlib.sha256("".join(inspect.getsource(m) for m in (_update, _rng)).encode()
                            + pathlib.Path(__file__).read_bytes()).hexdigest()


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


# Neurons per task of lif_block: a chunk's state, propagators and thresholds (~120 bytes a neuron)
# stay in L1/L2 over the block's steps, and the loops over a chunk's neurons vectorise.
CHUNK = 2048
N_THRESHOLDS = 8  # Poisson thresholds compared branch-free per neuron and step (see lif_block)


def threshold_rows(icdf: np.ndarray, grp: np.ndarray) -> np.ndarray:
    """(N_THRESHOLDS, N) int64: each neuron's first Poisson thresholds, a short row padded with its
    last entry (2**32, which no 32-bit draw exceeds, so padding adds nothing to a count)."""
    kmax = icdf.shape[1]
    g = np.asarray(grp, np.int64)
    return np.ascontiguousarray(np.stack([icdf[g, min(j, kmax - 1)] for j in range(N_THRESHOLDS)]), np.int64)


@numba.njit(nogil=True, inline="always")
def _draw_rows(key1, t, c0, c1, c2, c3, c4, c5, c6, c7, cr):
    """Draws and branch-free Poisson counts (first eight thresholds) of a chunk at step t; returns
    whether any count reached 8 (the rare tail, continued by the caller). Vectorised: the loop runs
    from 0 over slices, so numba emits no negative-index wraparound."""
    full = False
    for i in range(key1.shape[0]):
        x = draw(key1[i], t)
        c = count4(x, c0[i], c1[i], c2[i], c3[i]) + count4(x, c4[i], c5[i], c6[i], c7[i])
        cr[i] = c
        full |= c == N_THRESHOLDS
    return full


@numba.njit(nogil=True, inline="always")
def _draw_rows_uniform(key1, t, c0, c1, c2, c3, c4, c5, c6, c7, cr):
    """:func:`_draw_rows` for a chunk whose neurons share one Poisson rate: the eight thresholds are
    scalars (no per-neuron threshold rows read every step); the same comparisons, the same counts."""
    full = False
    for i in range(key1.shape[0]):
        x = draw(key1[i], t)
        c = count4(x, c0, c1, c2, c3) + count4(x, c4, c5, c6, c7)
        cr[i] = c
        full |= c == N_THRESHOLDS
    return full


def _at(x, i):
    """``x[i]`` for a per-neuron array, ``x`` itself for a value the chunk's neurons share."""
    return x[i] if isinstance(x, np.ndarray) else x


@overload(_at, inline="always")
def _at_compiled(x, i):
    if isinstance(x, types.Array):
        return lambda x, i: x[i]
    return lambda x, i: x


@numba.njit(nogil=True, inline="always")
def _lif_rows(v, ie, ii, inm, ref, be, bi, p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term, w_ext,
              theta, v_reset, ref_steps, use_nmda, cr, sk):
    """One step of a chunk of neurons (:func:`encephagen.spiking.update.lif_step`); takes and clears
    the step's ring-buffer row, writes the step's spike flags. ``p11e``/``p11i``/``p11n`` are scalars
    (the synaptic decays are the same for every neuron of a batch); ``p22`` .. ``w_ext`` per-neuron
    arrays, or scalars for a chunk whose neurons share them (one tau_m: the same operations on the
    same values, ~28 bytes fewer per neuron-step; numba compiles one specialisation each)."""
    for i in range(v.shape[0]):
        ae = be[i]
        ai = bi[i]
        be[i] = 0.0
        bi[i] = 0.0
        vi, ei, xi, ni, r, sp = lif_step(v[i], ie[i], ii[i], inm[i], ref[i], ae, ai, np.float32(cr[i]),
                                         _at(w_ext, i), _at(p22, i), _at(p21e, i), _at(p21i, i), _at(p21n, i),
                                         p11e, p11i, p11n, _at(nmda_scale, i), _at(bias_term, i), theta, v_reset,
                                         ref_steps, use_nmda)
        v[i] = vi
        ie[i] = ei
        ii[i] = xi
        inm[i] = ni
        ref[i] = r
        sk[i] = sp


@numba.njit(nogil=True)
def _same_bits(x, lo, hi):
    xb = x.view(np.int32)
    for j in range(lo + 1, hi):
        if xb[j] != xb[lo]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def chunk_kinds(cb, grp, p22, p21e, p21i, p21n, nmda_scale, bias_term, w_ext):
    """Per chunk: bit 0 = its neurons share one Poisson rate (``grp``), bit 1 = they share their
    propagators, NMDA scale, bias term and external jump (equal bits); :func:`_update_chunk` then
    reads scalars instead of per-neuron rows. Recomputed whenever the drive changes (state_changed)."""
    nch = cb.shape[0] - 1
    out = np.zeros(nch, np.int8)
    for c in range(nch):
        lo = cb[c]
        hi = cb[c + 1]
        if hi <= lo:
            continue
        g = True
        for j in range(lo + 1, hi):
            if grp[j] != grp[lo]:
                g = False
        same = (_same_bits(p22, lo, hi) and _same_bits(p21e, lo, hi) and _same_bits(p21i, lo, hi)
                and _same_bits(p21n, lo, hi) and _same_bits(nmda_scale, lo, hi) and _same_bits(bias_term, lo, hi)
                and _same_bits(w_ext, lo, hi))
        out[c] = (1 if g else 0) + (2 if same else 0)
    return out


@numba.njit(nogil=True)
def _update_chunk(lo, hi, t0, nsteps, nslots, v, ie, ii, inm, ref, buf,
                  p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term,
                  w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk, thr, cr, kind):
    """Neurons lo..hi-1 over the block's steps (the body of :func:`lif_block`, also run by
    :func:`block_fused`); ``cr``: int32 scratch of hi - lo entries (the step's Poisson counts);
    ``kind``: :func:`chunk_kinds`' flags of the chunk."""
    m = hi - lo
    if m <= 0:
        return
    kmax = icdf.shape[1]
    uniform = (kind & 1) != 0
    same = (kind & 2) != 0
    s = t0 % nslots
    for k in range(nsteps):
        if uniform:
            full = _draw_rows_uniform(key1[lo:hi], np.int64(t0 + k), thr[0, lo], thr[1, lo], thr[2, lo], thr[3, lo],
                                      thr[4, lo], thr[5, lo], thr[6, lo], thr[7, lo], cr)
        else:
            full = _draw_rows(key1[lo:hi], np.int64(t0 + k), thr[0, lo:hi], thr[1, lo:hi], thr[2, lo:hi],
                              thr[3, lo:hi], thr[4, lo:hi], thr[5, lo:hi], thr[6, lo:hi], thr[7, lo:hi], cr)
        if full:
            for j in range(m):
                if cr[j] == N_THRESHOLDS:  # the rare tail: continue the count over the rest of the row
                    g = grp[lo + j]
                    x = draw(key1[lo + j], np.int64(t0 + k))  # recomputed: no draw is stored
                    q = N_THRESHOLDS
                    while q < kmax and icdf[g, q] < x:
                        q += 1
                    cr[j] = q
        if same:
            _lif_rows(v[lo:hi], ie[lo:hi], ii[lo:hi], inm[lo:hi], ref[lo:hi], buf[s, 0, lo:hi], buf[s, 1, lo:hi],
                      p22[lo], p21e[lo], p21i[lo], p21n[lo], p11e, p11i, p11n,
                      nmda_scale[lo], bias_term[lo], w_ext[lo], theta, v_reset, ref_steps, use_nmda,
                      cr, spk[k, lo:hi])
        else:
            _lif_rows(v[lo:hi], ie[lo:hi], ii[lo:hi], inm[lo:hi], ref[lo:hi], buf[s, 0, lo:hi], buf[s, 1, lo:hi],
                      p22[lo:hi], p21e[lo:hi], p21i[lo:hi], p21n[lo:hi], p11e, p11i, p11n,
                      nmda_scale[lo:hi], bias_term[lo:hi], w_ext[lo:hi], theta, v_reset, ref_steps, use_nmda,
                      cr, spk[k, lo:hi])
        s += 1
        if s == nslots:
            s = 0


@cached
@numba.njit(parallel=True, fastmath=False, nogil=True)
def lif_block(t0, nsteps, nslots, v, ie, ii, inm, ref, buf,
              p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term,
              w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk, thr, cs, cb, kinds):
    """Advance every neuron ``nsteps`` steps from global step ``t0``; spk[k, i] = 1 on a spike, 0 else.

    One parallel task per chunk of neurons ``cb[c]`` .. ``cb[c + 1]`` (:func:`chunk_bounds`); inside,
    steps outer and neurons inner (each neuron's steps inside a block are independent of every other
    neuron), so the chunk's loops vectorise and its state stays cached. ``thr``: :func:`threshold_rows`;
    ``cs``: (chunks, largest chunk) int32 scratch, the step's counts (a draw is recomputed for the rare
    tail, not stored). Per step: the draws and the count against the first eight
    thresholds (branch-free; scalars when the chunk's neurons share one rate), the rare count of 8
    continued over the rest of the row (``icdf``), then the update. ``p11e``/``p11i``/``p11n``: the
    batch's synaptic decays (float32 scalars). The count equals the old count4-then-search (thresholds
    ascend), so spikes and state are unchanged bit for bit."""
    for c in numba.prange(cb.shape[0] - 1):
        lo = cb[c]
        hi = cb[c + 1]
        _update_chunk(lo, hi, t0, nsteps, nslots, v, ie, ii, inm, ref, buf, p22, p21e, p21i, p21n, p11e, p11i, p11n,
                      nmda_scale, bias_term, w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk, thr,
                      cs[c, :hi - lo], kinds[c])


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
    ``out_k``/``out_i`` must hold spk[:nsteps].size entries. Rows are scanned eight flags at a time
    (spikes are rare: ~1 flag in 800 at 12 Hz and dt 0.1 ms)."""
    n = spk.shape[1]
    nw = n // 8
    m = 0
    for k in range(nsteps):
        row = spk[k]
        words = row[:nw * 8].view(np.uint64)
        for q in range(nw):
            if words[q] != 0:
                for i in range(q * 8, q * 8 + 8):
                    if row[i]:
                        out_k[m] = k
                        out_i[m] = i
                        m += 1
                        row[i] = 0
        for i in range(nw * 8, n):  # the ragged end
            if row[i]:
                out_k[m] = k
                out_i[m] = i
                m += 1
                row[i] = 0
    return m


def delivery_offsets(delay: np.ndarray, code: np.ndarray, nslots: int, n_total: int) -> np.ndarray:
    """Per synapse ``delay * 2N + code``: its ring-buffer address relative to its spike's slot
    (int32 when the ring fits, else int64), so delivery reads 8 bytes a synapse (this and the weight)."""
    size = nslots * 2 * n_total
    out = np.empty(np.shape(code), np.int32 if size < 2**31 - 1 else np.int64)
    fill_offsets(np.ascontiguousarray(delay, np.int32), np.ascontiguousarray(code, np.int64), 2 * n_total, out)
    return out


@numba.njit(cache=True, nogil=True)
def fill_codes(channel, target, n_total, base, off, code):
    """One network's synapses in the batch array from ``off``: ``code = channel * N + base + target``
    (the synapse's row of a ring-buffer slot), without int64 temporaries."""
    for s in range(target.shape[0]):
        c = np.int64(channel[s]) * n_total + base + np.int64(target[s])
        code[off + s] = c


@numba.njit(cache=True, nogil=True)
def fill_offsets(delay, code, two_n, pos):
    """pos[s] = delay[s] * 2N + code[s] (see :func:`delivery_offsets`), without int64 temporaries."""
    for s in range(code.shape[0]):
        pos[s] = np.int64(delay[s]) * two_n + code[s]


@numba.njit(nogil=True, inline="always")
def _touch(x, a, b):
    """Read one element per 64-byte line of x[a:b] (as int32) and return their sum: brings the lines
    into the cache as a sequential stream before random writes to them; the value is only returned."""
    acc = 0
    for q in range(a, b, 16):
        acc += x[q]
    return acc


@numba.njit(nogil=True, inline="always")
def _touch_hot(bits, base, hot, stride, total, n, lo, hi):
    """:func:`_touch` of the partition lo..hi of both halves of the ring slot ``hot`` steps after the
    slot at ``base`` (wrapping)."""
    r = base + hot * stride
    if r >= total:
        r -= total
    return _touch(bits, r + lo, r + hi) + _touch(bits, r + n + lo, r + n + hi)


@numba.njit(nogil=True)
def _deliver_part(t0, spk_k, spk_i, m, nslots, partptr, p, lo, hi, pos, weight, buf_flat, bits, hot):
    """Partition p (targets lo..hi-1) of :func:`deliver`: every spike's synapses onto the partition,
    in spike order; returns the (ignored) sum of the streamed-in ring words."""
    total = buf_flat.shape[0]
    stride = total // nslots
    n = stride // 2
    acc = 0
    kprev = -1
    for j in range(m):
        src = spk_i[j]
        k = spk_k[j]
        base = ((t0 + k) % nslots) * stride
        if hot >= 0 and k != kprev:  # the first spike of a step: stream in its slot's part
            kprev = k
            acc += _touch_hot(bits, base, hot, stride, total, n, lo, hi)
        for s in range(partptr[src, p], partptr[src, p + 1]):
            a = base + pos[s]
            if a >= total:
                a -= total
            buf_flat[a] += weight[s]
    return acc


@numba.njit(parallel=True, cache=True, nogil=True)
def deliver(t0, spk_k, spk_i, m, nslots, partptr, bounds, pos, weight, buf_flat, hot):
    """Scatter-add each spike's outgoing synapses into the ring buffer.

    Synapses of every source are grouped by target partition (``partptr[src, p]`` ..
    ``partptr[src, p + 1]``: the targets ``bounds[p]`` .. ``bounds[p + 1] - 1``, :func:`part_bounds`);
    partition p is written by one thread only, and each address receives its additions in spike
    order, so the sums equal a serial delivery bit for bit.
    ``pos``: :func:`delivery_offsets` (delay < nslots, so one conditional subtraction wraps).

    Cache (measured on the 19,200-neuron network, see docs/spiking.md): a step's spikes write
    ~9,000 random addresses of one ring slot (``hot``: the batch's most common delay in steps,
    or -1), whose lines were evicted to L3 since the update read them; the partition's part of that
    slot is read as a stream first (one int32 per line), so the writes hit L2 instead of missing one
    by one (requesting the next spike's row likewise was slower). The reads only load (their sum is
    returned and ignored): the sums are unchanged.
    """
    nparts = partptr.shape[1] - 1
    bits = buf_flat.view(np.int32)
    chk = 0
    for p in numba.prange(nparts):
        chk += _deliver_part(t0, spk_k, spk_i, m, nslots, partptr, p, bounds[p], bounds[p + 1], pos, weight,
                             buf_flat, bits, hot)
    return chk


@numba.njit(nogil=True)
def _deliver_part_rows(t0, spk_k, spk_i, m, nslots, partptr, p, lo, hi, rbase, rw, tg, buf_flat, bits, hot):
    """:func:`_deliver_part` for uniform rows (:func:`uniform_rows`): a spike's synapses share one weight
    ``rw[src]`` and one delay, so a synapse is a 2-byte target offset ``tg[s]`` from the row's ring
    address ``rbase[src]`` (the same additions, in the same order, as from ``pos`` and ``weight``)."""
    total = buf_flat.shape[0]
    stride = total // nslots
    n = stride // 2
    acc = 0
    kprev = -1
    for j in range(m):
        src = spk_i[j]
        k = spk_k[j]
        base = ((t0 + k) % nslots) * stride
        if hot >= 0 and k != kprev:  # the first spike of a step: stream in its slot's part
            kprev = k
            acc += _touch_hot(bits, base, hot, stride, total, n, lo, hi)
        a0 = base + rbase[src]
        if a0 >= total:   # the row's slot wraps: rbase < stride beyond its delay, so all or none do
            a0 -= total
        w = rw[src]
        for s in range(partptr[src, p], partptr[src, p + 1]):
            a = a0 + np.int64(tg[s])
            buf_flat[a] += w
    return acc


@numba.njit(parallel=True, cache=True, nogil=True)
def deliver_rows(t0, spk_k, spk_i, m, nslots, partptr, bounds, rbase, rw, tg, buf_flat, hot):
    """:func:`deliver` from uniform rows (:func:`uniform_rows`, :func:`_deliver_part_rows`): used when a
    plasticity rule delivers its own synapses and these rows hold the others (``LIFBatch._split``)."""
    nparts = partptr.shape[1] - 1
    bits = buf_flat.view(np.int32)
    chk = 0
    for p in numba.prange(nparts):
        chk += _deliver_part_rows(t0, spk_k, spk_i, m, nslots, partptr, p, bounds[p], bounds[p + 1], rbase, rw, tg,
                                  buf_flat, bits, hot)
    return chk


@numba.njit(cache=True, nogil=True)
def uniform_rows(indptr, code, delay, weight, n_total):
    """(ok, rbase, rw, tg): every source's synapses as ONE weight ``rw`` (float32, equal bits), one
    ring offset ``rbase = delay * 2N + channel * N + first target`` (int64) and per synapse its target
    minus the first target (``tg``, uint16), for :func:`_deliver_part_rows`. ``ok`` is False (and the
    arrays unusable) when a row has two weights, delays or channels, or spans 65,536 targets or more
    (then delivery reads ``pos`` and ``weight``). Brunel-type networks (a neuron's outgoing synapses
    share weight and delay, as in Brian2's benchmark script) qualify."""
    n = indptr.shape[0] - 1
    nnz = code.shape[0]
    rbase = np.zeros(n, np.int64)
    rw = np.zeros(n, np.float32)
    tg = np.zeros(nnz, np.uint16)
    wb = weight.view(np.int32)
    for r in range(n):
        a = indptr[r]
        b = indptr[r + 1]
        if b == a:
            continue
        ch = code[a] // n_total
        tmin = code[a] % n_total
        for s in range(a, b):
            if wb[s] != wb[a] or delay[s] != delay[a] or code[s] // n_total != ch:
                return False, rbase, rw, tg
            tmin = min(tmin, code[s] % n_total)
        for s in range(a, b):
            t = code[s] % n_total - tmin
            if t >= 65536:
                return False, rbase, rw, tg
            tg[s] = t
        rbase[r] = np.int64(delay[a]) * 2 * n_total + ch * n_total + tmin
        rw[r] = weight[a]
    return True, rbase, rw, tg


@numba.njit(nogil=True)
def _collect_part(spk, nsteps, lo, hi, out_k, out_i, off):
    """:func:`collect` of neurons lo..hi-1 (lo a multiple of 8) into out_k/out_i from ``off``; returns the count."""
    nw = (hi - lo) // 8
    m = off
    for k in range(nsteps):
        row = spk[k, lo:hi]
        words = row[:nw * 8].view(np.uint64)
        for q in range(nw):
            if words[q] != 0:
                for i in range(q * 8, q * 8 + 8):
                    if row[i]:
                        out_k[m] = k
                        out_i[m] = lo + i
                        m += 1
                        row[i] = 0
        for i in range(nw * 8, hi - lo):
            if row[i]:
                out_k[m] = k
                out_i[m] = lo + i
                m += 1
                row[i] = 0
    return m - off


@cached
@numba.njit(fastmath=False, nogil=True)
def block_part(p, t0, nsteps, nslots, v, ie, ii, inm, ref, buf,
               p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term,
               w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk, thr, cs, cb, kinds,
               pt0, pk, pi, pm, partptr, bounds, cpart, pos, weight, buf_flat, hot, ck, ci, coff, cnt,
               rows, rbase, rw, tg):
    """Partition p of a fused block (see :func:`block_fused`): the neurons ``bounds[p]`` ..
    ``bounds[p + 1] - 1`` (chunks ``cpart[p]`` .. ``cpart[p + 1] - 1``) first receive the previous
    block's spikes (``pk``/``pi``, ``pm`` of them, emitted from step ``pt0``; :func:`deliver`'s
    partition p; with ``rows`` from the uniform rows ``rbase``/``rw``/``tg``), then advance ``nsteps`` steps (:func:`lif_block`'s chunks), then their spikes are
    listed (step, then neuron) in ``ck``/``ci`` from ``coff[p]``, their number in ``cnt[p]``. Writes
    only partition p's neurons, ring entries, spike flags and list: partitions can run concurrently."""
    lo = bounds[p]
    hi = bounds[p + 1]
    acc = 0
    if pm > 0 and rows:
        acc = _deliver_part_rows(pt0, pk, pi, pm, nslots, partptr, p, lo, hi, rbase, rw, tg, buf_flat,
                                 buf_flat.view(np.int32), hot)
    elif pm > 0:
        acc = _deliver_part(pt0, pk, pi, pm, nslots, partptr, p, lo, hi, pos, weight, buf_flat,
                            buf_flat.view(np.int32), hot)
    for c in range(cpart[p], cpart[p + 1]):
        a = cb[c]
        b = cb[c + 1]
        _update_chunk(a, b, t0, nsteps, nslots, v, ie, ii, inm, ref, buf, p22, p21e, p21i, p21n, p11e, p11i, p11n,
                      nmda_scale, bias_term, w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk,
                      thr, cs[c, :b - a], kinds[c])
    cnt[p] = _collect_part(spk, nsteps, lo, hi, ck, ci, coff[p])
    return acc


@cached
@numba.njit(parallel=True, fastmath=False, nogil=True)
def block_fused(t0, nsteps, nslots, v, ie, ii, inm, ref, buf,
                p22, p21e, p21i, p21n, p11e, p11i, p11n, nmda_scale, bias_term,
                w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk, thr, cs, cb, kinds,
                pt0, pk, pi, pm, partptr, bounds, cpart, pos, weight, buf_flat, hot, ck, ci, coff, cnt,
                rows, rbase, rw, tg):
    """One block in one parallel launch: every partition's :func:`block_part` (the previous block's
    delivery onto its neurons, their update, their spike list). A partition's targets are written and
    read by its own thread only, and the previous block's spikes arrive no earlier than this block
    (delays >= the block length), so this is :func:`deliver` then :func:`lif_block` then
    :func:`collect`, bit for bit, with one launch (one barrier) instead of two per block."""
    chk = 0
    for p in numba.prange(bounds.shape[0] - 1):
        chk += block_part(p, t0, nsteps, nslots, v, ie, ii, inm, ref, buf, p22, p21e, p21i, p21n, p11e, p11i, p11n,
                          nmda_scale, bias_term, w_ext, theta, v_reset, ref_steps, key1, grp, icdf, use_nmda, spk,
                          thr, cs, cb, kinds, pt0, pk, pi, pm, partptr, bounds, cpart, pos, weight, buf_flat, hot, ck, ci,
                          coff, cnt, rows, rbase, rw, tg)
    return chk


@numba.njit(cache=True, nogil=True)
def merge_parts(ck, ci, coff, cnt, nsteps, out_k, out_i):
    """The partitions' spike lists (each by step, then neuron; partitions in neuron order) as one list
    by step, then neuron (the order of :func:`collect`); returns its length."""
    nparts = cnt.shape[0]
    ptr = coff[:nparts].copy()
    m = 0
    for k in range(nsteps):
        for p in range(nparts):
            e = coff[p] + cnt[p]
            q = ptr[p]
            while q < e and ck[q] == k:
                out_k[m] = k
                out_i[m] = ci[q]
                m += 1
                q += 1
            ptr[p] = q
    return m


def hot_delay(delay: np.ndarray) -> int:
    """The most common delay (steps) when at least half the synapses have it, else -1 (see :func:`deliver`)."""
    d = np.asarray(delay)
    if d.size == 0:
        return -1
    cnt = np.bincount(d.astype(np.int64, copy=False))
    h = int(cnt.argmax())
    return h if 2 * cnt[h] >= d.size else -1


def part_bounds(indegree: np.ndarray, nparts: int, align: int = 64) -> np.ndarray:
    """(nparts + 1,) int64 neuron boundaries of the threads' partitions: near-equal cost, a neuron
    costing 1 + its in-degree / the mean in-degree (its update and its share of the delivered
    events, about equal on the issue's network), each boundary a multiple of ``align`` neurons (no
    cache line of the state, the ring or the spike flags is written by two threads)."""
    n = int(np.shape(indegree)[0])
    nparts = max(1, int(nparts))
    deg = np.asarray(indegree, np.float64)
    mean = deg.mean() if n else 0.0
    cost = np.cumsum(1.0 + (deg / mean if mean > 0 else 0.0))
    out = np.zeros(nparts + 1, np.int64)
    out[-1] = n
    for p in range(1, nparts):
        j = int(np.searchsorted(cost, cost[-1] * p / nparts)) if n else 0
        j = min(n, int(round(j / align)) * align)
        out[p] = min(max(j, out[p - 1]), n)
    return out


def chunk_bounds(bounds: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """(cb, cpart): chunks of at most ``chunk`` neurons, the same number in every partition (so a
    static split of the chunks over the threads gives each thread one partition), near-equal within a
    partition; partition p is chunks cpart[p] .. cpart[p + 1] - 1, chunk c neurons cb[c] .. cb[c + 1] - 1."""
    sizes = np.diff(bounds)
    per = max(1, -(-int(sizes.max(initial=0)) // chunk))
    cb = [int(bounds[0])]
    for p in range(len(sizes)):
        lo, n = int(bounds[p]), int(sizes[p])
        cb += [lo + n * (q + 1) // per for q in range(per)]
    cb = np.unique(np.asarray(cb, np.int64))   # without the empty chunks of partitions below `per` neurons
    cpart = np.searchsorted(cb, bounds).astype(np.int64)
    return cb, cpart


@numba.njit(cache=True, nogil=True)
def partition_pointers(indptr, code, n_total, bounds):
    """partptr[src, p] for synapses already sorted by (source, target partition); partition p holds
    the targets bounds[p] .. bounds[p + 1] - 1."""
    n = indptr.shape[0] - 1
    nparts = bounds.shape[0] - 1
    out = np.empty((n, nparts + 1), np.int64)
    for src in range(n):
        s = indptr[src]
        e = indptr[src + 1]
        out[src, 0] = s
        q = s
        for p in range(nparts):
            hi = bounds[p + 1]
            while q < e and (code[q] % n_total) < hi:
                q += 1
            out[src, p + 1] = q
        out[src, nparts] = e
    return out


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
def _csr_scatter(n, src, tgt, chan, wpsp, d, tau_m, tau_e, tau_i, uniform_tau):
    """One pass: count per source, then scatter (stable) each synapse's target, channel, delay and
    weight (``wpsp * tau_m / tau_syn`` in float64, rounded to float32: the same operations, in the
    same order, as the numpy expression it replaces) into its source's row. Returns whether the
    targets arrived in ascending order (then every row is already sorted by target)."""
    nnz = src.shape[0]
    indptr = np.zeros(n + 1, np.int64)
    for j in range(nnz):
        indptr[src[j] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    pos = indptr[:-1].copy()
    out_t = np.empty(nnz, np.int32)
    out_c = np.empty(nnz, np.int8)
    out_w = np.empty(nnz, np.float32)
    out_d = np.empty(nnz, np.int32)
    tm0 = np.float64(tau_m[0])
    r_e = tm0 / tau_e
    r_i = tm0 / tau_i
    ascending = True
    prev = -1
    for j in range(nnz):
        s = src[j]
        q = pos[s]
        pos[s] = q + 1
        t = tgt[j]
        if t < prev:
            ascending = False
        prev = t
        c = chan[j]
        out_t[q] = t
        out_c[q] = c
        out_d[q] = d[j]
        if uniform_tau:
            out_w[q] = np.float32(wpsp[j] * (r_e if c == 0 else r_i))
        else:
            out_w[q] = np.float32(wpsp[j] * np.float64(tau_m[t]) / (tau_e if c == 0 else tau_i))
    return indptr, out_t, out_c, out_w, out_d, ascending


@numba.njit(cache=True, nogil=True)
def csr_fixed_indegree(src_e, src_i, w_e, w_i, delay):
    """The CSR of a fixed in-degree network straight from its draws: target t's sources are
    ``src_e[t]`` (channel 0, current jump ``w_e``) then ``src_i[t]`` (channel 1, ``w_i``), delay
    ``delay``; rows come out sorted by target (targets are visited in ascending order), the same
    arrays as :func:`build_csr` on the flattened synapse list."""
    n = src_e.shape[0]
    ce = src_e.shape[1]
    ci = src_i.shape[1]
    nnz = n * (ce + ci)
    indptr = np.zeros(n + 1, np.int64)
    for t in range(n):
        for j in range(ce):
            indptr[src_e[t, j] + 1] += 1
        for j in range(ci):
            indptr[src_i[t, j] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    pos = indptr[:-1].copy()
    out_t = np.empty(nnz, np.int32)
    out_c = np.empty(nnz, np.int8)
    out_w = np.empty(nnz, np.float32)
    out_d = np.full(nnz, delay, np.int32)
    for t in range(n):
        for j in range(ce):
            s = src_e[t, j]
            q = pos[s]
            pos[s] = q + 1
            out_t[q] = t
            out_c[q] = 0
            out_w[q] = w_e
        for j in range(ci):
            s = src_i[t, j]
            q = pos[s]
            pos[s] = q + 1
            out_t[q] = t
            out_c[q] = 1
            out_w[q] = w_i
    return indptr, out_t, out_c, out_w, out_d


@numba.njit(parallel=True, cache=True)
def _sort_csr_rows(indptr, t, c, w, d):
    """Sort each row by target, stably (rows of synapses from :func:`_csr_scatter` whose targets
    did not arrive in ascending order)."""
    n = indptr.shape[0] - 1
    for r in numba.prange(n):
        a, b = indptr[r], indptr[r + 1]
        if b - a > 1:
            srt = True
            for q in range(a + 1, b):
                if t[q] < t[q - 1]:
                    srt = False
                    break
            if srt:
                continue
            o = np.argsort(t[a:b], kind="mergesort")
            t2 = t[a:b].copy()
            c2 = c[a:b].copy()
            w2 = w[a:b].copy()
            d2 = d[a:b].copy()
            for q in range(b - a):
                t[a + q] = t2[o[q]]
                c[a + q] = c2[o[q]]
                w[a + q] = w2[o[q]]
                d[a + q] = d2[o[q]]


def build_csr(n, src, tgt, chan, wpsp, d, tau_m, tau_e, tau_i):
    """(indptr, target int32, channel int8, weight float32, delay int32): the CSR by source with each
    row sorted by target, the weights converted from PSP efficacies (mV) to current jumps
    (``wpsp * tau_m(target) / tau_syn(channel)``). O(nnz), no temporaries the size of the synapse list."""
    tau_m = np.ascontiguousarray(tau_m, np.float32)
    uniform = bool(tau_m.size == 0 or np.all(tau_m == tau_m[0]))
    if tau_m.size == 0:
        tau_m = np.ones(1, np.float32)
    indptr, t, c, w, dd, asc = _csr_scatter(int(n), np.ascontiguousarray(src, np.int64),
                                            np.ascontiguousarray(tgt, np.int32), np.ascontiguousarray(chan, np.int8),
                                            np.ascontiguousarray(wpsp, np.float64), np.ascontiguousarray(d, np.int32),
                                            tau_m, float(tau_e), float(tau_i), uniform)
    if not asc:
        _sort_csr_rows(indptr, t, c, w, dd)
    return indptr, t, c, w, dd


@numba.njit(cache=True, nogil=True)
def dale_violations(indptr, is_exc, weight, channel):
    """(count, first synapse index or -1) of synapses breaking Dale's law (see network.check_dale)."""
    n = indptr.shape[0] - 1
    bad = 0
    first = -1
    for s in range(n):
        e = is_exc[s]
        for q in range(indptr[s], indptr[s + 1]):
            if e:
                ok = weight[q] > 0 and channel[q] == 0
            else:
                ok = weight[q] < 0 and channel[q] == 1
            if not ok:
                if first < 0:
                    first = q
                bad += 1
    return bad, first
