"""The linearised Hopf (Stuart-Landau) model: stationary covariance, FC, lagged covariance, spectra.

Convention (shared with the simulation core's Hopf model; Deco et al. 2017), time in seconds::

    dx_j = [(a_j - x_j^2 - y_j^2) x_j - omega_j y_j + G sum_k C[j,k] (x_k - x_j)] dt + sigma_j dW_j
    dy_j = [(a_j - x_j^2 - y_j^2) y_j + omega_j x_j + G sum_k C[j,k] (y_k - y_j)] dt + sigma_j dW'_j

``C[target, source]`` (rows are targets; ``C`` is the connectome's ``weights``, usually
normalised); ``a_j`` in 1/s (bifurcation parameter; a_j < 0 below the bifurcation),
``omega_j`` in rad/s (e.g. 2*pi*0.05), ``G`` in 1/s per unit weight, ``sigma_j`` in
state units per sqrt(s) (``dW ~ N(0, dt)``, independent for x and y and across regions).

Linearised about the fixed point ``x = y = 0`` (the cubic terms dropped), with
``z = x + i y`` and the graph Laplacian ``L = diag(sum_k C[j,k]) - C`` (row sums, i.e.
in-strength)::

    dz = K z dt + sigma (dW + i dW'),      K = diag(a + i omega) - G L          (complex, n x n)

or, with the real state ``[x_1..x_n, y_1..y_n]``::

    J = [[diag(a) - G L, -diag(omega)],    Q = diag(sigma^2, sigma^2)           (real, 2n x 2n)
         [diag(omega),   diag(a) - G L]]

The stationary covariance ``P = E[s s^T]`` of the real state solves the Lyapunov equation
``J P + P J^T + Q = 0`` (the reference: :func:`scipy.linalg.solve_continuous_lyapunov`).
Because the noise is circular, ``E[z z^T] = 0`` and the complex covariance
``H = E[z z^H]`` solves ``K H + H K^H + 2 diag(sigma^2) = 0``; then
``P_xx = P_yy = Re(H) / 2`` and ``P_yx = -P_xy = Im(H) / 2``. The torch code solves the
complex n x n problem (half the size of the real one) through an eigendecomposition.

Closed form (exact when C is symmetric and omega is the same in every region; a may vary):
``M = diag(a) - G L`` is symmetric and commutes with the rotation, so
``P_xx = -(sigma^2 / 2) M^{-1}`` and ``P_xy = 0``: omega does not enter FC at all. With a
homogeneous too, ``M = a I - G L`` shares the eigenvectors of L, so one eigendecomposition
per connectome gives every G (``P_xx = V diag(sigma^2 / (2 (G lambda_k - a))) V^T``), and FC
depends on ``G / |a|`` only (sigma cancels in a correlation).

Checks that pin the convention (tests/test_hopf_linear.py): an uncoupled node has variance
``sigma^2 / (2 |a|)`` per component; coupling only ever damps (the Laplacian is positive
semi-definite for symmetric non-negative C, and its eigenvalues have non-negative real parts
for any non-negative C by Gershgorin), so homogeneous ``a < 0`` is stable for every ``G >= 0``;
a region with ``a_j >= 0`` is only allowed while the whole fixed point stays stable, and an
unstable configuration gives NaN (the linearisation is meaningless there), never a number.

Lagged covariance ``P_xx(tau) = E[x(t + tau) x(t)^T] = Re(expm(K tau) H) / 2`` (tau >= 0).
Power spectrum (two-sided, units^2 / Hz, ``P_xx = integral S_xx(f) df`` over all f)::

    S_xx(f) = [R(f) Q_c R(f)^H + conj(R(-f) Q_c R(-f)^H)] / 4,   R(f) = (2 pi i f I - K)^{-1},  Q_c = 2 diag(sigma^2)

Euler-Maruyama with step h has the stationary covariance of the discrete map
``s <- (I + h J) s + sqrt(h) sigma xi``: :func:`euler_maruyama_covariance` gives it exactly
(for the linear part), so the step bias of a simulation is known without simulating.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from encephagen.sim.models import HopfParams, ParameterError

__all__ = [
    "HopfParameterError", "PARAMETERS", "laplacian", "jacobian", "noise_matrix",
    "covariance_lyapunov", "lyapunov_residual", "euler_maruyama_covariance", "covariance",
    "complex_covariance", "covariance_closed_form", "fc_from_covariance", "fc", "fc_sweep",
    "SweepBasis", "sweep_basis", "lagged_covariance", "power_spectrum", "max_real_eigenvalue",
    "is_symmetric",
]

# Parameter metadata (default, unit, bounds, doc). The node's parameters (a, omega) are the
# simulation core's Stuart-Landau parameter set (encephagen.sim.models.HopfParams: one definition);
# G (coupling) and sigma (noise) are the runner's there, and defined here for the analytic model.
_NODE = HopfParams.spec()
PARAMETERS = {
    **{k: dict(default=_NODE[k]["default"], unit=_NODE[k]["unit"], bounds=tuple(_NODE[k]["bounds"]),
               doc=_NODE[k]["doc"]) for k in ("a", "omega")},
    "G": dict(default=0.5, unit="1/s per unit weight", bounds=(0.0, math.inf),
              doc="global coupling; input G sum_k C[j,k] (x_k - x_j), C[target, source]"),
    "sigma": dict(default=0.02, unit="1/sqrt(s)", bounds=(0.0, math.inf),
                  doc="noise amplitude: sigma dW per component, dW ~ N(0, dt)"),
}

# one error class for bad parameters everywhere (the simulation core's); the old name stays
HopfParameterError = ParameterError


# ----------------------------------------------------------------------------- helpers
def _dev(device):
    return torch.device(device) if device is not None else torch.device("cpu")


def _t(x, dtype=torch.float64, device=None, name="array") -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        out = x.to(dtype=dtype, device=_dev(device) if device is not None else x.device)
    else:
        out = torch.as_tensor(np.asarray(x, dtype=float), dtype=dtype, device=_dev(device))
    if not torch.isfinite(out).all():
        raise HopfParameterError(f"{name} contains non-finite values")
    return out


def _check_C(C: torch.Tensor) -> int:
    if C.ndim < 2 or C.shape[-1] != C.shape[-2]:
        raise HopfParameterError(f"C must have shape (..., n, n), got {tuple(C.shape)}")
    if (C < 0).any():
        raise HopfParameterError("C has negative weights; the Hopf coupling expects C >= 0")
    return int(C.shape[-1])


def _per_region(v, n: int, name: str, dtype, device) -> torch.Tensor:
    """A parameter as (..., n): a scalar, (n,) or (..., n) (any leading batch axes)."""
    t = _t(v, dtype=dtype, device=device, name=name)
    if t.ndim == 0:
        return t.expand(n)
    if t.shape[-1] != n:
        raise HopfParameterError(f"{name} has {t.shape[-1]} values per network but C has {n} regions")
    return t


def _scalar_batch(v, name: str, dtype, device) -> torch.Tensor:
    t = _t(v, dtype=dtype, device=device, name=name)
    if name == "G" and (t < 0).any():
        raise HopfParameterError(f"G must be >= 0 (coupling only damps in this convention), got min {t.min().item()}")
    return t


def _homogeneous(t: torch.Tensor) -> bool:
    return bool((t == t[..., :1]).all())


def is_symmetric(C, atol: float = 0.0, rtol: float = 1e-12) -> bool:
    C = torch.as_tensor(np.asarray(C)) if not isinstance(C, torch.Tensor) else C
    return bool(torch.allclose(C, C.transpose(-1, -2), rtol=rtol, atol=atol))


def laplacian(C) -> torch.Tensor:
    """``L = diag(sum_k C[j, k]) - C`` for ``C`` (..., n, n) [target, source] (in-strength on the diagonal)."""
    C = C if isinstance(C, torch.Tensor) else _t(C, name="C")
    return torch.diag_embed(C.sum(-1)) - C


# ----------------------------------------------------------------------------- reference (numpy/scipy)
def jacobian(C, G: float, a, omega) -> np.ndarray:
    """Real Jacobian (2n, 2n) at the fixed point, state order [x_1..x_n, y_1..y_n] (numpy)."""
    C = np.asarray(C, dtype=float)
    n = C.shape[0]
    a = np.broadcast_to(np.asarray(a, dtype=float), (n,))
    w = np.broadcast_to(np.asarray(omega, dtype=float), (n,))
    L = np.diag(C.sum(1)) - C
    M = np.diag(a) - G * L
    return np.block([[M, -np.diag(w)], [np.diag(w), M]])


def noise_matrix(n: int, sigma) -> np.ndarray:
    """Q = diag(sigma^2, sigma^2) (2n, 2n): the diffusion matrix of the real state."""
    s = np.broadcast_to(np.asarray(sigma, dtype=float), (n,))
    return np.diag(np.concatenate([s, s]) ** 2)


def covariance_lyapunov(C, G: float, a, omega, sigma) -> np.ndarray:
    """Stationary covariance (2n, 2n) of the real state by scipy's Lyapunov solver (the reference)."""
    from scipy.linalg import solve_continuous_lyapunov

    J = jacobian(C, G, a, omega)
    if np.linalg.eigvals(J).real.max() >= 0:
        raise HopfParameterError(f"unstable fixed point at G={G}: max Re eig(J) >= 0; no stationary covariance")
    P = solve_continuous_lyapunov(J, -noise_matrix(J.shape[0] // 2, sigma))
    return (P + P.T) / 2


def lyapunov_residual(J, P, Q) -> float:
    """Relative residual ||J P + P J^T + Q||_F / (2 ||J||_F ||P||_F + ||Q||_F)."""
    J, P, Q = (np.asarray(m) for m in (J, P, Q))
    R = J @ P + P @ J.conj().T + Q
    return float(np.linalg.norm(R) / (2 * np.linalg.norm(J) * np.linalg.norm(P) + np.linalg.norm(Q)))


def euler_maruyama_covariance(J, Q, dt: float) -> np.ndarray:
    """Exact stationary covariance of Euler-Maruyama with step ``dt`` on ``ds = J s dt + dW_Q``.

    The scheme ``s <- (I + dt J) s + sqrt(dt) Q^{1/2} xi`` has ``P_h = A P_h A^T + dt Q``,
    ``A = I + dt J`` (scipy's discrete Lyapunov solver). ``P_h - P = O(dt)``: for one node,
    ``P_h = sigma^2 / (2|a| - dt (a^2 + omega^2))``.
    """
    from scipy.linalg import solve_discrete_lyapunov

    J = np.asarray(J, dtype=float)
    A = np.eye(J.shape[0]) + dt * J
    if np.abs(np.linalg.eigvals(A)).max() >= 1:
        raise HopfParameterError(f"Euler-Maruyama with dt={dt} is unstable for this Jacobian (|eig(I + dt J)| >= 1)")
    P = solve_discrete_lyapunov(A, dt * np.asarray(Q, dtype=float))
    return (P + P.T) / 2


def max_real_eigenvalue(C, G, a, omega=0.0) -> torch.Tensor:
    """max Re eig(K) over regions for each network (...): < 0 means a stable fixed point."""
    C = _t(C, name="C")
    n = _check_C(C)
    G = _scalar_batch(G, "G", torch.float64, C.device)
    a = _per_region(a, n, "a", torch.float64, C.device)
    # omega shifts imaginary parts only when homogeneous; heterogeneous omega can matter.
    w = _per_region(omega, n, "omega", torch.float64, C.device)
    K = torch.diag_embed(torch.complex(a, w)) - G[..., None, None] * laplacian(C).to(torch.complex128)
    return torch.linalg.eigvals(K).real.amax(-1)


# ----------------------------------------------------------------------------- torch solvers
def covariance_closed_form(C, G, a, sigma=PARAMETERS["sigma"]["default"], *, dtype=torch.float64,
                           device=None) -> torch.Tensor:
    """``P_xx = -(sigma^2/2) M^{-1}``, ``M = diag(a) - G L``: exact for symmetric C and homogeneous omega.

    Broadcasts C (..., n, n), G (...), a and sigma (scalar, (n,) or (..., n)); sigma may vary by
    region (then ``P_xx = (1/2) M^{-1} diag(sigma^2) ... `` is not closed: only homogeneous sigma
    is accepted here). Unstable (M not negative definite) entries are NaN.
    """
    C = _t(C, dtype=dtype, device=device, name="C")
    n = _check_C(C)
    if not is_symmetric(C):
        raise HopfParameterError("covariance_closed_form needs a symmetric C; use covariance(method='eig')")
    s = _t(sigma, dtype=dtype, device=C.device, name="sigma")
    if s.ndim > 0 and not _homogeneous(s):
        raise HopfParameterError("covariance_closed_form needs the same sigma in every region")
    s = s.reshape(-1)[0] if s.ndim else s
    G = _scalar_batch(G, "G", dtype, C.device)
    a = _per_region(a, n, "a", dtype, C.device)
    negM = G[..., None, None] * laplacian(C) - torch.diag_embed(a)  # symmetric; PD iff stable
    Lc, info = torch.linalg.cholesky_ex(negM)
    # (-M)^{-1} = L^{-T} L^{-1}; a batched triangular solve is much faster on CPU than cholesky_inverse
    eye = torch.eye(n, dtype=negM.dtype, device=negM.device).expand_as(Lc)
    Li = torch.linalg.solve_triangular(Lc, eye, upper=False)
    P = (Li.mT @ Li) * (s ** 2 / 2)
    bad = info != 0
    if bad.any():
        P = torch.where(bad[..., None, None], torch.full_like(P, float("nan")), P)
    return P


def complex_covariance(C, G, a, omega, sigma, *, device=None, check: bool = True,
                       tol: float = 1e-8) -> torch.Tensor:
    """General solver: ``H = E[z z^H]`` (..., n, n) complex from ``K H + H K^H + 2 diag(sigma^2) = 0``.

    Any C >= 0 (asymmetric allowed), heterogeneous a, omega, sigma. Solved through the
    eigendecomposition ``K = U diag(d) U^{-1}``: ``H = U X U^H``,
    ``X_ij = -(U^{-1} Q_c U^{-H})_ij / (d_i + conj(d_j))``. Batches whose relative residual
    exceeds ``tol`` (near-defective K) are re-solved by scipy's complex Lyapunov solver.
    Unstable batches (max Re d >= 0) are NaN.
    """
    C = _t(C, device=device, name="C")
    n = _check_C(C)
    dev = C.device
    G = _scalar_batch(G, "G", torch.float64, dev)
    a = _per_region(a, n, "a", torch.float64, dev)
    w = _per_region(omega, n, "omega", torch.float64, dev)
    s = _per_region(sigma, n, "sigma", torch.float64, dev)
    K = torch.diag_embed(torch.complex(a, w)) - G[..., None, None] * laplacian(C).to(torch.complex128)
    shape = torch.broadcast_shapes(K.shape[:-2], s.shape[:-1])
    K = K.expand(*shape, n, n)
    qc = (2 * s ** 2).expand(*shape, n).to(torch.complex128)
    d, U = torch.linalg.eig(K)
    Ui = torch.linalg.inv(U)
    Qt = (Ui * qc[..., None, :]) @ Ui.mH
    X = -Qt / (d[..., :, None] + d.conj()[..., None, :])
    H = U @ X @ U.mH
    H = (H + H.mH) / 2
    unstable = d.real.amax(-1) >= 0
    if check:
        Qc = torch.diag_embed(qc)
        R = K @ H + H @ K.mH + Qc
        rel = torch.linalg.matrix_norm(R) / (2 * torch.linalg.matrix_norm(K) * torch.linalg.matrix_norm(H)
                                             + torch.linalg.matrix_norm(Qc))
        redo = (~(rel <= tol)) & ~unstable
        if redo.any():
            from scipy.linalg import solve_continuous_lyapunov

            Kf, Qf, Hf = K.reshape(-1, n, n), Qc.reshape(-1, n, n), H.reshape(-1, n, n).clone()
            for i in torch.nonzero(redo.reshape(-1)).flatten().tolist():
                Hi = solve_continuous_lyapunov(Kf[i].cpu().numpy(), -Qf[i].cpu().numpy())
                Hf[i] = torch.as_tensor((Hi + Hi.conj().T) / 2, device=dev)
            H = Hf.reshape(H.shape)
    if unstable.any():
        H = torch.where(unstable[..., None, None], torch.full_like(H, complex("nan")), H)
    return H


def covariance(C, G, a=PARAMETERS["a"]["default"], omega=PARAMETERS["omega"]["default"],
               sigma=PARAMETERS["sigma"]["default"], *, method: str = "auto", dtype=torch.float64,
               device=None) -> torch.Tensor:
    """Stationary covariance of x, ``P_xx`` (..., n, n), batched over C (..., n, n) and G (...).

    ``method``: 'closed' (symmetric C, homogeneous omega and sigma: Cholesky of -M),
    'eig' (:func:`complex_covariance`, any C), 'scipy' (the real 2n Lyapunov reference, loop),
    'auto' (closed where exact, else eig). NaN where the fixed point is unstable.
    """
    if method not in ("auto", "closed", "eig", "scipy"):
        raise HopfParameterError(f"method must be auto|closed|eig|scipy, got {method!r}")
    Ct = _t(C, dtype=torch.float64, device=device, name="C")
    n = _check_C(Ct)
    if method == "auto":
        w = _per_region(omega, n, "omega", torch.float64, Ct.device)
        s = _per_region(sigma, n, "sigma", torch.float64, Ct.device)
        method = "closed" if (is_symmetric(Ct) and _homogeneous(w) and _homogeneous(s)) else "eig"
    if method == "closed":
        w = _per_region(omega, n, "omega", torch.float64, Ct.device)
        if not _homogeneous(w):
            raise HopfParameterError("method='closed' needs the same omega in every region (heterogeneous "
                                     "omega couples x and y); use method='eig'")
        return covariance_closed_form(Ct, G, a, sigma, dtype=dtype, device=device)
    if method == "eig":
        return (complex_covariance(Ct, G, a, omega, sigma, device=device).real / 2).to(dtype)
    # scipy reference, element by element
    Gt = torch.as_tensor(np.asarray(G, dtype=float))
    an = np.asarray(a, dtype=float)
    shape = torch.broadcast_shapes(Ct.shape[:-2], Gt.shape, an.shape[:-1] if an.ndim else ())
    Cb = np.broadcast_to(Ct.cpu().numpy(), (*shape, n, n)).reshape(-1, n, n)
    Gb = np.broadcast_to(Gt.numpy(), shape).reshape(-1)
    ab = np.broadcast_to(an, (*shape, n)).reshape(-1, n)
    wb = np.broadcast_to(np.asarray(omega, dtype=float), (*shape, n)).reshape(-1, n)
    sb = np.broadcast_to(np.asarray(sigma, dtype=float), (*shape, n)).reshape(-1, n)
    out = np.empty((len(Gb), n, n))
    for i in range(len(Gb)):
        try:
            out[i] = covariance_lyapunov(Cb[i], Gb[i], ab[i], wb[i], sb[i])[:n, :n]
        except HopfParameterError:
            out[i] = np.nan
    return torch.as_tensor(out.reshape(*shape, n, n), dtype=dtype, device=Ct.device)


def fc_from_covariance(P: torch.Tensor) -> torch.Tensor:
    """Correlation matrix from a covariance (..., n, n); NaN propagates."""
    d = torch.sqrt(torch.diagonal(P, dim1=-2, dim2=-1))
    return P / (d[..., :, None] * d[..., None, :])


def fc(C, G, a=PARAMETERS["a"]["default"], omega=PARAMETERS["omega"]["default"],
       sigma=PARAMETERS["sigma"]["default"], **kw) -> torch.Tensor:
    """Analytic FC (correlation of x) of the linearised Hopf model; see :func:`covariance`."""
    return fc_from_covariance(covariance(C, G, a, omega, sigma, **kw))


# ----------------------------------------------------------------------------- fast G sweep
class SweepBasis:
    """Eigendecomposition of each network's Laplacian, computed once, reused for every G.

    Symmetric C: ``L = V diag(lam) V^T`` (real, eigh). Otherwise ``L = U diag(lam) U^{-1}``
    (complex, eig) and ``W = U^{-1} U^{-H}``. Valid for homogeneous a, omega, sigma.
    """

    def __init__(self, C: torch.Tensor, symmetric: bool):
        self.symmetric = symmetric
        L = laplacian(C)
        if symmetric:
            lam, V = torch.linalg.eigh(L)
            self.lam, self.V = lam.clamp_min(0.0), V  # PSD: round-off negatives -> 0
        else:
            lam, U = torch.linalg.eig(L.to(torch.complex128) if C.dtype == torch.float64
                                      else L.to(torch.complex64))
            Ui = torch.linalg.inv(U)
            self.lam, self.V, self.W = lam, U, Ui @ Ui.mH

    def covariance(self, G: torch.Tensor, a: float, sigma: float = 1.0) -> torch.Tensor:
        """P_xx (B, nG, n, n) for the grid G (nG,)."""
        G = G.to(self.lam.real.dtype)
        if self.symmetric:
            den = G[None, :, None] * self.lam[:, None, :] - a  # (B, nG, n) > 0 when a < 0
            d = (sigma ** 2 / 2) / den
            d = torch.where(den > 0, d, torch.full_like(d, float("nan")))
            V = self.V[:, None]
            return (V * d[..., None, :]) @ V.transpose(-1, -2)
        lam = self.lam[:, None, :]  # (B, 1, n)
        den = G[None, :, None, None] * (lam[..., :, None] + lam.conj()[..., None, :]) - 2 * a
        X = (sigma ** 2) * self.W[:, None] / den  # Q_c = 2 sigma^2 I; P_xx = Re(H)/2 -> sigma^2 W/den
        U = self.V[:, None]
        H = U @ X @ U.mH
        P = H.real
        unstable = (a - G[None, :, None] * lam.real).amax(-1) >= 0
        return torch.where(unstable[..., None, None], torch.full_like(P, float("nan")), P)


def sweep_basis(C, *, dtype=torch.float64, device=None) -> SweepBasis:
    """:class:`SweepBasis` for a batch of connectomes (B, n, n) (symmetry detected)."""
    C = _t(C, dtype=dtype, device=device, name="C")
    if C.ndim == 2:
        C = C[None]
    _check_C(C)
    return SweepBasis(C, symmetric=is_symmetric(C))


def fc_sweep(C, G_values, a: float = PARAMETERS["a"]["default"], *, dtype=torch.float64,
             device=None) -> torch.Tensor:
    """FC (B, nG, n, n) for every connectome in C (B, n, n) and every G, homogeneous a < 0.

    One eigendecomposition per connectome (symmetric C: real eigh; otherwise complex eig),
    then each G is an elementwise update and a matrix product. omega and sigma do not enter
    FC here (homogeneous omega cancels; sigma cancels in the correlation).
    """
    a = float(a)
    if not a < 0:
        raise HopfParameterError(f"fc_sweep needs a homogeneous a < 0 (stable for every G >= 0), got a={a}")
    basis = sweep_basis(C, dtype=dtype, device=device)
    G = _scalar_batch(G_values, "G", dtype, basis.lam.device).reshape(-1)
    return fc_from_covariance(basis.covariance(G, a))


# ----------------------------------------------------------------------------- lags and spectra
def lagged_covariance(C, G, a, omega, sigma, lags: Sequence[float], *, device=None) -> torch.Tensor:
    """``E[x(t + tau) x(t)^T]`` (..., n_lags, n, n) for lags tau >= 0 (seconds); tau = 0 gives P_xx."""
    lags_t = _t(lags, device=device, name="lags").reshape(-1)
    if (lags_t < 0).any():
        raise HopfParameterError("lags must be >= 0 (use the transpose for negative lags)")
    C = _t(C, device=device, name="C")
    n = _check_C(C)
    H = complex_covariance(C, G, a, omega, sigma, device=device)
    Gt = _scalar_batch(G, "G", torch.float64, C.device)
    at = _per_region(a, n, "a", torch.float64, C.device)
    wt = _per_region(omega, n, "omega", torch.float64, C.device)
    K = torch.diag_embed(torch.complex(at, wt)) - Gt[..., None, None] * laplacian(C).to(torch.complex128)
    K = K.expand(*H.shape[:-2], n, n)
    E = torch.linalg.matrix_exp(K[..., None, :, :] * lags_t.to(torch.complex128)[:, None, None])
    return (E @ H[..., None, :, :]).real / 2


def power_spectrum(C, G, a, omega, sigma, freqs: Sequence[float], *, cross: bool = False,
                   device=None) -> torch.Tensor:
    """Two-sided power spectral density of x (units^2/Hz) at ``freqs`` (Hz).

    Returns (..., n_freqs, n) auto-spectra, or the cross-spectral matrices (..., n_freqs, n, n)
    (complex) when ``cross``. ``integral S_xx(f) df`` over all f equals P_xx; the one-sided
    density on f > 0 is twice this.
    """
    f = _t(freqs, device=device, name="freqs").reshape(-1)
    C = _t(C, device=device, name="C")
    n = _check_C(C)
    Gt = _scalar_batch(G, "G", torch.float64, C.device)
    at = _per_region(a, n, "a", torch.float64, C.device)
    wt = _per_region(omega, n, "omega", torch.float64, C.device)
    st = _per_region(sigma, n, "sigma", torch.float64, C.device)
    K = torch.diag_embed(torch.complex(at, wt)) - Gt[..., None, None] * laplacian(C).to(torch.complex128)
    K = K[..., None, :, :]
    eye = torch.eye(n, dtype=torch.complex128, device=C.device)
    qc = (2 * st ** 2).to(torch.complex128)[..., None, None, :]  # (..., 1, 1, n)
    out = 0
    for sgn in (1.0, -1.0):
        iw = (2j * math.pi * sgn) * f.to(torch.complex128)[:, None, None]
        R = torch.linalg.inv(iw * eye - K)  # (..., nf, n, n)
        S = (R * qc) @ R.mH
        out = out + (S if sgn > 0 else S.conj())
    out = out / 4
    if cross:
        return out
    return torch.diagonal(out, dim1=-2, dim2=-1).real
