"""Numba kernels of the reward-modulated plastic synapses (:mod:`encephagen.spiking.plastic`):
the eligibility trace of R-STDP over a block, the same arithmetic in the same order as the
stand-alone :class:`encephagen.plasticity.RSTDP` (per step: decay every trace, then add the LTP
term of postsynaptic spikes arriving now, then subtract the LTD term of presynaptic spikes now)."""
from __future__ import annotations

import numba
import numpy as np

from encephagen.spiking._numba_kernels import cached, ltp_events


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
