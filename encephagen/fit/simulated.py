"""Simulated models for fitting, built on the simulation core (:func:`encephagen.sim.runner.simulate`):
a whole CMA-ES population is ONE batched simulation (B = population size).

:func:`rww_fic_model`: the reduced Wong-Wang E/I model with analytic feedback inhibition control
(:mod:`encephagen.sim.rww`), BOLD through the runner's Balloon-Windkessel monitor, FC and FCD of the
BOLD (:class:`encephagen.fit.models.SimulatedModel`). Regional heterogeneity: ``w_p`` (recurrent
excitation); J_i is recomputed by FIC for every candidate (its G and w_p), so r_E = 3 Hz at the
fixed point. Seeds: candidate b of a population gets ``seed + b`` (recorded by the fit as its seed).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from encephagen.fit.models import SimulatedModel
from encephagen.fit.space import FitError
from encephagen.sim import rww
from encephagen.sim.runner import simulate

__all__ = ["rww_fic_model"]


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
