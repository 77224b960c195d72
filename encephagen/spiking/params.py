"""Parameters of the spiking model: one flat, frozen dataclass with unit, bounds and doc per field.

Units: time in ms, potentials in mV ("PSP units": rest 0, threshold ``theta``), rates in Hz,
conduction velocity in mm/ms (= m/s), tract lengths in mm. A synaptic efficacy ``J`` is the
delta-synapse equivalent: one presynaptic spike injects ``J * tau_m / tau_syn`` mV into the
target's exponentially decaying synaptic current, whose integral then moves the membrane by
``J`` mV in the mean (exactly as a delta synapse of size J would, in the tau_syn -> 0 limit).
"""
from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any, Mapping


def p(default, unit: str, doc: str, lo=None, hi=None, choices=None, lo_open: bool = False):
    """A parameter field: ``lo``/``hi`` are inclusive bounds unless ``lo_open`` (then ``> lo``)."""
    return field(default=default, metadata={"unit": unit, "doc": doc, "min": lo, "max": hi,
                                            "choices": choices, "lo_open": lo_open})


_p = p


class ParamsMixin:
    """The one base of the spiking and plasticity parameter dataclasses (frozen, flat, scalar):
    validation with errors that name the parameter (``<_kind> parameter 'name'``), dict round
    trip and metadata (default, unit, doc, bounds, choices) for docs and the config schema.

    (``encephagen.sim.models.ParamsBase`` is the neural-mass models' base: array-valued
    parameters for sweeps, bounds as a tuple, ``ParameterError``; a merge would make this class
    a subclass of it.)"""

    _kind = "parameter"

    def _validate(self):
        for f in fields(self):
            val = getattr(self, f.name)
            md = f.metadata
            where = f"{self._kind} parameter {f.name!r}"
            if md.get("choices") is not None:
                if val not in md["choices"]:
                    raise ValueError(f"{where} = {val!r}: must be one of {md['choices']}")
                continue
            if isinstance(f.default, bool):
                if not isinstance(val, bool):
                    raise ValueError(f"{where} = {val!r}: must be true or false")
                continue
            if not isinstance(val, (int, float)) or isinstance(val, bool) or not math.isfinite(val):
                raise ValueError(f"{where} = {val!r}: must be a finite number")
            lo, hi, unit = md.get("min"), md.get("max"), md.get("unit", "")
            if lo is not None:
                if md.get("lo_open") and val <= lo:
                    raise ValueError(f"{where} = {val} {unit}: must be > {lo}")
                if val < lo:
                    raise ValueError(f"{where} = {val} {unit}: below its minimum {lo}")
            if hi is not None and val > hi:
                raise ValueError(f"{where} = {val} {unit}: above its maximum {hi}")

    def __post_init__(self):
        self._validate()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None):
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown {cls._kind} parameter(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **kw):
        return replace(self, **kw)

    @classmethod
    def metadata(cls) -> dict:
        """{name: {default, unit, doc, min, max, choices, lo_open}} for docs and a config schema."""
        out = {}
        for f in fields(cls):
            md = dict(f.metadata)
            md["default"] = f.default if f.default is not MISSING else None
            out[f.name] = md
        return out


@dataclass(frozen=True)
class LIFParams(ParamsMixin):
    _kind = "spiking"

    # neurons
    tau_m: float = _p(20.0, "ms", "membrane time constant (overridden per region by the T1w/T2w map if given)", 0.1, 1000)
    tau_e: float = _p(5.0, "ms", "excitatory (AMPA-like) synaptic current decay time", 0.05, 1000)
    tau_i: float = _p(5.0, "ms", "inhibitory synaptic current decay time", 0.05, 1000)
    theta: float = _p(20.0, "mV", "spike threshold (rest 0)", 0.01, 1000)
    v_reset: float = _p(0.0, "mV", "reset potential (must be below theta)", -1000, 1000)
    t_ref: float = _p(2.0, "ms", "absolute refractory period (membrane clamped at v_reset)", 0, 100)
    # local circuit
    n_e: int = _p(160, "neurons", "excitatory neurons per region", 1, 10_000_000)
    n_i: int = _p(40, "neurons", "inhibitory neurons per region", 0, 10_000_000)
    p_int: float = _p(0.1, "1", "within-region connection probability (Bernoulli, every ordered pair, no autapses)", 0, 1)
    J: float = _p(1.0, "mV", "excitatory efficacy (delta-synapse equivalent PSP)", 0, 100)
    g: float = _p(5.0, "1", "relative strength of inhibition: inhibitory efficacy = -g J", 0, 100)
    delay_local: float = _p(1.5, "ms", "within-region conduction + synaptic delay", 0, 1000)
    # external drive (Brunel 2000 calibration, see encephagen.spiking.network.external_drive)
    eta: float = _p(1.0, "1", "external drive relative to the threshold rate nu_thr (Brunel's eta); mean external input = eta * theta", 0, 100)
    J_ext: float = _p(-1.0, "mV", "efficacy of external Poisson synapses; < 0 means J", -1, 100)
    # long range
    G: float = _p(1.0, "1", "global coupling: long-range efficacy = G * J * w_norm**weight_exponent", 0, 1e6)
    p_between: float = _p(0.01, "1", "long-range connection probability for the strongest connection (scaled by w_norm)", 0, 1)
    weight_norm: str = _p("log1p", "", "connectome weight normalisation: log1p = log1p(log_scale*w)/max, max = w/max",
                          choices=("log1p", "max"))
    log_scale: float = _p(1000.0, "1", "scale inside log1p for weight_norm=log1p", 0, 1e12)
    weight_exponent: float = _p(1.0, "1", "long-range efficacy ~ w_norm**weight_exponent (the predecessor: 1)", 0, 10)
    ffi_scale: float = _p(1.0, "1", "feedforward inhibition: long-range efficacy onto inhibitory targets x this (the predecessor: 3)", 0, 100)
    velocity: float = _p(3.5, "mm/ms", "conduction velocity for long-range delays = length / velocity (the predecessor: 3.5)", 0.01, 1000)
    delays: bool = _p(True, "", "long-range delays from tract lengths; False = every long-range delay equals delay_local "
                      "(identical treatment for real and null networks either way)")
    # optional slow excitation
    nmda_ratio: float = _p(0.3, "1", "NMDA-like slow current carries this fraction of the charge of the fast excitatory synaptic (not external) input, named regions only", 0, 10)
    tau_nmda: float = _p(150.0, "ms", "decay time of the NMDA-like current", 0.1, 10000)
    # optional tau_m from T1w/T2w
    tau_m_max: float = _p(30.0, "ms", "tau_m at the lowest T1w/T2w value (tau_m = max - (max-min) * (t1t2-lo)/(hi-lo))", 0.1, 1000)
    tau_m_min: float = _p(10.0, "ms", "tau_m at the highest T1w/T2w value", 0.1, 1000)

    def __post_init__(self):
        self._validate()
        if self.v_reset >= self.theta:
            raise ValueError(f"spiking parameter 'v_reset' = {self.v_reset} mV must be below 'theta' = {self.theta} mV")
        if self.tau_m_min > self.tau_m_max:
            raise ValueError("spiking parameter 'tau_m_min' must not exceed 'tau_m_max'")

    @property
    def j_ext(self) -> float:
        return self.J if self.J_ext < 0 else self.J_ext
