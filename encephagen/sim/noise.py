"""Noise only from explicit per-element seeds, by one of two generators (``rng``):

* ``"torch"``: one ``torch.Generator`` per batch element (mt19937 on a CPU, curand's Philox on CUDA).
  Each element's draws (first its initial-condition uniforms, then its Gaussian increments in chunks
  of a fixed number of steps, independent of the batch size) come from its own generator seeded with
  its derived seed. One generator call per element and chunk: fine on a CPU, but at GPU batch sizes
  (thousands of elements) the calls, not the arithmetic, take the time.
* ``"philox"``: the counter-based Philox4x32-10 (Salmon et al. 2011, Random123), keyed by the
  element's seed, the counter naming the draw (stream, step, state variable, node): every draw of
  every element of a chunk is one vectorised (on CUDA compiled: one kernel) computation, and the same
  seed gives the same numbers on any device and in any batch (to the last bits of Box-Muller's
  log / cos / sin, which differ between CPU and CUDA libraries). Tested against Random123's
  known-answer vectors.

Either way a network gets the same noise alone or in any batch. Increments are scaled here:
eta = sigma * sqrt(dt) * xi (dt in the model's unit).
"""
from __future__ import annotations

import logging
import math

import numpy as np
import torch

from encephagen.seeds import torch_generator

log = logging.getLogger(__name__)


def check_seeds(seeds, B: int | None = None) -> np.ndarray:
    if seeds is None:
        raise ValueError("seeds are required (one explicit seed per batch element; 0 is a valid seed)")
    arr = np.asarray(seeds)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"seeds must be a non-empty 1-D sequence of integers, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr.astype(float), 1), 0)):
            raise ValueError(f"seeds must be integers, got {arr[:5]}")
        arr = arr.astype(np.int64)
    if (arr < 0).any():
        raise ValueError(f"seeds must be non-negative, got {int(arr[arr < 0][0])}")
    if B is not None and arr.size != B:
        raise ValueError(f"{arr.size} seeds for a batch of {B} networks")
    return arr.astype(np.int64)


RNGS = ("torch", "philox")

# Philox4x32-10 (Random123's philox4x32_R with R = 10): multipliers and Weyl key increments
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = 0xFFFFFFFF
_INIT, _INCREMENTS = 0, 1       # counter word 2: the stream (initial uniforms, Gaussian increments)
_EAGER_BLOCKS = 1 << 21         # Philox blocks per eager call (~16 MB per int64 temporary)


def _mulhilo(a, m: int):
    """(hi, lo): the 32-bit halves of ``a * m`` for uint32 values ``a`` (an int64 tensor) and a 32-bit
    constant ``m``, in 16-bit pieces so that no int64 product overflows (< 2^49)."""
    low, high = a * (m & 0xFFFF), a * (m >> 16)
    t = low + ((high & 0xFFFF) << 16)
    return (t >> 32) + (high >> 16), t & _MASK


def philox4x32(c0, c1, c2, c3, k0, k1, rounds: int = 10):
    """Philox4x32-``rounds`` of the counter (c0, c1, c2, c3) under the key (k0, k1): four uint32 words
    (int64 tensors or ints holding values in [0, 2^32); they broadcast against each other)."""
    for r in range(rounds):
        if r:
            k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
        hi0, lo0 = _mulhilo(c0, _M0)
        hi1, lo1 = _mulhilo(c2, _M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def _unit(x, dtype, open_low: bool):
    """uint32 words -> uniforms: float32 from their top 24 bits, float64 from all 32; in (0, 1) with
    ``open_low`` (for the logarithm), else in [0, 1)."""
    if dtype == torch.float32:
        v, scale = (x >> 8).to(dtype), 2.0 ** -24
    else:
        v, scale = x.to(dtype), 2.0 ** -32
    return (v + 0.5) * scale if open_low else v * scale


def _philox_words(keys, start, shape, stream: int):
    """The four words of the Philox blocks ``start .. start + rows x nb`` for every key (B, 2): rows of
    ``shape[-1]`` draws (``nb`` = shape[-1] / 4 blocks each, rounded up), ``rows`` = prod(shape[:-1])."""
    nb = -(-shape[-1] // 4)
    rows = math.prod(shape[:-1])
    blk = torch.arange(rows * nb, dtype=torch.int64, device=keys.device).view(1, rows * nb) + start
    return philox4x32(blk & _MASK, blk >> 32, torch.full_like(blk, stream), torch.zeros_like(blk),
                      keys[:, :1], keys[:, 1:])


def _rows_of(words4, shape):
    """(B, rows x nb, 4) draws -> (B, *shape): lanes in order, each row cut to shape[-1]."""
    nb = -(-shape[-1] // 4)
    return words4.view(words4.shape[0], -1, nb * 4)[..., :shape[-1]].reshape(-1, *shape)


def philox_uniform(keys, start, shape, dtype, stream: int = _INIT):
    """U[0, 1) of shape (B, *shape): element b's draws under the key ``keys[b]`` (its seed's 32-bit
    halves, :func:`seed_keys`), each row of ``shape[-1]`` draws starting a block, the first at ``start``."""
    w = _philox_words(keys, start, shape, stream)
    return _rows_of(torch.stack([_unit(x, dtype, False) for x in w], dim=-1), shape)


def philox_normal(keys, start, shape, dtype):
    """Standard normals of shape (B, *shape): element b's Gaussian increments (Box-Muller on the four
    words of a Philox block: (u0, u1) -> two normals, (u2, u3) -> two), rows of ``shape[-1]`` draws
    each starting a block, the first row at block ``start``."""
    u0, u1, u2, u3 = (_unit(x, dtype, True) for x in _philox_words(keys, start, shape, _INCREMENTS))
    r0, r1 = (-2.0 * u0.log()).sqrt(), (-2.0 * u2.log()).sqrt()
    a0, a1 = (2.0 * math.pi) * u1, (2.0 * math.pi) * u3
    return _rows_of(torch.stack([r0 * a0.cos(), r0 * a0.sin(), r1 * a1.cos(), r1 * a1.sin()], dim=-1), shape)


def seed_keys(seeds, device) -> torch.Tensor:
    """(B, 2) int64: each seed's low and high 32 bits (Philox's key)."""
    s = np.asarray(seeds, dtype=np.int64)
    return torch.as_tensor(np.stack([s & _MASK, (s >> 32) & _MASK], axis=1), device=device)


# CPU, rng 'torch': a chunk's per-element generators drawn on up to torch's intra-op thread count of
# threads (torch.randn releases the GIL), when the chunk has at least NOISE_THREAD_MIN values and two
# elements per thread; 1: on the calling thread. Each generator is drawn by one thread in its own order,
# so the numbers do not depend on this.
NOISE_THREADS = None            # None: torch.get_num_threads()
NOISE_THREAD_MIN = 1 << 18
NOISE_BLOCK_BYTES = 64 << 20    # chunks drawn together when drawn on threads (NoiseSource._block_chunks)
_POOLS: dict = {}


def _draw_threads(B: int, numel: int, device) -> int:
    if device.type != "cpu" or numel < NOISE_THREAD_MIN:
        return 1
    T = torch.get_num_threads() if NOISE_THREADS is None else int(NOISE_THREADS)
    return max(1, min(T, B // 2))


def _pool(T: int):
    from concurrent.futures import ThreadPoolExecutor

    if T not in _POOLS:
        _POOLS[T] = ThreadPoolExecutor(T, thread_name_prefix="encephagen-noise")
    return _POOLS[T]


class NoiseSource:
    """Per-element noise; ``sigma`` (B,) in the model's noise unit, ``dt`` in its time unit; ``rng``
    one of :data:`RNGS` (the module docstring). ``compile``: the Philox chunk through ``torch.compile``
    (one fused kernel instead of ~150 elementwise ones; the same arithmetic)."""

    def __init__(self, seeds, n_state: int, n: int, sigma, dt: float, device, dtype, chunk_steps: int,
                 rng: str = "torch", compile: bool = False):
        self.seeds = check_seeds(seeds)
        self.B = B = self.seeds.size
        self.n_state, self.n = n_state, n
        self.device, self.dtype = torch.device(device), dtype
        if rng not in RNGS:
            raise ValueError(f"noise rng must be one of {RNGS}, got {rng!r}")
        self.rng = rng
        self.gens = [torch_generator(int(s), device=self.device) for s in self.seeds] if rng == "torch" else None
        self.keys = seed_keys(self.seeds, self.device) if rng == "philox" else None
        self._normal = philox_normal
        if rng == "philox" and compile:
            self._normal = torch.compile(philox_normal, dynamic=False)
        self._t = 0                    # steps drawn so far (philox: the counter's position)
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (B,))
        if (~np.isfinite(sigma) | (sigma < 0)).any():
            bad = int(np.argwhere(~np.isfinite(sigma) | (sigma < 0))[0, 0])
            raise ValueError(f"noise sigma must be finite and >= 0, got {sigma[bad]} for batch element {bad}")
        self.active = bool((sigma > 0).any())
        scale = sigma * math.sqrt(dt)
        self.scale = float(scale[0]) if np.all(scale == scale[0]) else torch.as_tensor(scale, dtype=dtype, device=self.device)
        self.chunk_steps = int(chunk_steps)

    def uniform_init(self) -> torch.Tensor:
        """U[0, 1) of shape (n_state, n, B): each element's first draw."""
        if self.rng == "philox":
            return philox_uniform(self.keys, 0, (self.n_state, self.n), self.dtype).permute(1, 2, 0)
        return torch.stack([torch.rand((self.n_state, self.n), generator=g, dtype=self.dtype, device=self.device)
                            for g in self.gens], dim=-1)

    def chunk(self, k: int) -> torch.Tensor | None:
        """Scaled increments (B, k, n_state, n) -- each element's k steps drawn contiguously from
        its own generator -- or None when every sigma is 0 (nothing drawn). Step j's increments
        in the runner's (state, node, batch) layout: ``chunk[:, j].permute(1, 2, 0)`` (a view)."""
        if not self.active:
            return None
        if self.rng == "philox":      # always whole chunks (one compiled shape), the last one cut
            full = max(k, self.chunk_steps)
            nb = -(-self.n // 4)
            start = self._t * self.n_state * nb
            shape, t0 = (full, self.n_state, self.n), torch.tensor(start, dtype=torch.int64, device=self.device)
            buf = None
            if self._normal is not philox_normal:
                try:
                    buf = self._normal(self.keys, t0, shape, self.dtype)[:, :k]
                except Exception as exc:   # noqa: BLE001 -- e.g. no C++ compiler: the same draws eagerly
                    log.warning("noise: torch.compile of the Philox draw failed (%s: %s); drawing eagerly",
                                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                    self._normal = philox_normal
            if buf is None:    # eager: elements in groups, so the int64 temporaries stay small
                g = max(1, _EAGER_BLOCKS // (full * self.n_state * nb))
                buf = torch.cat([philox_normal(self.keys[i:i + g], t0, shape, self.dtype)
                                 for i in range(0, self.B, g)])[:, :k] if g < self.B else \
                    philox_normal(self.keys, t0, shape, self.dtype)[:, :k]
            self._t += k
            if full != k:
                buf = buf.contiguous()
        else:
            buf = torch.empty((self.B, k, self.n_state, self.n), dtype=self.dtype, device=self.device)
            shape = (k, self.n_state, self.n)
            inference = torch.is_inference_mode_enabled()      # thread-local: the pool's threads take the caller's

            def draw(elements):
                with torch.inference_mode(inference):
                    for b in elements:
                        torch.randn(shape, generator=self.gens[b], dtype=self.dtype, device=self.device, out=buf[b])

            T = _draw_threads(self.B, buf.numel(), self.device)
            if T > 1:      # each generator drawn by one thread, in order: the same numbers
                list(_pool(T).map(draw, [range(i, self.B, T) for i in range(T)]))
            else:
                draw(range(self.B))
        if isinstance(self.scale, float):
            return buf.mul_(self.scale)
        return buf.mul_(self.scale.view(-1, 1, 1, 1))

    def stream(self, n_steps: int, chunk_steps: int | None = None):
        """The increments for ``n_steps`` steps as successive chunks of ``chunk_steps`` (the last
        one shorter; None for each when no noise is active): the same draws, in the same order,
        as calling :meth:`chunk` repeatedly. (Drawing the next chunk on a background thread was
        measured slower: the per-generator loop holds the GIL against the integration loop.)"""
        k = int(chunk_steps or self.chunk_steps)
        m = self._block_chunks(k)
        for start in range(0, n_steps, k * m):
            steps = min(k * m, n_steps - start)
            block = self.chunk(steps)
            for j in range(0, steps, k):
                yield None if block is None else block[:, j:j + k]

    def _block_chunks(self, k: int) -> int:
        """Chunks drawn per call when a chunk's generators are drawn on threads (:func:`_draw_threads`):
        a block of up to NOISE_BLOCK_BYTES, so that the second thread's wait for the core (OpenMP's
        worker spins ~7 ms after each compiled call with GOMP's default spin count) is a small part of
        the draw. The same numbers: torch's CPU normal draws 16 values from 16 uniforms, so draws of
        k and of m k steps agree when k steps are a multiple of 16 values (else 1 chunk per call)."""
        values = k * self.n_state * self.n
        if self.rng != "torch" or values % 16 or _draw_threads(self.B, self.B * values, self.device) < 2:
            return 1
        return max(1, NOISE_BLOCK_BYTES // (self.B * values * torch.empty((), dtype=self.dtype).element_size()))
