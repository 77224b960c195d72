"""CMA-ES (``cma``) with bounds inside the optimiser and the global numpy RNG side effect contained.

``cma.CMAEvolutionStrategy`` re-seeds numpy's global ``np.random`` state when constructed (checked
with cma 4.5.0). :func:`minimize` saves and restores that state around every call into cma, so the
caller's global stream is untouched. The objective is evaluated over several seeds (mean), and the
returned ``x`` is exactly the evaluated candidate with the best mean (not CMA's internal mean).
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np


@contextmanager
def preserved_global_rng():
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def minimize(objective, x0, sigma0: float, lower, upper, seeds=(0, 1, 2), cma_seed: int = 1,
             popsize: int | None = None, max_iter: int = 20) -> dict:
    """Minimise mean_s objective(x, s) over ``seeds`` with CMA-ES inside [lower, upper].

    cma_seed must be >= 1 (cma treats 0 / None as 'seed from time')."""
    import cma

    x0, lo, hi = (np.asarray(v, dtype=float) for v in (x0, lower, upper))
    if not (x0.shape == lo.shape == hi.shape):
        raise ValueError(f"calibrate.minimize: x0 {x0.shape}, lower {lo.shape}, upper {hi.shape} must match")
    if np.any(lo >= hi) or np.any(x0 < lo) or np.any(x0 > hi):
        raise ValueError("calibrate.minimize: need lower < upper and x0 inside the bounds")
    if int(cma_seed) < 1:
        raise ValueError(f"calibrate.minimize: cma_seed must be >= 1 (0 means time-based in cma), got {cma_seed}")
    opts = {"seed": int(cma_seed), "bounds": [lo.tolist(), hi.tolist()], "maxiter": int(max_iter), "verbose": -9}
    if popsize:
        opts["popsize"] = int(popsize)
    history, best = [], (np.inf, None)
    with preserved_global_rng():
        es = cma.CMAEvolutionStrategy(x0.tolist(), float(sigma0), opts)
    while True:
        with preserved_global_rng():
            if es.stop():
                break
            X = es.ask()
        f = []
        for x in X:
            x = np.asarray(x, dtype=float)
            val = float(np.mean([objective(x, s) for s in seeds]))
            f.append(val)
            history.append((x.copy(), val))
            if val < best[0]:
                best = (val, x.copy())
        with preserved_global_rng():
            es.tell(X, f)
    return {"x": best[1], "f": best[0], "iterations": int(es.result.iterations), "evaluations": len(history),
            "history": history, "seeds": list(seeds), "cma_seed": int(cma_seed)}
