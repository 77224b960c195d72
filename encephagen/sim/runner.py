"""The one batched runner: ``simulate(...) -> SimResult``.

A leading batch axis stacks networks x noise seeds x parameter values; internally every
tensor is laid out batch-innermost, ``(node, batch)``, so that the delayed coupling reads
whole batch rows (see :mod:`encephagen.sim.coupling`). The same torch code runs on CPU
and CUDA, in float32 or float64. Times are in ms (dt, duration, transient, monitor
periods); each model's equations use its own time unit (``Model.time_unit_ms``).

Guarantees: randomness only from the explicit per-element seeds (all recorded in the
result); on CPU a network gives bitwise the same result alone or in any batch; invalid
inputs are refused naming the parameter; a run that diverges (NaN/inf) raises
:class:`SimulationDiverged` naming the batch elements and their parameters.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from encephagen.sim.coupling import DelayedCoupling, delay_steps
from encephagen.sim.integrators import INTEGRATORS
from encephagen.sim.models import Model, ParameterError, check_value, get_model
from encephagen.sim.monitors import (F64, ActivityStats, Bold, MonitorConfig, Record, acf_timescale, dominant_frequency,
                                     init_all, ratio, sample_all)
from encephagen.sim.noise import RNGS, NoiseSource, check_seeds
from encephagen.sim.regime import neural_mass_regimes

log = logging.getLogger(__name__)

METRICS = ("mean", "var", "rms", "acf_tau_ms", "dominant_freq_hz", "silenced")


class SimulationDiverged(FloatingPointError):
    """A simulation produced NaN/inf; the message names the batch elements and their parameters."""

    def __init__(self, message: str, elements: Sequence[int]):
        super().__init__(message)
        self.elements = list(elements)


@dataclass
class SimResult:
    """Everything a run produced, batch-first numpy arrays (B = batch size, n = regions)."""

    model: str
    n: int
    dt: float
    duration: float
    transient: float
    velocity: float | None
    integrator: str
    dtype: str
    device: str
    seeds: np.ndarray                 # (B,)
    G: np.ndarray                     # (B,)
    noise: np.ndarray                 # (B,)
    params: dict                      # name -> (B,) or (B, n)
    metrics: dict                     # name -> (B, n); see METRICS
    fc_activity: np.ndarray | None    # (B, n, n)
    fc_bold: np.ndarray | None        # (B, n, n)
    bold: np.ndarray | None           # (B, T_bold, n)
    bold_t: np.ndarray                # (T_bold,) ms
    record: np.ndarray                # (B, T_rec, n): last ticks of activity
    record_t: np.ndarray              # (T_rec,) ms (end of each tick)
    final_state: np.ndarray           # (B, n_state, n)
    monitor: MonitorConfig
    n_steps: int
    max_delay_steps: int
    delays_shared: bool
    wall_s: float
    labels: list = field(default_factory=list)
    compiled: bool = False
    regime: np.ndarray | None = None  # (B, n) int8 codes, see encephagen.sim.regime
    noise_rng: str = "torch"          # the noise generator (encephagen.sim.noise.RNGS)

    @property
    def batch_size(self) -> int:
        return int(self.seeds.size)


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' requested but torch sees no CUDA device (use 'auto' or 'cpu')")
    return dev


def _dtype(dtype) -> torch.dtype:
    table = {"float32": torch.float32, "float64": torch.float64, torch.float32: torch.float32,
             torch.float64: torch.float64}
    if dtype not in table:
        raise ParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return table[dtype]


def _positive(name, v):
    if v is None or not np.isfinite(v) or v <= 0:
        raise ParameterError(f"{name} must be a finite number > 0, got {v!r}")


def _resolve_params(model: Model, params, B: int, n: int, labels) -> dict[str, np.ndarray]:
    if params is None:
        params = model.params()
    elif isinstance(params, Mapping):
        params = dict(params)
        preset = params.pop("preset", None)
        params = model.params(preset, **params)
    elif not isinstance(params, model.params_cls):
        raise ParameterError(f"params for model {model.name!r} must be a {model.params_cls.__name__} or a dict, "
                             f"got {type(params).__name__}")
    out = {}
    spec = params.spec()
    for name, meta in spec.items():
        arr = np.asarray(getattr(params, name), dtype=float)
        if arr.ndim == 1 and arr.size == B:
            pass
        elif arr.ndim == 1 and arr.size == n:
            arr = arr[None, :]
        elif arr.ndim == 2 and arr.shape in ((B, n), (1, n)):
            pass
        elif arr.ndim == 0:
            pass
        else:
            raise ParameterError(f"parameter {name!r} has shape {arr.shape}; expected (), ({B},) per batch element, "
                                 f"({n},) per node or ({B}, {n})")
        check_value(name, arr, meta, labels=labels, owner=model.name)
        out[name] = arr
    return out


def _for_dfun(arr: np.ndarray, B: int, dtype, device):
    """Python float if uniform, else a tensor broadcasting against (n, B)."""
    if arr.size == 0 or np.all(arr == arr.flat[0]):
        return float(arr.flat[0])
    if arr.ndim == 1:               # (B,)
        t = arr[None, :]
    elif arr.shape[0] == 1:         # (1, n) per node
        t = arr.T
    else:                           # (B, n)
        t = arr.T
    return torch.as_tensor(np.ascontiguousarray(t), dtype=dtype, device=device)


def _describe(i: int, labels, params: dict, G, noise) -> str:
    lab = labels[i] if labels is not None and i < len(labels) else {}
    parts = [f"element {i}"]
    if lab:
        parts.append(", ".join(f"{k}={v}" for k, v in dict(lab).items()))
    parts.append(f"G={G[i]:g}, noise={noise[i]:g}")
    vals = []
    for k, v in params.items():
        if v.ndim >= 1 and v.shape[0] == G.size and v.shape[0] > 1:
            vals.append(f"{k}={np.asarray(v[i]).round(6).tolist()}")
    if vals:
        parts.append(", ".join(vals))
    return "(" + "; ".join(parts) + ")"


def simulate(model, weights, lengths=None, params=None, G=0.0, seeds=None, dt: float = 0.1,
             duration: float = 1000.0, transient: float = 0.0, velocity: float | None = None,
             noise=0.0, monitors: MonitorConfig | Mapping | None = None, device="cpu", dtype="float32",
             integrator: str = "euler", initial_state=None, labels: Sequence[Mapping] | None = None,
             noise_chunk: int = 256, progress: Callable[[int, int], None] | None = None,
             compile: bool | str = False, noise_rng: str = "auto") -> SimResult:
    """Simulate a batch of B networks.

    model: name or :class:`Model`; weights (B, n, n) or (n, n) [target, source]; lengths
    (same, mm; needed when velocity is set); params: the model's params dataclass or a dict
    of overrides (``preset`` picks a named set), each value (), (B,), (n,) or (B, n);
    G: global coupling, scalar or (B,); seeds: (B,) explicit integer seeds (required);
    dt, duration, transient in ms; velocity in m/s (None = no delays); noise: sigma,
    scalar or (B,), in the model's noise unit (additive on every state variable);
    monitors: :class:`MonitorConfig` or dict; labels: per-element dicts used in messages;
    compile: run the step through ``torch.compile`` (fused kernels: faster, same equations;
    'auto' = for runs of >= COMPILE_AUTO_STEPS steps, so the choice never depends on the
    batch; a failed compilation then runs eagerly, with a warning). Eager and compiled results
    agree to rounding, not bitwise; within one mode a network gives the same bits alone or in
    any batch (tested; compiled batches are padded to a multiple of 16 for that).
    noise_rng: 'torch' (one torch.Generator per element), 'philox' (counter-based, keyed by the seeds:
    one vectorised draw for the whole batch, the same numbers on CPU and CUDA) or 'auto' (philox on
    CUDA, where per-element generator calls would dominate, torch on a CPU); see
    :mod:`encephagen.sim.noise`. The choice is recorded in the result.

    The parts, in order: :func:`plan_run` (validate, numpy), :func:`pad_plan` (compiled batches),
    :func:`prepare` (tensors, coupling, noise, monitors), :func:`run_steps` (the step loop),
    :func:`finish` (metrics, regimes, the result of the first B elements).
    """
    t_start = time.perf_counter()
    plan = plan_run(model, weights, lengths, params, G, seeds, dt, duration, transient, velocity, noise,
                    monitors, device, dtype, integrator, initial_state, labels, noise_chunk, compile, noise_rng)
    if plan.use_compile and plan.B > 1:
        plan = pad_plan(plan, _compile_batch(plan.B))
    # inference mode: no autograd bookkeeping per op (version counters, the Autograd dispatch key):
    # the same kernels and bits, ~15 % less per-op overhead at batch 1 (docs/simulation.md)
    with torch.inference_mode(INFERENCE_MODE):
        run = prepare(plan)
        try:
            run_steps(plan, run, progress)
            return finish(plan, run, t_start)
        except SimulationDiverged as exc:    # padding elements are never named
            if plan.B == plan.n_real:
                raise
            raise SimulationDiverged(str(exc), [i for i in exc.elements if i < plan.n_real]) from None


@dataclass
class RunPlan:
    """A checked run, numpy and batch-first: what :func:`prepare` turns into tensors. ``n_real``:
    the caller's batch size (B > n_real when :func:`pad_plan` added padding elements)."""

    model: Model
    weights: np.ndarray                # (B, n, n) [target, source]
    lags: np.ndarray                   # (B, n, n) delays in steps
    seeds: np.ndarray                  # (B,)
    G: np.ndarray                      # (B,)
    noise: np.ndarray                  # (B,)
    params: dict                       # name -> (), (B,), (1, n) or (B, n)
    initial_state: np.ndarray | None   # (B, n_state, n)
    labels: list | None
    dt: float
    duration: float
    transient: float
    velocity: float | None
    integrator: str
    dtype: torch.dtype
    device: torch.device
    monitors: MonitorConfig
    n_steps: int
    tick: int                          # steps per monitor tick
    transient_ticks: int
    use_compile: bool
    compile: bool | str                # the caller's option ('auto' may fall back to eager)
    noise_chunk: int
    n_real: int
    noise_rng: str = "torch"

    @property
    def B(self) -> int:
        return int(self.seeds.size)

    @property
    def n(self) -> int:
        return int(self.weights.shape[1])


def plan_run(model, weights, lengths=None, params=None, G=0.0, seeds=None, dt=0.1, duration=1000.0,
             transient=0.0, velocity=None, noise=0.0, monitors=None, device="cpu", dtype="float32",
             integrator="euler", initial_state=None, labels=None, noise_chunk=256, compile=False,
             noise_rng="auto") -> RunPlan:
    """Check every input of :func:`simulate` (a :class:`ParameterError` names the parameter) and
    return the run as a :class:`RunPlan`. Nothing is allocated on the device."""
    model = get_model(model)
    tdtype = _dtype(dtype)
    dev = pick_device(device)
    if integrator not in INTEGRATORS:
        raise ParameterError(f"integrator must be one of {sorted(INTEGRATORS)}, got {integrator!r}")
    if noise_rng == "auto":
        noise_rng = "philox" if dev.type == "cuda" else "torch"
    if noise_rng not in RNGS:
        raise ParameterError(f"noise_rng must be 'auto' or one of {list(RNGS)}, got {noise_rng!r}")
    seeds = check_seeds(seeds)
    B = seeds.size
    if labels is not None and len(labels) != B:
        raise ParameterError(f"{len(labels)} labels for a batch of {B}")

    w = np.asarray(weights, dtype=float)
    if w.ndim == 2:
        w = np.broadcast_to(w, (B, *w.shape))
    if w.ndim != 3 or w.shape[1] != w.shape[2] or w.shape[0] != B:
        raise ParameterError(f"weights must be (n, n) or ({B}, n, n) for {B} seeds, got shape {w.shape}")
    if not np.isfinite(w).all():
        b, i, j = (int(v) for v in np.argwhere(~np.isfinite(w))[0])
        raise ParameterError(f"weights of batch element {b} are not finite at [{i}, {j}]")
    n = w.shape[1]

    for name, v in (("dt", dt), ("duration", duration)):
        _positive(name, v)
    if transient is None or not np.isfinite(transient) or transient < 0 or transient >= duration:
        raise ParameterError(f"transient must be >= 0 and < duration ({duration} ms), got {transient!r}")
    n_steps = int(round(duration / dt))
    if abs(n_steps * dt - duration) > 1e-9 * duration:
        raise ParameterError(f"duration {duration} ms is not a multiple of the step dt = {dt} ms")
    if monitors is None:
        monitors = MonitorConfig()
    elif isinstance(monitors, Mapping):
        monitors = MonitorConfig(**monitors)
    monitors.validate(dt)
    tick = ratio(dt, monitors.period)
    if n_steps % tick:
        raise ParameterError(f"duration {duration} ms is not a multiple of the monitor period {monitors.period} ms")
    transient_ticks = int(round(transient / monitors.period))
    if abs(transient_ticks * monitors.period - transient) > 1e-9 * max(1.0, transient):
        raise ParameterError(f"transient {transient} ms is not a multiple of the monitor period {monitors.period} ms")
    monitors.check_bold_samples(duration, transient)    # too few BOLD samples: refused before running

    if velocity is not None:
        if lengths is None:
            raise ParameterError("velocity is set but no lengths were given (pass lengths, or velocity=None for no delays)")
        ln = np.asarray(lengths, dtype=float)
        if ln.ndim == 2:
            ln = np.broadcast_to(ln, w.shape)
        if ln.shape != w.shape:
            raise ParameterError(f"lengths have shape {ln.shape}, weights {w.shape}")
        lags = delay_steps(ln, float(velocity), dt)
    else:
        lags = np.zeros(w.shape, dtype=np.int64)

    Gs = np.broadcast_to(np.asarray(G, dtype=float), (B,)).copy()
    check_value("G", Gs, {"bounds": (0.0, math.inf), "unit": "1", "doc": "global coupling"}, labels=labels)
    sig = np.broadcast_to(np.asarray(noise, dtype=float), (B,)).copy()
    check_value("noise", sig, {"bounds": (0.0, math.inf), "unit": model.noise_unit, "doc": "noise sigma"},
                labels=labels)
    pvals = _resolve_params(model, params, B, n, labels)
    x0 = None
    if initial_state is not None:
        x0 = np.asarray(initial_state, dtype=float)
        if x0.ndim == 2:
            x0 = np.broadcast_to(x0, (B, *x0.shape))
        if x0.shape != (B, model.n_state, n):
            raise ParameterError(f"initial_state must be ({model.n_state}, {n}) or ({B}, {model.n_state}, {n}), "
                                 f"got {x0.shape}")
    return RunPlan(model=model, weights=w, lags=lags, seeds=seeds, G=Gs, noise=sig, params=pvals,
                   initial_state=x0, labels=None if labels is None else list(labels), dt=float(dt),
                   duration=float(duration), transient=float(transient),
                   velocity=None if velocity is None else float(velocity), integrator=integrator, dtype=tdtype,
                   device=dev, monitors=monitors, n_steps=n_steps, tick=tick, transient_ticks=transient_ticks,
                   use_compile=_want_compile(compile, n_steps), compile=compile, noise_chunk=int(noise_chunk),
                   n_real=B, noise_rng=noise_rng)


def pad_plan(plan: RunPlan, B: int) -> RunPlan:
    """The plan with ``B - plan.B`` padding elements: copies of the last element with noise 0,
    labelled ``{"padding": True}`` (their results are dropped by :func:`finish`).

    Why: inductor's compiled kernels round differently for some batch sizes; on batches padded to
    a multiple of 16 a network gets the same bits alone or in any batch (tested). Small batches are
    padded to COMPILE_MIN_BATCH so that they share one compiled shape (a workflow's real-network
    batch and its operating-point pre-sweep: one compilation less)."""
    k = B - plan.B
    if k <= 0:
        return plan
    B0 = plan.B
    pad = lambda a: np.concatenate([a, np.repeat(a[-1:], k, axis=0)], axis=0)   # noqa: E731
    return replace(
        plan, weights=pad(plan.weights), lags=pad(plan.lags), seeds=pad(plan.seeds), G=pad(plan.G),
        noise=np.concatenate([plan.noise, np.zeros(k)]),
        params={name: (pad(v) if v.ndim >= 1 and v.shape[0] == B0 else v)   # per element; per node is (1, n)
                for name, v in plan.params.items()},
        initial_state=None if plan.initial_state is None else pad(plan.initial_state),
        labels=None if plan.labels is None else [*plan.labels, *([{"padding": True}] * k)])


@dataclass
class PreparedRun:
    """The tensors of a run: parameters (``p``, G included), the noise source, the state (a list
    of (n, B) tensors), the delayed coupling, the monitors and the step function."""

    p: dict
    noise: NoiseSource
    state: list
    coupling: DelayedCoupling
    monitors: list
    steps: Callable
    K: int                             # steps per call of ``steps``
    dt_model: float
    ticks: int = 0                     # monitor ticks done
    compiled: bool = False


def prepare(plan: RunPlan) -> PreparedRun:
    """Tensors on the plan's device: parameters, noise generators (each element's first draw is
    its initial-state uniforms), the initial state, the delay history, the monitors and the step
    function (compiled or eager)."""
    model, B, n, dev, tdtype = plan.model, plan.B, plan.n, plan.device, plan.dtype
    dtm = plan.dt / model.time_unit_ms
    p = {k: _for_dfun(v, B, tdtype, dev) for k, v in plan.params.items()}
    p["G"] = _for_dfun(plan.G, B, tdtype, dev)
    if plan.use_compile:   # values as tensors, so that a new parameter value does not recompile
        p = {k: (torch.tensor(v, dtype=tdtype, device=dev) if isinstance(v, float) else v) for k, v in p.items()}

    src = NoiseSource(plan.seeds, model.n_state, n, plan.noise, dtm, dev, tdtype, plan.noise_chunk, rng=plan.noise_rng,
                      compile=plan.use_compile)
    u = src.uniform_init()                                   # always the first draw of each generator
    if plan.initial_state is not None:
        x0 = plan.initial_state
        state = [torch.as_tensor(np.array(x0[:, k, :].T), dtype=tdtype, device=dev) for k in range(model.n_state)]
    else:
        state = [s.contiguous() for s in model.init(list(u.unbind(0)))]

    cv0 = model.pre(state)
    # per-network lags on CPU: the kernel of encephagen.sim.delay_kernel, on any number of threads
    # (docs/simulation.md, session 10: faster than the fused gather on 2 threads too)
    coup = DelayedCoupling(plan.weights, plan.lags, len(cv0), dev, tdtype,
                           replica_multiple=COMPILE_BATCH_MULTIPLE if plan.use_compile else 1)
    coup.fill(cv0)
    K = steps_per_call(plan.tick, plan.n_steps)
    monitors = make_monitors(plan, model)
    fns = [m.fused_fn() for m in _fusable(monitors)]
    steps = make_steps(model, INTEGRATORS[plan.integrator], dtm, coup, K, plan.tick if K >= plan.tick else None,
                       tick_fn=lambda states, x: tuple(f(s, x) for f, s in zip(fns, states)))
    return PreparedRun(p=p, noise=src, state=state, coupling=coup, monitors=monitors, steps=steps, K=K, dt_model=dtm)


def _fusable(monitors) -> list:
    """The monitors whose per-tick arithmetic a compiled call can do (``fused_fn``, ``fused_ready``,
    ``fused_state``, ``step_fused``: :class:`ActivityStats` and :class:`Bold`)."""
    return [m for m in monitors if hasattr(m, "fused_fn")]


def _direct(fn, args):
    """The compiled code of ``fn`` that dynamo's guards select for ``args``, as a function called
    without dynamo's per-call frame evaluation (guards, callbacks: ~40 % of a batch-1 call); None
    where it cannot be found (then the normal path). Only for a run whose calls all have inputs of
    the same kind, shape and layout as ``args`` (whole ticks per call: ``acc`` is always None), so
    the guards checked here hold for every call."""
    import types

    try:
        from torch._C._dynamo.eval_frame import _debug_get_cache_entry_list
    except ImportError:
        return None
    code = fn.__code__
    scope = dict(zip(code.co_varnames[:code.co_argcount], args))
    scope.update(zip(code.co_freevars, (c.cell_contents for c in fn.__closure__ or ())))
    for entry in _debug_get_cache_entry_list(code):
        try:
            ok = entry.guard_manager.check(scope)
        except Exception:   # noqa: BLE001
            return None
        if ok:
            return types.FunctionType(entry.code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    return None


def _pack(p: dict):
    """Compiled steps: the 0-d parameter tensors as one tensor, ``(names, packed, rest)`` (one graph
    input instead of one per parameter: fewer guards and size checks per call; the same values)."""
    names = tuple(k for k, v in p.items() if isinstance(v, torch.Tensor) and v.ndim == 0)
    if len(names) < 2:
        return p
    return names, torch.stack([p[k] for k in names]), {k: v for k, v in p.items() if k not in names}


def make_monitors(plan: RunPlan, model: Model) -> list:
    """The neural-mass monitors (:class:`encephagen.sim.monitors.Monitor`), each fed the mean
    activity of every monitor tick: statistics and FC of activity and the bounded record (from the
    end of the transient), BOLD when configured."""
    mc, n, B, dev = plan.monitors, plan.n, plan.B, plan.device
    tt = plan.transient_ticks
    mons = [ActivityStats(n, B, dev, mc.fc_activity, start=tt, fc_every=ratio(mc.period, mc.fc_period)),
            Record(mc.record_samples, n, B, dev, plan.dtype, start=tt, period=mc.period)]
    if mc.bold:
        mons.append(Bold(n, B, dev, mc.period, model.bold_scale, mc.bold_constants, transient=tt,
                         every=ratio(mc.period, mc.bold_period),
                         first=tt + int(round(mc.bold_warmup / mc.period))))
    return init_all(mons)


def run_steps(plan: RunPlan, run: PreparedRun, progress: Callable[[int, int], None] | None = None) -> None:
    """The step loop: K steps per call of the step function, the monitors at every tick, a
    finiteness check every ``noise_chunk`` steps (:class:`SimulationDiverged`)."""
    coup, K, L, tick = run.coupling, run.K, run.coupling.L, plan.tick
    use_compile = plan.use_compile
    steps = _compiled(run.steps) if use_compile else run.steps
    positions = coup.positions(K, tensors=use_compile)          # per slot p: the K history slots of a call
    chunk = max(1, plan.noise_chunk)
    noise = _NoiseFeed(run.noise, plan.n_steps, chunk)
    p = _pack(run.p) if use_compile and PACK_PARAMS else run.p
    args = (coup.history, coup.read_source, coup.wt, coup.strength, p)
    state, acc, pos, done = run.state, None, 0, 0
    calls_per_tick = max(1, tick // K)
    next_check = chunk
    # compiled calls of whole ticks advance the running sums and the BOLD state inside the call
    # (the monitors' fused path); a monitor takes a call's states when it was live at the call's start
    fused = _fusable(run.monitors) if use_compile and FUSED_MONITORS and K >= tick else []
    try:
        while done < plan.n_steps:
            eta = noise.take(K)
            t0 = run.ticks
            mstate = tuple(m.fused_state for m in fused) if fused else None
            if done == 0 and use_compile and plan.compile == "auto":
                try:         # compilation happens at the first call; without a working toolchain, run eagerly
                    state, acc, xs, ms = steps(state, positions[pos], eta, acc, *args, mstate)
                except Exception as exc:   # noqa: BLE001 -- any compiler failure; the run itself is unchanged
                    log.warning("compile='auto': torch.compile failed (%s: %s); running eagerly",
                                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                    use_compile, steps, fused = False, run.steps, []
                    positions = coup.positions(K, tensors=False)
                    state, acc, xs, ms = steps(state, positions[pos], eta, acc, *args)
            else:
                if done == K and use_compile and DIRECT_CALLS and K >= tick:   # every call: the same inputs
                    steps = _direct(run.steps, (state, positions[pos], eta, acc, *args, mstate)) or steps
                state, acc, xs, ms = steps(state, positions[pos], eta, acc, *args, mstate)
            pos = (pos + K) % L
            done += K
            if K < tick and (done // K) % calls_per_tick == 0:
                xs, acc = [(acc if tick == 1 else acc / tick).to(F64)], None
            live = {id(m): j for j, m in enumerate(fused) if m.fused_ready(t0)}
            for i, x in enumerate(xs):    # the ticks completed by this call, in order
                for m in run.monitors:
                    j = live.get(id(m))
                    if j is None:
                        m.step(run.ticks, x)
                    else:
                        m.step_fused(run.ticks, ms[i][j], x)
                run.ticks += 1
            if done >= next_check or done == plan.n_steps:
                next_check += chunk
                _check_finite(state, plan.labels, plan.params, plan.G, plan.noise, done * plan.dt)
                if progress is not None:
                    progress(done, plan.n_steps)
    finally:
        noise.close()
    run.state, run.compiled = state, use_compile


class _NoiseFeed:
    """The noise increments of K steps at a time, from chunks of ``chunk`` steps (the same draws
    whatever K and the batch); contiguous (B, K, S, n), so a compiled step never recompiles (a slice of
    a chunk is handed over as it is where it is contiguous, i.e. at batch 1, else copied)."""

    def __init__(self, src: NoiseSource, n_steps: int, chunk: int):
        self.src = src
        self.chunks = src.stream(n_steps, chunk)
        self.buf, self.off = None, 0

    def take(self, k: int):
        if not self.src.active:
            return None
        parts = []
        while k:
            if self.buf is None or self.off == self.buf.shape[1]:
                self.buf, self.off = next(self.chunks), 0
            t = min(k, self.buf.shape[1] - self.off)
            parts.append(self.buf[:, self.off:self.off + t])
            self.off += t
            k -= t
        if len(parts) > 1:
            return torch.cat(parts, dim=1)
        out = parts[0]          # a view of the chunk when contiguous (batch 1): no copy per call, with
        if out.is_contiguous() and NOISE_VIEWS:  # the standard strides (dynamo guards a size-1 axis's stride)
            return out.reshape(-1).view(out.shape)
        return out.clone(memory_format=torch.contiguous_format)

    def close(self):
        self.chunks.close()


def finish(plan: RunPlan, run: PreparedRun, t_start: float) -> SimResult:
    """Monitor results -> metrics and regimes; the :class:`SimResult` of the first ``n_real``
    elements (padding dropped). A NaN/inf BOLD raises :class:`SimulationDiverged`."""
    model, B, n, mc = plan.model, plan.B, plan.n, plan.monitors
    out = sample_all(run.monitors)
    bold_arr = out.get("bold")
    labels, pvals, Gs, sig = plan.labels, plan.params, plan.G, plan.noise
    if bold_arr is not None and not np.isfinite(bold_arr).all():
        bad = sorted(set(np.nonzero(~np.isfinite(bold_arr).all(axis=(1, 2)))[0].tolist()))
        raise SimulationDiverged("BOLD diverged (NaN/inf) for " + "; ".join(
            _describe(i, labels, pvals, Gs, sig) for i in bad), bad)
    record = out["record"]
    thr = model.silence_threshold if mc.silence_threshold is None else mc.silence_threshold
    metrics = {
        "mean": out["mean"], "var": out["var"], "rms": out["rms"],
        "acf_tau_ms": acf_timescale(record, mc.period),
        "dominant_freq_hz": dominant_frequency(record, mc.period, mc.welch_nperseg),
        "silenced": out["rms"] < thr,
    }
    final = np.stack([x.T.cpu().numpy() for x in run.state], axis=1)
    per_elem = {}
    for k_, v in pvals.items():
        if v.ndim == 0:
            per_elem[k_] = np.full(B, float(v))
        elif v.ndim == 1:
            per_elem[k_] = v.copy()
        elif v.shape[0] == 1:
            per_elem[k_] = np.broadcast_to(v, (B, n)).copy()
        else:
            per_elem[k_] = v.copy()
    regime = neural_mass_regimes(model.name, metrics, per_elem)
    R = plan.n_real
    cut = lambda a: None if a is None else a[:R]   # noqa: E731
    return SimResult(
        model=model.name, n=n, dt=plan.dt, duration=plan.duration, transient=plan.transient,
        velocity=plan.velocity, integrator=plan.integrator, dtype=str(plan.dtype).replace("torch.", ""),
        device=str(plan.device), seeds=plan.seeds[:R], G=Gs[:R], noise=sig[:R],
        params={k: v[:R] for k, v in per_elem.items()}, metrics={k: v[:R] for k, v in metrics.items()},
        fc_activity=cut(out["fc_activity"]), fc_bold=cut(out.get("fc_bold")), bold=cut(bold_arr),
        bold_t=out.get("bold_t", np.zeros(0)), record=record[:R], record_t=out["record_t"],
        final_state=final[:R], monitor=mc, n_steps=plan.n_steps, max_delay_steps=run.coupling.max_lag,
        delays_shared=run.coupling.shared, wall_s=time.perf_counter() - t_start,
        labels=[dict(x) for x in labels[:R]] if labels is not None else [], compiled=run.compiled, regime=regime[:R],
        noise_rng=plan.noise_rng,
    )


# batch-1 speed (issue 20 item 2, session 10); all True; benchmarks/bench_sim.py --batch1-ab sets them
# False for its "before" rows (the results' bits do not depend on INFERENCE_MODE, NOISE_VIEWS, PACK_PARAMS)
# simulate() runs in torch.inference_mode
INFERENCE_MODE = True
# the noise of a call handed over as a view of its chunk where that is contiguous (batch 1), not copied
NOISE_VIEWS = True
# compiled runs advance the monitors' running sums and BOLD state inside the compiled call (False: per
# tick outside, as before)
FUSED_MONITORS = True
PACK_PARAMS = True
# from a run's second compiled call on, call the compiled code that dynamo chose for its first call
# directly (_direct: the same code, without the guard evaluation and frame callbacks of every call)
DIRECT_CALLS = True
COMPILE_BATCH_MULTIPLE = 16
# compiled batches of 2..31 runs are padded to 32 (the default pre-sweep: 16 G x 2 seeds), so that
# the real network's batch (e.g. 2 seeds x 2 G) reuses the pre-sweep's compiled kernels from the
# on-disk cache instead of compiling its own shape (~25 CPU s saved per model and atlas)
COMPILE_MIN_BATCH = 32


def _compile_batch(B: int) -> int:
    """The batch size a compiled run of B > 1 elements is padded to."""
    m = COMPILE_BATCH_MULTIPLE
    return max(COMPILE_MIN_BATCH, -(-B // m) * m)


def _compiled(fn):
    import torch._dynamo

    cfg = torch._dynamo.config
    for name in ("cache_size_limit", "recompile_limit"):     # one graph per (model, B, dtype, dt, ...)
        if hasattr(cfg, name) and getattr(cfg, name) < 256:
            setattr(cfg, name, 256)
    return torch.compile(fn, dynamic=False)


MAX_STEPS_PER_CALL = 10
# ticks per call when a call is a whole tick: 1 (4 measured at batch 1: ~1.3x faster runs, but a 4x
# larger graph whose first compilation took ~2.3x longer, for every compiled shape; docs/simulation.md
# "Batch 1 (issue 20 item 2, session 9)")
MAX_TICKS_PER_CALL = 1


def steps_per_call(tick: int, n_steps: int | None = None) -> int:
    """Steps per call of the step function: the largest divisor of the monitor tick <= 10; when
    that is the whole tick, m ticks per call, m the largest divisor of the run's tick count
    <= MAX_TICKS_PER_CALL (fewer calls: at batch 1 each call's fixed cost exceeds its
    arithmetic). Depends on the tick and the run's length, never on the batch."""
    k = max(k for k in range(1, min(tick, MAX_STEPS_PER_CALL) + 1) if tick % k == 0)
    if k < tick or n_steps is None:
        return k
    ticks = n_steps // tick
    return tick * max(m for m in range(1, MAX_TICKS_PER_CALL + 1) if ticks % m == 0)


def make_steps(model: Model, integrator, dt_model: float, coupling: DelayedCoupling, K: int,
               tick: int | None = None, tick_fn: Callable | None = None):
    """K integration steps as one function of tensors (run eagerly, or fused by torch.compile):
    ``k_steps(state, positions, eta, acc, history, source, wt, strength, p, mstate=None) -> (state, acc,
    xs, ms)``: ``xs`` the mean activity (float64) of each tick completed inside the call (``tick`` steps
    each, when K is a multiple of ``tick``; else none, and the runner completes the tick from ``acc``);
    with ``mstate`` (a monitor's state, e.g. BOLD's (X, F, Q, V)), ``tick_fn(mstate, x) -> mstate`` is
    applied at each completed tick and ``ms`` are the states after each (else ``ms`` is empty): the
    per-tick monitor arithmetic inside the compiled call instead of ~20 small ops per tick outside.

    Per step: the model's coupled variables (``pre``) into the delay history, the delayed
    weighted sums (:func:`encephagen.sim.coupling.delayed_sums`), the coupling term (``post``, where
    G enters), the local dynamics (``dfun``) through the integrator with the step's noise, and the
    observed activity added to the tick accumulator ``acc`` (a flat running sum, so the result does
    not depend on K). ``positions``: the K history slots of this call
    (:meth:`DelayedCoupling.positions`).
    """
    dfun, pre, observe, term = model.dfun, model.pre, model.observe, model.coupling_term
    write, read = coupling.write, coupling.sums_at

    def k_steps(state, positions, eta, acc, history, source, wt, strength, p, mstate=None):
        if isinstance(p, tuple):      # compiled: the scalar parameters packed in one tensor (_pack)
            names, packed, rest = p
            p = {**rest, **dict(zip(names, packed.unbind(0)))}
        xs, ms = [], []
        for k in range(K):
            pk = positions[k]
            write(history, pk, pre(state))
            coupled = read(history, source, wt, pk)
            e = None if eta is None else eta[:, k].permute(1, 2, 0).unbind(0)   # (n, B) views
            state = integrator(lambda st, c=coupled: dfun(st, term(c, strength, st, p), p), state, dt_model, e)
            o = observe(state)
            acc = o if acc is None else acc + o
            if tick is not None and (k + 1) % tick == 0:      # a tick completed inside the call
                x = (acc if tick == 1 else acc / tick).to(torch.float64)
                xs.append(x)
                if mstate is not None:
                    mstate = tick_fn(mstate, x)
                    ms.append(mstate)
                acc = None
        return state, acc, xs, ms

    return k_steps


COMPILE_AUTO_STEPS = 50_000   # 'auto' compiles runs of at least this many steps (5 s at dt 0.1 ms)


def _want_compile(compile, n_steps: int) -> bool:
    if compile in (True, False):
        return compile
    if compile == "auto":
        return n_steps >= COMPILE_AUTO_STEPS
    raise ParameterError(f"compile must be true, false or 'auto', got {compile!r}")


def _check_finite(state, labels, pvals, G, sig, t_ms):
    ok = torch.stack([torch.isfinite(x).all(0) for x in state]).all(0)
    if bool(ok.all()):
        return
    bad = np.nonzero(~ok.cpu().numpy())[0].tolist()
    msg = (f"simulation diverged (NaN/inf) by t = {t_ms:g} ms for {len(bad)} of {ok.numel()} batch elements: "
           + "; ".join(_describe(i, labels, pvals, G, sig) for i in bad[:20])
           + (" ..." if len(bad) > 20 else "")
           + ". Lower G, the noise or dt, or check the parameters.")
    raise SimulationDiverged(msg, bad)
