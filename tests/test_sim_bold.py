"""Balloon-Windkessel BOLD: canonical pulse response, and the same numbers as neurolib's
integrator for the same input."""
from __future__ import annotations

import numpy as np
import torch

from encephagen.sim import MonitorConfig, simulate
from encephagen.sim.monitors import BoldMonitor


def _pulse_response(dt_s=0.01, pulse_s=0.1, total_s=30.0, amp=1.0, constants="friston2003"):
    mon = BoldMonitor(1, 1, "cpu", dt_s, scale=1.0, constants=constants)
    n = int(round(total_s / dt_s))
    out = np.empty(n)
    for k in range(n):
        x = torch.full((1, 1), amp if k * dt_s < pulse_s else 0.0, dtype=torch.float64)
        mon.update(x)
        out[k] = float(mon.signal()[0, 0])
    return (np.arange(n) + 1) * dt_s, out


def test_bold_pulse_response_peaks_after_seconds_then_undershoots():
    """With the standard constants (Friston 2003 / neurolib / Deco: kappa 0.65/s, gamma 0.41/s,
    tau 0.98 s) a 0.1 s pulse peaks at 3.1 s and undershoots (min ~ -15 % of the peak at ~9 s);
    neurolib's own integrator gives the same curve (test below). The issue's "about 4-6 s" is
    the canonical double-gamma HRF; this Balloon-Windkessel parameter set peaks earlier, so the
    window asserted here is 3-6 s."""
    t, y = _pulse_response()
    k = int(np.argmax(y))
    assert y[k] > 0
    assert 3.0 <= t[k] <= 6.0, t[k]
    after = y[k:]
    assert after.min() < -0.05 * y[k]                 # post-stimulus undershoot
    assert t[k + int(np.argmin(after))] > t[k] + 3.0  # well after the peak
    assert abs(y[-1]) < 0.05 * y[k]                   # back to baseline


def test_spm12_constants_give_the_canonical_peak_and_undershoot():
    """SPM12's DCM haemodynamics (kappa 0.64/s, gamma 0.32/s, tau 2 s, revised signal
    equation): a 0.1 s pulse peaks within the canonical 4-6 s, later than the default set,
    then undershoots and returns to baseline."""
    t, y = _pulse_response(total_s=40.0, constants="spm12")
    t0, y0 = _pulse_response(total_s=40.0)
    k, k0 = int(np.argmax(y)), int(np.argmax(y0))
    assert 4.0 <= t[k] <= 6.0, t[k]
    assert t[k] > t[k0] + 1.0
    after = y[k:]
    assert after.min() < -0.02 * y[k]
    assert t[k + int(np.argmin(after))] > t[k] + 4.0
    assert abs(y[-1]) < 0.05 * y[k]


def test_unknown_bold_constants_are_refused_by_name():
    import pytest

    from encephagen.sim import ParameterError

    with pytest.raises(ParameterError, match="bold_constants"):
        MonitorConfig(bold_constants="balloon1998").validate(0.1)
    w = np.ones((2, 2)) - np.eye(2)
    with pytest.raises(ParameterError, match="bold_constants"):
        simulate("wc", w, seeds=[1], duration=10.0, monitors={"bold_constants": "nope"})
    res = simulate("wc", w, seeds=[1], duration=3000.0, noise=0.01, G=0.5,
                   monitors={"bold_constants": "spm12", "bold_period": 100.0})
    ref = simulate("wc", w, seeds=[1], duration=3000.0, noise=0.01, G=0.5, monitors={"bold_period": 100.0})
    assert np.array_equal(res.record, ref.record)                # same neural run
    assert res.bold.shape == ref.bold.shape and not np.allclose(res.bold, ref.bold)


def test_bold_matches_neurolib_integrator():
    from neurolib.models.bold.timeIntegration import simulateBOLD

    rng = np.random.default_rng(0)
    N, T, dt_s = 4, 4000, 1e-3
    z = np.abs(rng.standard_normal((N, T))).cumsum(axis=1) % 3.0   # bounded, varying drive
    ref, *_ = simulateBOLD(z, dt_s, np.ones(N), X=np.zeros(N), F=np.ones(N), Q=np.ones(N), V=np.ones(N))
    mon = BoldMonitor(N, 1, "cpu", dt_s, scale=1.0)
    ours = np.empty((N, T))
    zt = torch.as_tensor(z, dtype=torch.float64)
    for k in range(T):
        mon.update(zt[:, k:k + 1])
        ours[:, k] = mon.signal()[:, 0].numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_bold_sampling_and_fc_in_a_run():
    w = np.ones((3, 3)) - np.eye(3)
    r = simulate("wc", w, G=0.5, seeds=[2], dt=1.0, duration=3000.0, transient=500.0, noise=0.05,
                 monitors=MonitorConfig(period=1.0, bold=True, bold_period=250.0))
    assert r.bold.shape == (1, 10, 3)                 # (3000 - 500) / 250 samples after the transient
    np.testing.assert_allclose(r.bold_t, np.arange(750.0, 3001.0, 250.0))
    assert r.fc_bold.shape == (1, 3, 3)
    np.testing.assert_allclose(np.diagonal(r.fc_bold[0]), 1.0)
    assert np.isfinite(r.fc_bold).all()
