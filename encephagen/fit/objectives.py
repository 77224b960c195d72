"""What a fit minimises: ``cost = w_fc (1 - r_FC) + w_fcd KS_FCD`` per candidate.

* ``r_FC``: Pearson correlation of the strict upper triangles of the model and empirical FC
  (batched: :func:`encephagen.hopf.fit.upper_similarity`, tested there against
  :func:`encephagen.analysis.fc.fc_similarity`).
* ``KS_FCD``: the two-sample Kolmogorov-Smirnov statistic (:func:`scipy.stats.ks_2samp`) between the
  model's FCD values (correlations between sliding-window FCs) and the empirical ones; simulated
  models only (the analytic Hopf has no time course).

A candidate without a finite score (an unstable fixed point, a diverged simulation) costs
:data:`WORST` (more than any finite cost), so optimisers steer away from it without NaN.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
from scipy.stats import ks_2samp

from encephagen.fit.space import FitError
from encephagen.hopf import fit as hf

__all__ = ["Target", "Objective", "WORST", "fcd_ks"]

WORST = 10.0


def fcd_ks(model_values, emp_values) -> float:
    """KS statistic between two FCD value distributions (NaN if the model's are not finite)."""
    m = np.asarray(model_values, dtype=float).ravel()
    e = np.asarray(emp_values, dtype=float).ravel()
    if m.size == 0 or not np.isfinite(m).all():
        return float("nan")
    return float(ks_2samp(m, e).statistic)


@dataclass
class Target:
    """Empirical data a fit is judged against: group FC (n, n) and optionally FCD values (any shape)."""

    fc: np.ndarray
    fcd: np.ndarray | None = None
    name: str = "target"

    def __post_init__(self):
        self.fc = np.asarray(self.fc, dtype=float)
        if self.fc.ndim != 2 or self.fc.shape[0] != self.fc.shape[1]:
            raise FitError(f"target {self.name!r}: FC must be (n, n), got {self.fc.shape}")
        if self.fcd is not None:
            self.fcd = np.asarray(self.fcd, dtype=float).ravel()
            self.fcd = self.fcd[np.isfinite(self.fcd)]
            if self.fcd.size == 0:
                raise FitError(f"target {self.name!r}: FCD has no finite value")
        self._upper = hf.UpperTarget.build({self.name: self.fc}, self.fc.shape[0])

    @property
    def n(self) -> int:
        return int(self.fc.shape[0])

    def fc_r(self, fc) -> np.ndarray:
        """Pearson r (B,) of model FCs (B, n, n) with this FC over the upper triangle (NaN if not finite)."""
        F = fc if isinstance(fc, torch.Tensor) else torch.as_tensor(np.asarray(fc, dtype=float))
        if F.ndim == 2:
            F = F[None]
        if F.shape[-1] != self.n:
            raise FitError(f"model FC has {F.shape[-1]} regions, target {self.name!r} {self.n}")
        r = hf.upper_similarity(F.to(torch.float64), self._upper, ("pearson",))["pearson"][..., 0]
        return r.cpu().numpy().astype(float)


@dataclass
class Objective:
    """``cost = w_fc (1 - r) + w_fcd KS``; ``w_fcd > 0`` needs a target FCD and a simulated model."""

    target: Target
    w_fc: float = 1.0
    w_fcd: float = 0.0

    def __post_init__(self):
        if self.w_fc < 0 or self.w_fcd < 0 or self.w_fc + self.w_fcd <= 0:
            raise FitError(f"objective weights must be >= 0 and not both 0, got w_fc={self.w_fc}, w_fcd={self.w_fcd}")
        if self.w_fcd > 0 and self.target.fcd is None:
            raise FitError(f"objective w_fcd={self.w_fcd} needs FCD values in target {self.target.name!r}")

    def scores(self, out: Mapping) -> dict:
        """{'cost': (B,), 'fc_r': (B,), 'fcd_ks': (B,)} for a model output (see encephagen.fit.models)."""
        r = self.target.fc_r(out["fc"])
        B = r.shape[0]
        ks = np.full(B, np.nan)
        if "fcd" in out and self.target.fcd is not None:
            ks = np.array([fcd_ks(v, self.target.fcd) for v in out["fcd"]])
        elif self.w_fcd > 0:
            raise FitError("the FCD objective needs a simulated model (its output has no 'fcd')")
        cost = self.w_fc * (1.0 - r) + (self.w_fcd * ks if self.w_fcd > 0 else 0.0)
        cost = np.where(np.isfinite(cost), cost, WORST)
        return {"cost": cost, "fc_r": r, "fcd_ks": ks}
