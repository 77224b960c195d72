"""CPU kernel for the delayed weighted sum with per-network lags (issue 20 item 1).

The SAME sum as :func:`encephagen.sim.coupling.delayed_sums` (``sum_j W[i, j] u_j(t - d_ij)`` per
network), written as a compiled loop so that per-network lags cost no per-element gather index:

* the history is network-outer, ``(U, n, V, 2L, R)``: U distinct networks, each R replicas (the
  same weights and lags with other seeds or G, consecutive batch columns);
* edges are precomputed per network and source (non-zero weights only, sources ascending) as a
  weight, a target and a flat history offset ``(((u n + j) V) 2L + L - d) R``; a step adds one
  slot offset, so there is no index arithmetic per element and step;
* the loop is network-outer (parallel over networks, ``numba.prange``) and source-outer: one
  source's strip of 2L x R values serves all its targets while it is in L1 (per-target running
  sums; four replicas at a time);
* the summation order over sources is torch's, so the kernel gives the bits of the torch path:
  ``order=CASCADE`` is torch's eager CPU sum over the outermost axis (``multi_row_sum`` in ATen's
  SumKernel.cpp: blocks of 16 sources summed from 0, block sums carried into up to four levels),
  ``order=SEQUENTIAL`` is inductor's fused reduction (``0 + p_0 + p_1 + ...``); each product is
  rounded before it is added (no fused multiply-add). Zero weights are skipped: adding a product
  ``0 * h`` (+0 or -0) to a sum that started at +0 never changes its bits (finite history).

A network alone is simulated on the shared-lag torch path, so these orders are what keeps a
network's bits the same alone and inside a batch with per-network lags
(tests/test_sim_runner.py, tests/test_sim_compile.py, tests/test_coupling_kernel.py).
"""
from __future__ import annotations

import os

import numba
import numpy as np
import torch

# numba's OpenMP layer busy-waits next to torch's OpenMP pool; the same choice as the spiking kernels
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

CASCADE = 0      # torch eager (ATen cascade sum over the outermost axis)
SEQUENTIAL = 1   # torch.compile / inductor (one running sum)
NUM_LEVELS = 4   # ATen multi_row_sum's accumulator levels
KERNEL_THREADS = None   # numba threads of the kernel; None: torch's intra-op thread count


def level_power(n: int) -> int:
    """ATen's ``max(4, CeilLog2(n) / 4)``: log2 of the block of sources summed before a carry."""
    ceil_log2 = 1 if n <= 2 else int(n - 1).bit_length()
    return max(4, ceil_log2 // NUM_LEVELS)


def build_edges(w: np.ndarray, lags: np.ndarray, R: int, L: int, V: int):
    """Per-network edge lists of a batch of U = B / R networks (each repeated R times in consecutive
    batch columns), for the network-outer history ``(U, n, V, 2L, R)``: per network and source j
    (ascending), its non-zero edges' offsets ``(((u n + j) V) 2L + L - d) R`` (int64), weights
    (float64, cast by the caller) and targets (int64); ``sstart`` (U, n + 1): each source's first edge."""
    B, n, _ = w.shape
    U = B // R
    offs, wgts, tgts, sstart, total = [], [], [], np.zeros((U, n + 1), dtype=np.int64), 0
    for u in range(U):
        wu, du = w[u * R], lags[u * R]
        for j in range(n):
            sstart[u, j] = total
            ii = np.flatnonzero(wu[:, j])
            offs.append((((u * n + j) * V) * 2 * L + L - du[ii, j]) * R)
            wgts.append(wu[ii, j])
            tgts.append(ii)
            total += ii.size
        sstart[u, n] = total
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)   # noqa: E731
    return cat(offs, np.int64), cat(wgts, np.float64), cat(tgts, np.int64), sstart


@numba.njit(nogil=True, inline="always")
def _block(hist, o0, off, wgt, tgt, sstart, u, j0, j1, acc, nr):
    """Add the rounded products of the edges of sources j0 .. j1 - 1 (ascending) to their targets'
    running sums ``acc[i, :nr]`` (nr = 4 replicas at once, or 1)."""
    for e in range(sstart[u, j0], sstart[u, j1]):
        o = o0 + off[e]
        wv = wgt[e]
        i = tgt[e]
        if nr == 4:
            acc[i, 0] += wv * hist[o]
            acc[i, 1] += wv * hist[o + 1]
            acc[i, 2] += wv * hist[o + 2]
            acc[i, 3] += wv * hist[o + 3]
        else:
            acc[i, 0] += wv * hist[o]


@numba.njit(parallel=True, nogil=True, cache=True)
def _own_sums(hist, p, off, wgt, tgt, sstart, R, V, L2, n, power, order, out):
    """hist: the flat network-outer history (U, n, V, 2L, R); p: the slot of the step's read window
    (rows p + L - d); out: the flat (n, V, B) result. Source-outer within a network: one source's
    strip of 2L x R values serves all its targets; per target, sources are added in ascending order
    in torch's grouping (``order``)."""
    U = sstart.shape[0]
    B = U * R
    step = 1 << power
    nfull = n // step
    mask = step - 1
    for u in numba.prange(U):
        blk = np.empty((n, 4), dtype=hist.dtype)                 # a block's running sums (from 0)
        lev = np.empty((NUM_LEVELS, n, 4), dtype=hist.dtype)     # carried levels 1 .. 3
        for v in range(V):
            for r0 in range(0, R, 4):
                nr = 4 if r0 + 4 <= R else 1
                for r1 in range(r0, min(R, r0 + 4), nr):
                    o0 = (v * L2 + p) * R + r1
                    blk[:] = 0
                    if order == SEQUENTIAL:
                        _block(hist, o0, off, wgt, tgt, sstart, u, 0, n, blk, nr)
                    else:
                        lev[:] = 0
                        for k in range(nfull):
                            _block(hist, o0, off, wgt, tgt, sstart, u, k * step, (k + 1) * step, blk, nr)
                            pos = (k + 1) << power
                            for i in range(n):
                                for r in range(nr):
                                    lev[1, i, r] += blk[i, r]
                                    blk[i, r] = 0
                            for lvl in range(2, NUM_LEVELS):
                                if pos & (mask << ((lvl - 1) * power)):
                                    break
                                for i in range(n):
                                    for r in range(nr):
                                        lev[lvl, i, r] += lev[lvl - 1, i, r]
                                        lev[lvl - 1, i, r] = 0
                        _block(hist, o0, off, wgt, tgt, sstart, u, nfull * step, n, blk, nr)
                        for lvl in range(1, NUM_LEVELS):
                            for i in range(n):
                                for r in range(nr):
                                    blk[i, r] += lev[lvl, i, r]
                    for i in range(n):
                        ob = (i * V + v) * B + u * R + r1
                        for r in range(nr):
                            out[ob + r] = blk[i, r]
    return out


def own_sums(history: torch.Tensor, p: int, off: torch.Tensor, wgt: torch.Tensor, tgt: torch.Tensor,
             sstart: torch.Tensor, order: int) -> torch.Tensor:
    """The delayed sums of a CPU network-outer history ``(U, n, V, 2L, R)`` read at slot ``p`` (rows
    ``p + L - d``): a new ``(n, V, B)`` tensor. ``off, wgt, tgt, sstart``: :func:`build_edges`."""
    U, n, V, L2, R = history.shape
    out = torch.empty((n, V, U * R), dtype=history.dtype)
    nt = torch.get_num_threads() if KERNEL_THREADS is None else KERNEL_THREADS
    numba.set_num_threads(max(1, min(nt, numba.config.NUMBA_NUM_THREADS)))
    _own_sums(history.detach().numpy().reshape(-1), int(p), off.numpy(), wgt.numpy(), tgt.numpy(), sstart.numpy(),
              R, V, L2, n, level_power(n), order, out.numpy().reshape(-1))
    return out


@torch.library.custom_op("encephagen::own_delayed_sums", mutates_args=())
def own_delayed_sums(history: torch.Tensor, pk: torch.Tensor, off: torch.Tensor, wgt: torch.Tensor,
                     tgt: torch.Tensor, sstart: torch.Tensor, order: int) -> torch.Tensor:
    """:func:`own_sums` as a torch operator, so that a compiled step calls the kernel without a graph
    break; ``pk``: the [slot, slot + L] tensor of compiled steps (the read window starts at slot)."""
    return own_sums(history, int(pk[0]), off, wgt, tgt, sstart, order)


@own_delayed_sums.register_fake
def _(history, pk, off, wgt, tgt, sstart, order):
    U, n, V, _, R = history.shape
    return history.new_empty((n, V, U * R))
