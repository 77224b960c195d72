"""Noise only from explicit generators: one ``torch.Generator`` per batch element.

Each element's draws (first its initial-condition uniforms, then its Gaussian increments
in chunks of a fixed number of steps, independent of the batch size) come from its own
generator seeded with its derived seed, so a network gets the same noise alone or in any
batch. Increments are scaled here: eta = sigma * sqrt(dt) * xi (dt in the model's unit).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from encephagen.seeds import torch_generator


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


class NoiseSource:
    """Per-element generators; ``sigma`` (B,) in the model's noise unit, ``dt`` in its time unit."""

    def __init__(self, seeds, n_state: int, n: int, sigma, dt: float, device, dtype, chunk_steps: int):
        self.seeds = check_seeds(seeds)
        self.B = B = self.seeds.size
        self.n_state, self.n = n_state, n
        self.device, self.dtype = torch.device(device), dtype
        self.gens = [torch_generator(int(s), device=self.device) for s in self.seeds]
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
        return torch.stack([torch.rand((self.n_state, self.n), generator=g, dtype=self.dtype, device=self.device)
                            for g in self.gens], dim=-1)

    def chunk(self, k: int) -> torch.Tensor | None:
        """Scaled increments (B, k, n_state, n) -- each element's k steps drawn contiguously from
        its own generator -- or None when every sigma is 0 (nothing drawn). Step j's increments
        in the runner's (state, node, batch) layout: ``chunk[:, j].permute(1, 2, 0)`` (a view)."""
        if not self.active:
            return None
        buf = torch.empty((self.B, k, self.n_state, self.n), dtype=self.dtype, device=self.device)
        for b, g in enumerate(self.gens):
            torch.randn((k, self.n_state, self.n), generator=g, dtype=self.dtype, device=self.device, out=buf[b])
        if isinstance(self.scale, float):
            return buf.mul_(self.scale)
        return buf.mul_(self.scale.view(-1, 1, 1, 1))

    def stream(self, n_steps: int, chunk_steps: int | None = None):
        """The increments for ``n_steps`` steps as successive chunks of ``chunk_steps`` (the last
        one shorter; None for each when no noise is active): the same draws, in the same order,
        as calling :meth:`chunk` repeatedly. (Drawing the next chunk on a background thread was
        measured slower: the per-generator loop holds the GIL against the integration loop.)"""
        k = int(chunk_steps or self.chunk_steps)
        for start in range(0, n_steps, k):
            yield self.chunk(min(k, n_steps - start))
