"""Regional maps for heterogeneity: the principal gradient of an FC, networks from Schaefer labels,
columns of a region table. Arrays in, arrays out.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from encephagen.fit.space import FitError

__all__ = ["fc_gradient", "schaefer_networks", "YEO7"]

YEO7 = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")


def fc_gradient(fc, n_components: int = 1, *, sparsity: float = 0.9, alpha: float = 0.5) -> np.ndarray:
    """Principal gradient(s) (n_components, n) of an FC matrix by diffusion-map embedding
    (Margulies et al. 2016, as brainspace's defaults): each row keeps its top ``1 - sparsity``
    fraction of values, cosine-similarity affinity, diffusion map with ``alpha``; the sign is fixed
    so that each gradient correlates positively with the region's mean FC (reproducible).

    Fit protocol: compute it from the TRAINING FC only (it is then a fixed map for the test FC).
    """
    F = np.asarray(fc, dtype=float)
    n = F.shape[0]
    if F.ndim != 2 or F.shape != (n, n) or not np.isfinite(F).all():
        raise FitError(f"fc_gradient needs a finite (n, n) FC, got {F.shape}")
    if not 0 <= sparsity < 1:
        raise FitError(f"fc_gradient sparsity must be in [0, 1), got {sparsity}")
    X = F.copy()
    np.fill_diagonal(X, 0.0)
    thr = np.quantile(X, sparsity, axis=1, keepdims=True)
    X = np.where(X >= thr, X, 0.0)
    nrm = np.linalg.norm(X, axis=1, keepdims=True)
    Xn = X / np.where(nrm > 0, nrm, 1.0)
    A = np.clip(Xn @ Xn.T, 0.0, None)
    d = A.sum(1)
    La = A / np.outer(d ** alpha, d ** alpha)
    dl = La.sum(1)
    Ms = La / np.sqrt(np.outer(dl, dl))           # symmetric conjugate of the Markov matrix
    w, v = np.linalg.eigh(Ms)
    order = np.argsort(w)[::-1]
    w, v = w[order], v[:, order]
    if np.any(d <= 0) or w[1] > 1 - 1e-10:
        raise FitError("fc_gradient: the affinity graph is disconnected (a region without neighbours or "
                       "separate blocks); lower the sparsity")
    psi = v / v[:, [0]]                           # right eigenvectors of the Markov matrix
    g = (psi[:, 1:1 + n_components] * (w[1:1 + n_components] / (1 - w[1:1 + n_components]))).T
    strength = F.mean(1)
    for k in range(g.shape[0]):
        if np.corrcoef(g[k], strength)[0, 1] < 0:
            g[k] = -g[k]
    return g


def schaefer_networks(labels: Sequence[str], networks: Sequence[str] = YEO7) -> np.ndarray:
    """Yeo-7 network index (n,) from Schaefer region labels (``7Networks_LH_Vis_1`` ...); an error naming
    the first label without a network."""
    out = []
    for lab in labels:
        parts = re.split(r"[_\-\s]", str(lab))
        hit = [i for i, nm in enumerate(networks) if nm in parts]
        if len(hit) != 1:
            raise FitError(f"region label {lab!r} names no single network of {tuple(networks)}")
        out.append(hit[0])
    return np.asarray(out, dtype=np.int64)
