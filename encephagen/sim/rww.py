"""Reduced Wong-Wang model with excitatory and inhibitory pools and feedback inhibition control
(Deco et al. 2014, J Neurosci 34:7886; the model of cuBNM's rWW fits). Time in ms, rates in Hz.

Per region j (``C[target, source]``; the linear coupling's ``post`` gives ``c = G sum_k C[j,k] S_E,k``)::

    I_E = W_E I0 + w_p J_N S_E + G J_N sum_k C[j,k] S_E,k - J_i S_I       (nA)
    I_I = W_I I0 + J_N S_E - S_I
    r_E = H(I_E; a_E, b_E, d_E),  r_I = H(I_I; a_I, b_I, d_I),  H(I) = (a I - b) / (1 - exp(-d (a I - b)))
    dS_E/dt = -S_E / tau_E + (1 - S_E) gamma_E r_E / 1000                   (per ms; r in Hz)
    dS_I/dt = -S_I / tau_I + gamma_I r_I / 1000

Observed activity (metrics, FC, BOLD input): S_E (the NMDA gating, in [0, 1]; a model's observation
sees the state only); the rates follow from the state by :func:`rates_from_state`.
Noise: the runner adds it to S_E and S_I
(Deco 2014 add 0.01 nA to the currents; the state-noise form is the runner's one convention).

Feedback inhibition control (:func:`fic_weights`, analytic as in Demirtas et al. 2019 / cuBNM):
J_i per region such that the noise-free fixed point has r_E = ``target_rate`` (3 Hz) in every
region whatever G and the network: with ``S_E* = gamma_E r* tau_E / (1 + gamma_E r* tau_E)``,
``I_E* = H_E^{-1}(r*)``, and ``I_I*`` solving ``I_I = W_I I0 + J_N S_E* - tau_I gamma_I H_I(I_I)``,
``J_i = (W_E I0 + w_p J_N S_E* + G J_N S_E* s_j - I_E*) / S_I*`` (``s_j`` the in-strength).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.optimize import brentq

from encephagen.sim.models import INF, LINEAR, MODELS, Model, P, ParameterError, ParamsBase

__all__ = ["RWWParams", "rww_dfun", "RWW_FIC", "transfer", "rates_from_state", "fic_weights", "fixed_point_rates"]


@dataclass(frozen=True)
class RWWParams(ParamsBase):
    """Reduced Wong-Wang E/I (Deco et al. 2014). J_i: per region, set by :func:`fic_weights`."""

    a_E: float = P(310.0, "1/nC", 0.0, INF, "E transfer gain")
    b_E: float = P(125.0, "Hz", -INF, INF, "E transfer threshold")
    d_E: float = P(0.16, "s", 0.0, INF, "E transfer curvature", lo_open=True)
    a_I: float = P(615.0, "1/nC", 0.0, INF, "I transfer gain")
    b_I: float = P(177.0, "Hz", -INF, INF, "I transfer threshold")
    d_I: float = P(0.087, "s", 0.0, INF, "I transfer curvature", lo_open=True)
    tau_E: float = P(100.0, "ms", 0.0, INF, "NMDA gating time constant", lo_open=True)
    tau_I: float = P(10.0, "ms", 0.0, INF, "GABA gating time constant", lo_open=True)
    gamma_E: float = P(0.641, "1", 0.0, INF, "kinetic factor of S_E")
    gamma_I: float = P(1.0, "1", 0.0, INF, "kinetic factor of S_I")
    W_E: float = P(1.0, "1", 0.0, INF, "scaling of the external input to E")
    W_I: float = P(0.7, "1", 0.0, INF, "scaling of the external input to I")
    I0: float = P(0.382, "nA", -INF, INF, "external input current")
    w_p: float = P(1.4, "1", 0.0, INF, "local recurrent excitation")
    J_N: float = P(0.15, "nA", 0.0, INF, "NMDA coupling")
    J_i: float = P(1.0, "nA", 0.0, INF, "feedback inhibition I -> E (FIC: fic_weights)")


def _H(x, a, b, d):
    """(a x - b) / (1 - exp(-d (a x - b))) with its limit 1/d at a x = b (position-independent ops)."""
    y = x * a - b
    small = y.abs() < 1e-9
    ys = y.where(~small, y.new_tensor(1.0))
    return ((ys / (1.0 - (ys * (-d)).exp())).where(~small, 1.0 / d + y * 0.5))


def rww_dfun(state, c, p: Mapping):
    """See the module docstring (time in ms); ``c[0] = G sum_k C[j,k] S_E,k`` (linear coupling: G
    lives in the coupling's ``post``)."""
    se, si = state
    ie = p["W_E"] * p["I0"] + p["w_p"] * p["J_N"] * se + c[0] * p["J_N"] - p["J_i"] * si
    ii = p["W_I"] * p["I0"] + p["J_N"] * se - si
    re = _H(ie, p["a_E"], p["b_E"], p["d_E"])
    ri = _H(ii, p["a_I"], p["b_I"], p["d_I"])
    return [-se / p["tau_E"] + (1.0 - se) * re * (p["gamma_E"] / 1000.0),
            -si / p["tau_I"] + ri * (p["gamma_I"] / 1000.0)]


RWW_FIC = Model(
    name="rww_fic",
    state_vars=("S_E", "S_I"),
    params_cls=RWWParams,
    dfun=rww_dfun,
    coupling=LINEAR,
    observe=lambda s: s[0],
    init=lambda u: [u[0] * 0.2 + 0.05, u[1] * 0.2 + 0.05],
    time_unit_ms=1.0,
    bold_scale=1.0,
    silence_threshold=1e-4,
    noise_unit="1/sqrt(ms)",
    doc=rww_dfun.__doc__ + "\nObserved: S_E (gating); rates from rates_from_state().",
)


def transfer(x, a, b, d):
    """numpy H(I) (Hz)."""
    y = np.asarray(x, float) * a - b
    with np.errstate(invalid="ignore", divide="ignore"):
        out = y / (1.0 - np.exp(-d * y))
    return np.where(np.abs(y) < 1e-9, 1.0 / d + y / 2, out)


def rates_from_state(S_E, S_I, sums, G, params: RWWParams | Mapping, J_i) -> tuple[np.ndarray, np.ndarray]:
    """(r_E, r_I) in Hz from gating variables (numpy), ``sums = C @ S_E`` (the coupling input)."""
    p = params.as_dict() if isinstance(params, ParamsBase) else dict(params)
    ie = p["W_E"] * p["I0"] + p["w_p"] * p["J_N"] * S_E + G * p["J_N"] * sums - J_i * S_I
    ii = p["W_I"] * p["I0"] + p["J_N"] * S_E - S_I
    return transfer(ie, p["a_E"], p["b_E"], p["d_E"]), transfer(ii, p["a_I"], p["b_I"], p["d_I"])


def fic_weights(weights, G, params: RWWParams | None = None, target_rate: float = 3.0) -> np.ndarray:
    """Analytic FIC: J_i (n,) giving r_E = ``target_rate`` Hz at the noise-free fixed point (see module).
    ``params.w_p`` may be regional (n,) (heterogeneous recurrent excitation); the rest are scalars.
    Many candidates at once: ``G`` (B,) and ``w_p`` (B, n) give J_i (B, n) (the fixed point's root
    finding is done once: it depends on neither); a candidate without a non-negative solution is then
    NaN (one G alone: a :class:`ParameterError`)."""
    p = (params or RWWParams()).as_dict()
    for k, v in p.items():
        if k != "w_p" and np.ndim(v):
            raise ParameterError(f"fic_weights: only w_p may vary by region, got an array for {k!r}")
    W = np.asarray(weights, float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or (W < 0).any():
        raise ParameterError(f"fic_weights: weights must be a non-negative (n, n) matrix, got {W.shape}")
    Gs = np.asarray(G, dtype=float)
    if not (np.all(Gs >= 0) and np.all(np.isfinite(Gs))):
        raise ParameterError(f"fic_weights: G must be finite and >= 0, got {G}")
    se, ie, si = _fic_fixed_point(tuple(sorted((k, float(v)) for k, v in p.items() if k != "w_p")), float(target_rate))
    s = W.sum(1)
    wp = np.asarray(p["w_p"], dtype=float)
    J = (p["W_E"] * p["I0"] + wp * p["J_N"] * se + Gs[..., None] * p["J_N"] * se * s - ie) / si   # (n,) or (B, n)
    if Gs.ndim == 0 and (J < 0).any():
        raise ParameterError(f"fic_weights: no non-negative J_i reaches {target_rate} Hz (G={float(Gs)}); lower G")
    return J if Gs.ndim == 0 else np.where((J >= 0).all(axis=1, keepdims=True), J, np.nan)


@functools.lru_cache(maxsize=64)
def _fic_fixed_point(scalars: tuple, r: float) -> tuple[float, float, float]:
    """(S_E*, I_E*, S_I*) of the FIC fixed point for the scalar parameters (name, value) pairs."""
    p = dict(scalars)
    x = p["gamma_E"] * r * p["tau_E"] / 1000.0
    se = x / (1.0 + x)
    ie = brentq(lambda v: transfer(v, p["a_E"], p["b_E"], p["d_E"]) - r, -1.0, 2.0, xtol=1e-14)
    ii = brentq(lambda v: v - p["W_I"] * p["I0"] - p["J_N"] * se
                + p["tau_I"] / 1000.0 * p["gamma_I"] * transfer(v, p["a_I"], p["b_I"], p["d_I"]),
                -1.0, 2.0, xtol=1e-14)
    si = p["tau_I"] / 1000.0 * p["gamma_I"] * float(transfer(ii, p["a_I"], p["b_I"], p["d_I"]))
    return se, float(ie), si


def fixed_point_rates(weights, G: float, J_i, params: RWWParams | None = None, t_ms: float = 5000.0,
                      dt: float = 0.1) -> np.ndarray:
    """r_E (n,) after integrating the noise-free model (numpy Euler) from S = (0.1, 0.1): a check of
    :func:`fic_weights` independent of the runner."""
    p = (params or RWWParams()).as_dict()
    W = np.asarray(weights, float)
    se = np.full(W.shape[0], 0.1)
    si = np.full(W.shape[0], 0.1)
    for _ in range(int(t_ms / dt)):
        re, ri = rates_from_state(se, si, W @ se, G, p, J_i)
        se = se + dt * (-se / p["tau_E"] + (1 - se) * re * p["gamma_E"] / 1000.0)
        si = si + dt * (-si / p["tau_I"] + ri * p["gamma_I"] / 1000.0)
    return rates_from_state(se, si, W @ se, G, p, J_i)[0]

MODELS[RWW_FIC.name] = RWW_FIC   # registered here: see the end of encephagen/sim/models.py
