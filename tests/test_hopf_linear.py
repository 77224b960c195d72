"""Linearised Hopf model: Lyapunov solutions, closed form, conventions (G, a, sigma, C[target, source]),
lagged covariance, spectra, Euler-Maruyama covariance. Known answers where they exist."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg as sl
import torch

from encephagen.hopf import linear as hl


def _random_sc(n, seed, symmetric=True, density=0.3):
    rng = np.random.default_rng(seed)
    C = rng.random((n, n)) * (rng.random((n, n)) < density)
    np.fill_diagonal(C, 0)
    return (C + C.T) / 2 if symmetric else C


def _real_P_from_H(H):
    H = H.numpy()
    return np.block([[H.real, -H.imag], [H.imag, H.real]]) / 2


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("hetero", ["none", "a", "a+omega+sigma"])
def test_lyapunov_residual_near_machine_precision(symmetric, hetero):
    n = 24
    rng = np.random.default_rng(1)
    C = _random_sc(n, 2, symmetric)
    a = -0.3 + 0.1 * rng.random(n) if hetero != "none" else -0.25
    w = 2 * np.pi * (0.04 + 0.03 * rng.random(n)) if "omega" in hetero else 2 * np.pi * 0.05
    s = 0.01 + 0.02 * rng.random(n) if "sigma" in hetero else 0.02
    J, Q = hl.jacobian(C, 0.8, a, w), hl.noise_matrix(n, s)
    P = hl.covariance_lyapunov(C, 0.8, a, w, s)
    assert hl.lyapunov_residual(J, P, Q) < 1e-14
    # the batched torch solver (complex n x n problem) solves the same real 2n equation
    P_eig = _real_P_from_H(hl.complex_covariance(C, 0.8, a, w, s))
    assert hl.lyapunov_residual(J, P_eig, Q) < 1e-13
    assert np.abs(P_eig - P).max() < 1e-12 * np.abs(P).max()


@pytest.mark.parametrize("a", [-0.25, "hetero"])
def test_closed_form_equals_lyapunov_where_exact(a):
    n = 30
    C = _random_sc(n, 3, symmetric=True)
    if a == "hetero":
        a = -0.3 + 0.2 * np.random.default_rng(4).random(n)
    for G in (0.0, 0.3, 2.0):
        ref = hl.covariance_lyapunov(C, G, a, 0.7, 0.05)
        closed = hl.covariance(C, G, a, 0.7, 0.05, method="closed").numpy()
        assert np.abs(closed - ref[:n, :n]).max() < 1e-12 * np.abs(ref).max()
        assert np.abs(ref[:n, n:]).max() < 1e-12 * np.abs(ref).max()  # P_xy = 0 exactly there
        # the full closed-form covariance satisfies the real Lyapunov equation
        P = np.block([[closed, np.zeros((n, n))], [np.zeros((n, n)), closed]])
        assert hl.lyapunov_residual(hl.jacobian(C, G, a, 0.7), P, hl.noise_matrix(n, 0.05)) < 1e-14
    assert hl.covariance(C, 0.3, a, 0.7, 0.05).numpy() == pytest.approx(
        hl.covariance(C, 0.3, a, 0.7, 0.05, method="closed").numpy(), abs=0)  # auto picks closed


@pytest.mark.parametrize("symmetric", [True, False])
def test_sweep_basis_equals_lyapunov_for_every_G(symmetric):
    n = 20
    Cs = np.stack([_random_sc(n, 5, symmetric), 2 * _random_sc(n, 6, symmetric)])
    G = np.array([0.0, 0.1, 1.0, 5.0])
    F = hl.fc_sweep(Cs, G, a=-0.3).numpy()
    assert F.shape == (2, 4, n, n)
    for b in range(2):
        for g in range(4):
            P = hl.covariance_lyapunov(Cs[b], G[g], -0.3, 1.3, 0.01)[:n, :n]
            d = np.sqrt(np.diag(P))
            assert np.abs(F[b, g] - P / np.outer(d, d)).max() < 1e-12


def test_closed_form_refuses_where_not_exact():
    C = _random_sc(10, 7, symmetric=False)
    with pytest.raises(hl.HopfParameterError, match="symmetric"):
        hl.covariance(C, 0.5, -0.2, 0.3, 0.01, method="closed")
    Cs = _random_sc(10, 7, symmetric=True)
    with pytest.raises(hl.HopfParameterError, match="omega"):
        hl.covariance(Cs, 0.5, -0.2, np.linspace(0.2, 0.4, 10), 0.01, method="closed")
    with pytest.raises(hl.HopfParameterError, match="G must be >= 0"):
        hl.covariance(Cs, -0.5, -0.2, 0.3, 0.01)
    with pytest.raises(hl.HopfParameterError, match="a has 3 values"):
        hl.covariance(Cs, 0.5, [-0.1, -0.2, -0.3], 0.3, 0.01)
    with pytest.raises(hl.HopfParameterError, match="negative"):
        hl.covariance(-Cs, 0.5, -0.2, 0.3, 0.01)


def test_uncoupled_node_known_answers():
    """sigma^2/(2|a|) per component, no x-y covariance, lagged e^{a tau} cos(omega tau), Lorentzian peak."""
    a, w, s = -0.1, 2 * np.pi * 0.05, 0.03
    C = np.zeros((3, 3))
    var = s ** 2 / (2 * abs(a))
    P = hl.covariance(C, 0.7, a, w, s).numpy()
    assert np.allclose(P, var * np.eye(3), rtol=1e-13, atol=1e-18)
    H = hl.complex_covariance(C, 0.7, a, w, s).numpy()
    assert np.abs(H.imag).max() < 1e-18  # P_xy = 0
    lags = [0.0, 1.0, 5.0, 12.5]
    Lc = hl.lagged_covariance(C, 0.7, a, w, s, lags).numpy()
    for k, t in enumerate(lags):
        assert Lc[k, 0, 0] == pytest.approx(var * math.exp(a * t) * math.cos(w * t), rel=1e-12, abs=1e-13 * var)
    f = np.linspace(0.0, 0.2, 2001)
    S = hl.power_spectrum(C, 0.7, a, w, s, f).numpy()[:, 0]
    assert f[np.argmax(S)] == pytest.approx(w / (2 * np.pi), abs=2e-4)
    exact = s ** 2 / 2 * (1 / (a ** 2 + (2 * np.pi * f - w) ** 2) + 1 / (a ** 2 + (2 * np.pi * f + w) ** 2))
    assert np.allclose(S, exact, rtol=1e-12)


def test_two_node_fc_known_answer_and_scaling():
    """Symmetric pair with weight c: FC_12 = G c / (G c + |a|); sigma- and omega-free; depends on G/|a| only."""
    c, a = 0.4, -0.05
    C = np.array([[0.0, c], [c, 0.0]])
    for G in (0.0, 0.01, 0.2, 3.0):
        F = hl.fc(C, G, a, 0.3, 0.02).numpy()
        assert F[0, 1] == pytest.approx(G * c / (G * c + abs(a)), rel=1e-12, abs=1e-15)
    F1 = hl.fc(C, 0.2, a, 0.3, 0.02).numpy()
    assert np.allclose(F1, hl.fc(C, 0.2, a, 1.7, 0.5).numpy(), atol=1e-14)       # omega, sigma cancel
    assert np.allclose(F1, hl.fc(C, 0.6, 3 * a, 0.3, 0.02).numpy(), atol=1e-14)  # (G, a) -> (3G, 3a)
    # covariance scales with sigma^2 and with 1/|a|
    P = hl.covariance(C, 0.2, a, 0.3, 0.02).numpy()
    assert np.allclose(hl.covariance(C, 0.2, a, 0.3, 0.04).numpy(), 4 * P, rtol=1e-13)
    assert np.allclose(hl.covariance(C, 0.4, 2 * a, 0.3, 0.02).numpy(), P / 2, rtol=1e-13)


def test_orientation_target_source():
    """C[0, 1] > 0 only: region 1 drives region 0. Region 1 stays an uncoupled node; region 0
    follows region 1 in time (the lag-tau covariance x0(t+tau) x1(t) exceeds its reverse)."""
    a, w, s, G = -0.2, 0.5, 0.02, 1.0
    C = np.array([[0.0, 1.0], [0.0, 0.0]])
    P = hl.covariance(C, G, a, w, s).numpy()
    assert P[1, 1] == pytest.approx(s ** 2 / (2 * abs(a)), rel=1e-12)
    assert P[0, 0] != pytest.approx(P[1, 1], rel=1e-3)
    Lc = hl.lagged_covariance(C, G, a, w, s, [0.5]).numpy()[0]
    assert Lc[0, 1] > Lc[1, 0]
    # agrees with the real Jacobian built by hand from the equations (row = d/dt of target)
    J = hl.jacobian(C, G, a, w)
    assert J[0, 1] == G and J[1, 0] == 0 and J[0, 0] == a - G and J[1, 1] == a
    assert J[0, 2] == -w and J[2, 0] == w


def test_unstable_configuration_gives_nan_not_numbers():
    C = _random_sc(8, 9, symmetric=True)
    a = np.full(8, -0.1)
    a[3] = 2.0  # far above the bifurcation: coupling 0.01 cannot stabilise it
    P = hl.covariance(C, 0.01, a, 0.3, 0.01).numpy()
    assert np.isnan(P).all()
    P2 = hl.covariance(C, 0.01, a, np.linspace(0.2, 0.5, 8), 0.01).numpy()  # eig path
    assert np.isnan(P2).all()
    assert float(hl.max_real_eigenvalue(C, 0.01, a)) > 0


def test_spectrum_integrates_to_variance_and_matches_real_form():
    n = 12
    rng = np.random.default_rng(11)
    C = _random_sc(n, 12, symmetric=False)
    a = -0.5 - 0.3 * rng.random(n)
    w = 2 * np.pi * (0.04 + 0.04 * rng.random(n))
    G, s = 0.6, 0.05
    J, Q = hl.jacobian(C, G, a, w), hl.noise_matrix(n, s)
    Sx = hl.power_spectrum(C, G, a, w, s, [0.03, 0.31], cross=True).numpy()
    for k, f in enumerate((0.03, 0.31)):
        R = np.linalg.inv(2j * np.pi * f * np.eye(2 * n) - J)
        ref = (R @ Q @ R.conj().T)[:n, :n]
        assert np.abs(Sx[k] - ref).max() < 1e-12 * np.abs(ref).max()
    # integral over f (tails integrated analytically, they decay like s^2/(2 pi f)^2)
    fmax = 20.0
    f = np.linspace(-fmax, fmax, 40001)
    S = hl.power_spectrum(C, G, a, w, s, f).numpy()
    tail = 2 * s ** 2 / (4 * np.pi ** 2 * fmax)
    P = hl.covariance_lyapunov(C, G, a, w, s)
    assert np.allclose(np.trapezoid(S, f, axis=0) + tail, np.diag(P)[:n], rtol=2e-4)


def test_lagged_covariance_matches_expm_reference():
    n = 10
    C = _random_sc(n, 13, symmetric=False)
    a, w = -0.3 * np.ones(n), 2 * np.pi * np.linspace(0.03, 0.08, n)
    J = hl.jacobian(C, 0.9, a, w)
    P = hl.covariance_lyapunov(C, 0.9, a, w, 0.02)
    lags = [0.0, 0.7, 4.0]
    Lc = hl.lagged_covariance(C, 0.9, a, w, 0.02, lags).numpy()
    for k, t in enumerate(lags):
        ref = (sl.expm(J * t) @ P)[:n, :n]
        assert np.abs(Lc[k] - ref).max() < 1e-12 * np.abs(P).max()


def test_euler_maruyama_covariance_known_answer_and_bias_order():
    a, w, s = -0.1, 2 * np.pi * 0.05, 0.02
    J, Q = hl.jacobian(np.zeros((1, 1)), 0.0, a, w), hl.noise_matrix(1, s)
    for dt in (0.01, 0.1, 0.5):
        Ph = hl.euler_maruyama_covariance(J, Q, dt)
        assert Ph[0, 0] == pytest.approx(s ** 2 / (2 * abs(a) - dt * (a ** 2 + w ** 2)), rel=1e-12)
    # O(dt) bias on a network: halving dt halves the relative bias
    C = _random_sc(15, 14)
    J, Q = hl.jacobian(C, 0.5, -0.2, 0.3), hl.noise_matrix(15, 0.02)
    P = hl.covariance_lyapunov(C, 0.5, -0.2, 0.3, 0.02)
    b1 = np.abs(hl.euler_maruyama_covariance(J, Q, 0.02) - P).max()
    b2 = np.abs(hl.euler_maruyama_covariance(J, Q, 0.01) - P).max()
    assert b1 / b2 == pytest.approx(2.0, rel=0.05)
    with pytest.raises(hl.HopfParameterError, match="unstable"):
        hl.euler_maruyama_covariance(J, Q, 5.0)


def test_batched_broadcasting_matches_loop():
    n = 9
    Cs = np.stack([_random_sc(n, s) for s in range(3)])
    G = np.array([0.1, 0.5])
    P = hl.covariance(Cs[:, None], G[None, :], -0.2, 0.3, 0.01).numpy()
    assert P.shape == (3, 2, n, n)
    for b in range(3):
        for g in range(2):
            assert np.allclose(P[b, g], hl.covariance_lyapunov(Cs[b], G[g], -0.2, 0.3, 0.01)[:n, :n], rtol=1e-12)
    P32 = hl.covariance(Cs, 0.5, -0.2, 0.3, 0.01, dtype=torch.float32).numpy()
    assert P32.dtype == np.float32 and np.allclose(P32, P[:, 1], rtol=1e-4)
