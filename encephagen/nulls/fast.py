"""Compiled (numba) edge-swap rewiring and strength-matching weight assignment.

These kernels follow bctpy's algorithms step by step, so their nulls come from the same
Markov chain (tested against bctpy in ``tests/test_nulls_fast.py``), at a few hundred
times bctpy's throughput:

* :func:`rewire` = Maslov & Sneppen (2002) double-edge swaps with bctpy's iteration scheme
  (``randmio_und`` / ``randmio_dir``): ``itr * k`` iterations (k edges), each trying up to
  ``round(k / (n - 1)) + 1`` random edge pairs until one swap succeeds. Undirected: edge
  (c, d) is flipped with probability 1/2 before the test, weights travel with their edges
  (so degree is exact, strength approximate). Directed: a->b, c->d become a->d, c->b
  (in- and out-degree exact; see the note on bctpy's ``randmio_dir`` below).
  Options: ``connected`` keeps the graph (weakly) connected (bctpy
  ``randmio_und_connected``); ``pair_class`` restricts swaps to those that keep the number of
  edges in every pair class (rich-club classes, distance bins), and keeps every class's
  weights inside the class.
* :func:`assign_strength_weights` = the weight step of Rubinov & Sporns (2011) as in
  bctpy ``null_model_und_sign`` / ``null_model_dir_sign``: the sorted original weights are
  placed on the rewired edges in the order of expected weight s_i s_j, re-sorted every
  ``1 / wei_freq`` placements, so that node strengths are approximately kept.

Unlike bctpy, every loop is bounded: a draw of two edges that share a node does not count
as an attempt in bctpy, which therefore loops forever on a star graph; here such draws
are capped (``max_degenerate`` in a row) and the run stops and reports ``aborted``.

Note on bctpy 0.6.1 ``randmio_dir``: after a swap it updates the SOURCE index of the first
edge (``i[e1] = d``) where the target index is meant (``j[e1] = d``), so its edge list goes
stale and in-degrees drift (measured on tvb96: up to 23 edges off after itr=2); the kernel
here keeps the list right and is tested for exact in- and out-degrees.

Random numbers: xoshiro256** seeded from ``numpy.random.SeedSequence(seed)`` (256 bits of
state from a 63-bit seed), so one seed gives the same null on every machine.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_U = np.uint64


def rng_state(seed: int) -> np.ndarray:
    """xoshiro256** state (4 x uint64) for a non-negative integer seed."""
    if seed is None or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    s = np.random.SeedSequence(int(seed)).generate_state(4, dtype=np.uint64)
    if not s.any():  # all-zero state is the one forbidden state
        s[0] = 1
    return s


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(cache=True)
def _next(s):
    result = _rotl(s[1] * _U(5), 7) * _U(9)
    t = s[1] << _U(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def _uniform(s):
    return float(_next(s) >> _U(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _randint(s, k):
    v = int(_uniform(s) * k)
    return v if v < k else k - 1


@njit(cache=True)
def _reaches(W, src, dst, directed, seen, queue):
    """Is dst reachable from src in the (weakly, if directed) connected sense?"""
    n = W.shape[0]
    for v in range(n):
        seen[v] = False
    seen[src] = True
    head = 0
    tail = 0
    queue[tail] = src
    tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for v in range(n):
            if not seen[v] and (W[u, v] != 0 or (directed and W[v, u] != 0)):
                if v == dst:
                    return True
                seen[v] = True
                queue[tail] = v
                tail += 1
    return False


@njit(cache=True)
def _rewire_kernel(W, ei, ej, directed, itr_total, max_attempts, connected, use_class, C,
                   max_degenerate, s):
    """In-place swaps on W; returns (achieved swaps, attempts, aborted)."""
    k = ei.shape[0]
    n = W.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    queue = np.zeros(n, dtype=np.int64)
    eff = 0
    attempts = 0
    for _it in range(itr_total):
        att = 0
        while att <= max_attempts:
            degenerate = 0
            while True:
                e1 = _randint(s, k)
                e2 = _randint(s, k)
                while e1 == e2:
                    e2 = _randint(s, k)
                a = ei[e1]
                b = ej[e1]
                c = ei[e2]
                d = ej[e2]
                if a != c and a != d and b != c and b != d:
                    break
                degenerate += 1
                if degenerate > max_degenerate:
                    return eff, attempts, True
            if not directed and _uniform(s) > 0.5:
                ei[e2] = d
                ej[e2] = c
                c = ei[e2]
                d = ej[e2]
            attempts += 1
            ok = W[a, d] == 0 and W[c, b] == 0
            crossed = False
            if ok and use_class:
                cab = C[a, b]
                ccd = C[c, d]
                cad = C[a, d]
                ccb = C[c, b]
                if cad == cab and ccb == ccd:
                    crossed = False
                elif cad == ccd and ccb == cab:
                    crossed = True
                else:
                    ok = False
            if ok:
                wab = W[a, b]
                wcd = W[c, d]
                wba = W[b, a]
                wdc = W[d, c]
                w_ad = wcd if crossed else wab
                w_cb = wab if crossed else wcd
                W[a, d] = w_ad
                W[a, b] = 0.0
                W[c, b] = w_cb
                W[c, d] = 0.0
                if not directed:
                    W[d, a] = wdc if crossed else wba
                    W[b, a] = 0.0
                    W[b, c] = wba if crossed else wdc
                    W[d, c] = 0.0
                # a-d and c-b are now edges, so a path a-c or b-d (either direction) keeps a
                # and b (hence everything) connected; only otherwise search (as bctpy does)
                shortcut = (W[a, c] != 0 or W[c, a] != 0 or W[b, d] != 0 or W[d, b] != 0)
                if connected and not shortcut and not _reaches(W, a, b, directed, seen, queue):
                    # undo: the swap disconnected the graph
                    W[a, b] = wab
                    W[c, d] = wcd
                    W[a, d] = 0.0
                    W[c, b] = 0.0
                    if not directed:
                        W[b, a] = wba
                        W[d, c] = wdc
                        W[d, a] = 0.0
                        W[b, c] = 0.0
                    ok = False
            if ok:
                ej[e1] = d
                ej[e2] = b
                eff += 1
                break
            att += 1
    return eff, attempts, False


def edge_list(W: np.ndarray, directed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Edges as bctpy lists them: directed all (i, j) with W != 0; undirected tril (i > j)."""
    i, j = np.nonzero(W if directed else np.tril(W))
    return i.astype(np.int64), j.astype(np.int64)


def rewire(W: np.ndarray, itr: float, seed: int, directed: bool, connected: bool = False,
           pair_class: np.ndarray | None = None, max_degenerate: int | None = None) -> dict:
    """Degree-preserving rewiring of ``W`` (not modified); returns a dict.

    Keys: ``weights`` (the null), ``requested`` (= round(itr * k) iterations, bctpy's swap
    request), ``achieved`` (successful swaps), ``attempts``, ``aborted`` (True when no pair
    of disjoint edges was found in ``max_degenerate`` draws in a row: star-like graphs),
    ``k`` (edges), ``max_attempts``.
    """
    W = np.array(W, dtype=np.float64, order="C", copy=True)
    n = W.shape[0]
    if not directed and not np.array_equal(W, W.T):
        raise ValueError("rewire(directed=False) needs a symmetric matrix")
    ei, ej = edge_list(W, directed)
    k = int(ei.size)
    requested = int(round(itr * k))
    max_attempts = int(np.round(n * k / (n * (n - 1)))) if n > 1 else 0
    if max_degenerate is None:
        max_degenerate = max(10_000, 100 * k)
    use_class = pair_class is not None
    C = (np.ascontiguousarray(pair_class, dtype=np.int64) if use_class
         else np.zeros((1, 1), dtype=np.int64))
    if k < 2:
        return dict(weights=W, requested=requested, achieved=0, attempts=0, aborted=True, k=k,
                    max_attempts=max_attempts, max_degenerate=int(max_degenerate))
    s = rng_state(seed)
    eff, attempts, aborted = _rewire_kernel(W, ei, ej, bool(directed), requested, max_attempts,
                                            bool(connected), use_class, C, int(max_degenerate), s)
    return dict(weights=W, requested=requested, achieved=int(eff), attempts=int(attempts),
                aborted=bool(aborted), k=k, max_attempts=max_attempts, max_degenerate=int(max_degenerate))


@njit(cache=True)
def _assign_kernel(Wsorted, ei, ej, s_out, s_in, directed, period, s):
    """Rubinov-Sporns weight placement; returns the weight given to every edge (same order)."""
    m_total = ei.shape[0]
    n = s_out.shape[0]
    P = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            P[i, j] = s_out[i] * s_in[j]
    out = np.zeros(m_total)
    alive = np.arange(m_total)       # remaining edge ids
    wv = Wsorted.copy()              # remaining weights, ascending
    m = m_total
    key = np.empty(m_total)
    pick = np.empty(m_total, dtype=np.int64)
    while m > 0:
        for q in range(m):
            key[q] = P[ei[alive[q]], ej[alive[q]]]
        order = np.argsort(key[:m])
        take = period if period < m else m
        # `take` distinct random ranks in [0, m): partial Fisher-Yates
        for q in range(m):
            pick[q] = q
        for q in range(take):
            r = q + _randint(s, m - q)
            tmp = pick[q]
            pick[q] = pick[r]
            pick[r] = tmp
        for q in range(take):
            r = pick[q]
            e = alive[order[r]]
            w = wv[r]
            out[e] = w
            a = ei[e]
            b = ej[e]
            f = 1.0 - w / s_out[a] if s_out[a] > 0 else 0.0
            for v in range(n):
                P[a, v] *= f
                if not directed:
                    P[v, a] *= f
            f = 1.0 - w / s_in[b] if s_in[b] > 0 else 0.0
            for v in range(n):
                P[v, b] *= f
                if not directed:
                    P[b, v] *= f
            s_out[a] -= w
            s_in[b] -= w
            if not directed:
                s_out[b] -= w
                s_in[a] -= w
        # remove the placed edges and weights (ranks pick[:take])
        dead_rank = np.zeros(m, dtype=np.bool_)
        for q in range(take):
            dead_rank[pick[q]] = True
        dead_edge = np.zeros(m_total, dtype=np.bool_)
        for q in range(take):
            dead_edge[alive[order[pick[q]]]] = True
        na = 0
        for q in range(m):
            if not dead_edge[alive[q]]:
                alive[na] = alive[q]
                na += 1
        nw = 0
        for r in range(m):
            if not dead_rank[r]:
                wv[nw] = wv[r]
                nw += 1
        m = na
    return out


def assign_strength_weights(W_orig: np.ndarray, A_new: np.ndarray, seed: int, directed: bool,
                            wei_freq: float = 0.1) -> np.ndarray:
    """Place the weights of ``W_orig`` on the topology ``A_new`` keeping strengths (approx.).

    Undirected: expected weight s_i s_j from the original strengths, edges of the upper
    triangle (as bctpy). Directed: s_out[i] s_in[j] with s_out = row sums, s_in = column sums.
    The multiset of weight values is kept exactly.
    """
    if not 0 < wei_freq <= 1:
        raise ValueError(f"wei_freq must be in (0, 1], got {wei_freq}")
    W_orig = np.asarray(W_orig, dtype=np.float64)
    A = np.asarray(A_new) != 0
    if directed:
        ei, ej = np.nonzero(A)
        wv = np.sort(W_orig[W_orig != 0])
        s_out = W_orig.sum(1).astype(np.float64)
        s_in = W_orig.sum(0).astype(np.float64)
    else:
        ei, ej = np.nonzero(np.triu(A))
        wv = np.sort(W_orig[np.triu(W_orig) != 0])
        s_out = W_orig.sum(0).astype(np.float64)
        s_in = s_out.copy()
    if wv.size != ei.size:
        raise ValueError(f"topology has {ei.size} edges but the weights {wv.size}")
    period = max(1, int(np.round(1 / wei_freq)))
    vals = _assign_kernel(wv, ei.astype(np.int64), ej.astype(np.int64), s_out, s_in, bool(directed),
                          period, rng_state(seed))
    out = np.zeros_like(W_orig)
    out[ei, ej] = vals
    if not directed:
        out[ej, ei] = vals
    return out
