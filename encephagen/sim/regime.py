"""Dynamical regime of every region of a simulated network, and the operating point (G grid) of an atlas.

:func:`classify_regime` labels each region from the mean and standard deviation of its observed
activity after the transient (the ``mean`` and ``var`` metrics every neural-mass run writes):

============  ====  ===========================================================================
regime        code  rule (checked in this order)
============  ====  ===========================================================================
diverged      4     mean or std not finite
saturated     2     the observable is bounded (``bounds``) and the mean lies within ``edge`` of
                    its upper bound with std < ``osc_std`` (pinned at the top of the sigmoid:
                    the region no longer responds to its inputs)
silent        3     rms = sqrt(mean^2 + std^2) < ``silent_rms`` (the model's silence threshold),
                    or, with bounds, mean within ``edge`` of the lower bound and std < ``osc_std``
                    below ``silent_rms``
oscillating   1     std >= ``osc_std`` (fluctuations far above the noise-driven ones: a limit
                    cycle or noise-driven switching)
fixed_point   0     otherwise: noise-driven fluctuations about a stable fixed point
============  ====  ===========================================================================

A network is *admissible* at a G when no region is saturated, silent or diverged
(:func:`admissible`). The operating point (:func:`choose_grid`) keeps only admissible G.

The thresholds are per model (:data:`MODEL_THRESHOLDS`); Wilson-Cowan E lies in (0, 1).
This module is also where a per-region regime of the simulation outputs can be computed
from the stored ``mean`` / ``var`` metrics (no raw time series needed).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

REGIMES = ("fixed_point", "oscillating", "saturated", "silent", "diverged")
CODES = {name: i for i, name in enumerate(REGIMES)}
BAD = ("saturated", "silent", "diverged")

# per model: bounds of the observable, std above which a region is 'oscillating', the
# silence RMS (the model's silence_threshold in encephagen.sim.models), edge of the bounds
MODEL_THRESHOLDS: dict[str, dict] = {
    "wilson_cowan": {"bounds": (0.0, 1.0), "osc_std": 0.05, "silent_rms": 0.01, "edge": 0.1},
    "hopf": {"bounds": None, "osc_std": np.inf, "silent_rms": 1e-3, "edge": 0.0},
    "kuramoto": {"bounds": (-1.0, 1.0), "osc_std": 0.05, "silent_rms": 1e-3, "edge": 0.0},
}


def thresholds_for(model: str, **overrides) -> dict:
    from encephagen.sim.models import get_model

    name = get_model(model).name
    out = dict(MODEL_THRESHOLDS.get(name, {"bounds": None, "osc_std": np.inf, "silent_rms": 0.0, "edge": 0.0}))
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out


def classify_regime(mean, std, *, bounds: tuple[float, float] | None = None, osc_std: float = np.inf,
                    silent_rms: float = 0.0, edge: float = 0.0) -> np.ndarray:
    """Regime code (see :data:`CODES`) per element of ``mean`` / ``std`` (any equal shapes)."""
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    if mean.shape != std.shape:
        raise ValueError(f"classify_regime: mean {mean.shape} and std {std.shape} differ in shape")
    out = np.full(mean.shape, CODES["fixed_point"], dtype=np.int8)
    with np.errstate(invalid="ignore", over="ignore"):
        out[std >= osc_std] = CODES["oscillating"]
        rms = np.sqrt(mean * mean + std * std)
        out[rms < silent_rms] = CODES["silent"]
        if bounds is not None:
            lo, hi = map(float, bounds)
            span = hi - lo
            out[(mean <= lo + edge * span) & (std < osc_std) & (rms < max(silent_rms, 0.0))] = CODES["silent"]
            out[(mean >= hi - edge * span) & (std < osc_std)] = CODES["saturated"]
    out[~(np.isfinite(mean) & np.isfinite(std))] = CODES["diverged"]
    return out


def regime_names(codes) -> np.ndarray:
    return np.asarray(REGIMES, dtype=object)[np.asarray(codes, dtype=int)]


def fractions(codes, axis: int = -1) -> dict[str, np.ndarray]:
    """Fraction of regions in each regime (along ``axis``)."""
    codes = np.asarray(codes)
    return {name: (codes == c).mean(axis=axis) for name, c in CODES.items()}


def network_label(codes: Sequence[int]) -> str:
    """One word for a network: the common regime of all its regions, else 'mixed(a+b)'
    listing the regimes present (most frequent first)."""
    codes = np.asarray(codes, dtype=int).ravel()
    present = [REGIMES[c] for c in np.argsort(-np.bincount(codes, minlength=len(REGIMES))) if (codes == c).any()]
    return present[0] if len(present) == 1 else "mixed(" + "+".join(present) + ")"


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


def read_grid(path) -> np.ndarray:
    """The chosen G values (ascending) of an operating-point table (``chosen`` rows)."""
    import pandas as pd

    t = pd.read_csv(path, sep="\t", comment="#")
    if "chosen" not in t.columns or "G" not in t.columns:
        raise ValueError(f"{path}: not an operating-point table (needs columns G and chosen)")
    g = np.unique(t.loc[t["chosen"].astype(bool), "G"].astype(float).to_numpy())
    if not g.size:
        raise ValueError(f"{path}: no chosen G value")
    return g


def figure_G(path) -> float:
    """The reference G of figures: the middle of the chosen grid."""
    g = read_grid(path)
    return float(g[len(g) // 2])


def summarise(G: Sequence[float], codes: np.ndarray, mean: np.ndarray, std: np.ndarray) -> list[dict]:
    """Rows (one per G) of regime fractions for ``codes`` (nG, seeds, n) and the mean activity."""
    rows = []
    for j, g in enumerate(G):
        c = np.asarray(codes[j])
        fr = fractions(c.ravel())
        rows.append(dict(G=float(g), regime=network_label(c), admissible=bool(admissible(c.ravel())),
                         **{f"frac_{k}": float(v) for k, v in fr.items()},
                         mean_activity=float(np.nanmean(mean[j])), sd_activity=float(np.nanmean(std[j]))))
    return rows

