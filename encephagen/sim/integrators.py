"""Integrators: one step of x' = f(x) (+ additive noise passed in, already scaled).

``f`` is a closure over the model's dfun with the step's coupling input and parameters;
``eta`` a list of increments (one per state variable, sigma sqrt(dt) xi) or None.
Heun (stochastic, additive noise) reuses the step's delayed coupling for the corrector.
"""
from __future__ import annotations


def euler(f, state, dt, eta=None):
    d = f(state)
    if eta is None:
        return [x + dx * dt for x, dx in zip(state, d)]
    return [x + dx * dt + e for x, dx, e in zip(state, d, eta)]


def heun(f, state, dt, eta=None):
    d1 = f(state)
    if eta is None:
        pred = [x + dx * dt for x, dx in zip(state, d1)]
    else:
        pred = [x + dx * dt + e for x, dx, e in zip(state, d1, eta)]
    d2 = f(pred)
    half = dt * 0.5
    if eta is None:
        return [x + (a + b) * half for x, a, b in zip(state, d1, d2)]
    return [x + (a + b) * half + e for x, a, b, e in zip(state, d1, d2, eta)]


INTEGRATORS = {"euler": euler, "heun": heun}
