"""Simulated models for fitting, built on the simulation core (:func:`encephagen.sim.runner.simulate`):
a whole CMA-ES population is ONE batched simulation (B = population size).

:func:`rww_fic_model`: the reduced Wong-Wang E/I model with analytic feedback inhibition control
(:mod:`encephagen.sim.rww`), BOLD through the runner's Balloon-Windkessel monitor, FC and FCD of the
BOLD (:class:`encephagen.fit.models.SimulatedModel`). Regional heterogeneity: ``w_p`` (recurrent
excitation); J_i is recomputed by FIC for every candidate (its G and w_p), so r_E = 3 Hz at the
fixed point.

:func:`hopf_bold_model`: the Stuart-Landau (Hopf) model simulated at BOLD time scales (Deco et al. 2017:
x itself, averaged over each TR, is the BOLD proxy), the same equations and units as the analytic
:class:`encephagen.fit.models.AnalyticHopf` (so an analytic optimum is a starting point); FC and FCD of
the TR series. Regional heterogeneity: ``a`` and ``sigma`` (regional noise through the exactly rescaled
model :data:`HOPF_SCALED`, since the runner's noise is one sigma per batch element).

:func:`simulated_scores`: a fitted parameter set simulated ``runs`` times (one batch, seeds ``seed + 1 ..``),
scored on targets: FC r of the run-averaged FC (as a group FC is an average over subjects), the mean
single-run r, and the FCD KS of the runs' pooled FCD values against the target's FCD (e.g. the analytic
Hopf optimum's FCD distance, which the analytic model itself cannot give).

Seeds: candidate b of a population gets ``seed + b`` (recorded by the fit as its seed).

:func:`linear_regime`: an analytic-Hopf parameter set moved, WITHOUT changing its analytic FC, to where
the nonlinear model is linear and simulable: time scale ``(G, a) -> (c G, c a)`` so the slowest (or the
fastest) relaxation rate is the one asked, and a global noise scale so the cubic term shifts no rate by
more than ``linearity`` x the slowest rate (statistical linearisation: ``a_j -> a_j - 4 P_jj``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from encephagen.fit.models import AnalyticHopf, SimulatedModel
from encephagen.fit.objectives import fcd_ks
from encephagen.fit.space import FitError
from encephagen.sim import rww
from encephagen.sim.models import INF, Coupling, Model, P, ParamsBase
from encephagen.sim.monitor_config import bold_sample_count
from encephagen.sim.runner import SimulationDiverged, simulate

__all__ = ["rww_fic_model", "hopf_bold_model", "without_diverged", "CandidateFailed", "HOPF_SCALED",
           "scaled_hopf_inputs", "simulated_scores", "linear_regime", "dt_for_rate", "split_half_r"]


class CandidateFailed(RuntimeWarning):
    """A candidate of a population was not simulated (diverged, or no FIC solution); it costs the worst value."""


def without_diverged(run_subset, B: int, shape_tail, idx=None) -> np.ndarray:
    """``run_subset(idx) -> (len(idx), *shape_tail)`` for the candidates ``idx`` of a population of B
    (default all); a candidate whose simulation diverges (:class:`encephagen.sim.runner.SimulationDiverged`)
    gets NaN (the objectives score it as the worst cost, with a :class:`CandidateFailed` warning) and the
    others are run again without it (each candidate keeps its own seed, so their results do not change)."""
    idx = np.arange(B) if idx is None else np.asarray(idx, dtype=int)
    out = np.full((B, *shape_tail), np.nan)
    while idx.size:
        try:
            out[idx] = run_subset(idx)
            break
        except SimulationDiverged as exc:
            bad = idx[exc.elements]
            warnings.warn(f"{len(bad)} of {B} candidates diverged (NaN/inf), scored as the worst cost: "
                          f"candidates {bad.tolist()}: {str(exc)[:300]}", CandidateFailed, stacklevel=2)
            idx = np.delete(idx, exc.elements)
    return out


def rww_fic_model(weights, *, duration_ms: float = 60_000.0, transient_ms: float = 5_000.0, dt: float = 0.5,
                  noise: float = 1e-3, tr_ms: float = 720.0, bold_warmup_ms: float = 5_000.0,
                  min_bold_samples: int = 40, device: str = "cpu", dtype: str = "float32",
                  fcd_window: int = 30, fcd_step: int = 5, compile: bool | str = False) -> SimulatedModel:
    """A :class:`SimulatedModel` of rWW-FIC on ``weights`` (n, n) ([target, source], e.g. normalised to
    mean in-strength 1). Times in ms; ``noise`` on S_E, S_I (1/sqrt(ms)); BOLD sampled every ``tr_ms``.
    A candidate without an FIC solution or whose simulation diverges costs the worst value (a
    :class:`CandidateFailed` warning); the rest of the population is simulated (same seeds, same results).
    ``compile``: the runner's ``torch.compile`` switch."""
    W = np.asarray(weights, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise FitError(f"rww_fic_model: weights must be (n, n), got {W.shape}")
    base = rww.RWWParams()
    n_bold = bold_sample_count(duration_ms, transient_ms, bold_warmup_ms, tr_ms)

    def run(G, params: Mapping, seed):
        G = np.asarray(G, dtype=float).reshape(-1)
        B, n = G.size, W.shape[0]
        unknown = set(params) - {"w_p"}
        if unknown:
            raise FitError(f"rww_fic_model: regional parameters may be 'w_p' only, got {sorted(unknown)}")
        wp = np.broadcast_to(np.asarray(params.get("w_p", base.w_p), dtype=float), (B, n))
        J = np.full((B, n), np.nan)
        valid = np.isfinite(G) & (G >= 0) & (np.isfinite(wp) & (wp >= 0)).all(axis=1)
        if valid.any():      # FIC of all candidates at once (rww.fic_weights: NaN where none is non-negative)
            J[valid] = rww.fic_weights(W, G[valid], base.replace(w_p=np.array(wp[valid])))
        for b in np.nonzero(~np.isfinite(J).all(axis=1))[0]:     # no FIC solution: this candidate only
            why = "no non-negative J_i reaches 3 Hz" if valid[b] else "G or w_p out of range"
            warnings.warn(f"candidate {b} (G={G[b]:.4g}): no FIC solution ({why}); scored as the worst cost",
                          CandidateFailed, stacklevel=2)
        ok = np.nonzero(np.isfinite(J).all(1))[0]
        s0 = 0 if seed is None else int(seed)

        def sub(idx):
            res = simulate(rww.RWW_FIC, W, params={"J_i": J[idx], "w_p": np.array(wp[idx])}, G=G[idx],
                           seeds=idx + s0 + 1, dt=dt, duration=duration_ms, transient=transient_ms, noise=noise,
                           device=device, dtype=dtype, compile=compile,
                           monitors={"bold": True, "bold_period": tr_ms, "bold_warmup": bold_warmup_ms,
                                     "min_bold_samples": min_bold_samples, "fc_activity": False,
                                     "record_samples": 16})
            return np.swapaxes(np.asarray(res.bold, dtype=float), 1, 2)     # (b, n, T)

        return without_diverged(sub, B, (n, n_bold), ok)

    return SimulatedModel(run, parameters=("w_p",), defaults={"w_p": base.w_p}, name="rww_fic",
                          fcd_window=fcd_window, fcd_step=fcd_step)


# ---------------------------------------------------------------- Hopf with regional noise (exact rescaling)
@dataclass(frozen=True)
class _ScaledHopfParams(ParamsBase):
    """The Stuart-Landau node in rescaled coordinates u = x / D (see :data:`HOPF_SCALED`); time in s."""

    a: float = P(-0.02, "1/s", -INF, INF, "bifurcation parameter")
    omega: float = P(2 * np.pi * 0.05, "rad/s", 0.0, INF, "intrinsic angular frequency")
    scale: float = P(1.0, "1", 0.0, INF, "D_j = sigma_j / sigma0 (the node's noise relative to the run's)",
                     lo_open=True)
    s_in: float = P(0.0, "1", 0.0, INF, "in-strength of the ORIGINAL coupling matrix, sum_k C[j,k]")


def _scaled_hopf_dfun(state, c, p: Mapping):
    """du = (a - D^2 (u^2 + v^2) - G s_in) u - omega v + G sum_k C'[j,k] u_k (likewise v), C' = D^-1 C D."""
    u, v = state
    r = p["a"] - p["scale"] * p["scale"] * (u * u + v * v) - p["G"] * p["s_in"]
    return [r * u - v * p["omega"] + c[0], r * v + u * p["omega"] + c[1]]


def _sum_post(sums, strength, state, G):
    return [x * G for x in sums]


# The Hopf model (encephagen.sim.models' 'hopf', same equations and units) with REGIONAL noise sigma_j,
# which the runner's noise (one sigma per batch element) cannot give directly: with x_j = D_j u_j,
# D_j = sigma_j / sigma0, the model in u is exactly the one above driven by noise sigma0 on every node, on the
# coupling matrix C' = D^-1 C D (sums only; the diffusive -G s_j x_j term uses the original in-strength s_in).
# FC and FCD are correlations, unchanged by the per-region factor D_j, so they are computed from u directly.
HOPF_SCALED = Model(
    name="hopf",      # the runner's regime rule for hopf (a > 0: oscillating) applies; not registered
    state_vars=("u", "v"),
    params_cls=_ScaledHopfParams,
    dfun=_scaled_hopf_dfun,
    coupling=Coupling("sum_each", pre=lambda st: list(st), post=_sum_post,
                      doc="c_v = G sum_k C'[j,k] u_v,k for each state variable"),
    observe=lambda st: st[0],
    init=lambda w: [(w[0] - 0.5) * 0.2, (w[1] - 0.5) * 0.2],
    time_unit_ms=1000.0,
    bold_scale=1.0,
    silence_threshold=1e-3,
    noise_unit="1/sqrt(s)",
    doc=_scaled_hopf_dfun.__doc__,
)


def scaled_hopf_inputs(C, sigma, sigma0: float | None = None):
    """(weights C' (B, n, n), scale D (B, n), s_in (n,), sigma0) for :data:`HOPF_SCALED`: regional noise
    ``sigma`` (B, n) as D = sigma / sigma0 (``sigma0`` default: the median of sigma)."""
    C = np.asarray(C, dtype=float)
    sg = np.atleast_2d(np.asarray(sigma, dtype=float))
    if not (np.isfinite(sg).all() and (sg > 0).all()):
        raise FitError("scaled_hopf_inputs: sigma must be finite and > 0")
    s0 = float(np.median(sg)) if sigma0 is None else float(sigma0)
    D = sg / s0
    Cp = C[None] * D[:, None, :] / D[:, :, None]          # C'[j,k] = C[j,k] D_k / D_j
    return Cp, D, C.sum(1), s0


def hopf_bold_model(C, *, duration_ms: float = 864_000.0, transient_ms: float = 60_000.0, dt: float = 90.0,
                    tr_ms: float = 720.0, sigma: float = 0.02, a: float = -0.02, omega: float = 2 * np.pi * 0.05,
                    device: str = "cpu", dtype: str = "float32", fcd_window: int = 30,
                    fcd_step: int = 5) -> SimulatedModel:
    """A :class:`SimulatedModel` of the Hopf model on the coupling matrix ``C`` (n, n) (e.g.
    :func:`encephagen.hopf.fit.normalise_sc`); times in ms (``tr_ms`` a multiple of ``dt``), model time
    in s; noise ``sigma`` (1/sqrt(s)). The series is x averaged over each TR, ``duration_ms / tr_ms`` samples
    (default 1200, an HCP run); FCD windows ``fcd_window`` TRs, step ``fcd_step`` (cuBNM's 30 / 5)."""
    C = np.asarray(C, dtype=float)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise FitError(f"hopf_bold_model: C must be (n, n), got {C.shape}")
    ratio = tr_ms / dt
    if abs(ratio - round(ratio)) > 1e-9:
        raise FitError(f"hopf_bold_model: tr_ms ({tr_ms}) must be a multiple of dt ({dt})")
    T = int(round(duration_ms / tr_ms))
    transient_ms = round(transient_ms / tr_ms) * tr_ms       # whole TRs (the runner needs multiples of dt)

    def run(G, params: Mapping, seed):
        G = np.asarray(G, dtype=float).reshape(-1)
        B, n = G.size, C.shape[0]
        unknown = set(params) - {"a", "sigma"}
        if unknown:
            raise FitError(f"hopf_bold_model: regional parameters may be 'a' and 'sigma' only, got {sorted(unknown)}")
        av = np.broadcast_to(np.asarray(params.get("a", a), dtype=float), (B, n))
        s0 = 0 if seed is None else int(seed)
        mon = {"period": tr_ms, "fc_period": tr_ms, "record_samples": T, "fc_activity": False, "bold": False}
        if "sigma" in params:       # regional noise: the exactly rescaled model (HOPF_SCALED)
            Cp, D, s_in, sg0 = scaled_hopf_inputs(C, np.broadcast_to(np.asarray(params["sigma"], float), (B, n)))

            def sub(idx):
                res = simulate(HOPF_SCALED, Cp[idx], params={"a": np.array(av[idx]), "omega": omega,
                                                             "scale": D[idx], "s_in": s_in},
                               G=G[idx], seeds=idx + s0 + 1, dt=dt, duration=T * tr_ms + transient_ms,
                               transient=transient_ms, noise=sg0, device=device, dtype=dtype, monitors=mon)
                return np.swapaxes(np.asarray(res.record, dtype=float), 1, 2)     # (b, n, T)
        else:
            def sub(idx):
                res = simulate("hopf", C, params={"a": np.array(av[idx]), "omega": omega}, G=G[idx],
                               seeds=idx + s0 + 1, dt=dt, duration=T * tr_ms + transient_ms, transient=transient_ms,
                               noise=sigma, device=device, dtype=dtype, monitors=mon)
                return np.swapaxes(np.asarray(res.record, dtype=float), 1, 2)     # (b, n, T)

        return without_diverged(sub, B, (n, T))

    return SimulatedModel(run, parameters=("a", "sigma"), defaults={"a": a, "sigma": sigma}, name="hopf_bold",
                          fcd_window=fcd_window, fcd_step=fcd_step)


def linear_regime(C, G: float, params: Mapping, *, slowest_rate: float | None = None,
                  fastest_rate: float | None = None, linearity: float = 0.05, a: float = -0.02,
                  sigma: float = 0.02) -> dict:
    """An analytic-Hopf optimum (``G``, regional ``params`` {'a': (n,), 'sigma': (n,)}; a parameter not given
    is the homogeneous ``a`` / ``sigma``) rescaled for simulation with the SAME analytic FC:

    * time: ``(G, a) -> (c G, c a)`` with ``c`` such that the slowest relaxation rate of ``M = diag(a) - G L``
      is ``slowest_rate`` (1/s), or its fastest ``fastest_rate`` (give one);
    * noise: ``sigma -> k sigma`` with ``4 max_j P_jj = linearity x slowest rate`` (``P`` the linear
      model's stationary covariance): the Gaussian closure of the cubic term, ``a_j -> a_j - 4 P_jj``,
      then moves no relaxation rate by more than ``linearity`` times the slowest one (Weyl), so the
      simulated FC is the analytic one up to that and to the finite sample.

    Returns {'G', 'a' (n,), 'sigma' (n,), 'time_scale' c, 'noise_scale' k, 'slowest_rate', 'fastest_rate',
    'rate_ratio', 'linearity'} (rates in 1/s). C must be symmetric (the fit's coupling matrix)."""
    if (slowest_rate is None) == (fastest_rate is None):
        raise FitError("linear_regime: give exactly one of slowest_rate, fastest_rate")
    if not 0 < linearity < 1:
        raise FitError(f"linear_regime: linearity must be in (0, 1), got {linearity}")
    m = AnalyticHopf(C, a=a, sigma=sigma)
    if not m.symmetric:
        raise FitError("linear_regime needs a symmetric coupling matrix")
    n = m.n
    av = np.broadcast_to(np.asarray(params.get("a", a), dtype=float), (n,)).copy()
    sg = np.broadcast_to(np.asarray(params.get("sigma", sigma), dtype=float), (n,)).copy()
    r = m.rates(np.array([float(G)]), {"a": av[None]})[0].cpu().numpy()
    if not r[0] > 0:
        raise FitError(f"linear_regime: the parameter set is unstable (slowest rate {r[0]:.3g} <= 0)")
    target = slowest_rate if slowest_rate is not None else fastest_rate
    if not (np.isfinite(target) and target > 0):
        raise FitError(f"linear_regime: the rate asked must be > 0, got {target}")
    c = float(target / (r[0] if slowest_rate is not None else r[-1]))
    G2, a2, slow = float(G) * c, av * c, float(r[0] * c)
    P = m.covariance(np.array([G2]), {"a": a2[None], "sigma": sg[None]})[0].cpu().numpy()
    k = float(np.sqrt(linearity * slow / (4.0 * np.diag(P).max())))
    return {"G": G2, "a": a2, "sigma": sg * k, "time_scale": c, "noise_scale": k, "slowest_rate": slow,
            "fastest_rate": float(r[-1] * c), "rate_ratio": float(r[-1] / r[0]), "linearity": float(linearity)}


def dt_for_rate(fastest_rate: float, tr_ms: float, accuracy: float = 0.1, min_steps: int = 8, *,
                slowest_rate: float | None = None, omega: float = 0.0) -> float:
    """The largest step (ms) dividing ``tr_ms`` with at least ``min_steps`` steps per TR and
    ``(rate + omega^2 / rate) x dt <= accuracy`` for the fastest and (if given) the slowest relaxation rate
    (1/s) at angular frequency ``omega`` (rad/s). Why: Euler on a mode dz = (-rate + i omega) z dt multiplies
    |z|^2 by 1 - 2 rate dt + (rate^2 + omega^2) dt^2 per step, i.e. shifts its rate by a relative
    (rate + omega^2 / rate) dt / 2 (the variance bias of Euler-Maruyama; at omega 0 the familiar rate x dt / 2).
    The rotation term matters for the SLOWEST modes: at omega = 2 pi 0.05 rad/s and dt 90 ms a mode slower
    than 0.0044/s is not damped at all by the Euler map. ``omega`` 0 and no ``slowest_rate``: rate x dt <=
    accuracy (the criterion before session 9)."""
    worst = float(fastest_rate) + float(omega) ** 2 / float(fastest_rate)
    if slowest_rate is not None:
        worst = max(worst, float(slowest_rate) + float(omega) ** 2 / float(slowest_rate))
    steps = max(int(min_steps), int(np.ceil(worst * tr_ms / 1000.0 / accuracy)))
    return tr_ms / steps


def simulated_scores(model: SimulatedModel, G: float, params: Mapping, targets, *, runs: int = 1,
                     seed: int, return_fc: bool = False) -> dict:
    """Scores of ONE parameter set (``G``, regional ``params`` {name: (n,)}) simulated ``runs`` times in one
    batch (candidate b gets seed ``seed + b + 1``): per target name {'fc_r' (the run-averaged FC),
    'fc_r_single' (mean of the runs' r), 'fcd_ks' (the pooled FCD values of all runs vs the target's FCD;
    NaN without a target FCD), 'n_fcd_values'}; plus 'runs', 'diverged' (runs lost) and 'split_half_r'
    (:func:`split_half_r` of the runs' FCs: how far the run-averaged FC has converged, using no target);
    ``return_fc``: also 'fc', the runs' FCs (runs kept, n, n)."""
    runs = int(runs)
    if runs < 1:
        raise FitError(f"simulated_scores: runs must be >= 1, got {runs}")
    P_ = {k: np.broadcast_to(np.asarray(v, dtype=float), (runs, np.asarray(v).shape[-1] if np.ndim(v) else 1))
          if np.ndim(v) else float(v) for k, v in dict(params).items()}
    out = model(np.full(runs, float(G)), P_, seed=seed)
    fc = np.asarray(out["fc"], dtype=float)
    ok = np.isfinite(fc).all(axis=(1, 2))
    res = {"runs": runs, "diverged": int((~ok).sum())}
    for t in targets:
        if not ok.any():
            res[t.name] = {"fc_r": np.nan, "fc_r_single": np.nan, "fcd_ks": np.nan, "n_fcd_values": 0}
            continue
        r_single = t.fc_r(fc[ok])
        r_mean = float(t.fc_r(fc[ok].mean(0))[0])
        vals = np.concatenate([np.asarray(v, float).ravel() for v, k in zip(out["fcd"], ok) if k])
        ks = fcd_ks(vals, t.fcd) if t.fcd is not None else np.nan
        res[t.name] = {"fc_r": r_mean, "fc_r_single": float(np.mean(r_single)), "fcd_ks": float(ks),
                       "n_fcd_values": int(vals.size)}
    res["split_half_r"] = split_half_r(fc[ok])
    if return_fc:
        res["fc"] = fc[ok]
    return res


def split_half_r(fc) -> float:
    """Convergence of a run-averaged FC without any target: r between the upper triangles of the FC averaged
    over the even runs and over the odd runs of ``fc`` (runs, n, n); NaN with fewer than 2 runs. As the
    number of runs grows it tends to 1 (the run-averaged FC converges to the model's FC)."""
    fc = np.asarray(fc, dtype=float)
    if fc.ndim != 3 or fc.shape[0] < 2:
        return float("nan")
    iu = np.triu_indices(fc.shape[1], 1)
    return float(np.corrcoef(fc[0::2].mean(0)[iu], fc[1::2].mean(0)[iu])[0, 1])
