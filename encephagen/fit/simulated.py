"""Simulated models for fitting, built on the simulation core (:func:`encephagen.sim.runner.simulate`):
a whole CMA-ES population is ONE batched simulation (B = population size).

:func:`rww_fic_model`: the reduced Wong-Wang E/I model with analytic feedback inhibition control
(:mod:`encephagen.sim.rww`), BOLD through the runner's Balloon-Windkessel monitor, FC and FCD of the
BOLD (:class:`encephagen.fit.models.SimulatedModel`). Regional heterogeneity: ``w_p`` (recurrent
excitation); J_i is recomputed by FIC for every candidate (its G and w_p), so r_E = 3 Hz at the
fixed point.

:func:`hopf_bold_model`: the Stuart-Landau (Hopf) model simulated at BOLD time scales (Deco et al. 2017:
x itself, averaged over each TR, is the BOLD proxy), the same equations and units as the analytic
:class:`encephagen.fit.models.AnalyticHopf` (so an analytic optimum is a starting point); FC and FCD of
the TR series. Regional heterogeneity: ``a``.

Seeds: candidate b of a population gets ``seed + b`` (recorded by the fit as its seed).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from encephagen.fit.models import SimulatedModel
from encephagen.fit.space import FitError
from encephagen.sim import rww
from encephagen.sim.runner import SimulationDiverged, simulate

__all__ = ["rww_fic_model", "hopf_bold_model", "without_diverged"]


def without_diverged(run_subset, B: int, shape_tail) -> np.ndarray:
    """``run_subset(idx) -> (len(idx), *shape_tail)`` for the candidates ``idx`` of a population of B; a
    candidate whose simulation diverges (:class:`encephagen.sim.runner.SimulationDiverged`) gets NaN (the
    objectives score it as the worst cost) and the others are run again without it (each candidate keeps
    its own seed, so their results do not change)."""
    idx = np.arange(B)
    out = np.full((B, *shape_tail), np.nan)
    while idx.size:
        try:
            out[idx] = run_subset(idx)
            break
        except SimulationDiverged as exc:
            idx = np.delete(idx, exc.elements)
    return out


def rww_fic_model(weights, *, duration_ms: float = 60_000.0, transient_ms: float = 5_000.0, dt: float = 0.5,
                  noise: float = 1e-3, tr_ms: float = 720.0, bold_warmup_ms: float = 5_000.0,
                  min_bold_samples: int = 40, device: str = "cpu", dtype: str = "float32",
                  fcd_window: int = 30, fcd_step: int = 5) -> SimulatedModel:
    """A :class:`SimulatedModel` of rWW-FIC on ``weights`` (n, n) ([target, source], e.g. normalised to
    mean in-strength 1). Times in ms; ``noise`` on S_E, S_I (1/sqrt(ms)); BOLD sampled every ``tr_ms``."""
    W = np.asarray(weights, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise FitError(f"rww_fic_model: weights must be (n, n), got {W.shape}")
    base = rww.RWWParams()

    def run(G, params: Mapping, seed):
        G = np.asarray(G, dtype=float).reshape(-1)
        B, n = G.size, W.shape[0]
        unknown = set(params) - {"w_p"}
        if unknown:
            raise FitError(f"rww_fic_model: regional parameters may be 'w_p' only, got {sorted(unknown)}")
        wp = np.broadcast_to(np.asarray(params.get("w_p", base.w_p), dtype=float), (B, n))
        J = np.stack([rww.fic_weights(W, float(G[b]), base.replace(w_p=wp[b])) for b in range(B)])
        s0 = 0 if seed is None else int(seed)
        res = simulate(rww.RWW_FIC, W, params={"J_i": J, "w_p": wp}, G=G, seeds=np.arange(B) + s0 + 1, dt=dt,
                       duration=duration_ms, transient=transient_ms, noise=noise, device=device, dtype=dtype,
                       monitors={"bold": True, "bold_period": tr_ms, "bold_warmup": bold_warmup_ms,
                                 "min_bold_samples": min_bold_samples, "fc_activity": False,
                                 "record_samples": 16})
        return np.swapaxes(np.asarray(res.bold, dtype=float), 1, 2)     # (B, n, T)

    return SimulatedModel(run, parameters=("w_p",), defaults={"w_p": base.w_p}, name="rww_fic",
                          fcd_window=fcd_window, fcd_step=fcd_step)


def hopf_bold_model(C, *, duration_ms: float = 864_000.0, transient_ms: float = 60_000.0, dt: float = 90.0,
                    tr_ms: float = 720.0, sigma: float = 0.02, a: float = -0.02, omega: float = 2 * np.pi * 0.05,
                    device: str = "cpu", dtype: str = "float32", fcd_window: int = 30,
                    fcd_step: int = 5) -> SimulatedModel:
    """A :class:`SimulatedModel` of the Hopf model on the coupling matrix ``C`` (n, n) (e.g.
    :func:`encephagen.hopf.fit.normalise_sc`); times in ms (``tr_ms`` a multiple of ``dt``), model time
    in s; noise ``sigma`` (1/sqrt(s)). The series is x averaged over each TR, ``duration_ms / tr_ms`` samples
    (default 1200, an HCP run); FCD windows ``fcd_window`` TRs, step ``fcd_step`` (cuBNM's 30 / 5)."""
    C = np.asarray(C, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise FitError(f"hopf_bold_model: C must be (n, n), got {C.shape}")
    ratio = tr_ms / dt
    if abs(ratio - round(ratio)) > 1e-9:
        raise FitError(f"hopf_bold_model: tr_ms ({tr_ms}) must be a multiple of dt ({dt})")
    T = int(round(duration_ms / tr_ms))
    transient_ms = round(transient_ms / tr_ms) * tr_ms       # whole TRs (the runner needs multiples of dt)

    def run(G, params: Mapping, seed):
        G = np.asarray(G, dtype=float).reshape(-1)
        B, n = G.size, C.shape[0]
        unknown = set(params) - {"a"}
        if unknown:
            raise FitError(f"hopf_bold_model: regional parameters may be 'a' only, got {sorted(unknown)}")
        av = np.broadcast_to(np.asarray(params.get("a", a), dtype=float), (B, n))
        s0 = 0 if seed is None else int(seed)

        def sub(idx):
            res = simulate("hopf", C, params={"a": np.array(av[idx]), "omega": omega}, G=G[idx],
                           seeds=idx + s0 + 1, dt=dt, duration=T * tr_ms + transient_ms, transient=transient_ms,
                           noise=sigma, device=device, dtype=dtype,
                           monitors={"period": tr_ms, "fc_period": tr_ms, "record_samples": T, "fc_activity": False,
                                     "bold": False})
            return np.swapaxes(np.asarray(res.record, dtype=float), 1, 2)     # (b, n, T)

        return without_diverged(sub, B, (n, T))

    return SimulatedModel(run, parameters=("a",), defaults={"a": a}, name="hopf_bold", fcd_window=fcd_window,
                          fcd_step=fcd_step)
