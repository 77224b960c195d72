"""Analytic rates for the known-answer tests (units: ms, mV; rates returned in Hz).

* :func:`lif_rate_constant_input` -- deterministic LIF with constant input mu:
  1 / (t_ref + tau_m ln((mu - v_reset) / (mu - theta))) for mu > theta, else 0; and the same
  on the time grid of the simulator (spikes detected at the first step at or above theta).
* :func:`siegert_rate` -- diffusion approximation (Siegert 1951; Brunel & Hakim 1999):
  1/nu = t_ref + tau_m sqrt(pi) int_{(v_r - mu)/sigma}^{(theta - mu)/sigma} e^{u^2} (1 + erf u) du,
  with Fourcaud & Brunel's (2002) correction for exponential synaptic currents (tau_s << tau_m):
  threshold and reset shifted by sigma * alpha / 2 * sqrt(tau_s / tau_m), alpha = sqrt(2) |zeta(1/2)|.
* :func:`brunel_rate` -- the self-consistent rate of Brunel's (2000) network (fixed in-degree
  C_E, C_I = gamma C_E; efficacies J and -g J; external C_E Poisson inputs at eta * nu_thr):
  mu = eta theta + tau_m J nu (C_E - g C_I), sigma^2 = J eta theta + tau_m J^2 nu (C_E + g^2 C_I).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erfcx

ALPHA = math.sqrt(2.0) * 1.4603545088095868  # sqrt(2) |zeta(1/2)|


def lif_rate_constant_input(mu: float, tau_m: float, theta: float, v_reset: float, t_ref: float,
                            dt: float | None = None) -> float:
    """Firing rate (Hz) for constant input ``mu`` (mV); on the simulator's grid if ``dt`` is given."""
    if mu <= theta:
        return 0.0
    t_free = tau_m * math.log((mu - v_reset) / (mu - theta))
    if dt is None:
        return 1000.0 / (t_ref + t_free)
    ref_steps = round(t_ref / dt)
    # v on the grid after the clamp: v_k = mu + (v_reset - mu) exp(-k dt / tau_m); first k with v_k >= theta
    k = math.ceil(t_free / dt - 1e-9)
    return 1000.0 / ((ref_steps + k) * dt)


def siegert_rate(mu: float, sigma: float, tau_m: float, theta: float, v_reset: float, t_ref: float,
                 tau_s: float = 0.0) -> float:
    """Stationary rate (Hz) of a LIF neuron driven by white (or, with tau_s > 0, coloured) noise."""
    if sigma <= 0:
        return lif_rate_constant_input(mu, tau_m, theta, v_reset, t_ref)
    shift = sigma * ALPHA / 2.0 * math.sqrt(tau_s / tau_m) if tau_s > 0 else 0.0
    y_th = (theta + shift - mu) / sigma
    y_r = (v_reset + shift - mu) / sigma
    integral, _ = quad(lambda u: erfcx(-u), y_r, y_th, limit=200)
    return 1000.0 / (t_ref + tau_m * math.sqrt(math.pi) * integral)


def brunel_rate(J: float, g: float, c_e: float, c_i: float, eta: float, tau_m: float = 20.0, theta: float = 20.0,
                v_reset: float = 0.0, t_ref: float = 2.0, tau_s: float = 0.0) -> float:
    """Lowest self-consistent rate (Hz) of Brunel's network in the asynchronous irregular state."""

    def phi(nu_hz):
        nu = nu_hz / 1000.0
        mu = eta * theta + tau_m * J * nu * (c_e - g * c_i)
        s2 = J * eta * theta + tau_m * J * J * nu * (c_e + g * g * c_i)
        return siegert_rate(mu, math.sqrt(s2), tau_m, theta, v_reset, t_ref, tau_s)

    f = lambda nu: phi(nu) - nu  # noqa: E731
    grid = np.linspace(0.0, 1000.0 / max(t_ref, 1e-3) * 0.999, 2001)
    prev = f(grid[0])
    for a, b in zip(grid[:-1], grid[1:]):
        cur = f(b)
        if prev == 0:
            return float(a)
        if prev * cur < 0:
            return float(brentq(f, a, b, xtol=1e-9))
        prev = cur
    raise ValueError("no self-consistent rate found")
