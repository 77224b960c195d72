"""Online monitors of a spiking batch (all on the simulation's device, updated once per block).

From the spikes of each block (never from stored spike trains):

* per-neuron spike counts -> firing rate per region (all, E, I);
* per-neuron inter-spike-interval sums -> CV of ISIs (per neuron with >= 3 ISIs, mean per region);
* per-neuron counts in windows of ``fano_window`` ms -> Fano factor (per neuron with a non-zero
  mean, mean per region);
* the population rate of every region in bins of ``rate_bin`` ms (kept on the device) ->
  synchrony (Golomb's chi: sqrt(Var_t[population mean count] / mean_i Var_t[count_i]) over
  the same bins), the autocorrelation time scale (1/e crossing) and the Welch spectrum
  (scipy.signal) at the end, and Balloon-Windkessel BOLD integrated online from the
  population rate (the simulation core's :class:`encephagen.sim.monitors.BoldMonitor`, one
  implementation of that equation) and its FC.

A region whose mean rate exceeds ``runaway_hz`` (200 Hz) or falls below ``silent_hz`` is
flagged, and the network named in a warning.

BOLD start-up (as in the neural-mass core, :mod:`encephagen.sim.monitors`): the
Balloon-Windkessel state starts when the monitors start (after the transient) at its fixed point
for each region's mean population rate over the last half of the transient (the first Fano
window's without a transient), and BOLD samples within ``bold_warmup`` ms of the monitors' start
are discarded. Samples are taken every ``bold_period`` ms counted from the monitors' start, so a
run keeps ``bold_sample_count(duration, 0, bold_warmup, bold_period)`` of them; fewer than
``min_bold_samples`` is refused (``spiking.monitors.min_bold_samples``) before the run.

Regimes per region (:func:`spiking_regimes`): see :mod:`encephagen.sim.regime`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger(__name__)
F64 = torch.float64


@dataclass(frozen=True)
class SpikeMonitorConfig:
    rate_bin: float = 1.0          # ms; population-rate bins (a multiple of dt)
    fano_window: float = 100.0     # ms; a multiple of rate_bin
    bold: bool = False             # needs minutes of simulated time (bold_warmup + min_bold_samples TRs)
    bold_period: float = 720.0     # ms (TR); a multiple of rate_bin
    bold_scale: float = 0.05       # BOLD input = bold_scale * population rate (Hz)
    bold_constants: str = "friston2003"   # Balloon-Windkessel constant set (encephagen.sim.monitors)
    bold_warmup: float = 20000.0   # ms after the transient whose BOLD samples are discarded
    min_bold_samples: int = 100    # fewer BOLD samples: refused
    welch_nperseg: int = 1024
    runaway_hz: float = 200.0
    silent_hz: float = 0.1

    def validate(self, dt: float) -> "SpikeMonitorConfig":
        def mult(a, b):
            return b > 0 and abs(a / b - round(a / b)) < 1e-9 and round(a / b) >= 1

        if not mult(self.rate_bin, dt):
            raise ValueError(f"spiking.monitors.rate_bin = {self.rate_bin} ms is not a multiple of dt = {dt} ms")
        if not mult(self.fano_window, self.rate_bin):
            raise ValueError(f"spiking.monitors.fano_window = {self.fano_window} ms is not a multiple of rate_bin")
        if self.bold and not mult(self.bold_period, self.rate_bin):
            raise ValueError(f"spiking.monitors.bold_period = {self.bold_period} ms is not a multiple of rate_bin")
        if self.bold:
            from encephagen.sim.monitors import bold_constants

            bold_constants(self.bold_constants, "spiking.monitors.bold_constants")
            if not (isinstance(self.bold_warmup, (int, float)) and self.bold_warmup >= 0):
                raise ValueError(f"spiking.monitors.bold_warmup must be >= 0 ms, got {self.bold_warmup!r}")
            if self.bold_warmup > 0 and not mult(self.bold_warmup, self.rate_bin):
                raise ValueError(f"spiking.monitors.bold_warmup = {self.bold_warmup} ms is not a multiple of rate_bin")
            if not (isinstance(self.min_bold_samples, int) and self.min_bold_samples >= 3):
                raise ValueError(f"spiking.monitors.min_bold_samples must be an integer >= 3, "
                                 f"got {self.min_bold_samples!r}")
        if self.welch_nperseg < 8:
            raise ValueError("spiking.monitors.welch_nperseg must be >= 8")
        return self

    def check_bold_samples(self, duration: float) -> int:
        """BOLD samples a run of ``duration`` ms (after the transient) keeps; fewer than
        ``min_bold_samples`` is refused naming ``spiking.monitors.min_bold_samples``."""
        if not self.bold:
            return 0
        from encephagen.sim.monitors import check_bold_samples

        return check_bold_samples(duration, 0.0, self.bold_warmup, self.bold_period, self.min_bold_samples,
                                  "spiking.monitors")


class SpikeMonitors:
    """Attach to a :class:`encephagen.spiking.engine.LIFBatch`. The monitor interface of every
    engine (:class:`encephagen.sim.monitors.Monitor`): :meth:`init`, then :meth:`step` with each
    block of spikes (``t``: the simulation's step count after the block), :meth:`sample` at the end.
    (:meth:`observe_transient` / :meth:`update` / :meth:`result` are the parts :meth:`step` and
    :meth:`sample` call.)"""

    def init(self) -> "SpikeMonitors":
        """The state is allocated by the constructor (it depends on the attached batch)."""
        return self

    def step(self, t: int, blk) -> None:
        """A block of spikes ending at step ``t``: transient spikes count towards the BOLD start
        value, spikes from ``start_step`` on are monitored."""
        if blk.t0 < self.start:
            self.observe_transient(blk)
        if t > self.start:
            self.update(blk)

    def sample(self) -> dict:
        """The monitors' results (see :meth:`result`)."""
        return self.result()

    def __init__(self, sim, cfg: SpikeMonitorConfig, start_step: int, n_steps: int):
        self.sim, self.cfg = sim, cfg.validate(sim.dt)
        dev, N = sim.device, sim.N
        self.start = int(start_step)
        self.bs = int(round(cfg.rate_bin / sim.dt))
        self.n_bins = int(n_steps // self.bs)
        self.win_bins = int(round(cfg.fano_window / cfg.rate_bin))
        self.B, self.R, self.n = sim.B, sim.R, sim.n
        self.npr = sim.n // sim.R
        if self.npr * sim.R != sim.n:
            raise ValueError("monitors need the same number of neurons in every region")
        z = lambda dt=F64: torch.zeros(N, dtype=dt, device=dev)  # noqa: E731
        self.count = z()
        self.last = torch.full((N,), -1, dtype=torch.int64, device=dev)
        self.isi_n, self.isi_s, self.isi_q = z(), z(), z()
        self.bin_sq = z()
        self.win_s, self.win_q = z(), z()
        self.n_win = 0
        self.bins_done = 0
        self._pend_t: list[torch.Tensor] = []
        self._pend_i: list[torch.Tensor] = []
        self.pop = torch.zeros((max(self.n_bins, 1), self.B, self.R), dtype=torch.float32, device=dev)
        self.bold = None
        if cfg.bold:
            from encephagen.sim.monitors import BoldMonitor

            self.bold = BoldMonitor(self.R, self.B, dev, cfg.rate_bin / 1000.0, cfg.bold_scale,
                                    cfg.bold_constants)
            self.bold_every = int(round(cfg.bold_period / cfg.rate_bin))
            self.bold_from = int(round(cfg.bold_warmup / cfg.rate_bin))   # first bin index kept
            self.bold_started = False
        # spikes per (network, region) over the last half of the transient: the BOLD start value
        self.init_from = self.start // 2
        self.init_count = torch.zeros(self.B * self.R, dtype=F64, device=dev)

    def observe_transient(self, blk) -> None:
        """Count a transient block's spikes per region (for the BOLD start value)."""
        if self.bold is None:
            return
        keep = (blk.k + blk.t0 >= self.init_from) & (blk.k + blk.t0 < self.start)
        if bool(keep.any()):
            reg = torch.div(blk.i[keep], self.npr, rounding_mode="floor")
            self.init_count.index_add_(0, reg, torch.ones_like(reg, dtype=F64))

    def update(self, blk) -> None:
        """Queue a block's spikes; process them (vectorised) once a Fano window is complete."""
        t = blk.k + blk.t0 - self.start          # steps since the monitors started
        keep = t >= 0
        if bool(keep.any()):
            self._pend_t.append(t[keep])
            self._pend_i.append(blk.i[keep])
        done_steps = self.sim.t - self.start
        complete_bins = min(self.n_bins, max(0, done_steps) // self.bs)
        target = (complete_bins // self.win_bins) * self.win_bins
        if complete_bins >= self.n_bins:
            target = self.n_bins
        if target > self.bins_done:
            self._flush(target)

    def _flush(self, upto: int) -> None:
        """Process every queued spike in bins [bins_done, upto)."""
        dev = self.count.device
        if self._pend_t:
            t = torch.cat(self._pend_t)
            i = torch.cat(self._pend_i)
        else:
            t = i = torch.zeros(0, dtype=torch.int64, device=dev)
        bins = torch.div(t, self.bs, rounding_mode="floor")
        now = bins < upto
        later = ~now
        self._pend_t = [t[later]] if bool(later.any()) else []
        self._pend_i = [i[later]] if bool(later.any()) else []
        t, i, bins = t[now], i[now], bins[now]
        b0, nb, N = self.bins_done, upto - self.bins_done, self.sim.N
        if i.numel():
            self.count.index_add_(0, i, torch.ones_like(i, dtype=F64))
            self._isi(t, i)
            # population count per (bin, network x region); neurons are region-major
            flat = (bins - b0) * (self.B * self.R) + torch.div(i, self.npr, rounding_mode="floor")
            pop = torch.zeros(nb * self.B * self.R, dtype=torch.float32, device=dev)
            pop.index_add_(0, flat, torch.ones_like(flat, dtype=torch.float32))
            self.pop[b0:upto] = pop.view(nb, self.B, self.R)
            # per-neuron squared counts per bin (synchrony) and per complete window (Fano)
            key, cnt = torch.unique((bins - b0) * N + i, return_counts=True)
            self.bin_sq.index_add_(0, key % N, cnt.to(F64) ** 2)
            win = torch.div(bins, self.win_bins, rounding_mode="floor")
            full = win < (upto // self.win_bins)
            if bool(full.any()):
                w0 = b0 // self.win_bins
                key, cnt = torch.unique((win[full] - w0) * N + i[full], return_counts=True)
                c = cnt.to(F64)
                self.win_s.index_add_(0, key % N, c)
                self.win_q.index_add_(0, key % N, c * c)
        else:
            self.pop[b0:upto] = 0
        self.n_win = upto // self.win_bins
        if self.bold is not None:
            rates = self.pop[b0:upto].to(F64) / (self.npr * self.cfg.rate_bin / 1000.0)   # (nb, B, R) Hz
            if not self.bold_started:
                win_s = (self.start - self.init_from) * self.sim.dt / 1000.0
                if win_s > 0:
                    r0 = (self.init_count / (self.npr * win_s)).view(self.B, self.R).T
                else:
                    r0 = rates.mean(0).T if nb else torch.zeros((self.R, self.B), dtype=F64, device=dev)
                self.bold.set_steady_state(r0)
                self.bold_started = True
            for k in range(nb):
                self.bold.update(rates[k].T)
                if (b0 + k + 1) % self.bold_every == 0 and b0 + k >= self.bold_from:
                    self.bold.take((b0 + k + 1) * self.cfg.rate_bin)
        self.bins_done = upto

    def finish(self) -> None:
        if self.bins_done < self.n_bins:
            self._flush(self.n_bins)

    def _isi(self, t, i):
        order = torch.sort(i, stable=True).indices
        i, t = i[order], t[order]
        same = torch.zeros_like(i, dtype=torch.bool)
        if i.numel() > 1:
            same[1:] = i[1:] == i[:-1]
        prev = torch.where(same, torch.roll(t, 1), self.last[i])
        ok = prev >= 0
        isi = (t - prev).to(F64)
        ii = i[ok]
        isi = isi[ok]
        self.isi_n.index_add_(0, ii, torch.ones_like(isi))
        self.isi_s.index_add_(0, ii, isi)
        self.isi_q.index_add_(0, ii, isi * isi)
        lastpos = torch.ones_like(same)
        if i.numel() > 1:
            lastpos[:-1] = i[:-1] != i[1:]
        self.last[i[lastpos]] = t[lastpos]

    # ------------------------------------------------------------------ results
    def result(self) -> dict:
        from encephagen.sim.monitors import acf_timescale, dominant_frequency, fc_from_series

        self.finish()
        B, R, npr, nb = self.B, self.R, self.npr, self.bins_done
        T_s = nb * self.cfg.rate_bin / 1000.0
        shape = (B, R, npr)
        is_exc = torch.as_tensor(np.concatenate([net.is_exc for net in self.sim.networks]),
                                 device=self.count.device).view(shape)
        cnt = self.count.view(shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {}
            out["rate"] = (cnt.sum(-1) / npr / max(T_s, 1e-12)).cpu().numpy()
            ne = is_exc.sum(-1).to(F64)
            out["rate_e"] = ((cnt * is_exc).sum(-1) / ne / max(T_s, 1e-12)).cpu().numpy()
            out["rate_i"] = ((cnt * ~is_exc).sum(-1) / (npr - ne) / max(T_s, 1e-12)).cpu().numpy()
            n_isi, s, q = (x.view(shape) for x in (self.isi_n, self.isi_s, self.isi_q))
            ok = n_isi >= 3
            mean = s / n_isi
            var = (q / n_isi - mean * mean).clamp_min(0) * n_isi / (n_isi - 1)
            cv = torch.where(ok, var.sqrt() / mean, torch.full_like(mean, float("nan")))
            out["cv_isi"] = _nanmean(cv).cpu().numpy()
            if self.n_win >= 2:
                ws, wq = self.win_s.view(shape), self.win_q.view(shape)
                m = ws / self.n_win
                v = (wq / self.n_win - m * m).clamp_min(0) * self.n_win / (self.n_win - 1)
                ff = torch.where(m > 0, v / m, torch.full_like(m, float("nan")))
                out["fano"] = _nanmean(ff).cpu().numpy()
            else:
                out["fano"] = np.full((B, R), np.nan)
            pop = self.pop[:nb]                                            # (T, B, R) counts
            if nb >= 2:
                pm = pop.to(F64) / npr
                var_pop = pm.var(dim=0, unbiased=False)                    # (B, R)
                ci = self.count.view(shape) / nb
                var_i = (self.bin_sq.view(shape) / nb - ci * ci).clamp_min(0).mean(-1)
                out["synchrony"] = torch.where(var_i > 0, (var_pop / var_i).sqrt(),
                                               torch.full_like(var_i, float("nan"))).cpu().numpy()
            else:
                out["synchrony"] = np.full((B, R), np.nan)
        rec = (pop.to(F64) / (npr * self.cfg.rate_bin / 1000.0)).permute(1, 0, 2).cpu().numpy()  # (B, T, R) Hz
        out["pop_rate"] = rec.astype(np.float32)
        out["acf_timescale"] = acf_timescale(rec, self.cfg.rate_bin)
        out["peak_frequency"] = dominant_frequency(rec, self.cfg.rate_bin, self.cfg.welch_nperseg)
        out["spectrum_freq"], out["spectrum"] = _welch(rec, self.cfg.rate_bin, self.cfg.welch_nperseg)
        if self.bold is not None:
            bold, times, fc = self.bold.result()
            out["bold"], out["bold_times"], out["fc_bold"] = bold, times, fc
        else:
            out["bold"], out["bold_times"], out["fc_bold"] = None, np.zeros(0), None
        out["fc_rate"] = fc_from_series(rec)
        out["duration_s"] = T_s
        return out


def _nanmean(x: torch.Tensor) -> torch.Tensor:
    ok = torch.isfinite(x)
    n = ok.sum(-1)
    s = torch.where(ok, x, torch.zeros_like(x)).sum(-1)
    return torch.where(n > 0, s / n.clamp_min(1), torch.full_like(s, float("nan")))


def _welch(rec: np.ndarray, bin_ms: float, nperseg: int):
    """Welch power spectrum of each region's population rate: freq (F,), psd (B, F, R) float32."""
    from scipy.signal import welch

    B, T, R = rec.shape
    if T < 8:
        return np.zeros(0), np.zeros((B, 0, R), np.float32)
    f, p = welch(rec, fs=1000.0 / bin_ms, nperseg=min(nperseg, T), axis=1, detrend="constant")
    return f, p.astype(np.float32)


def flag_regimes(rate: np.ndarray, names, runaway_hz: float, silent_hz: float) -> list[str]:
    """'runaway' if any region's mean rate exceeds runaway_hz, else 'silent' if any region is below
    silent_hz, else 'ok'; warns naming each flagged network."""
    flags = []
    for b, name in enumerate(names):
        r = rate[b]
        if np.any(r > runaway_hz):
            flags.append("runaway")
            log.warning("spiking network %s: runaway regime, %d region(s) above %g Hz (max %.1f Hz)",
                        name, int((r > runaway_hz).sum()), runaway_hz, float(np.max(r)))
        elif np.any(r < silent_hz):
            flags.append("silent")
            log.warning("spiking network %s: silent regime, %d region(s) below %g Hz (min %.3f Hz)",
                        name, int((r < silent_hz).sum()), silent_hz, float(np.min(r)))
        else:
            flags.append("ok")
    return flags
