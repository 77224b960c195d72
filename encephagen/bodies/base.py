"""The Body interface shared by every simulated body (arrays in, arrays out).

A body is a MuJoCo model behind five members::

    reset(seed) -> obs                                   (seed is required: per-seed reproducibility)
    step(action) -> obs, reward, terminated, truncated, info
    OBS: dict name -> index into obs     ACT: dict name -> index into action
    dt: control period in seconds (physics timestep x frame skip)

``terminated`` means the body fell (unhealthy); ``truncated`` means the time limit was reached.
``info`` always holds ``x_position`` (root x, m), ``reward_forward``, ``reward_ctrl`` and
``reward_survive``. Actions are clipped to [-1, 1] (the motors' ctrlrange).
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Body(Protocol):
    name: str
    OBS: dict[str, int]
    ACT: dict[str, int]
    dt: float
    obs_dim: int
    act_dim: int

    def reset(self, seed: int) -> np.ndarray: ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]: ...

    def close(self) -> None: ...


def check_action(action, act_dim: int, body: str) -> np.ndarray:
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.shape[0] != act_dim:
        raise ValueError(f"{body}: action has {a.shape[0]} values, the body has {act_dim} actuators")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{body}: action is not finite: {a}")
    return np.clip(a, -1.0, 1.0)


def check_seed(seed, body: str) -> int:
    if seed is None or isinstance(seed, bool) or int(seed) != seed or int(seed) < 0:
        raise ValueError(f"{body}: reset needs an explicit non-negative integer seed, got {seed!r}")
    return int(seed)
