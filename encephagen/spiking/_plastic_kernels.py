"""Numba kernels of the reward-modulated plastic synapses (:mod:`encephagen.spiking.plastic`):
the eligibility trace of R-STDP over a block, the same arithmetic in the same order as the
stand-alone :class:`encephagen.plasticity.RSTDP` (per step: decay every trace, then add the LTP
term of postsynaptic spikes arriving now, then subtract the LTD term of presynaptic spikes now)."""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from encephagen.spiking._numba_kernels import cached, ltp_events, rate_step, stdp_depress, stdp_facilitate


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Ask the CPU to bring ``arr[idx]``'s cache line in (LLVM's ``prefetch``: a hint, no load, no
    fault; changes no value)."""
    sig = types.void(arr, idx)

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 2), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@cached
@numba.njit(nogil=True)
def rstdp_block(t0, ka, kb, spk_k, spk_i, m, post_t, post_j, c, pre, post, d, out_ptr, in_ptr, in_perm,
                ring_x, ring_y, decay_c, a_plus, a_minus):
    """Eligibility ``c`` of every plastic synapse over steps t0+ka .. t0+kb-1:
    ``c <- c decay_c``; ``c <- c + a_plus x_pre`` (post spike at the synapse, its delay after the
    spike); ``c <- c - a_minus y_post(t - d)`` (pre spike now). Returns the number of LTP events."""
    nslots = ring_x.shape[0]
    nk = kb - ka
    P = c.shape[0]
    cnt, ev = ltp_events(post_t, post_j, in_ptr, in_perm, d, t0, ka, kb)
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    for k in range(ka, kb):
        t = t0 + k
        sx = t % nslots
        for p in range(P):
            c[p] = c[p] * decay_c
        for e in range(cnt[k - ka], cnt[k - ka + 1]):
            p = ev[e]
            c[p] = c[p] + a_plus * ring_x[sx, pre[p]]
        while js < m and spk_k[js] == k:
            i = spk_i[js]
            for p in range(out_ptr[i], out_ptr[i + 1]):
                sy = (t - d[p]) % nslots
                c[p] = c[p] - a_minus * ring_y[sy, post[p]]
            js += 1
    return cnt[nk]


@numba.njit(nogil=True, inline="always")
def _decay_pow(pw, decay_c, n):
    """``decay_c ** n`` (a table below ``len(pw)``)."""
    return pw[n] if n < pw.shape[0] else decay_c ** n


@cached
@numba.njit(nogil=True)
def rstdp_events(t0, ka, kb, spk_k, spk_i, m, post_t, post_j, c, tc, pw, pre, post, d, out_ptr, in_ptr, in_perm,
                 ring_x, ring_y, decay_c, a_plus, a_minus):
    """:func:`rstdp_block` with the decay applied at a synapse's events only: before an update at
    step t, ``c <- c decay_c**(t - tc)`` (``tc``: the step of its last update), so a step costs
    its events, not every synapse. Equal to the per-step decay to rounding (``decay**n`` instead
    of n multiplications). Returns the number of LTP events."""
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
            c[p] = c[p] * _decay_pow(pw, decay_c, t - tc[p]) + a_plus * ring_x[sx, pre[p]]
            tc[p] = t
        while js < m and spk_k[js] == k:
            i = spk_i[js]
            for p in range(out_ptr[i], out_ptr[i + 1]):
                sy = (t - d[p]) % nslots
                c[p] = c[p] * _decay_pow(pw, decay_c, t - tc[p]) - a_minus * ring_y[sy, post[p]]
                tc[p] = t
            js += 1
    return cnt[nk]


@cached
@numba.njit(nogil=True)
def rstdp_decay_to(c, tc, T, pw, decay_c):
    """Every eligibility decayed up to step T (``tc`` = T): the lazy decay's catch-up."""
    for p in range(c.shape[0]):
        n = T - tc[p]
        if n > 0:
            c[p] = c[p] * _decay_pow(pw, decay_c, n)
            tc[p] = T


@cached
@numba.njit(nogil=True)
def eprop_rl_step(t, z, psi, zbar, ring, alpha, pre, post, d, net_of, ebar, F, dW, L, LH, kappa, gamma, delta,
                  has_delta, eta, ec):
    """One step of reward-based e-prop on every plastic synapse (``encephagen.learn.eprop``), the
    arithmetic of the dense :class:`encephagen.plasticity.eprop_rl.EPropActorCritic` per synapse:
    ``ebar <- kappa ebar + psi_post zbar_pre(t - d)``; with the previous step's TD error
    ``dW <- dW + (-eta delta) F``; ``F <- gamma F + L_post ebar``; ``dW <- dW + (eta c_e LH_post) ebar``;
    then the presynaptic traces ``zbar <- alpha zbar + z`` into the ring at ``t``."""
    S = ring.shape[0]
    for p in range(pre.shape[0]):
        j = post[p]
        e = ebar[p] * kappa + psi[j] * ring[(t - d[p]) % S, pre[p]]
        ebar[p] = e
        if has_delta:
            dW[p] = dW[p] + ((-eta) * delta[net_of[p]]) * F[p]
        F[p] = F[p] * gamma + L[j] * e
        dW[p] = dW[p] + (ec * LH[j]) * e
    s = t % S
    for i in range(zbar.shape[0]):
        zbar[i] = zbar[i] * alpha[i] + z[i]
        ring[s, i] = zbar[i]


# ---------------------------------------------------------------------------------------------
# Pair-based STDP on the numba backend (:class:`encephagen.spiking.plastic.PlasticSynapses`).
#
# Memory layout, built once: the plastic synapses in source order (``w``, ``d``, ``post``, ``q``:
# one contiguous row per presynaptic neuron, read sequentially by depression) and an index by
# target (``in_syn``: synapse ids per postsynaptic neuron, sorted by delay, with ``in_pre`` beside
# it) cut into delay groups (``gptr[j]`` .. ``gptr[j + 1]``: the groups of neuron j; group g is
# ``in_syn[glo[g]:glo[g + 1]]``, all with delay ``gd[g]``). A postsynaptic spike reaches one group
# in one step, so potentiation is bucketed per (spike, group), not per synapse, and a group's
# synapse ids and presynaptic neurons are read sequentially. Only the weights ``w[p]`` of
# potentiation are random accesses. The same arithmetic in the same order per synapse as
# ``_numba_kernels.stdp_block`` and the stand-alone rule (bitwise equal weights).


@cached
@numba.njit(nogil=True)
def trace_spikes(x, ring, t0, ka, kb, spk_k, spk_i, m, decay, nearest):
    """Traces over steps t0+ka .. t0+kb-1 from the block's spike list (``spk_k`` step-ascending):
    ``ring[(t0 + k) % S] = x`` (spikes strictly before the step), then ``x <- x decay`` for every
    neuron and ``x <- (x + 1) decay`` (all-to-all) or ``decay`` (nearest) for the step's spikers:
    the same values as :func:`encephagen.spiking.update.trace_step` on a raster (``x + 0 = x``)."""
    nslots = ring.shape[0]
    n = x.shape[0]
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    for k in range(ka, kb):
        slot = (t0 + k) % nslots
        row = ring[slot]
        for i in range(n):
            xi = x[i]
            row[i] = xi
            x[i] = xi * decay
        while js < m and spk_k[js] == k:
            i = spk_i[js]
            if nearest:
                x[i] = 1.0 * decay
            else:
                x[i] = (row[i] + 1.0) * decay
            js += 1


@cached
@numba.njit(nogil=True)
def sensor_spikes(rate, ka, kb, spk_k, spk_i, m, decay, gain):
    """Scaling's rate sensor over steps ka..kb-1 (:func:`encephagen.spiking.update.rate_step`)
    from the spike list: ``r decay`` for every neuron, ``r decay + gain`` for the step's spikers
    (``r decay + gain 0 = r decay`` for ``r >= 0``)."""
    n = rate.shape[0]
    old = np.empty(max(m, 1), np.float64)
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    for k in range(ka, kb):
        j0 = js
        while js < m and spk_k[js] == k:
            old[js - j0] = rate[spk_i[js]]
            js += 1
        for i in range(n):
            rate[i] = rate_step(rate[i], 0.0, decay, gain)
        for e in range(j0, js):          # the step's spikers, from their value before the decay
            rate[spk_i[e]] = rate_step(old[e - j0], 1.0, decay, gain)


@cached
@numba.njit(nogil=True)
def ltp_groups(hist_t, hist_j, h, gptr, gd, t0, ka, kb, dmin, dmax, cnt, gev):
    """Potentiation of steps t0+ka .. t0+kb-1 bucketed by step: the delay groups reached by the
    postsynaptic spikes ``hist_t``/``hist_j`` (the first ``h``), group ids of step k in
    ``gev[cnt[k - ka]:cnt[k - ka + 1]]``. ``gev`` must be large enough (returns -1 if not)."""
    nk = kb - ka
    for k in range(nk + 1):
        cnt[k] = 0
    lo = t0 + ka - dmax
    hi = t0 + kb - dmin
    for e in range(h):
        tp = hist_t[e]
        if tp < lo or tp >= hi:
            continue
        j = hist_j[e]
        for g in range(gptr[j], gptr[j + 1]):
            k = tp + gd[g] - t0
            if ka <= k < kb:
                cnt[k - ka + 1] += 1
    for k in range(nk):
        cnt[k + 1] += cnt[k]
    if cnt[nk] > gev.shape[0]:
        return -1
    fill = cnt[:nk].copy()
    for e in range(h):
        tp = hist_t[e]
        if tp < lo or tp >= hi:
            continue
        j = hist_j[e]
        for g in range(gptr[j], gptr[j + 1]):
            k = tp + gd[g] - t0
            if ka <= k < kb:
                gev[fill[k - ka]] = g
                fill[k - ka] += 1
    return cnt[nk]


@cached
@numba.njit(nogil=True)
def stdp_events(t0, ka, kb, spk_k, spk_i, m, cnt, gev, glo, in_syn, in_pre, w, weight, q, post, d, out_ptr,
                ring_x, ring_y, lam, alpha, mu_plus, mu_minus, w_max):
    """STDP of steps t0+ka .. t0+kb-1 (groups from :func:`ltp_groups`): per step, potentiation of
    every synapse a postsynaptic spike reaches now (presynaptic trace at this step), then
    depression of every outgoing plastic synapse of this step's presynaptic spikes (postsynaptic
    trace at ``t - d``); ``weight[q[p]]`` (the engine's float32) takes the weight at the
    presynaptic spike. Returns (potentiation events, depression events)."""
    nslots = ring_x.shape[0]
    n_ltp = 0
    n_ltd = 0
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    for k in range(ka, kb):
        t = t0 + k
        s0 = t % nslots
        rx = ring_x[s0]
        for e in range(cnt[k - ka], cnt[k - ka + 1]):
            g = gev[e]
            a = glo[g]
            b = glo[g + 1]
            n_ltp += b - a
            for r in range(a, b):
                p = in_syn[r]
                w[p] = stdp_facilitate(w[p], rx[in_pre[r]], lam, mu_plus, w_max)
        while js < m and spk_k[js] == k:
            i = spk_i[js]
            a = out_ptr[i]
            b = out_ptr[i + 1]
            n_ltd += b - a
            for p in range(a, b):
                sy = s0 - d[p]            # (t - d) mod S without a division (d < S)
                if sy < 0:
                    sy += nslots
                wp = stdp_depress(w[p], ring_y[sy, post[p]], lam, alpha, mu_minus, w_max)
                w[p] = wp
                weight[q[p]] = np.float32(wp)
            js += 1
    return n_ltp, n_ltd


@cached
@numba.njit(nogil=True)
def keep_post_spikes(hist_t, hist_j, h, spk_k, spk_i, m, t0, keep_from, has_in):
    """Drop the postsynaptic spikes before step ``keep_from``, append this block's spikes of
    neurons with plastic inputs (``has_in``); returns the new count (the arrays must hold
    ``h + m``)."""
    o = 0
    for e in range(h):
        if hist_t[e] >= keep_from:
            hist_t[o] = hist_t[e]
            hist_j[o] = hist_j[e]
            o += 1
    for e in range(m):
        i = spk_i[e]
        if has_in[i]:
            hist_t[o] = t0 + spk_k[e]
            hist_j[o] = i
            o += 1
    return o


def target_index(post: np.ndarray, d: np.ndarray, n: int):
    """The by-target index of the plastic synapses (see above): ``in_syn``, ``in_pre`` are built by
    the caller from the returned order; returns (order, gptr, glo, gd, has_in)."""
    order = np.lexsort((d, post))        # by target, then delay; stable in the synapse id
    ps, ds = post[order], d[order]
    P = order.size
    new = np.ones(P, bool)
    if P:
        new[1:] = (ps[1:] != ps[:-1]) | (ds[1:] != ds[:-1])
    starts = np.flatnonzero(new)
    glo = np.append(starts, P).astype(np.int64)
    gd = ds[starts].astype(np.int64)
    gpost = ps[starts]
    gptr = np.searchsorted(gpost, np.arange(n + 1)).astype(np.int64)
    has_in = np.zeros(n, np.bool_)
    has_in[gpost] = True
    return order, gptr, glo, gd, has_in


# ---------------------------------------------------------------------------------------------
# Potentiation on demand (NEST's scheme for stdp_synapse): a synapse's potentiation by the
# postsynaptic spikes that reached it since its last update is applied when it is next needed:
# at its presynaptic spike (before the depression, so the transmitted weight is that of the
# step-by-step rule), at a scaling step, when the weights are read, and at the latest ``H``
# steps after its last update (which bounds the postsynaptic history kept). Every synapse then
# sees the same operations in the same order as the step-by-step rule (potentiation of
# arrivals at t before the depression of a presynaptic spike at t), and the presynaptic trace
# at an arrival is recomputed from the last spike with the same per-step multiplications as
# :func:`trace_spikes`: the weights are bit for bit those of :func:`stdp_events`. Potentiation
# then walks each presynaptic spike's outgoing row sequentially, as depression does (no random
# read-modify-write of the weights). Postsynaptic history: ``hist_t`` (spike steps,
# chronological, entry e stored at ``e - base``), ``hist_prev`` (the same neuron's previous
# entry, absolute), ``last[j]`` (neuron j's newest entry, -1: none).


@numba.njit(nogil=True)
def _facilitate(w, x, lam, mu_plus, w_max):
    return stdp_facilitate(w, x, lam, mu_plus, w_max)


@numba.njit(nogil=True)
def _depress(w, y, lam, alpha, mu_minus, w_max):
    return stdp_depress(w, y, lam, alpha, mu_minus, w_max)


@numba.njit(nogil=True, inline="always")
def _arrivals(e, base, hist_t, hist_prev, dp, lo, T, buf):
    """A neuron's spikes (newest history entry ``e`` first, linked by ``hist_prev``) arriving after
    ``dp`` steps in (lo, T], written to ``buf`` newest first; returns their count."""
    c = 0
    while e >= base:
        ar = hist_t[e - base] + dp
        if ar <= lo:
            break
        if ar <= T:
            buf[c] = ar
            c += 1
        e = hist_prev[e - base]
    return c


@numba.njit(nogil=True, inline="always")
def _arrivals_recent(j, rf, e, base, hist_t, hist_prev, dp, lo, T, buf):
    """:func:`_arrivals` for neuron j (history entry ``e`` its newest) where its fourth newest spike
    (``rf``: the recent spikes flat, 4 per neuron, newest first) arrives by ``lo``: its arrivals in
    (lo, T] are then among the three newest, read from ``rf`` instead of walking the history (a
    dependent cache miss per entry; session 13: ~5 % of the kernel's samples); the same list."""
    j4 = np.uint64(j) << np.uint64(2)
    if rf[j4 + np.uint64(3)] + dp > lo:
        return _arrivals(e, base, hist_t, hist_prev, dp, lo, T, buf)
    c = 0
    for k in range(3):
        ar = rf[j4 + np.uint64(k)] + dp
        if ar <= lo:
            break
        if ar <= T:
            buf[c] = ar
            c += 1
    return c


@numba.njit(nogil=True, inline="always")
def _pending_ltp(i, a, b, T, tflush, tx, xv, chain, w, post, d, recent, hist_t, hist_prev, last, base, buf, decay,
                 lam, mu_plus, w_max):
    """Potentiate synapses a..b-1 of presynaptic neuron i by the arrivals in (tflush[i], T] and
    move i's trace anchor to T (``xv[i]`` = the trace at step T). Returns the events."""
    lo = tflush[i]
    # the presynaptic trace at steps lo+1 .. T (chain[s - lo - 1]), from the anchor x(tx[i]) = xv[i]
    x = xv[i]
    for s in range(tx[i], T):
        if s > lo:
            chain[s - lo - 1] = x
        x = x * decay
    if T > lo:
        chain[T - lo - 1] = x
    tx[i] = T
    xv[i] = x
    tflush[i] = T
    n = 0
    last_i = T - lo - 1
    for p in range(a, b):
        j = post[p]
        dp = d[p]
        if recent[j, 2] + dp > lo:
            # three or more spikes may have arrived (rare): the neuron's full history, newest first
            c = _arrivals(last[j], base, hist_t, hist_prev, dp, lo, T, buf)
            wp = w[p]
            for r in range(c - 1, -1, -1):
                wp = _facilitate(wp, chain[buf[r] - lo - 1], lam, mu_plus, w_max)
            w[p] = wp
            n += c
            continue
        # at most the two newest spikes (recent[j, 0] newest; -2**30 where none) arrived in (lo, T]:
        # both updates computed, each kept only where it applies (no data-dependent branch)
        ar1 = recent[j, 1] + dp
        ar0 = recent[j, 0] + dp
        v1 = ar1 > lo and ar1 <= T
        v0 = ar0 > lo and ar0 <= T
        wp = w[p]
        f = _facilitate(wp, chain[min(max(ar1 - lo - 1, 0), last_i)], lam, mu_plus, w_max)
        wp = f if v1 else wp
        f = _facilitate(wp, chain[min(max(ar0 - lo - 1, 0), last_i)], lam, mu_plus, w_max)
        wp = f if v0 else wp
        w[p] = wp
        n += v0 + v1
    return n


@cached
@numba.njit(nogil=True)
def stdp_lazy(t0, ka, kb, spk_k, spk_i, m, tflush, tx, xv, chain, buf, recent, hist_t, hist_prev, last, base, w,
              weight, q, post, d, out_ptr, ring_y, d_src, q_src, decay, nearest, lam, alpha, mu_plus, mu_minus, w_max):
    """STDP of the presynaptic spikes of steps t0+ka .. t0+kb-1: per spike (step-ascending), the
    pending potentiation of its outgoing plastic synapses (arrivals up to now), then their
    depression (postsynaptic trace at ``t - d``), ``weight[q[p]]`` (the engine's float32) taking
    the weight; the neuron's trace anchor moves past its spike (:func:`trace_spikes`' update).
    ``d_src[i]``/``q_src[i]``: the delay of all of neuron i's plastic synapses and the engine index
    of the first (its plastic synapses consecutive in the engine), -1 where not (read per synapse).
    Returns (potentiation events, depression events)."""
    nslots = ring_y.shape[0]
    n_ltp = 0
    n_ltd = 0
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    while js < m and spk_k[js] < kb:
        k = spk_k[js]
        i = spk_i[js]
        js += 1
        a = out_ptr[i]
        b = out_ptr[i + 1]
        if a == b:
            continue
        t = t0 + k
        n_ltp += _pending_ltp(i, a, b, t, tflush, tx, xv, chain, w, post, d, recent, hist_t, hist_prev, last, base, buf,
                              decay, lam, mu_plus, w_max)
        tx[i] = t + 1
        xv[i] = 1.0 * decay if nearest else (xv[i] + 1.0) * decay
        s0 = t % nslots
        n_ltd += b - a
        if d_src[i] >= 0 and q_src[i] >= 0:   # one delay, consecutive engine synapses: one trace row
            sy = s0 - d_src[i]
            if sy < 0:
                sy += nslots
            row = ring_y[sy]
            qo = q_src[i] - a
            for p in range(a, b):
                wp = _depress(w[p], row[post[p]], lam, alpha, mu_minus, w_max)
                w[p] = wp
                weight[qo + p] = np.float32(wp)
            continue
        for p in range(a, b):
            sy = s0 - d[p]            # (t - d) mod S without a division (d < S)
            if sy < 0:
                sy += nslots
            wp = _depress(w[p], ring_y[sy, post[p]], lam, alpha, mu_minus, w_max)
            w[p] = wp
            weight[q[p]] = np.float32(wp)
    return n_ltp, n_ltd


@cached
@numba.njit(nogil=True)
def flush_ltp(T, older_than, tflush, tx, xv, chain, buf, recent, hist_t, hist_prev, last, base, w, post, d, out_ptr,
              decay, lam, mu_plus, w_max):
    """Pending potentiation up to step T of every presynaptic neuron last updated before step
    ``older_than`` (``T + 1``: all). Returns the events."""
    n = 0
    for i in range(out_ptr.shape[0] - 1):
        a = out_ptr[i]
        b = out_ptr[i + 1]
        if a < b and tflush[i] < older_than and tflush[i] < T:
            n += _pending_ltp(i, a, b, T, tflush, tx, xv, chain, w, post, d, recent, hist_t, hist_prev, last, base, buf,
                              decay, lam, mu_plus, w_max)
    return n


@cached
@numba.njit(nogil=True)
def add_post_spikes(recent, hist_t, hist_prev, hist_j, last, h, base, spk_k, spk_i, m, t0, has_in):
    """Append the block's spikes of neurons with plastic inputs to the postsynaptic history, with
    the neuron of each entry (``hist_j``, for :func:`_lag_to`; the arrays must hold ``h - base + m``);
    returns the new absolute count ``h``."""
    for e in range(m):
        j = spk_i[e]
        if has_in[j]:
            tp = t0 + spk_k[e]
            recent[j, 3] = recent[j, 2]
            recent[j, 2] = recent[j, 1]
            recent[j, 1] = recent[j, 0]
            recent[j, 0] = tp
            hist_t[h - base] = tp
            hist_prev[h - base] = last[j]
            hist_j[h - base] = j
            last[j] = h
            h += 1
    return h


# ---------------------------------------------------------------------------------------------
# The on-demand kernel, restructured for speed (session 10; the same operations per synapse, in
# the same order, as :func:`_pending_ltp` + the depression of the per-event kernel, so bit for bit
# the same weights). Measured on the 19,200-neuron network (docs/spiking.md): the per-visit cost
# was two random reads (the target's post trace row ``ring_y[t - d]``, 154 KB a step and a new
# row every step, out of cache; the target's recent spikes) and scalar divisions. Now:
# - the presynaptic traces of up to ``GANG`` spikes are recomputed together (:func:`_chains`,
#   eight independent multiplication chains instead of one latency-bound chain per spike);
# - a row is processed in two passes: a scalar gather (targets' recent spikes, the traces at the
#   arrivals, the post trace) into contiguous scratch, then the arithmetic over contiguous arrays,
#   which LLVM vectorises (AVX2/AVX-512) when the weight dependence is a compile-time constant
#   (``mu`` 0 or 1: literal arguments; a runtime ``mu`` turns the vectorised loop into one with a
#   ``pow`` per lane, 20x slower); three or more arrivals (rare) are redone from the saved weight;
# - with one delay ``d`` for every plastic synapse the post trace is a single vector kept at step
#   ``t - d`` (:func:`_lag_to`, advanced per step with the postsynaptic history, in cache), not a
#   ring of rows written every step and read at random; otherwise the ring's row is read as a
#   stream (one load per line) before the random reads.

#: presynaptic spikes whose traces :func:`stdp_lazy_rows` recomputes together (the lanes of _chains)
GANG = 8


@numba.njit(nogil=True, inline="always")
def _chains(chain, x, Ls, decay, o):
    """``chain[g * S + n]`` = lane g's trace n steps after its anchor ``x[g]`` for n = 0..``Ls[g]``
    (S = len(chain) // 8; ``Ls[g]`` = -1: an unused lane): the multiplications of :func:`trace_spikes`,
    each lane its own chain. The lanes sorted by length (``o``: int64 scratch of 8) and run in
    phases of 8, 4, 2 and 1 lanes (session 12): the lanes' lengths differ (exponential gaps between a
    neuron's spikes), so running all eight up to the longest (session 10) multiplied and stored ~1.4x
    the entries needed. The entries past a lane's length are not read (the gathers clamp to it)."""
    S = chain.shape[0] // 8
    for g in range(8):
        o[g] = g
    for a in range(1, 8):                # insertion sort, longest first
        k = o[a]
        lk = Ls[k]
        b = a
        while b > 0 and Ls[o[b - 1]] < lk:
            o[b] = o[b - 1]
            b -= 1
        o[b] = k
    # each lane its own view and the step an unsigned index: no wrap-around test per store (numba wraps
    # negative signed indices; session 13: the eight-lane loop spent a shift, a mask and an address per
    # store on it and spilled its bases to the stack)
    c0 = chain[o[0] * S:(o[0] + 1) * S]
    c1 = chain[o[1] * S:(o[1] + 1) * S]
    c2 = chain[o[2] * S:(o[2] + 1) * S]
    c3 = chain[o[3] * S:(o[3] + 1) * S]
    c4 = chain[o[4] * S:(o[4] + 1) * S]
    c5 = chain[o[5] * S:(o[5] + 1) * S]
    c6 = chain[o[6] * S:(o[6] + 1) * S]
    c7 = chain[o[7] * S:(o[7] + 1) * S]
    x0, x1, x2, x3 = x[o[0]], x[o[1]], x[o[2]], x[o[3]]
    x4, x5, x6, x7 = x[o[4]], x[o[5]], x[o[6]], x[o[7]]
    one = np.uint64(1)
    # the phases' ends (exclusive, n <= L as n < L + 1; an unused lane has L = -1)
    e0, e1, e2, e4 = np.uint64(Ls[o[0]] + 1), np.uint64(Ls[o[1]] + 1), np.uint64(Ls[o[2]] + 1), np.uint64(Ls[o[4]] + 1)
    n = np.uint64(0)
    while n < e4:                        # five or more lanes still running: all eight
        c0[n] = x0
        c1[n] = x1
        c2[n] = x2
        c3[n] = x3
        c4[n] = x4
        c5[n] = x5
        c6[n] = x6
        c7[n] = x7
        x0 = x0 * decay
        x1 = x1 * decay
        x2 = x2 * decay
        x3 = x3 * decay
        x4 = x4 * decay
        x5 = x5 * decay
        x6 = x6 * decay
        x7 = x7 * decay
        n += one
    while n < e2:                        # three or four: the four longest
        c0[n] = x0
        c1[n] = x1
        c2[n] = x2
        c3[n] = x3
        x0 = x0 * decay
        x1 = x1 * decay
        x2 = x2 * decay
        x3 = x3 * decay
        n += one
    while n < e1:                        # two
        c0[n] = x0
        c1[n] = x1
        x0 = x0 * decay
        x1 = x1 * decay
        n += one
    while n < e0:                        # the longest alone
        c0[n] = x0
        x0 = x0 * decay
        n += one


@numba.njit(nogil=True, inline="always")
def _lag_to(yl, lag, s, hist_t, hist_j, h, base, decay, nearest):
    """Advance the post trace ``yl`` (at step ``lag[0]``, history entries before ``lag[1]``
    applied) to step ``s``: per step the step's spikers ``y + 1`` (all-to-all) or ``1`` (nearest),
    then every neuron ``y decay``: the values :func:`trace_spikes` stores in its ring."""
    sl = lag[0]
    e = lag[1]
    yv = yl[lag[4]:lag[5]]           # the neurons with plastic inputs lie in lag[4]..lag[5]
    while sl < s:
        while e < h and hist_t[e - base] == sl:
            j = hist_j[e - base]
            yl[j] = 1.0 if nearest else yl[j] + 1.0
            e += 1
        for i in range(yv.shape[0]):
            yv[i] = yv[i] * decay
        sl += 1
    lag[0] = sl
    lag[1] = e


@numba.njit(nogil=True, inline="always")
def _gather_u(ps, rf, yrow, cg, lo_r, span, off, Lg, X1, X0, M, Y, S0, S1, S2):
    """Scalar pass over a row whose plastic synapses share one delay ``dp``: the traces at the two
    newest arrivals (``X1``, ``X0``), the post trace ``Y`` and ``M``: bit 0/1 the second newest/newest
    spike arrived in (lo, T], bit 2 a third one did (rare: redone from the history). Returns (rare,
    arrivals). Three simple loops (session 11; session 10's single loop was bound by its ~60
    instructions a synapse, not by cache misses: 4.5 -> 2.5 ns a synapse in isolation): the targets'
    recent spikes and post traces copied out (``S0``-``S2``: int64 scratch; ``Y``), the masks and chain
    indices computed, the chain read. ``rf``: the recent spikes flat (4 per neuron). The delay is folded
    into the bounds (a spike at s arrives in (lo, T] iff ``s - lo_r - 1 < span`` as unsigned; ``lo_r =
    lo - dp``, ``span = T - lo``) and into the chain index ``s + off`` (``off = dp - txg``), clamped as
    unsigned: a spike that did not arrive in the window reads some entry of the chain (session 10
    clamped to 0..Lg from below too), which its mask bit discards; ``X1``/``X0`` are those of an exact
    clamp wherever the mask uses them."""
    n = ps.shape[0]
    for r in range(n):
        j = ps[r]
        j4 = np.uint64(j) << np.uint64(2)
        S0[r] = rf[j4]
        S1[r] = rf[j4 + np.uint64(1)]
        S2[r] = rf[j4 + np.uint64(2)]
        Y[r] = yrow[j]
    Lu = np.uint64(Lg)
    su = np.uint64(span)
    lo1 = lo_r + 1
    nr = 0
    nl = 0
    for r in range(n):
        s0 = S0[r]
        s1 = S1[r]
        m1 = np.int64(np.uint64(s1 - lo1) < su)
        m0 = np.int64(np.uint64(s0 - lo1) < su)
        isr = np.int64(S2[r] > lo_r)
        M[r] = np.uint8(m1 | (m0 << 1) | (isr << 2))
        nl += m1 + m0
        nr += isr
        S0[r] = np.int64(min(np.uint64(s0 + off), Lu))
        S1[r] = np.int64(min(np.uint64(s1 + off), Lu))
    U0 = S0.view(np.uint64)          # the clamped indices (0..Lg) unsigned: no wrap-around test per read
    U1 = S1.view(np.uint64)
    for r in range(n):
        X1[r] = cg[U1[r]]
        X0[r] = cg[U0[r]]
    return nr, nl


@numba.njit(nogil=True, inline="always")
def _prefetch_row(i, out_ptr, q_src, w, postu, weight):
    """Prefetch presynaptic neuron i's plastic row: its float64 weights, targets and (with ``weight``,
    consecutive in the engine) float32 weights, one request per cache line (rows are out of cache:
    4.9 M synapses on the 19,200-neuron network)."""
    a = out_ptr[i]
    b = out_ptr[i + 1]
    for u in range(a, b, 8):
        _prefetch(w, u)
    for u in range(a, b, 16):
        _prefetch(postu, u)
    if weight is not None and q_src[i] >= 0:
        qo = q_src[i]
        for u in range(qo, qo + b - a, 16):
            _prefetch(weight, u)


@numba.njit(nogil=True, inline="always")
def _ltp_ltd(ws, X1, X0, M, Y, lam, alpha, mu_plus, mu_minus, w_max):
    """Up to two potentiations (``M`` bits 0, 1), then the depression, on contiguous arrays
    (vectorised when ``mu_plus``/``mu_minus`` are literals); rare synapses (bit 2) keep their weight."""
    for r in range(ws.shape[0]):
        w0 = ws[r]
        mr = M[r]
        f = stdp_facilitate(w0, X1[r], lam, mu_plus, w_max)
        wp = f if mr & 1 else w0
        f = stdp_facilitate(wp, X0[r], lam, mu_plus, w_max)
        wp = f if mr & 2 else wp
        wd = stdp_depress(wp, Y[r], lam, alpha, mu_minus, w_max)
        ws[r] = w0 if mr & 4 else wd


@numba.njit(nogil=True, inline="always")
def _ltp_ltd32(ws, wt, X1, X0, M, Y, lam, alpha, mu_plus, mu_minus, w_max):
    """:func:`_ltp_ltd`, the engine's float32 copy ``wt`` written in the same pass."""
    for r in range(ws.shape[0]):
        w0 = ws[r]
        mr = M[r]
        f = stdp_facilitate(w0, X1[r], lam, mu_plus, w_max)
        wp = f if mr & 1 else w0
        f = stdp_facilitate(wp, X0[r], lam, mu_plus, w_max)
        wp = f if mr & 2 else wp
        wd = stdp_depress(wp, Y[r], lam, alpha, mu_minus, w_max)
        wd = w0 if mr & 4 else wd
        ws[r] = wd
        wt[r] = np.float32(wd)


@cached
@numba.njit(nogil=True, _nrt=False)
def stdp_lazy_rows(t0, ka, kb, spk_k, spk_i, m, tflush, tx, xv, chain, buf, recent, hist_t, hist_prev, last, base, w,
                   weight, q, post, postu, d, out_ptr, ring_y, d_src, q_src, yl, lag, hist_j, h, scratch, mask, gidx,
                   ring, wsync, deliver, decay, decay_y, nearest, lam, alpha, mu_plus, mu_minus, w_max):
    """:func:`stdp_lazy`, restructured (see above): the same weights, events and float32 copies bit
    for bit. ``chain``: ``GANG`` lanes of ``2 H + 2 K + 3``; ``scratch`` (8, max row) float64,
    ``mask`` (1, max row) uint8, ``gidx`` (4, GANG) int64 (a gang's neurons, steps, lanes' lengths and
    order); ``decay``/``decay_y``: the pre/post trace
    decays; ``postu``: ``post`` as unsigned (no negative-index test per read).
    ``yl``/``lag``/``hist_j``: with one plastic delay (``lag[2]`` = 1, ``lag[3]`` = the delay, the
    targets in ``lag[4]:lag[5]``) the post trace at ``t - d`` (:func:`_lag_to`; ``lag[0]``: its
    step, ``lag[1]``: the next history entry to apply), otherwise ``ring_y``.
    ``deliver``: each spike's plastic synapses are also delivered here, their float32 weight added to
    the engine's ring (``ring``: its flat (S, 2, N) buffer, excitatory channel) at ``t + d``, as the
    engine's delivery would add it (the engine then delivers the other synapses only,
    ``LIFBatch._split_delivery``): the row's weights are in cache here, the engine would read them again.
    While delivering, the engine's float32 copies ``weight[q]`` are not written (nothing reads them: the
    kernel transmits ``float32(w)`` itself; session 12): the row is marked ``wsync[i] = 0`` and its copies
    are written when the engine or outside code needs them (:func:`sync_weights`, before a flush
    potentiates the row in :func:`flush_rows`), with the value of the row's last spike, as before.
    Returns (potentiation events, depression events)."""
    nslots = ring_y.shape[0]
    use_lag = lag[2] == 1
    S = chain.shape[0] // GANG
    X1 = scratch[0]
    X0 = scratch[1]
    Y = scratch[2]
    gx = scratch[4]
    S0 = scratch[5].view(np.int64)
    S1 = scratch[6].view(np.int64)
    S2 = scratch[7].view(np.int64)
    M = mask[0]
    gi = gidx[0]
    gt = gidx[1]
    gl = gidx[2]                      # the lanes' chain lengths and their order (_chains)
    go = gidx[3]
    additive = mu_plus == 0.0 and mu_minus == 0.0
    mult = mu_plus == 1.0 and mu_minus == 1.0
    n_ltp = 0
    n_ltd = 0
    acc = 0.0
    last_sy = -1
    stride = 2 * yl.shape[0]          # the engine's ring: (S, 2, N) flattened
    nslots_e = ring.shape[0] // stride
    rflat = recent.reshape(recent.size)
    if kb > ka:   # the plastic targets' recent spikes on their way into cache (one request a line; session
        for u in range(lag[4] * 4, lag[5] * 4, 16):   # 13: the gather's random reads of them stalled)
            _prefetch(rflat, u)
    js = 0
    while js < m and spk_k[js] < ka:
        js += 1
    while js < m and spk_k[js] < kb:
        ng = 0                       # a gang: up to GANG spikes with plastic synapses, distinct neurons
        while js < m and spk_k[js] < kb and ng < GANG:
            i = spk_i[js]
            if out_ptr[i] == out_ptr[i + 1]:
                js += 1
                continue
            dup = False
            for g in range(ng):
                dup |= gi[g] == i
            if dup:
                break
            gi[ng] = i
            gt[ng] = t0 + spk_k[js]
            ng += 1
            js += 1
        # the next gang's neurons: their row bounds, anchors and delays from memory while this gang is
        # computed (session 13: each row's first reads of these per-neuron arrays missed the caches)
        for u in range(js, min(js + GANG, m)):
            i = spk_i[u]
            _prefetch(out_ptr, i)
            _prefetch(tx, i)
            _prefetch(xv, i)
            _prefetch(tflush, i)
            _prefetch(d_src, i)
            _prefetch(q_src, i)
        for g in range(GANG):
            gx[g] = xv[gi[g]] if g < ng else 0.0
            gl[g] = gt[g] - tx[gi[g]] if g < ng else -1
        for g in range(min(ng, 2)):   # the first rows' weights from memory while the chains are computed
            if deliver:
                _prefetch_row(gi[g], out_ptr, q_src, w, postu, None)
            else:
                _prefetch_row(gi[g], out_ptr, q_src, w, postu, weight)
        _chains(chain, gx, gl, decay, go)
        for g in range(ng):
            if g + 2 < ng and deliver:
                _prefetch_row(gi[g + 2], out_ptr, q_src, w, postu, None)
            elif g + 2 < ng:
                _prefetch_row(gi[g + 2], out_ptr, q_src, w, postu, weight)
            i = gi[g]
            T = gt[g]
            lo = tflush[i]
            txg = tx[i]
            Lg = T - txg
            cg = chain[g * S:(g + 1) * S]
            a = out_ptr[i]
            b = out_ptr[i + 1]
            nrow = b - a
            dsi = d_src[i]
            ws = w[a:b]
            if use_lag:
                _lag_to(yl, lag, T - dsi, hist_t, hist_j, h, base, decay_y, nearest)
                nr, nl = _gather_u(postu[a:b], rflat, yl, cg, lo - dsi, T - lo, dsi - txg, Lg, X1, X0, M, Y, S0, S1, S2)
            elif dsi >= 0:
                sy = T % nslots - dsi
                if sy < 0:
                    sy += nslots
                yrow = ring_y[sy]
                if sy != last_sy:     # the row as a stream (one load per line) before the random reads
                    last_sy = sy
                    for u in range(0, yrow.shape[0], 8):
                        acc += yrow[u]
                nr, nl = _gather_u(postu[a:b], rflat, yrow, cg, lo - dsi, T - lo, dsi - txg, Lg, X1, X0, M, Y, S0, S1,
                                   S2)
            else:
                s0 = T % nslots
                nr = 0
                nl = 0
                for r in range(nrow):
                    p = a + r
                    j = post[p]
                    dp = d[p]
                    ar1 = recent[j, 1] + dp
                    ar0 = recent[j, 0] + dp
                    m1 = (ar1 > lo) & (ar1 <= T)
                    m0 = (ar0 > lo) & (ar0 <= T)
                    isr = recent[j, 2] + dp > lo
                    X1[r] = cg[min(max(ar1 - txg, 0), Lg)]
                    X0[r] = cg[min(max(ar0 - txg, 0), Lg)]
                    M[r] = m1 | (m0 << 1) | (isr << 2)
                    nl += m1 + m0
                    nr += isr
                    sy = s0 - dp
                    if sy < 0:
                        sy += nslots
                    Y[r] = ring_y[sy, j]
            qo = q_src[i]
            x1 = X1[:nrow]
            x0 = X0[:nrow]
            ms = M[:nrow]
            ys = Y[:nrow]
            wr = not deliver              # write the engine's float32 copies now
            if additive and qo >= 0 and wr:
                _ltp_ltd32(ws, weight[qo:qo + nrow], x1, x0, ms, ys, lam, alpha, 0.0, 0.0, w_max)
            elif additive:
                _ltp_ltd(ws, x1, x0, ms, ys, lam, alpha, 0.0, 0.0, w_max)
            elif mult:
                _ltp_ltd(ws, x1, x0, ms, ys, lam, alpha, 1.0, 1.0, w_max)
            else:
                for r in range(nrow):     # a runtime weight dependence: scalar (pow only where needed)
                    mr = ms[r]
                    if mr & 4:
                        continue
                    wp = ws[r]
                    wp = _facilitate(wp, x1[r], lam, mu_plus, w_max) if mr & 1 else wp
                    wp = _facilitate(wp, x0[r], lam, mu_plus, w_max) if mr & 2 else wp
                    ws[r] = _depress(wp, ys[r], lam, alpha, mu_minus, w_max)
            for r in range(nrow if nr else 0):   # three or more arrivals (kept their weight): the history
                if not ms[r] & 4:
                    continue
                p = a + r
                j = post[p]
                dp = dsi if dsi >= 0 else d[p]
                nl -= (ms[r] & 1) + (ms[r] >> 1 & 1)
                c = _arrivals_recent(j, rflat, last[j], base, hist_t, hist_prev, dp, lo, T, buf)
                wp = ws[r]
                for rr in range(c - 1, -1, -1):
                    wp = _facilitate(wp, cg[buf[rr] - txg], lam, mu_plus, w_max)
                ws[r] = _depress(wp, Y[r], lam, alpha, mu_minus, w_max)
                nl += c
                if qo >= 0 and additive and wr:
                    weight[qo + r] = np.float32(ws[r])
            wsync[i] = wr
            if wr and not (qo >= 0 and additive):
                if qo >= 0:
                    wt = weight[qo:qo + nrow]
                    for r in range(nrow):
                        wt[r] = np.float32(ws[r])
                else:
                    for p in range(a, b):
                        weight[q[p]] = np.float32(w[p])
            if deliver and dsi >= 0:   # transmitted with the weight after its own update
                a0 = np.uint64(((T + dsi) % nslots_e) * stride)   # unsigned: no wrap-around test per add
                pr = postu[a:b]
                for r in range(nrow):
                    ring[a0 + pr[r]] += np.float32(ws[r])
            elif deliver:
                for r in range(nrow):
                    ring[((T + d[a + r]) % nslots_e) * stride + post[a + r]] += np.float32(ws[r])
            n_ltp += nl
            n_ltd += nrow
            xT = cg[Lg]
            tflush[i] = T
            tx[i] = T + 1
            xv[i] = 1.0 * decay if nearest else (xT + 1.0) * decay
    if use_lag:   # the post trace up to the last step this block's spikes need (the history can be cut)
        _lag_to(yl, lag, t0 + kb - 1 - lag[3], hist_t, hist_j, h, base, decay_y, nearest)
    # ``acc`` (the sum of the streamed loads, >= 0) is returned so the loads are kept; it changes nothing
    return n_ltp + (acc < 0.0), n_ltd


@numba.njit(nogil=True, inline="always")
def _ltp_only(ws, X1, X0, M, lam, mu_plus, w_max):
    """:func:`_ltp_ltd` without the depression (a flush): up to two potentiations (``M`` bits 0, 1);
    rare synapses (bit 2) keep their weight."""
    for r in range(ws.shape[0]):
        w0 = ws[r]
        mr = M[r]
        f = stdp_facilitate(w0, X1[r], lam, mu_plus, w_max)
        wp = f if mr & 1 else w0
        f = stdp_facilitate(wp, X0[r], lam, mu_plus, w_max)
        wp = f if mr & 2 else wp
        ws[r] = w0 if mr & 4 else wp


@numba.njit(nogil=True, inline="always")
def _sync_row(i, w, weight, q, out_ptr, wsync):
    """The engine's float32 copies of presynaptic neuron i's plastic synapses from their weights."""
    for p in range(out_ptr[i], out_ptr[i + 1]):
        weight[q[p]] = np.float32(w[p])
    wsync[i] = 1


@cached
@numba.njit(nogil=True)
def sync_weights(wsync, w, weight, q, out_ptr):
    """Write the float32 copies the delivering kernel left out (``wsync[i] == 0``: the rows spiked
    since; :func:`stdp_lazy_rows`): each synapse's weight at its last presynaptic spike, as the kernel
    would have written it then (the weights have not changed since: a flush syncs a row first).
    Returns the rows written."""
    n = 0
    for i in range(wsync.shape[0]):
        if not wsync[i]:
            _sync_row(i, w, weight, q, out_ptr, wsync)
            n += 1
    return n


@cached
@numba.njit(nogil=True, _nrt=False)
def flush_rows(T, older_than, tflush, tx, xv, chain, gchain, buf, recent, hist_t, hist_prev, last, base, w, post,
               postu, d, out_ptr, d_src, yl, scratch, mask, gidx, weight, q, wsync, decay, lam, mu_plus, w_max):
    """:func:`flush_ltp` with :func:`stdp_lazy_rows`' machinery (session 11): the presynaptic neurons
    to flush in gangs of ``GANG`` (their traces recomputed together, ``gchain``), a row whose plastic
    synapses share one delay gathered and potentiated over contiguous arrays (the others through
    :func:`_pending_ltp`, ``chain``); the same weights, anchors and events bit for bit. The forced
    potentiation every ``LAZY_HORIZON`` steps touched ~30 % of the rows one synapse at a time.
    A row whose float32 copies were not written at its last spike (``wsync``, :func:`stdp_lazy_rows`
    delivering) gets them first, with the weights of that spike, before they are potentiated."""
    S = gchain.shape[0] // GANG
    X1 = scratch[0]
    X0 = scratch[1]
    Y = scratch[2]
    gx = scratch[4]
    S0 = scratch[5].view(np.int64)
    S1 = scratch[6].view(np.int64)
    S2 = scratch[7].view(np.int64)
    M = mask[0]
    gi = gidx[0]
    gl = gidx[2]
    go = gidx[3]
    rflat = recent.reshape(recent.size)
    n = 0
    nn = out_ptr.shape[0] - 1
    i = 0
    while i < nn:
        ng = 0
        while i < nn and ng < GANG:
            a = out_ptr[i]
            b = out_ptr[i + 1]
            if a < b and tflush[i] < older_than and tflush[i] < T:
                if not wsync[i]:
                    _sync_row(i, w, weight, q, out_ptr, wsync)
                if d_src[i] >= 0:
                    gi[ng] = i
                    ng += 1
                else:          # several delays in the row: one synapse at a time
                    n += _pending_ltp(i, a, b, T, tflush, tx, xv, chain, w, post, d, recent, hist_t, hist_prev, last,
                                      base, buf, decay, lam, mu_plus, w_max)
            i += 1
        if ng == 0:
            continue
        for g in range(GANG):
            gx[g] = xv[gi[g]] if g < ng else 0.0
            gl[g] = T - tx[gi[g]] if g < ng else -1
        for g in range(min(ng, 2)):
            _prefetch_row(gi[g], out_ptr, d_src, w, postu, None)
        _chains(gchain, gx, gl, decay, go)
        for g in range(ng):
            if g + 2 < ng:
                _prefetch_row(gi[g + 2], out_ptr, d_src, w, postu, None)
            k = gi[g]
            lo = tflush[k]
            txg = tx[k]
            Lg = T - txg
            cg = gchain[g * S:(g + 1) * S]
            a = out_ptr[k]
            b = out_ptr[k + 1]
            nrow = b - a
            dsi = d_src[k]
            ws = w[a:b]
            nr, nl = _gather_u(postu[a:b], rflat, yl, cg, lo - dsi, T - lo, dsi - txg, Lg, X1, X0, M, Y, S0, S1, S2)
            x1 = X1[:nrow]
            x0 = X0[:nrow]
            ms = M[:nrow]
            if mu_plus == 0.0:
                _ltp_only(ws, x1, x0, ms, lam, 0.0, w_max)
            elif mu_plus == 1.0:
                _ltp_only(ws, x1, x0, ms, lam, 1.0, w_max)
            else:
                for r in range(nrow):
                    mr = ms[r]
                    if mr & 4:
                        continue
                    wp = ws[r]
                    wp = _facilitate(wp, x1[r], lam, mu_plus, w_max) if mr & 1 else wp
                    ws[r] = _facilitate(wp, x0[r], lam, mu_plus, w_max) if mr & 2 else wp
            for r in range(nrow if nr else 0):   # three or more arrivals (kept their weight): the history
                if not ms[r] & 4:
                    continue
                j = post[a + r]
                nl -= (ms[r] & 1) + (ms[r] >> 1 & 1)
                c = _arrivals_recent(j, rflat, last[j], base, hist_t, hist_prev, dsi, lo, T, buf)
                wp = ws[r]
                for rr in range(c - 1, -1, -1):
                    wp = _facilitate(wp, cg[buf[rr] - txg], lam, mu_plus, w_max)
                ws[r] = wp
                nl += c
            n += nl
            tflush[k] = T
            tx[k] = T
            xv[k] = cg[Lg]
    return n
