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
