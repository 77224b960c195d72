"""Motor decoder: spike counts of motor pools -> smoothed population rates -> an action.

Pools are disjoint sets of motor-region neurons, one per action. After each decision window the
pools' population rates (Hz per neuron) update an exponential moving average with time constant
``tau_ms`` (``r <- r + (1 - exp(-T / tau)) (rate - r)``: one window of length T); the action is the
pool with the highest smoothed rate, ties broken by the decoder's own seeded generator.

``center``: the action is the pool with the highest smoothed rate *relative to its own running
mean* (an exponential average over windows with time constant ``center_tau_ms``, updated after
each decision), so a pool that is always more active (more input, shorter tau_m) does not win
every decision; without learning the choices are then near uniform.
"""
from __future__ import annotations

import math

import numpy as np


class MotorDecoder:
    def __init__(self, pools: list[np.ndarray], actions: tuple[str, ...], tau_ms: float = 0.0, seed: int = 0,
                 center: bool = False, center_tau_ms: float = 1000.0):
        if len(pools) != len(actions) or not pools:
            raise ValueError(f"motor decoder: {len(pools)} pools for {len(actions)} actions")
        sizes = [len(p) for p in pools]
        if min(sizes) == 0:
            raise ValueError(f"motor decoder: empty pool for action {actions[sizes.index(0)]!r}")
        allidx = np.concatenate([np.asarray(p, np.int64) for p in pools])
        if np.unique(allidx).size != allidx.size:
            raise ValueError("motor decoder: pools overlap")
        if tau_ms < 0:
            raise ValueError(f"motor decoder: tau_ms must be >= 0, got {tau_ms}")
        self.pools = [np.asarray(p, np.int64) for p in pools]
        self.actions = tuple(actions)
        self.tau_ms = float(tau_ms)
        self.rng = np.random.default_rng(seed)
        self.smoothed = np.zeros(len(pools))
        self.last = np.zeros(len(pools))
        self.center, self.center_tau_ms = bool(center), float(center_tau_ms)
        self.mean: np.ndarray | None = None

    def reset(self) -> None:
        """Clear the smoothed rates (the running means of ``center`` are kept)."""
        self.smoothed[:] = 0.0
        self.last[:] = 0.0

    def pool_rates(self, counts: np.ndarray, duration_ms: float) -> np.ndarray:
        """Population rate (Hz per neuron) of each pool from per-neuron spike counts over ``duration_ms``."""
        if duration_ms <= 0:
            raise ValueError("motor decoder: the window must be > 0 ms")
        c = np.asarray(counts)
        return np.array([c[p].sum() / p.size for p in self.pools]) * 1000.0 / duration_ms

    def update(self, counts: np.ndarray, duration_ms: float) -> np.ndarray:
        r = self.pool_rates(counts, duration_ms)
        a = 1.0 if self.tau_ms == 0 else 1.0 - math.exp(-duration_ms / self.tau_ms)
        self.smoothed += a * (r - self.smoothed)
        self.last = r
        return self.smoothed.copy()

    def score(self) -> np.ndarray:
        if self.center and self.mean is not None:
            return self.smoothed - self.mean
        return self.smoothed.copy()

    def action(self) -> int:
        s = self.score()
        best = np.flatnonzero(s == s.max())
        return int(best[0] if best.size == 1 else self.rng.choice(best))

    def decide(self, counts: np.ndarray, duration_ms: float) -> int:
        r = self.pool_rates(counts, duration_ms)
        self.update(counts, duration_ms)
        if self.center and self.mean is None:
            self.mean = r.copy()
            return int(self.rng.integers(len(self.pools)))    # no mean yet: no preference
        a = self.action()
        if self.center:
            self.mean += (1.0 - math.exp(-duration_ms / self.center_tau_ms)) * (r - self.mean)
        return a
