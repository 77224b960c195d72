"""Dynamical regime of every simulated region, and of every simulated network.

Each region of each run gets one of five regimes (integer codes, the legend is written beside
the dataset), decided from what the monitors already have, in this order (the first that
applies wins):

==============  ====  ===============================================================================
regime          code  neural mass (per region)                    spiking (per region)
==============  ====  ===============================================================================
diverged        4     mean or variance not finite                 rate not finite
silent          3     RMS activity < silence_threshold (the       rate < monitors.silent_hz (0.1 Hz)
                      ``silenced`` metric: WC 0.01, Hopf and
                      Kuramoto 1e-3)
saturated       2     bounded activity (WC) only: mean >=          rate >= SATURATED_REFRACTORY_FRAC (0.5)
                      SATURATED_FRAC (0.95) of the maximum        x 1 / t_ref (250 Hz at t_ref 2 ms: the
                      1 / (1 + r_e) and SD < OSCILLATION_SD_FRAC  neurons spend over half their time
                      (0.05) of it                                refractory)
oscillating     1     WC, Kuramoto: SD >= OSCILLATION_SD_FRAC     synchrony (Golomb's chi) >=
                      (0.05) of the activity range (WC 1/(1+r_e), SYNC_FINITE_SIZE (3) / sqrt(neurons per
                      Kuramoto 2); Hopf: the node's a > 0 (a      region): three times the level of
                      limit cycle; noise-driven fluctuations of   independent neurons
                      a damped node are a fixed point's, whatever
                      their amplitude)
fixed_point     0     anything else: a stationary state with      asynchronous irregular firing at a
                      noise-driven fluctuations                   stationary rate
==============  ====  ===============================================================================

The runner refuses a run that produced NaN/inf (:class:`encephagen.sim.runner.SimulationDiverged`),
so 'diverged' only appears where a caller kept such a run. Thresholds are module constants,
documented here and in docs/simulation.md; the WC noise-driven SD at the default noise (0.01) is
~0.007 and a WC limit cycle's ~0.4, far on either side of 0.05.

A network run's label (:func:`network_regime`): 'diverged' if any region diverged, else the
regime of more than half of its regions, else 'mixed'; its ``regime_fraction`` holds the
fraction of regions in each regime (columns in REGIMES order).

The operating point of an atlas (:func:`choose_grid`) keeps only G at which the real network is
*admissible* (:func:`admissible`: no region saturated, silent or diverged).
"""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np

REGIMES = ("fixed_point", "oscillating", "saturated", "silent", "diverged")
REGIME_CODES = {name: i for i, name in enumerate(REGIMES)}
LEGEND = json.dumps({str(i): name for i, name in enumerate(REGIMES)})
MIXED = "mixed"

SATURATED_FRAC = 0.95
OSCILLATION_SD_FRAC = 0.05
SATURATED_REFRACTORY_FRAC = 0.5
SYNC_FINITE_SIZE = 3.0

RULE = ("neural mass: diverged = non-finite mean/var; silent = rms < silence_threshold; saturated = "
        f"(WC) mean >= {SATURATED_FRAC} x 1/(1+r_e) and SD < {OSCILLATION_SD_FRAC} x 1/(1+r_e); oscillating = "
        f"SD >= {OSCILLATION_SD_FRAC} x activity range (WC 1/(1+r_e), Kuramoto 2), Hopf a > 0; else fixed_point. "
        f"spiking: diverged = non-finite rate; silent = rate < silent_hz; saturated = rate >= "
        f"{SATURATED_REFRACTORY_FRAC} / t_ref; oscillating = Golomb chi >= {SYNC_FINITE_SIZE} / sqrt(neurons per "
        "region); else fixed_point. network: diverged if any region, else the regime of > 1/2 of the regions, "
        "else mixed")


def _param(params: dict, name: str, shape, default: float) -> np.ndarray:
    """A parameter as (B, n): params hold (B,) per element or (B, n) per node."""
    if name not in params:
        return np.full(shape, default)
    v = np.asarray(params[name], dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    return np.broadcast_to(v, shape)


def neural_mass_regimes(model: str, metrics: dict, params: dict) -> np.ndarray:
    """(B, n) int8 regime codes of a neural-mass run from its metrics (mean, var, silenced)."""
    mean = np.asarray(metrics["mean"], dtype=float)
    var = np.asarray(metrics["var"], dtype=float)
    shape = mean.shape
    sd = np.sqrt(np.clip(var, 0, None))
    silent = np.asarray(metrics["silenced"], dtype=bool)
    saturated = np.zeros(shape, dtype=bool)
    if model == "wilson_cowan":
        top = 1.0 / (1.0 + _param(params, "r_e", shape, 0.0))
        saturated = (mean >= SATURATED_FRAC * top) & (sd < OSCILLATION_SD_FRAC * top)
        oscillating = sd >= OSCILLATION_SD_FRAC * top
    elif model == "kuramoto":
        oscillating = sd >= OSCILLATION_SD_FRAC * 2.0
    elif model == "hopf":
        oscillating = _param(params, "a", shape, -1.0) > 0
    elif model == "rww_fic":  # observed S_E, a gating variable in [0, 1] (as WC's activity range)
        saturated = (mean >= SATURATED_FRAC) & (sd < OSCILLATION_SD_FRAC)
        oscillating = sd >= OSCILLATION_SD_FRAC
    else:
        raise ValueError(f"no regime rule for model {model!r}")
    out = np.full(shape, REGIME_CODES["fixed_point"], dtype=np.int8)
    out[oscillating] = REGIME_CODES["oscillating"]
    out[saturated] = REGIME_CODES["saturated"]
    out[silent] = REGIME_CODES["silent"]
    out[~(np.isfinite(mean) & np.isfinite(var))] = REGIME_CODES["diverged"]
    return out


def spiking_regimes(rate: np.ndarray, synchrony: np.ndarray, silent_hz: float, t_ref: float,
                    neurons_per_region: int) -> np.ndarray:
    """(B, R) int8 regime codes of a spiking run from its rates (Hz) and synchrony (Golomb chi)."""
    rate = np.asarray(rate, dtype=float)
    chi = np.asarray(synchrony, dtype=float)
    out = np.full(rate.shape, REGIME_CODES["fixed_point"], dtype=np.int8)
    out[np.nan_to_num(chi, nan=0.0) >= SYNC_FINITE_SIZE / np.sqrt(max(1, int(neurons_per_region)))] = \
        REGIME_CODES["oscillating"]
    if t_ref > 0:
        out[rate >= SATURATED_REFRACTORY_FRAC * 1000.0 / t_ref] = REGIME_CODES["saturated"]
    out[rate < silent_hz] = REGIME_CODES["silent"]
    out[~np.isfinite(rate)] = REGIME_CODES["diverged"]
    return out


def regime_fraction(codes: np.ndarray) -> np.ndarray:
    """(B, 5) fraction of regions in each regime (REGIMES order)."""
    codes = np.asarray(codes)
    n = max(1, codes.shape[1]) if codes.ndim == 2 else 1
    return np.stack([(codes == i).sum(axis=-1) / n for i in range(len(REGIMES))], axis=-1).astype(float)


def network_regime(codes: np.ndarray) -> list[str]:
    """Per run: 'diverged' if any region diverged, else the regime of > 1/2 of the regions, else 'mixed'."""
    out = []
    for frac in regime_fraction(codes):
        if frac[REGIME_CODES["diverged"]] > 0:
            out.append("diverged")
        elif frac.max() > 0.5:
            out.append(REGIMES[int(np.argmax(frac))])
        else:
            out.append(MIXED)
    return out


# ----------------------------------------------------------------------------- operating point
# (the G grid of an atlas: :mod:`encephagen.steps.operating_point`). A network is *admissible* at a G
# when no region is saturated, silent or diverged; the operating point keeps only admissible G.
CODES = REGIME_CODES
BAD = ("saturated", "silent", "diverged")


def regime_names(codes) -> np.ndarray:
    return np.asarray(REGIMES, dtype=object)[np.asarray(codes, dtype=int)]


def fractions(codes, axis: int = -1) -> dict[str, np.ndarray]:
    """Fraction of regions in each regime (along ``axis``)."""
    codes = np.asarray(codes)
    return {name: (codes == c).mean(axis=axis) for name, c in CODES.items()}


def admissible(codes, axis: int = -1) -> np.ndarray:
    """True where no region (along ``axis``) is saturated, silent or diverged."""
    codes = np.asarray(codes)
    bad = np.isin(codes, [CODES[b] for b in BAD])
    return ~bad.any(axis=axis)


def choose_grid(G: Sequence[float], ok: Sequence[bool], num: int, *, placement: str = "below",
                centre: float | None = None, ratio: float = 1.0, margin: int = 1) -> np.ndarray:
    """The ``num`` coupling values of the operating point.

    ``placement='below'`` (pre-sweep over ``G``, ascending, ``ok`` = admissible): the working point
    is the last admissible G of the first admissible run that reaches the first inadmissible G
    (the edge of saturation / silence), moved ``margin`` pre-sweep steps down; the grid is that
    G and the ``num - 1`` admissible pre-sweep values below it, every ``step`` = ``ratio``
    pre-sweep steps (``ratio`` an integer >= 1 here). Without any inadmissible G the top of
    the pre-sweep is the working point.
    ``placement='centred'``: ``num`` values log-spaced by ``ratio`` around ``centre`` (used for
    the Hopf model, whose working point is the analytic best-fitting G); each must be ``ok``
    where ``G`` lists it.
    Raises ValueError (naming the reason) when no such grid exists.
    """
    G = np.asarray(G, dtype=float)
    ok = np.asarray(ok, dtype=bool)
    if num < 1:
        raise ValueError(f"operating point: num must be >= 1, got {num}")
    if placement == "centred":
        if centre is None or not centre > 0:
            raise ValueError(f"operating point: a positive centre G is needed, got {centre}")
        k = np.arange(num) - (num - 1) / 2
        grid = float(centre) * float(ratio) ** k
        if G.size:
            for g in grid:
                j = np.flatnonzero(np.isclose(G, g, rtol=1e-9))
                if j.size and not ok[j[0]]:
                    raise ValueError(f"operating point: G = {g:.4g} of the centred grid is not admissible")
        return grid
    if placement != "below":
        raise ValueError(f"operating point: placement must be 'below' or 'centred', got {placement!r}")
    order = np.argsort(G)
    G, ok = G[order], ok[order]
    step = int(round(ratio))
    if step < 1 or abs(step - ratio) > 1e-9:
        raise ValueError(f"operating point: with placement 'below' the ratio is a whole number of pre-sweep "
                         f"steps (>= 1), got {ratio}")
    if not ok.any():
        raise ValueError("operating point: the real network is saturated, silent or diverged at every "
                         f"pre-sweep G ({G.min():.4g} .. {G.max():.4g}); widen the pre-sweep grid")
    bad = np.flatnonzero(~ok)
    first_ok = int(np.flatnonzero(ok)[0])
    later_bad = bad[bad > first_ok]
    top = (int(later_bad[0]) - 1 - int(margin)) if later_bad.size else G.size - 1
    idx = top - step * np.arange(num)[::-1]
    if idx[0] < first_ok or top < first_ok:
        raise ValueError(f"operating point: only {max(0, top - first_ok + 1)} admissible pre-sweep G below the "
                         f"first inadmissible one (after a margin of {margin}); {num} values spaced {step} "
                         "step(s) apart do not fit: refine the pre-sweep grid, lower num or ratio")
    return G[idx]


def summarise(G: Sequence[float], codes: np.ndarray, mean: np.ndarray, std: np.ndarray) -> list[dict]:
    """Rows (one per G) of regime fractions for ``codes`` (nG, seeds, n) and the mean activity."""
    rows = []
    for j, g in enumerate(G):
        c = np.asarray(codes[j])
        fr = fractions(c.ravel())
        rows.append(dict(G=float(g), regime=network_regime(c.reshape(1, -1))[0], admissible=bool(admissible(c.ravel())),
                         **{f"frac_{k}": float(v) for k, v in fr.items()},
                         mean_activity=float(np.nanmean(mean[j])), sd_activity=float(np.nanmean(std[j]))))
    return rows

