"""CPU kernel for the delayed weighted sum with per-network lags (issue 20 item 1).

The SAME sum as :func:`encephagen.sim.coupling.delayed_sums` (``sum_j W[i, j] u_j(t - d_ij)`` per
network), written as a compiled loop so that per-network lags cost no per-element gather index:

* edges are precomputed per network and target (non-zero weights only, sources ascending) as a
  weight and a flat history offset ``((L - d) n + j) V B + first batch column``; a step adds one
  slot offset, so there is no index arithmetic per element and step;
* the loop is network-outer (parallel over networks, ``numba.prange``): one network's history rows
  and edges are read together while they are in cache, and its R replicas (the same network with
  other seeds or G, consecutive batch columns) are read as one short row per edge;
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


def level_power(n: int) -> int:
    """ATen's ``max(4, CeilLog2(n) / 4)``: log2 of the block of sources summed before a carry."""
    ceil_log2 = 1 if n <= 2 else int(n - 1).bit_length()
    return max(4, ceil_log2 // NUM_LEVELS)


def build_edges(w: np.ndarray, lags: np.ndarray, R: int, L: int, V: int, power: int):
    """Per-network edge lists of a batch of U = B / R networks (each repeated R times in consecutive
    batch columns): flat history offsets (int64), weights (float64, cast by the caller) and, per
    network and target, the first edge of each block of ``2**power`` sources plus the end
    (``bstart``: (U, n, n_blocks + 1) int64; the last block is the tail of < 2**power sources)."""
    B, n, _ = w.shape
    U = B // R
    step = 1 << power
    nfull = n // step
    bounds = np.array([k * step for k in range(nfull + 1)] + [n])         # source boundaries of the blocks
    offs, wgts, starts, total = [], [], np.zeros((U, n, nfull + 2), dtype=np.int64), 0
    for u in range(U):
        wu, du = w[u * R], lags[u * R]
        for i in range(n):
            js = np.flatnonzero(wu[i])
            offs.append(((L - du[i, js]) * n + js) * V * B + u * R)
            wgts.append(wu[i, js])
            starts[u, i] = total + np.searchsorted(js, bounds)
            total += js.size
    off = np.concatenate(offs).astype(np.int64) if offs else np.zeros(0, np.int64)
    wgt = np.concatenate(wgts) if wgts else np.zeros(0)
    return off, wgt, starts


@numba.njit(nogil=True, inline="always")
def _chain(hist, o0, off, wgt, lo, hi, zero, acc, c, r0, nr):
    """Sums from 0 of the rounded products of edges lo .. hi - 1 into ``acc[c, :nr]`` for the replicas
    r0 .. r0 + nr - 1 (nr = 4: four independent running sums in registers; else one)."""
    if nr == 4:
        s0 = zero
        s1 = zero
        s2 = zero
        s3 = zero
        for e in range(lo, hi):
            o = o0 + off[e]
            wv = wgt[e]
            s0 += wv * hist[o]
            s1 += wv * hist[o + 1]
            s2 += wv * hist[o + 2]
            s3 += wv * hist[o + 3]
        acc[c, 0] = s0
        acc[c, 1] = s1
        acc[c, 2] = s2
        acc[c, 3] = s3
    else:
        s0 = zero
        for e in range(lo, hi):
            s0 += wgt[e] * hist[o0 + off[e]]
        acc[c, 0] = s0


@numba.njit(parallel=True, nogil=True, cache=True)
def _own_sums(hist, p, off, wgt, bstart, R, V, B, n, power, order, out, zeros):
    """hist: the flat history (2L, n, V, B); p: the slot of the step's read window (row p + L - d);
    out: the flat (n, V, B) result; zeros: a zero of the history's dtype."""
    base = p * n * V * B
    U = bstart.shape[0]
    nfull = bstart.shape[2] - 2
    mask = (1 << power) - 1
    zero = zeros[0]
    for u in numba.prange(U):
        acc = np.empty((NUM_LEVELS, 4), dtype=hist.dtype)   # row 0: a block's sum; 1..3: carried levels
        for i in range(n):
            bs = bstart[u, i]
            for v in range(V):
                for r0 in range(0, R, 4):
                    nr = 4 if r0 + 4 <= R else 1
                    for r1 in range(r0, min(R, r0 + 4), nr):
                        o0 = base + v * B + r1
                        if order == SEQUENTIAL:
                            _chain(hist, o0, off, wgt, bs[0], bs[nfull + 1], zero, acc, 0, r1, nr)
                        else:
                            acc[1:, :] = 0
                            for k in range(nfull):
                                _chain(hist, o0, off, wgt, bs[k], bs[k + 1], zero, acc, 0, r1, nr)
                                pos = (k + 1) << power
                                for lvl in range(1, NUM_LEVELS):
                                    for r in range(nr):
                                        acc[lvl, r] += acc[lvl - 1, r]
                                        acc[lvl - 1, r] = 0
                                    if pos & (mask << (lvl * power)):
                                        break
                            _chain(hist, o0, off, wgt, bs[nfull], bs[nfull + 1], zero, acc, 0, r1, nr)
                            for lvl in range(1, NUM_LEVELS):
                                for r in range(nr):
                                    acc[0, r] += acc[lvl, r]
                        ob = (i * V + v) * B + u * R + r1
                        for r in range(nr):
                            out[ob + r] = acc[0, r]
    return out


def own_sums(history: torch.Tensor, p: int, off: torch.Tensor, wgt: torch.Tensor, bstart: torch.Tensor, R: int,
             order: int) -> torch.Tensor:
    """The delayed sums of a CPU history ``(2L, n, V, B)`` read at slot ``p`` (rows ``p + L - d``):
    a new ``(n, V, B)`` tensor. ``off, wgt, bstart``: :func:`build_edges` as tensors."""
    _, n, V, B = history.shape
    out = torch.empty((n, V, B), dtype=history.dtype)
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))   # torch's
    _own_sums(history.detach().numpy().reshape(-1), int(p), off.numpy(), wgt.numpy(), bstart.numpy(), R, V, B, n,
              level_power(n), order, out.numpy().reshape(-1), np.zeros(1, out.numpy().dtype))
    return out


@torch.library.custom_op("encephagen::own_delayed_sums", mutates_args=())
def own_delayed_sums(history: torch.Tensor, pk: torch.Tensor, off: torch.Tensor, wgt: torch.Tensor,
                     bstart: torch.Tensor, R: int, order: int) -> torch.Tensor:
    """:func:`own_sums` as a torch operator, so that a compiled step calls the kernel without a graph
    break; ``pk``: the [slot, slot + L] tensor of compiled steps (the read window starts at slot)."""
    return own_sums(history, int(pk[0]), off, wgt, bstart, R, order)


@own_delayed_sums.register_fake
def _(history, pk, off, wgt, bstart, R, order):
    _, n, V, B = history.shape
    return history.new_empty((n, V, B))
