"""The one rule that gives every edge -- real or null, of every family -- its length.

Delays come from lengths, so the real network and its nulls must get lengths the same
way (the predecessor simulated the real network with delays and the nulls without).

Rule
----
1. Build ONE full pairwise length matrix ``P`` (n x n, symmetric, zero diagonal, in mm)
   for the source connectome, once:

   a. measured: where the connectome has a length for the pair, ``P[i, j] = lengths[i, j]``
      (for a directed matrix: the mean of the positive values of ``lengths[i, j]`` and
      ``lengths[j, i]``; a tract's length does not depend on its direction);
   b. pairs without a measured length (no tract in the real data) take the Euclidean
      distance of the region centres times the fibre/Euclidean stretch factor ``s``:
      ``P[i, j] = s * distances[i, j]``, ``s = median(lengths / distances)`` over the pairs
      that have both (s = 1 when the lengths are themselves centre distances, as in TVB);
   c. if the connectome has no distances either, a missing pair takes the shortest path
      through measured tracts (the length of the shortest chain of real fibres joining the
      two regions), and the rule records ``fallback: 'geodesic'``; pairs still unreachable
      are an error naming the connectome and the first pair.

2. Every network's edge (i, j) gets ``P[i, j]``: ``lengths_of(W) = P * (W != 0)``. The
   real network is passed through the same function, so a real edge keeps its measured
   length and a null edge between the same two regions gets exactly that length too.

The rule's record (which case filled how many pairs, ``s``) is written into every null
batch (attribute ``length_rule``) next to ``pair_lengths`` itself.
"""
from __future__ import annotations

import numpy as np

from encephagen.connectome import ConnectomeError


def pair_lengths(lengths: np.ndarray, distances: np.ndarray | None = None, *,
                 name: str = "connectome") -> tuple[np.ndarray, dict]:
    """The full pairwise length matrix ``P`` and a record of how it was filled (see module doc)."""
    L = np.asarray(lengths, dtype=np.float64)
    n = L.shape[0]
    if L.shape != (n, n):
        raise ConnectomeError(f"{name}: lengths must be square, got {L.shape}")
    if not np.all(np.isfinite(L)) or (L < 0).any():
        raise ConnectomeError(f"{name}: lengths must be finite and non-negative")
    pos = L > 0
    both = pos & pos.T
    P = np.where(both, 0.5 * (L + L.T), np.where(pos, L, L.T))  # symmetric; mean where both given
    P = np.where(pos | pos.T, P, 0.0)
    np.fill_diagonal(P, 0.0)
    off = ~np.eye(n, dtype=bool)
    measured = (P > 0) & off
    missing = ~measured & off
    record = {"rule": "measured length where present; else stretch * centre distance; "
                      "edge (i, j) of every network gets P[i, j]",
              "n_pairs": int(off.sum() // 2), "measured_pairs": int(measured.sum() // 2),
              "stretch": None, "from_distances_pairs": 0, "fallback": None, "geodesic_pairs": 0}
    if missing.any() and distances is not None:
        D = np.asarray(distances, dtype=np.float64)
        if D.shape != (n, n) or not np.all(np.isfinite(D)):
            raise ConnectomeError(f"{name}: distances must be a finite {n}x{n} matrix, got {D.shape}")
        D = 0.5 * (D + D.T)
        has = measured & (D > 0)
        stretch = float(np.median(P[has] / D[has])) if has.any() else 1.0
        fill = missing & (D > 0)
        P[fill] = stretch * D[fill]
        record["stretch"] = stretch
        record["from_distances_pairs"] = int(fill.sum() // 2)
        missing = missing & ~fill
    if missing.any():
        from scipy.sparse.csgraph import shortest_path

        G = shortest_path(np.where(measured, P, 0.0), method="D", directed=False)
        fill = missing & np.isfinite(G) & (G > 0)
        P[fill] = G[fill]
        record["fallback"] = "geodesic"
        record["geodesic_pairs"] = int(fill.sum() // 2)
        missing = missing & ~fill
    if missing.any():
        i, j = (int(v) for v in np.argwhere(missing)[0])
        raise ConnectomeError(f"{name}: {int(missing.sum() // 2)} region pairs have no length, no centre "
                              f"distance and no path of measured tracts, first ({i}, {j}); null edges "
                              f"there could get no conduction delay")
    return P, record


def edge_lengths(weights: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Lengths of a network's edges under the rule: ``P[i, j]`` where ``weights[..., i, j] != 0``.

    Works on one (n, n) network or a stack (k, n, n).
    """
    W = np.asarray(weights)
    return np.where(W != 0, np.asarray(P, dtype=np.float64), 0.0)
