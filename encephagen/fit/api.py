"""Fit a model to empirical FC (and FCD), score it on held-out data, and fit every null network alike.

Everything here takes arrays (coupling matrices, FC, maps, labels); reading files is the caller's
job (a workflow step). Protocol (nothing is chosen on the data it is judged on):

1. :func:`fit` chooses the parameters on the TRAINING target only;
2. :func:`evaluate` scores the chosen parameters on any target (the held-out FC);
3. :func:`fit_networks` repeats 1-2 for every network (the real connectome and each null) with the
   same space, objective, optimiser and budget, so that :func:`topology_comparison` asks "does the
   real connectome fit better than its nulls" after fitting, not at shared parameters.

Maps derived from FC (:func:`encephagen.fit.maps.fc_gradient`) must be computed from the training FC.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from encephagen.analysis.fc import sc_fc_baselines
from encephagen.analysis.stats import empirical_p
from encephagen.fit import optimise as opt
from encephagen.fit.objectives import Objective, Target
from encephagen.fit.space import FitError, ParameterSpace

__all__ = ["FitResult", "fit", "evaluate", "fit_networks", "topology_comparison", "sc_baselines"]

OPTIMISERS = ("cmaes", "grid")


@dataclass
class FitResult:
    params: dict                 # {'G': float, parameter: (n,) ...} at the optimum
    values: dict                 # {name: value} of the fitted coordinates (G, coefficients)
    theta: np.ndarray            # unit-cube optimum
    train: dict                  # {'cost', 'fc_r', 'fcd_ks'} on the training target
    optimiser: opt.OptimiseResult
    test: dict = field(default_factory=dict)   # the same on a held-out target, if given

    def row(self) -> dict:
        """A flat summary row (for a table)."""
        r = {"G": float(self.params["G"]), "train_cost": self.train["cost"], "train_fc_r": self.train["fc_r"],
             "train_fcd_ks": self.train["fcd_ks"], "n_evaluations": self.optimiser.n_evaluations,
             "seconds": self.optimiser.seconds, "cpu_seconds": self.optimiser.cpu_seconds,
             "optimiser": self.optimiser.method, "seed": self.optimiser.seed}
        for k, v in self.test.items():
            r[f"test_{k}"] = v
        return r


def _scalar(d: Mapping) -> dict:
    return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in d.items()}


def _batch_eval(model, space: ParameterSpace, objective: Objective, seed: int | None):
    def evaluate(theta: np.ndarray) -> np.ndarray:
        p = space.decode(theta)
        G = p.pop("G")
        return objective.scores(model(G, p, seed=seed))["cost"]
    return evaluate


def evaluate(model, space: ParameterSpace, theta, target: Target | Objective, *, seed: int | None = None) -> dict:
    """Scores {'cost', 'fc_r', 'fcd_ks'} (floats) of one unit-cube point on a target."""
    obj = target if isinstance(target, Objective) else Objective(target)
    p = space.decode(np.atleast_2d(theta))
    G = p.pop("G")
    return _scalar(obj.scores(model(G, p, seed=seed)))


def fit(model, space: ParameterSpace, objective: Objective, *, seed: int, optimiser: str = "cmaes",
        test: Target | Objective | None = None, popsize: int = 128, generations: int = 120, sigma0: float = 0.3,
        grid_num: int | tuple = 11, x0=None, callback=None) -> FitResult:
    """Fit ``space`` on ``objective`` (the training target) with 'cmaes' or 'grid'; score the optimum on
    ``test`` (held out) if given. ``seed`` (required, recorded): cma's seed and the simulation seed of
    simulated models (the optimum is re-simulated with it for the train and test scores). ``callback``:
    see :func:`encephagen.fit.optimise.cmaes` (CMA-ES only)."""
    if optimiser not in OPTIMISERS:
        raise FitError(f"optimiser must be one of {OPTIMISERS}, got {optimiser!r}")
    if objective.target.n != space.n:
        raise FitError(f"target has {objective.target.n} regions, the parameter space {space.n}")
    f = _batch_eval(model, space, objective, seed)
    if optimiser == "cmaes":
        res = opt.cmaes(f, space.dim, popsize=popsize, generations=generations, seed=seed, sigma0=sigma0, x0=x0,
                        callback=callback)
    else:
        res = opt.grid(f, space.dim, grid_num)
    p = space.decode(res.theta[None])
    params = {k: (float(v[0]) if k == "G" else np.asarray(v[0])) for k, v in p.items()}
    # the optimum: ONE model call (one simulation of a simulated model), scored on training and held out
    p.pop("G")
    mo = model(np.asarray([params["G"]]), p, seed=seed)
    out = FitResult(params=params, values=space.describe(res.theta[None])[0], theta=res.theta,
                    train=_scalar(objective.scores(mo)), optimiser=res)
    if test is not None:
        out.test = _scalar((test if isinstance(test, Objective) else Objective(test)).scores(mo))
    return out


def sc_baselines(weights, fc) -> dict:
    """SC-only baselines of one network against an FC (:func:`encephagen.analysis.fc.sc_fc_baselines`):
    Pearson r of raw SC and of log10 SC (positive edges) with FC, upper triangle."""
    b = sc_fc_baselines(weights, fc)
    return {"sc_raw_r": float(b["raw_pearson"]), "sc_log_r": float(b["log_pearson"])}


def fit_networks(weights, make_model: Callable[[np.ndarray], object], space: ParameterSpace, train: Objective,
                 test: Target | Objective | None = None, *, seeds: Sequence[int], labels: Sequence[str] | None = None,
                 progress: Callable[[int, int], None] | None = None, **fit_kw) -> list[dict]:
    """Fit every network ``weights`` (k, n, n) the same way (``make_model(W)`` builds the model,
    e.g. normalising W to a coupling matrix); one row per network: the fitted scores, G, the SC-only
    baselines on train (and test), the seed. ``seeds`` (k,): one per network, recorded."""
    W = np.asarray(weights, dtype=float)
    if W.ndim != 3:
        raise FitError(f"weights must be (k, n, n), got {W.shape}")
    if len(seeds) != len(W):
        raise FitError(f"{len(seeds)} seeds for {len(W)} networks")
    rows = []
    for i, w in enumerate(W):
        t0 = time.perf_counter()
        res = fit(make_model(w), space, train, seed=int(seeds[i]), test=test, **fit_kw)
        row = {"network": labels[i] if labels is not None else i, **res.row()}
        row.update({f"train_{k}": v for k, v in sc_baselines(w, train.target.fc).items()})
        if test is not None:
            tfc = test.target.fc if isinstance(test, Objective) else test.fc
            row.update({f"test_{k}": v for k, v in sc_baselines(w, tfc).items()})
        row["values"] = res.values
        row["theta"] = np.asarray(res.theta, dtype=float)
        row["wall_seconds"] = time.perf_counter() - t0
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(W))
    return rows


def topology_comparison(real: float, nulls: Sequence[float], *, greater_is_better: bool = True) -> dict:
    """The real network's fitted score against its nulls' fitted scores (same optimiser and budget):
    {'real', 'n_null', 'null_mean', 'null_sd', 'null_q025', 'null_q975', 'z', 'p'} with the
    +1-corrected empirical p (:func:`encephagen.analysis.stats.empirical_p`), one-sided in the
    direction of a better fit. A failed null fit (NaN) counts as extreme in every direction in p (the
    conservative convention of empirical_p) and is left out of the summary statistics (counted)."""
    v = np.asarray(nulls, dtype=float)
    ok = v[np.isfinite(v)]
    real = float(real)
    sign = 1.0 if greater_is_better else -1.0
    p = empirical_p(sign * real, sign * v)["p_greater"] if v.size else float("nan")
    sd = float(ok.std(ddof=1)) if ok.size > 1 else float("nan")
    return {"real": real, "n_null": int(ok.size), "n_null_failed": int(v.size - ok.size),
            "null_mean": float(ok.mean()) if ok.size else float("nan"), "null_sd": sd,
            "null_q025": float(np.quantile(ok, 0.025)) if ok.size else float("nan"),
            "null_q975": float(np.quantile(ok, 0.975)) if ok.size else float("nan"),
            "z": (real - float(ok.mean())) / sd if ok.size > 1 and sd > 0 else float("nan"), "p": float(p)}
