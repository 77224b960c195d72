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

from encephagen.sim.coupling import DelayedCoupling, delay_steps, delayed_sums
from encephagen.sim.integrators import INTEGRATORS
from encephagen.sim.models import CouplingInput, Model, ParameterError, check_value, get_model
from encephagen.sim.monitors import (F64, ActivityStats, BoldMonitor, MonitorConfig, Record, acf_timescale,
                                     dominant_frequency, ratio)
from encephagen.sim.noise import NoiseSource, check_seeds

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
             compile: bool | str = False) -> SimResult:
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
    """
    t_start = time.perf_counter()
    model = get_model(model)
    tdtype = _dtype(dtype)
    dev = pick_device(device)
    if integrator not in INTEGRATORS:
        raise ParameterError(f"integrator must be one of {sorted(INTEGRATORS)}, got {integrator!r}")
    step_fn = INTEGRATORS[integrator]
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

    use_compile = _want_compile(compile, n_steps)
    if use_compile and B > 1 and (B % COMPILE_BATCH_MULTIPLE or B < COMPILE_MIN_BATCH):
        # inductor's kernels round differently for some batch sizes; on batches padded to a
        # multiple of 16 a network gets the same bits alone or in any batch (tested). Small
        # batches are padded to COMPILE_MIN_BATCH, so that they share one compiled shape (a
        # workflow's real-network batch and its operating-point pre-sweep: one compilation less)
        k = _compile_batch(B) - B
        pad = lambda a: np.concatenate([a, np.repeat(a[-1:], k, axis=0)], axis=0)   # noqa: E731
        x0 = None
        if initial_state is not None:
            x0 = np.asarray(initial_state, dtype=float)
            x0 = pad(np.broadcast_to(x0, (B, *x0.shape)) if x0.ndim == 2 else x0)
        try:
            res = simulate(model, pad(w), None if velocity is None else pad(ln), params={
                name: (pad(v) if v.ndim >= 1 and v.shape[0] == B else v)   # per element; per node is (1, n)
                for name, v in pvals.items()}, G=pad(Gs), seeds=pad(seeds), dt=dt, duration=duration,
                transient=transient, velocity=velocity, noise=np.concatenate([sig, np.zeros(k)]),
                monitors=monitors, device=device, dtype=dtype, integrator=integrator, initial_state=x0,
                labels=None if labels is None else [*labels, *([{"padding": True}] * k)],
                noise_chunk=noise_chunk, progress=progress, compile=compile)
        except SimulationDiverged as exc:
            raise SimulationDiverged(str(exc), [i for i in exc.elements if i < B]) from None
        return _take(res, B, t_start)
    dtm = dt / model.time_unit_ms
    p = {k: _for_dfun(v, B, tdtype, dev) for k, v in pvals.items()}
    p["G"] = _for_dfun(Gs, B, tdtype, dev)
    if use_compile:   # values as tensors, so that a new parameter value does not recompile
        p = {k: (torch.tensor(v, dtype=tdtype, device=dev) if isinstance(v, float) else v) for k, v in p.items()}

    src = NoiseSource(seeds, model.n_state, n, sig, dtm, dev, tdtype, noise_chunk)
    u = src.uniform_init()                                   # always the first draw of each generator
    if initial_state is not None:
        x0 = np.asarray(initial_state, dtype=float)
        if x0.ndim == 2:
            x0 = np.broadcast_to(x0, (B, *x0.shape))
        if x0.shape != (B, model.n_state, n):
            raise ParameterError(f"initial_state must be ({model.n_state}, {n}) or ({B}, {model.n_state}, {n}), "
                                 f"got {x0.shape}")
        state = [torch.as_tensor(np.array(x0[:, k, :].T), dtype=tdtype, device=dev)
                 for k in range(model.n_state)]
    else:
        state = [s.contiguous() for s in model.init(list(u.unbind(0)))]

    cv0 = model.coupled(state)
    coup = DelayedCoupling(w, lags, len(cv0), dev, tdtype,
                           replica_multiple=COMPILE_BATCH_MULTIPLE if use_compile else 1)
    coup.fill(cv0)
    strength = coup.strength

    stats = ActivityStats(n, B, dev, monitors.fc_activity)
    fc_ticks = ratio(monitors.period, monitors.fc_period)
    rec = Record(monitors.record_samples, n, B, dev, tdtype)
    bold = (BoldMonitor(n, B, dev, monitors.period / 1000.0, model.bold_scale, monitors.bold_constants)
            if monitors.bold else None)
    bold_ticks = ratio(monitors.period, monitors.bold_period) if monitors.bold else 0
    # BOLD starts after the transient at the fixed point of the mean activity of the transient's
    # last half (the first post-transient tick's without a transient); samples within
    # bold_warmup after the transient are discarded (see encephagen.sim.monitors)
    bold_from = transient_ticks + (int(round(monitors.bold_warmup / monitors.period)) if monitors.bold else 0)
    init_from = transient_ticks - transient_ticks // 2
    init_sum, init_n = None, 0

    K = steps_per_call(tick)
    eager_steps = run_steps = make_steps(model, step_fn, dtm, coup.shared, n, coup.V, coup.L, K)
    if use_compile:
        run_steps = _compiled(eager_steps)
    hist, wt, source, L = coup.history, coup.wt, coup.read_source, coup.L
    pos_lists = [[(p0 + 1 + k) % L for k in range(K)] for p0 in range(L)]
    pos_tensors = (torch.as_tensor([[[q, q + L] for q in row] for row in pos_lists], dtype=torch.int64, device=dev)
                   if use_compile else None)                                       # (L, K, 2)
    chunk = max(1, int(noise_chunk))
    noise_chunks = src.stream(n_steps, chunk)   # same draws whatever K and the batch
    noise_buf, noise_off = None, 0

    def take_noise(k):
        nonlocal noise_buf, noise_off
        if not src.active:
            return None
        parts = []
        while k:
            if noise_buf is None or noise_off == noise_buf.shape[1]:
                noise_buf, noise_off = next(noise_chunks), 0
            t = min(k, noise_buf.shape[1] - noise_off)
            parts.append(noise_buf[:, noise_off:noise_off + t])
            noise_off += t
            k -= t
        # contiguous (B, K, S, n): fixed strides, so a compiled step never recompiles
        out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return out.clone(memory_format=torch.contiguous_format)

    pos, done, tick_i, acc = 0, 0, 0, None
    calls_per_tick = tick // K
    next_check = chunk
    try:
        while done < n_steps:
            positions = pos_tensors[pos] if use_compile else pos_lists[pos]
            eta = take_noise(K)
            if done == 0 and use_compile and compile == "auto":
                try:         # compilation happens at the first call; without a working toolchain, run eagerly
                    state, acc = run_steps(state, hist, source, positions, wt, strength, p, eta, acc)
                except Exception as exc:   # noqa: BLE001 -- any compiler failure; the run itself is unchanged
                    log.warning("compile='auto': torch.compile failed (%s: %s); running eagerly",
                                type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                    use_compile, run_steps = False, eager_steps
                    state, acc = run_steps(state, hist, source, positions, wt, strength, p, eta, acc)
            else:
                state, acc = run_steps(state, hist, source, positions, wt, strength, p, eta, acc)
            pos = (pos + K) % L
            done += K
            if (done // K) % calls_per_tick == 0:
                m = acc if tick == 1 else acc / tick
                acc = None
                m64 = m.to(F64)
                if bold is not None:
                    if tick_i < transient_ticks:
                        if tick_i >= init_from:
                            init_sum = m64.clone() if init_sum is None else init_sum + m64
                            init_n += 1
                    else:
                        if tick_i == transient_ticks:
                            bold.set_steady_state(m64 if init_sum is None else init_sum / init_n)
                        bold.update(m64)
                        if (tick_i + 1) % bold_ticks == 0 and tick_i >= bold_from:
                            bold.sample((tick_i + 1) * monitors.period)
                if tick_i >= transient_ticks:
                    stats.update(m64, fc=(tick_i - transient_ticks) % fc_ticks == 0)
                    rec.update(m)
                tick_i += 1
            if done >= next_check or done == n_steps:
                next_check += chunk
                _check_finite(state, labels, pvals, Gs, sig, done * dt)
                if progress is not None:
                    progress(done, n_steps)
    finally:
        noise_chunks.close()

    mean, var, rms, fc_act = stats.result()
    record = rec.result()
    t_rec = (np.arange(transient_ticks, tick_i)[-record.shape[1]:] + 1) * monitors.period if record.shape[1] else np.zeros(0)
    bold_arr, bold_t, fc_bold = bold.result() if bold is not None else (None, np.zeros(0), None)
    if bold_arr is not None and not np.isfinite(bold_arr).all():
        bad = sorted(set(np.nonzero(~np.isfinite(bold_arr).all(axis=(1, 2)))[0].tolist()))
        raise SimulationDiverged("BOLD diverged (NaN/inf) for " + "; ".join(
            _describe(i, labels, pvals, Gs, sig) for i in bad), bad)
    thr = model.silence_threshold if monitors.silence_threshold is None else monitors.silence_threshold
    metrics = {
        "mean": mean, "var": var, "rms": rms,
        "acf_tau_ms": acf_timescale(record, monitors.period),
        "dominant_freq_hz": dominant_frequency(record, monitors.period, monitors.welch_nperseg),
        "silenced": rms < thr,
    }
    final = np.stack([x.T.cpu().numpy() for x in state], axis=1)
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
    from encephagen.sim.regime import neural_mass_regimes

    regime = neural_mass_regimes(model.name, metrics, per_elem)
    return SimResult(
        model=model.name, n=n, dt=float(dt), duration=float(duration), transient=float(transient),
        velocity=None if velocity is None else float(velocity), integrator=integrator,
        dtype=str(tdtype).replace("torch.", ""), device=str(dev), seeds=seeds, G=Gs, noise=sig,
        params=per_elem, metrics=metrics, fc_activity=fc_act, fc_bold=fc_bold, bold=bold_arr, bold_t=bold_t,
        record=record, record_t=t_rec, final_state=final, monitor=monitors, n_steps=n_steps,
        max_delay_steps=coup.max_lag, delays_shared=coup.shared, wall_s=time.perf_counter() - t_start,
        labels=[dict(x) for x in labels] if labels is not None else [], compiled=use_compile, regime=regime,
    )


def _take(res: SimResult, B: int, t_start: float) -> SimResult:
    """The first B elements of a (padded) result."""
    cut = lambda a: None if a is None else a[:B]   # noqa: E731
    return replace(res, seeds=res.seeds[:B], G=res.G[:B], noise=res.noise[:B],
                   params={k: v[:B] for k, v in res.params.items()},
                   metrics={k: v[:B] for k, v in res.metrics.items()}, fc_activity=cut(res.fc_activity),
                   fc_bold=cut(res.fc_bold), bold=cut(res.bold), record=res.record[:B],
                   final_state=res.final_state[:B], labels=res.labels[:B] if res.labels else [],
                   regime=cut(res.regime),
                   wall_s=time.perf_counter() - t_start)


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


def steps_per_call(tick: int) -> int:
    """Steps per call of the step function: the largest divisor of the monitor tick <= 10
    (depends only on the tick, never on the batch)."""
    return max(k for k in range(1, min(tick, MAX_STEPS_PER_CALL) + 1) if tick % k == 0)


def make_steps(model: Model, integrator, dt_model: float, shared: bool, n: int, V: int, L: int, K: int):
    """K integration steps as one function of tensors (run eagerly, or fused by torch.compile).

    Per step: write the coupled variables into the delay history (slots p and p + L), read
    the delayed weighted sums, model dfun -> integrator (+ the step's noise), and add the
    observed activity to the tick accumulator ``acc`` (a flat running sum, so the result does
    not depend on K). ``positions``: the K history slots (ints, or a tensor when compiled).
    """
    dfun, coupled, observe = model.dfun, model.coupled, model.observe

    def k_steps(state, history, source, positions, wt, strength, p, eta, acc):
        for k in range(K):
            cv = coupled(state)
            vals = cv[0].unsqueeze(1) if V == 1 else torch.stack(cv, dim=1)          # (n, V, B)
            pk = positions[k]
            if isinstance(pk, int):          # eager: plain slots and views
                history[pk] = vals
                history[pk + L] = vals
                index = source[pk] if shared else source + pk
            else:                            # compiled: pk = tensor [p, p + L], no graph break
                history.index_copy_(0, pk, vals.unsqueeze(0).expand(2, -1, -1, -1))
                index = source.index_select(0, pk[:1]).view(-1) if shared else source + pk[0]
            cin = CouplingInput(delayed_sums(history, index, wt, shared, n, V), strength)
            e = None if eta is None else eta[:, k].permute(1, 2, 0).unbind(0)   # (n, B) views
            state = integrator(lambda st, cin=cin: dfun(st, cin, p), state, dt_model, e)
            o = observe(state)
            acc = o if acc is None else acc + o
        return state, acc

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
