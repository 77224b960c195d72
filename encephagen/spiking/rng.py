"""Counter-based random numbers for the external Poisson drive.

Each draw is a pure function of (network seed, neuron index within its network, time step):
the t-th output of SplitMix64 started at a per-neuron 64-bit key, i.e.
``x = mix64(key_i + t * 0x9E3779B97F4A7C15) >> 32`` (Steele, Lea & Flood 2014; the
generator behind Java's SplittableRandom), keys derived from the network's seed. So a
network's drive does not depend on its position in a batch, on the batch size, on the
device, or on the backend: the torch path (CPU or CUDA) and the numba CPU path draw
bit-identical numbers, which is what lets the test suite compare the two paths spike for spike.

The mixer (:func:`mix64`, :func:`draw`, :func:`count4`) is written once, on int64 values:
torch has no unsigned 64-bit arithmetic, and int64 products wrap modulo 2**64 (as unsigned ones
do) in torch, numpy and numba alike; logical right shifts are arithmetic shifts masked to the
low bits. The torch path calls these functions on tensors, the numba kernel compiles them.
"""
from __future__ import annotations

import numpy as np
import torch

from numba.extending import overload, register_jitable

from encephagen.spiking.update import select

M32 = 0xFFFFFFFF
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
M64 = (1 << 64) - 1


def _s64(c: int) -> int:
    """An unsigned 64-bit constant as the signed int64 with the same bits."""
    return c - (1 << 64) if c >= (1 << 63) else c


GOLDEN_S, MIX1_S, MIX2_S = _s64(GOLDEN), _s64(MIX1), _s64(MIX2)


# ---- the generator, written once: these functions take int64 numpy arrays, int64 torch tensors
# (any device) or int64 scalars inside numba code (register_jitable: plain Python when called
# from Python, compiled and inlined when called from a numba kernel). Products wrap modulo 2**64 in all three; a logical right
# shift is an arithmetic shift masked to the low bits.
def lsr(z, s):
    """Logical right shift of int64 ``z`` by ``s`` bits (numba: a native unsigned shift, below)."""
    return (z >> s) & ((1 << (64 - s)) - 1)


@overload(lsr)
def _lsr_scalar(z, s):  # pragma: no cover - compiled by numba
    def impl(z, s):
        return np.int64(np.uint64(z) >> np.uint64(s))
    return impl


@register_jitable(inline="always")
def mix64(z):
    """SplitMix64's output function on int64 values."""
    z = z ^ lsr(z, 30)
    z = z * MIX1_S
    z = z ^ lsr(z, 27)
    z = z * MIX2_S
    return z ^ lsr(z, 31)


@register_jitable(inline="always")
def draw(key, t):
    """The 32-bit uniform (as int64) of a neuron with ``key`` at step ``t``."""
    return lsr(mix64(key + t * GOLDEN_S), 32)


@register_jitable(inline="always")
def count4(x, c0, c1, c2, c3):
    """Number of the first four thresholds below ``x`` (the Poisson count when it is < 4; a count
    of 4 continues with a search over the rest of the row, see poisson_threshold_table)."""
    return select(c0 < x, 1, 0) + select(c1 < x, 1, 0) + select(c2 < x, 1, 0) + select(c3 < x, 1, 0)


def mix64_np(z: np.ndarray) -> np.ndarray:
    """:func:`mix64` on numpy (uint64 or int64 in, uint64 out)."""
    z = np.ascontiguousarray(z).astype(np.uint64).view(np.int64)
    with np.errstate(over="ignore"):
        return mix64(z).view(np.uint64)


def mix64_torch(z: torch.Tensor) -> torch.Tensor:
    return mix64(z)


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
    return draw(key.unsqueeze(0), t)


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
