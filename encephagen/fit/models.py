"""Models a fit evaluates: one call evaluates a whole population of candidates (a batch).

A model takes ``G`` (B,) and regional parameter arrays ``(B, n)`` (from
:meth:`encephagen.fit.space.ParameterSpace.decode`) and returns ``{'fc': (B, n, n)}`` (torch or
numpy), plus ``'fcd'``: a list of B arrays of sliding-window FC correlations (the FCD values whose
distribution the FCD objective compares) when the model is simulated.

* :class:`AnalyticHopf`: the linearised Hopf model's stationary FC (:mod:`encephagen.hopf.linear`),
  one batched solve per population: homogeneous sigma -> the Cholesky closed form
  (:func:`encephagen.hopf.linear.covariance_closed_form`); regional sigma -> one batched symmetric
  eigendecomposition of ``M = diag(a) - G L`` and ``P = V [(V^T S V)_ij / -(l_i + l_j)] V^T``
  (``M P + P M + S = 0``, exact for symmetric C and homogeneous omega, see the module docstring of
  :mod:`encephagen.hopf.linear`); an asymmetric C -> the general eigen solver there.
  Unstable candidates (fixed point lost) give NaN FC, which the objectives score as the worst cost.
  ``max_rate_ratio`` (optional) constrains the fit to where the linearisation can be SIMULATED: the
  ratio of the fastest to the slowest relaxation rate of ``M`` (its condition number, ``lambda_min /
  lambda_max``, both < 0) at most that; a candidate above it gets NaN FC (the worst cost). The analytic
  FC is invariant under ``(G, a) -> (c G, c a)`` and under a global scale of sigma, so the time scale
  and the noise level can then be chosen freely (:func:`encephagen.fit.simulated.linear_regime`); what
  the rate ratio fixes is the stiffness: the spread of time scales a simulation of a finite length at
  one TR must resolve (the unconstrained schaefer100 optimum spans a from -472/s to -1e-7/s).
* :class:`SimulatedModel`: any simulator ``simulate(G, params, seed) -> bold (B, n, T)`` (arrays);
  FC and FCD windows are computed from its output here.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
import torch

from encephagen.analysis.fc import fcd as fcd_matrix
from encephagen.analysis.fc import fcd_batch
from encephagen.fit.space import FitError
from encephagen.hopf import linear as hl

__all__ = ["AnalyticHopf", "SimulatedModel", "window_fc_values", "bold_fc"]


class AnalyticHopf:
    """Analytic FC of the linearised Hopf model on one coupling matrix C (n, n) ([target, source]).

    ``defaults``: a, omega (rad/s), sigma (:data:`encephagen.hopf.linear.PARAMETERS`); heterogeneous
    parameters: 'a' and 'sigma' (regional omega needs the slower general solver: not offered here).
    """

    name = "hopf_linear"
    parameters = ("a", "sigma")
    simulated = False

    def __init__(self, C, *, a: float = hl.PARAMETERS["a"]["default"],
                 omega: float = hl.PARAMETERS["omega"]["default"], sigma: float = hl.PARAMETERS["sigma"]["default"],
                 dtype=torch.float64, device=None, max_rate_ratio: float | None = None):
        C = np.asarray(C, dtype=float)
        if C.ndim != 2 or C.shape[0] != C.shape[1]:
            raise FitError(f"AnalyticHopf needs one coupling matrix (n, n), got {C.shape}")
        if (C < 0).any() or not np.isfinite(C).all():
            raise FitError("the coupling matrix must be finite and non-negative")
        self.n = C.shape[0]
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.C = torch.as_tensor(C, dtype=dtype, device=self.device)
        self.L = hl.laplacian(self.C)
        self.symmetric = hl.is_symmetric(self.C)
        self.defaults = {"a": float(a), "omega": float(omega), "sigma": float(sigma)}
        if max_rate_ratio is not None and not (np.isfinite(max_rate_ratio) and max_rate_ratio >= 1):
            raise FitError(f"max_rate_ratio must be a finite number >= 1 (fastest / slowest rate), got {max_rate_ratio}")
        if max_rate_ratio is not None and not self.symmetric:
            raise FitError("max_rate_ratio needs a symmetric coupling matrix (the rates are M's eigenvalues)")
        self.max_rate_ratio = None if max_rate_ratio is None else float(max_rate_ratio)

    def _regional(self, params: Mapping, name: str, B: int) -> torch.Tensor:
        v = params.get(name, self.defaults[name])
        t = torch.as_tensor(np.asarray(v, dtype=float), dtype=self.dtype, device=self.device)
        if t.ndim == 0:
            return t.expand(B, self.n)
        if t.shape[-1] != self.n:
            raise FitError(f"parameter {name!r} has {t.shape[-1]} values per candidate, the network {self.n} regions")
        return t.expand(B, self.n)

    def covariance(self, G, params: Mapping | None = None) -> torch.Tensor:
        params = dict(params or {})
        unknown = set(params) - {"a", "sigma"}
        if unknown:
            raise FitError(f"AnalyticHopf has no regional parameter(s) {sorted(unknown)}; use 'a' or 'sigma'")
        G = torch.as_tensor(np.asarray(G, dtype=float), dtype=self.dtype, device=self.device).reshape(-1)
        if (G < 0).any():
            raise FitError("G must be >= 0")
        B = G.numel()
        a = self._regional(params, "a", B)
        s = self._regional(params, "sigma", B)
        homog_sigma = bool((s == s[..., :1]).all())
        if not self.symmetric:
            return hl.covariance(self.C, G, a, self.defaults["omega"], s, method="eig", dtype=self.dtype,
                                 device=self.device)
        if homog_sigma:
            return hl.covariance_closed_form(self.C, G, a, s[0, 0] if B else 1.0, dtype=self.dtype,
                                             device=self.device) if B else torch.empty(0, self.n, self.n)
        M = torch.diag_embed(a) - G[:, None, None] * self.L
        lam, V = torch.linalg.eigh(M)
        S = (V.mT * (s ** 2)[:, None, :]) @ V                  # V^T diag(sigma^2) V
        X = S / -(lam[:, :, None] + lam[:, None, :])
        P = V @ X @ V.mT
        bad = lam.amax(-1) >= 0
        if bad.any():
            P = torch.where(bad[:, None, None], torch.full_like(P, float("nan")), P)
        return P

    def rates(self, G, params: Mapping | None = None) -> torch.Tensor:
        """Relaxation rates (B, n) of the linearised model: ``-eig(M)``, ``M = diag(a) - G L``, ascending
        (symmetric C); a rate <= 0 is an unstable candidate."""
        if not self.symmetric:
            raise FitError("rates need a symmetric coupling matrix")
        G = torch.as_tensor(np.asarray(G, dtype=float), dtype=self.dtype, device=self.device).reshape(-1)
        a = self._regional(dict(params or {}), "a", G.numel())
        return -torch.linalg.eigvalsh(torch.diag_embed(a) - G[:, None, None] * self.L).flip(-1)

    def rate_ratio(self, G, params: Mapping | None = None) -> np.ndarray:
        """Fastest / slowest relaxation rate (B,) (inf for an unstable candidate)."""
        r = self.rates(G, params)
        lo, hi = r[:, 0], r[:, -1]
        return torch.where(lo > 0, hi / lo, torch.full_like(lo, float("inf"))).cpu().numpy()

    def __call__(self, G, params: Mapping | None = None, seed: int | None = None) -> dict:
        fc = hl.fc_from_covariance(self.covariance(G, params))
        if self.max_rate_ratio is None:
            return {"fc": fc}
        ratio = self.rate_ratio(G, params)
        bad = torch.as_tensor(~(ratio <= self.max_rate_ratio), device=fc.device)
        if bad.any():
            fc = torch.where(bad[:, None, None], torch.full_like(fc, float("nan")), fc)
        return {"fc": fc, "rate_ratio": ratio}


def window_fc_values(ts: np.ndarray, window: int, step: int) -> np.ndarray:
    """FCD values (the upper triangle of the FCD matrix) of one (n, T) series, as
    :func:`encephagen.analysis.fc.fcd` computes the matrix (sliding windows, step ``step``)."""
    D = fcd_matrix(np.asarray(ts, dtype=float), window=window, step=step)
    return D[np.triu_indices(D.shape[0], 1)]


def bold_fc(bold: np.ndarray) -> np.ndarray:
    """Pearson FC (B, n, n) of BOLD (B, n, T); a constant region gives NaN (never a silent 0)."""
    b = np.asarray(bold, dtype=float)
    b = b - b.mean(-1, keepdims=True)
    cov = b @ np.swapaxes(b, -1, -2)
    d = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / (d[..., :, None] * d[..., None, :])


class SimulatedModel:
    """A simulated model for fitting: ``simulate(G (B,), params {name: (B, n)}, seed) -> bold (B, n, T)``.

    ``fcd_window`` / ``fcd_step`` in BOLD samples (30 / 5 as the empirical FCD of
    :mod:`encephagen.data.empirical`). The whole population is one ``simulate`` call.
    """

    simulated = True

    def __init__(self, simulate: Callable, *, parameters=(), defaults: Mapping | None = None, name: str = "simulated",
                 fcd_window: int = 30, fcd_step: int = 5):
        self.simulate = simulate
        self.parameters = tuple(parameters)
        self.defaults = dict(defaults or {})
        self.name = name
        self.fcd_window, self.fcd_step = int(fcd_window), int(fcd_step)

    def __call__(self, G, params: Mapping | None = None, seed: int | None = None) -> dict:
        bold = np.asarray(self.simulate(np.asarray(G, dtype=float), dict(params or {}), seed))
        if bold.ndim != 3:
            raise FitError(f"simulate must return BOLD (B, n, T), got shape {bold.shape}")
        fcd = [np.full(1, math.nan)] * bold.shape[0]
        ok = np.nonzero(np.isfinite(bold).all(axis=(1, 2)))[0]
        if bold.shape[-1] >= self.fcd_window + self.fcd_step and ok.size:     # all runs' FCDs batched
            D = fcd_batch(bold[ok], window=self.fcd_window, step=self.fcd_step)
            iw = np.triu_indices(D.shape[-1], 1)
            for i, d in zip(ok, D):
                fcd[i] = d[iw]
        return {"fc": bold_fc(bold), "fcd": fcd, "bold": bold}
