"""Seeds derived from (master seed, network id, seed id), never from batch position.

A simulation's randomness depends only on *what* it is (which network, which noise
replicate, which parameter set), so a network gives the same result alone, in any
batch, and after a retry. Keys may be integers or strings (strings are hashed with
sha256, stable across processes and Python versions; Python's ``hash`` is not).

Seed 0 is a real seed like any other. A missing seed is an error, never a default.
"""
from __future__ import annotations

import hashlib
from typing import Union

import numpy as np

Key = Union[int, str]


def _key_to_int(key: Key) -> int:
    if isinstance(key, (bool,)):
        raise TypeError("a seed key must be an int or a str, not bool")
    if isinstance(key, (int, np.integer)):
        if key < 0:
            raise ValueError(f"seed keys must be non-negative integers, got {key}")
        return int(key)
    if isinstance(key, str):
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    raise TypeError(f"a seed key must be an int or a str, got {type(key).__name__}: {key!r}")


def seed_sequence(master: int, *keys: Key) -> np.random.SeedSequence:
    if master is None:
        raise ValueError("master seed is missing (set 'master_seed' in the config); 0 is a valid seed")
    return np.random.SeedSequence(entropy=_key_to_int(master), spawn_key=tuple(_key_to_int(k) for k in keys))


def derive_seed(master: int, *keys: Key) -> int:
    """A 63-bit integer seed for (master, *keys); record it in outputs."""
    state = seed_sequence(master, *keys).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) | (int(state[1]) << 32)) & ((1 << 63) - 1))


def numpy_rng(seed: int) -> np.random.Generator:
    """The numpy generator for a derived seed."""
    return np.random.Generator(np.random.PCG64(int(seed)))


def torch_generator(seed: int, device="cpu"):
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
