"""Optimisers over the unit cube: a grid and CMA-ES (:mod:`cma`); each population is one batched call.

``evaluate(theta (B, d)) -> cost (B,)`` is the only contract (see :func:`encephagen.fit.api.fit`).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

import cma
import numpy as np

from encephagen.fit.space import FitError

__all__ = ["OptimiseResult", "grid", "cmaes", "cma_seed"]


@dataclass
class OptimiseResult:
    theta: np.ndarray          # (d,) best unit-cube point
    cost: float
    n_evaluations: int
    history: np.ndarray        # (generations,) best cost so far after each population
    seconds: float
    cpu_seconds: float
    method: str
    seed: int | None = None
    info: dict = field(default_factory=dict)


def grid(evaluate: Callable[[np.ndarray], np.ndarray], dim: int, num: int | tuple = 11, *,
         chunk: int = 4096) -> OptimiseResult:
    """Every point of a regular grid (``num`` points per axis, ends included), in chunks of ``chunk``."""
    nums = (num,) * dim if np.isscalar(num) else tuple(num)
    if len(nums) != dim or any(int(k) < 1 for k in nums):
        raise FitError(f"grid: need {dim} axis sizes >= 1, got {num}")
    axes = [np.linspace(0, 1, int(k)) if int(k) > 1 else np.array([0.5]) for k in nums]
    pts = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, dim)
    t0, c0 = time.perf_counter(), time.process_time()
    costs = np.concatenate([np.asarray(evaluate(pts[i:i + chunk]), float) for i in range(0, len(pts), chunk)])
    k = int(np.argmin(costs))
    return OptimiseResult(theta=pts[k], cost=float(costs[k]), n_evaluations=len(pts),
                          history=np.minimum.accumulate(costs)[-1:], seconds=time.perf_counter() - t0,
                          cpu_seconds=time.process_time() - c0, method="grid", info={"num": list(nums)})


def cma_seed(seed: int) -> int:
    """cma treats seed 0 as 'random'; map any integer to a valid fixed cma seed (1 .. 2^31 - 1)."""
    return int(seed) % (2 ** 31 - 1) + 1


def cmaes(evaluate: Callable[[np.ndarray], np.ndarray], dim: int, *, popsize: int = 128, generations: int = 120,
          seed: int, sigma0: float = 0.3, x0=None, tolfun: float = 0.0,
          callback: Callable[[int, np.ndarray, np.ndarray], bool | None] | None = None) -> OptimiseResult:
    """CMA-ES (:class:`cma.CMAEvolutionStrategy`) in the unit cube (cma's box bounds [0, 1]).

    Each generation asks for ``popsize`` candidates and evaluates them in ONE call. Exactly
    ``generations`` generations run unless ``tolfun`` > 0 lets cma stop earlier. ``seed`` is
    required (recorded); the same seed gives the same fit. ``callback(generation, X (popsize, dim),
    costs (popsize,))`` is called after each generation (progress, logging); returning True stops the
    run there (a wall-clock budget; ``info['stopped_early']`` records it).
    """
    if dim < 1:
        raise FitError("cmaes needs at least one parameter")
    if popsize < 2 or generations < 1:
        raise FitError(f"cmaes: popsize >= 2 and generations >= 1, got {popsize}, {generations}")
    x0 = np.full(dim, 0.5) if x0 is None else np.clip(np.asarray(x0, float), 0, 1)
    opts = {"popsize": int(popsize), "seed": cma_seed(seed), "bounds": [0.0, 1.0], "maxiter": int(generations),
            "verbose": -9, "tolfun": float(tolfun), "tolfunhist": 0, "tolx": 0, "tolstagnation": 10 ** 9,
            "tolflatfitness": 10 ** 9}
    t0, c0 = time.perf_counter(), time.process_time()
    d = max(dim, 2)   # cma refuses 1-D problems: a second coordinate that nothing reads
    es = cma.CMAEvolutionStrategy(np.concatenate([x0, np.full(d - dim, 0.5)]), float(sigma0), opts)
    best_x, best_c, hist, n, stopped = None, np.inf, [], 0, False
    for _ in range(int(generations)):
        X = np.asarray(es.ask())
        c = np.asarray(evaluate(X[:, :dim]), dtype=float)
        n += len(X)
        es.tell(list(X), c.tolist())
        k = int(np.argmin(c))
        if c[k] < best_c:
            best_c, best_x = float(c[k]), X[k, :dim].copy()
        hist.append(best_c)
        if callback is not None and callback(len(hist), X[:, :dim], c):
            stopped = True
            break
        if tolfun > 0 and es.stop():
            break
    return OptimiseResult(theta=best_x, cost=best_c, n_evaluations=n, history=np.asarray(hist),
                          seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0, method="cmaes",
                          seed=int(seed), info={"popsize": int(popsize), "generations": len(hist),
                                                "sigma0": float(sigma0), "stopped_early": stopped})
