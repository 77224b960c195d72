"""Counter-based random numbers for the external Poisson drive.

Each draw is a pure function of (network seed, neuron index within its network, time step):
the t-th output of SplitMix64 started at a per-neuron 64-bit key, i.e.
``x = mix64(key_i + t * 0x9E3779B97F4A7C15) >> 32`` (Steele, Lea & Flood 2014; the
generator behind Java's SplittableRandom), keys derived from the network's seed. So a
network's drive does not depend on its position in a batch, on the batch size, on the
device, or on the backend: the torch path (CPU or CUDA) and the numba CPU path draw
bit-identical numbers, which is what lets the test suite compare the two paths spike for spike.

torch has no unsigned 64-bit arithmetic: int64 products wrap modulo 2**64 (as unsigned ones
do) and logical right shifts are arithmetic shifts masked to the low bits.
"""
from __future__ import annotations

import numpy as np
import torch

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
M64 = (1 << 64) - 1


def _s64(c: int) -> int:
    """An unsigned 64-bit constant as the signed int64 with the same bits."""
    return c - (1 << 64) if c >= (1 << 63) else c


def mix64_np(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64).copy()
    z ^= z >> np.uint64(30)
    z *= np.uint64(MIX1)
    z ^= z >> np.uint64(27)
    z *= np.uint64(MIX2)
    z ^= z >> np.uint64(31)
    return z


def _lsr(z: torch.Tensor, s: int) -> torch.Tensor:
    return (z >> s) & ((1 << (64 - s)) - 1)


def mix64_torch(z: torch.Tensor) -> torch.Tensor:
    z = z ^ _lsr(z, 30)
    z = z * _s64(MIX1)
    z = z ^ _lsr(z, 27)
    z = z * _s64(MIX2)
    return z ^ _lsr(z, 31)


def neuron_keys(seed: int, n: int) -> np.ndarray:
    """Per-neuron 64-bit keys (as int64) for a network with ``seed``."""
    seed = int(seed) & M64
    with np.errstate(over="ignore"):
        base = mix64_np(np.array([seed], dtype=np.uint64))[0]
        i = np.arange(1, n + 1, dtype=np.uint64)
        k = mix64_np(base + i * np.uint64(GOLDEN))
    return k.view(np.int64)


def draws_torch(key: torch.Tensor, t0: int, k: int) -> torch.Tensor:
    """Uniform 32-bit integers (int64 tensor, shape (k, n)) for steps t0..t0+k-1."""
    t = torch.arange(t0, t0 + k, device=key.device, dtype=torch.int64).unsqueeze(1)
    z = key.unsqueeze(0) + t * _s64(GOLDEN)
    return _lsr(mix64_torch(z), 32)


def poisson_cdf_table(lams: np.ndarray, tail: float = 1e-12) -> np.ndarray:
    """Cumulative Poisson probabilities, one row per rate: row[k] = P(X <= k).

    Rows are truncated where the upper tail falls below ``tail`` (counts beyond are clipped
    to the row length); a count is the number of entries strictly below the uniform.
    """
    from scipy.stats import poisson

    lams = np.asarray(lams, dtype=np.float64)
    if np.any(lams < 0) or not np.all(np.isfinite(lams)):
        raise ValueError(f"Poisson rates per step must be finite and >= 0, got {lams}")
    lam_max = float(lams.max()) if lams.size else 0.0
    kmax = int(poisson.isf(tail, lam_max)) + 2 if lam_max > 0 else 1
    ks = np.arange(kmax)
    table = poisson.cdf(ks[None, :], lams[:, None]) if lams.size else np.zeros((0, kmax))
    table = np.asarray(table, dtype=np.float64)
    table[:, -1] = 1.0  # no uniform exceeds 1: the last entry closes the row
    return np.maximum.accumulate(table, axis=1)


def poisson_threshold_table(lams: np.ndarray, tail: float = 1e-12) -> np.ndarray:
    """Integer version used by the simulator: T[g, k] = floor(P(X <= k) * 2**32), last = 2**32.

    A 32-bit draw x gives the count #{k : T[g, k] < x}, i.e. P(count <= k) = (T[g, k] + 1) / 2**32
    up to the 2**-32 resolution.
    """
    t = np.floor(poisson_cdf_table(lams, tail) * 4294967296.0)
    t = np.minimum(t, 4294967296.0).astype(np.int64)
    t[:, -1] = 4294967296
    return t
