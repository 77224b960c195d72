"""Spiking networks as arrays: neurons, a CSR of outgoing synapses, and the external drive.

Conventions
-----------
* Connectome matrices are ``[target, source]`` (coupling input = W @ x), as everywhere in
  encephagen; synapse lists carry explicit ``source`` and ``target`` arrays.
* Dale's law: a neuron is excitatory or inhibitory (``is_exc``); every outgoing synapse of an
  excitatory neuron has a positive weight on the excitatory current (channel 0), every
  outgoing synapse of an inhibitory neuron a negative weight on the inhibitory current
  (channel 1). :func:`check_dale` asserts it; every builder calls it.
* Weights are stored as current jumps (mV): a delta-equivalent efficacy J becomes
  ``J * tau_m(target) / tau_syn(channel)``.
* Neurons are ordered region-major: region 0's E cells, region 0's I cells, region 1's ...

External drive (Brunel 2000, in-degree based)
---------------------------------------------
Each neuron receives ``C_ext = C_E`` independent Poisson inputs of efficacy ``J_ext``, where
``C_E = p_int * n_e`` is the expected local excitatory in-degree (a constant of the config,
hence identical for real and null networks). Brunel's threshold rate is
``nu_thr = theta / (J_ext * C_E * tau_m)`` (the rate at which the external input alone brings
the mean membrane potential to threshold), and each input fires at ``eta * nu_thr``. The
summed external rate is therefore ``C_E * eta * nu_thr = eta * theta / (J_ext * tau_m)`` and
the mean external input ``eta * theta`` whatever the in-degree; its variance is
``J_ext * eta * theta / 2`` (in mV^2, delta-synapse limit). With per-region tau_m (T1w/T2w),
nu_thr uses each neuron's own tau_m, so the mean drive is the same everywhere.
The predecessor's formula is the reference point: j_eff = J * 16 / C_E,
nu_thr = theta / (j_eff * C_ext * tau_m), external rate = C_ext * nu_thr * 3.5, i.e. the same
threshold rate with eta = 3.5 and efficacies renormalised so that C_E * j_eff = 16 mV.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from encephagen.spiking.params import LIFParams


class DaleError(ValueError):
    """A neuron has outgoing synapses of the wrong sign or onto the wrong current."""


@dataclass
class LIFNetwork:
    """One network. All per-neuron arrays have length ``n``; synapse arrays length ``nnz``."""

    region: np.ndarray          # (n,) int32 region of each neuron
    is_exc: np.ndarray          # (n,) bool
    tau_m: np.ndarray           # (n,) float32 ms
    bias: np.ndarray            # (n,) float32 mV constant input (0 unless set, e.g. f-I curves)
    ext_rate: np.ndarray        # (n,) float64 Hz, summed external Poisson event rate
    w_ext: np.ndarray           # (n,) float32 mV current jump per external event
    nmda_ratio: np.ndarray      # (n,) float32 (0 outside NMDA regions)
    indptr: np.ndarray          # (n+1,) int64, CSR by source
    target: np.ndarray          # (nnz,) int32
    channel: np.ndarray         # (nnz,) int8: 0 excitatory current, 1 inhibitory current
    weight: np.ndarray          # (nnz,) float32 mV (signed)
    delay: np.ndarray           # (nnz,) int32 steps (>= 1)
    dt: float                   # ms
    params: LIFParams
    n_regions: int
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.region.shape[0])

    @property
    def nnz(self) -> int:
        return int(self.target.shape[0])

    @property
    def source(self) -> np.ndarray:
        return np.repeat(np.arange(self.n, dtype=np.int32), np.diff(self.indptr))


def check_dale(net: LIFNetwork) -> None:
    """Raise :class:`DaleError` naming the first offending neuron unless Dale's law holds."""
    from encephagen.spiking._numba_kernels import dale_violations

    nbad, s = dale_violations(np.ascontiguousarray(net.indptr, np.int64), np.ascontiguousarray(net.is_exc, np.bool_),
                              np.ascontiguousarray(net.weight, np.float32), np.ascontiguousarray(net.channel, np.int8))
    if nbad:
        src = int(np.searchsorted(net.indptr, s, side="right") - 1)
        kind = "excitatory" if net.is_exc[src] else "inhibitory"
        raise DaleError(f"Dale's law violated: {kind} neuron {src} has a synapse onto {int(net.target[s])} "
                        f"with weight {float(net.weight[s])} on channel {int(net.channel[s])} ({nbad} such synapses)")


def delay_steps(delay_ms, dt: float) -> np.ndarray:
    """Delays in whole steps (rounded, at least one step)."""
    return np.maximum(np.rint(np.asarray(delay_ms, dtype=np.float64) / dt), 1).astype(np.int32)


def external_drive(params: LIFParams, tau_m: np.ndarray, c_e: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """(summed rate in Hz, current jump in mV, record) per neuron; see the module docstring."""
    j = params.j_ext
    tau_m = np.asarray(tau_m, dtype=np.float64)
    if j <= 0 or params.eta == 0:
        return np.zeros_like(tau_m), np.zeros(tau_m.shape, np.float32), {"nu_thr_hz": 0.0, "c_ext": c_e}
    c_ext = max(float(c_e), 1.0)
    nu_thr = params.theta / (j * c_ext * tau_m) * 1000.0  # Hz
    rate = c_ext * params.eta * nu_thr
    w = (j * tau_m / params.tau_e).astype(np.float32)
    rec = {"c_ext": c_ext, "nu_thr_hz_mean": float(nu_thr.mean()), "eta": params.eta, "J_ext": j,
           "rate_hz_mean": float(rate.mean()), "mean_input_mV": params.eta * params.theta}
    return rate, w, rec


def _finish(n, n_regions, region, is_exc, tau_m, params, dt, src, tgt, chan, wpsp, dsteps, meta, c_e):
    from encephagen.spiking._numba_kernels import build_csr

    # weights as current jumps: wpsp * tau_m(target) / tau_syn(channel), then the CSR by source
    # (rows sorted by target), in one compiled pass over the synapse list
    indptr, tgt, chan, w, d = build_csr(n, src, tgt, chan, wpsp, dsteps, tau_m, params.tau_e, params.tau_i)
    return _assemble(n, n_regions, region, is_exc, tau_m, params, dt, indptr, tgt, chan, w, d, meta, c_e)


def _assemble(n, n_regions, region, is_exc, tau_m, params, dt, indptr, tgt, chan, w, d, meta, c_e):
    rate, w_ext, rec = external_drive(params, tau_m, c_e)
    meta = dict(meta, drive=rec)
    net = LIFNetwork(region=region.astype(np.int32), is_exc=is_exc, tau_m=tau_m.astype(np.float32),
                     bias=np.zeros(n, np.float32), ext_rate=rate, w_ext=w_ext,
                     nmda_ratio=np.zeros(n, np.float32), indptr=indptr, target=tgt, channel=chan,
                     weight=w, delay=d, dt=float(dt), params=params, n_regions=int(n_regions), meta=meta)
    check_dale(net)
    return net


def brunel_network(n_e: int = 15360, n_i: int = 3840, c_e: int = 320, c_i: int = 80, J: float = 0.1,
                   g: float = 5.0, eta: float = 1.1, delay_ms: float = 1.5, dt: float = 0.1,
                   seed: int = 0, tau_m: float = 20.0, tau_s: float = 5.0, theta: float = 20.0,
                   v_reset: float = 0.0, t_ref: float = 2.0) -> LIFNetwork:
    """Brunel's (2000) sparse network with fixed in-degree (c_e E + c_i I inputs per neuron,
    sources drawn uniformly with replacement, i.e. multapses and autapses allowed as in NEST's
    default ``fixed_indegree``), one region, exponential current synapses."""
    from encephagen.seeds import numpy_rng
    from encephagen.spiking._numba_kernels import csr_fixed_indegree

    params = LIFParams(tau_m=tau_m, tau_e=tau_s, tau_i=tau_s, theta=theta, v_reset=v_reset, t_ref=t_ref,
                       n_e=n_e, n_i=n_i, J=J, g=g, eta=eta, delay_local=delay_ms,
                       p_int=min(1.0, c_e / max(n_e, 1)))
    rng = numpy_rng(seed)
    n = n_e + n_i
    src_e = rng.integers(0, n_e, size=(n, c_e), dtype=np.int64) if c_e else np.zeros((n, 0), np.int64)
    src_i = rng.integers(n_e, n, size=(n, c_i), dtype=np.int64) if c_i else np.zeros((n, 0), np.int64)
    is_exc = np.r_[np.ones(n_e, bool), np.zeros(n_i, bool)]
    tau = np.full(n, tau_m, np.float32)
    # current jumps exactly as _finish computes them (wpsp * tau_m / tau_syn in float64, to float32)
    tm0 = float(tau[0]) if n else tau_m
    w_e, w_i = np.float32(J * (tm0 / params.tau_e)), np.float32(-g * J * (tm0 / params.tau_i))
    indptr, tgt, chan, w, d = csr_fixed_indegree(src_e, src_i, w_e, w_i, int(delay_steps(delay_ms, dt)))
    return _assemble(n, 1, np.zeros(n, np.int32), is_exc, tau, params, dt, indptr, tgt, chan, w, d,
                     {"kind": "brunel", "seed": int(seed), "c_e": c_e, "c_i": c_i}, c_e)


def normalise_weights(weights: np.ndarray, params: LIFParams) -> np.ndarray:
    """w_norm in [0, 1] ([target, source]); zero diagonal."""
    w = np.array(weights, dtype=np.float64)
    np.fill_diagonal(w, 0.0)
    if params.weight_norm == "log1p":
        w = np.log1p(params.log_scale * w)
    mx = w.max()
    return w / mx if mx > 0 else w


def tau_m_from_t1t2(t1t2: np.ndarray, params: LIFParams, name: str = "t1t2") -> np.ndarray:
    """Per-region tau_m = max - (max - min) * (t1t2 - lo) / (hi - lo) (the predecessor: 30 - 20 x).

    lo/hi are the smallest/largest finite values; regions without a value (NaN) get
    ``params.tau_m`` and are named in a warning.
    """
    import logging

    t = np.asarray(t1t2, dtype=np.float64)
    ok = np.isfinite(t)
    if ok.sum() < 2:
        raise ValueError(f"{name}: fewer than two regions have a T1w/T2w value")
    lo, hi = t[ok].min(), t[ok].max()
    if hi <= lo:
        raise ValueError(f"{name}: T1w/T2w values are all equal: cannot map them to membrane time constants")
    out = np.full(t.shape, params.tau_m)
    out[ok] = params.tau_m_max - (params.tau_m_max - params.tau_m_min) * (t[ok] - lo) / (hi - lo)
    if (~ok).any():
        logging.getLogger(__name__).warning("%s: no T1w/T2w value for region(s) %s; they keep tau_m = %g ms",
                                            name, np.flatnonzero(~ok).tolist(), params.tau_m)
    return out


def connectome_network(weights: np.ndarray, lengths: np.ndarray | None, params: LIFParams, seed: int,
                       dt: float = 0.1, tau_m_region: np.ndarray | None = None,
                       nmda_regions: np.ndarray | None = None, name: str = "network") -> LIFNetwork:
    """A spiking network on a connectome (``weights[target, source]``, ``lengths`` in mm).

    Within each region: Bernoulli(p_int) between every ordered pair of distinct neurons,
    efficacy J from E cells and -g J from I cells, delay ``delay_local``. Between regions
    (source b -> target a, b != a), only from E cells, onto E and I cells: Bernoulli with
    probability ``p_between * w_norm[a, b]``, efficacy ``G * J * w_norm[a, b]**weight_exponent``
    (x ``ffi_scale`` onto I cells), delay ``lengths[a, b] / velocity`` (or ``delay_local`` if
    ``delays`` is False). Real and null networks go through exactly this code.
    """
    from encephagen.seeds import numpy_rng

    W = np.asarray(weights, dtype=np.float64)
    R = W.shape[0]
    if W.ndim != 2 or W.shape[1] != R:
        raise ValueError(f"{name}: weights must be square [target, source], got shape {W.shape}")
    if not np.all(np.isfinite(W)) or (W < 0).any():
        raise ValueError(f"{name}: weights must be finite and non-negative")
    wn = normalise_weights(W, params)
    if params.delays:
        if lengths is None:
            raise ValueError(f"{name}: delays are on (spiking.delays) but no tract lengths were given")
        L = np.asarray(lengths, dtype=np.float64)
        if L.shape != W.shape:
            raise ValueError(f"{name}: lengths shape {L.shape} differs from weights shape {W.shape}")
        conn = wn > 0
        badL = conn & ~(np.isfinite(L) & (L > 0))
        if badL.any():
            a, b = np.argwhere(badL)[0]
            raise ValueError(f"{name}: connected pair (target {a}, source {b}) has tract length {L[a, b]} "
                             f"(need > 0 mm with delays on; {int(badL.sum())} such pairs)")
        dmat = L / params.velocity
    else:
        dmat = np.full(W.shape, params.delay_local)
    rng = numpy_rng(seed)
    ne, ni = int(params.n_e), int(params.n_i)
    npr = ne + ni
    n = R * npr
    region = np.repeat(np.arange(R, dtype=np.int32), npr)
    local_exc = np.r_[np.ones(ne, bool), np.zeros(ni, bool)]
    is_exc = np.tile(local_exc, R)
    if tau_m_region is not None:
        tm = np.asarray(tau_m_region, dtype=np.float64)
        if tm.shape != (R,):
            raise ValueError(f"{name}: tau_m per region has shape {tm.shape}, expected ({R},)")
        tau_m = np.repeat(tm, npr).astype(np.float32)
    else:
        tau_m = np.full(n, params.tau_m, np.float32)
    # within-region: Bernoulli on every ordered pair (no autapses)
    mask = rng.random((R, npr, npr)) < params.p_int  # [region, target, source]
    idx = np.arange(npr)
    mask[:, idx, idx] = False
    rr, tt, ss = np.nonzero(mask)
    src_l = rr * npr + ss
    tgt_l = rr * npr + tt
    e_l = local_exc[ss]
    chan_l = np.where(e_l, 0, 1).astype(np.int8)
    w_l = np.where(e_l, params.J, -params.g * params.J)
    d_l = np.full(src_l.shape, delay_steps(params.delay_local, dt)[()], np.int32)
    # between regions: per (target region a, source region b) block of npr x ne pairs,
    # draw the Binomial count then distinct positions.
    p = np.clip(params.p_between * wn, 0.0, 1.0)
    np.fill_diagonal(p, 0.0)
    counts = rng.binomial(npr * ne, p)
    a_idx, b_idx = np.nonzero(counts)
    pos_list = []
    for a, b in zip(a_idx, b_idx):
        k = int(counts[a, b])
        pos_list.append(rng.choice(npr * ne, size=k, replace=False) if k > 0.05 * npr * ne
                        else _distinct(rng, npr * ne, k))
    if pos_list:
        nblk = np.array([len(x) for x in pos_list])
        pos = np.concatenate(pos_list)
        A = np.repeat(a_idx, nblk)
        B = np.repeat(b_idx, nblk)
        tloc, sloc = pos // ne, pos % ne
        src_g = B * npr + sloc
        tgt_g = A * npr + tloc
        onto_i = ~local_exc[tloc]
        w_g = params.G * params.J * wn[A, B] ** params.weight_exponent * np.where(onto_i, params.ffi_scale, 1.0)
        d_g = delay_steps(dmat[A, B], dt)
        keep = w_g > 0
        src_g, tgt_g, w_g, d_g = src_g[keep], tgt_g[keep], w_g[keep], d_g[keep]
    else:
        src_g = tgt_g = np.zeros(0, np.int64)
        w_g = np.zeros(0)
        d_g = np.zeros(0, np.int32)
    src = np.concatenate([src_l, src_g])
    tgt = np.concatenate([tgt_l, tgt_g]).astype(np.int32)
    chan = np.concatenate([chan_l, np.zeros(src_g.shape, np.int8)])
    wpsp = np.concatenate([w_l, w_g])
    d = np.concatenate([d_l, d_g]).astype(np.int32)
    c_e = params.p_int * max(ne - 1, 0) if ne else 0.0
    meta = {"kind": "connectome", "name": name, "seed": int(seed), "n_long_range": int(src_g.size),
            "n_local": int(src_l.size)}
    net = _finish(n, R, region, is_exc, tau_m, params, dt, src, tgt, chan, wpsp, d, meta, c_e)
    if nmda_regions is not None:
        nm = np.asarray(nmda_regions, dtype=bool)
        if nm.shape != (R,):
            raise ValueError(f"{name}: nmda_regions mask has shape {nm.shape}, expected ({R},)")
        net.nmda_ratio = np.where(nm[region], params.nmda_ratio, 0.0).astype(np.float32)
    return net


def _distinct(rng, pop: int, k: int) -> np.ndarray:
    """k distinct integers from range(pop) (k small relative to pop): draw, dedupe, top up."""
    out = np.unique(rng.integers(0, pop, size=k))
    while out.size < k:
        out = np.unique(np.concatenate([out, rng.integers(0, pop, size=k - out.size)]))
    return out


def uncoupled_network(n: int, params: LIFParams | None = None, bias: np.ndarray | float = 0.0,
                      ext_rate: np.ndarray | float = 0.0, w_ext: np.ndarray | float | None = None,
                      dt: float = 0.1, tau_m: np.ndarray | float | None = None) -> LIFNetwork:
    """``n`` unconnected excitatory neurons with constant input ``bias`` (mV) and/or Poisson input at
    ``ext_rate`` (Hz, summed) with jumps ``w_ext`` (mV; default J tau_m / tau_e). For f-I curves
    and single-neuron known answers."""
    params = params or LIFParams()
    tm = np.broadcast_to(np.asarray(params.tau_m if tau_m is None else tau_m, np.float64), (n,)).astype(np.float32)
    w = (params.J * tm / params.tau_e) if w_ext is None else np.broadcast_to(np.asarray(w_ext, np.float64), (n,))
    z = np.zeros(0)
    return LIFNetwork(region=np.zeros(n, np.int32), is_exc=np.ones(n, bool), tau_m=tm,
                      bias=np.broadcast_to(np.asarray(bias, np.float32), (n,)).copy(),
                      ext_rate=np.broadcast_to(np.asarray(ext_rate, np.float64), (n,)).copy(),
                      w_ext=np.asarray(w, np.float32).copy(), nmda_ratio=np.zeros(n, np.float32),
                      indptr=np.zeros(n + 1, np.int64), target=z.astype(np.int32), channel=z.astype(np.int8),
                      weight=z.astype(np.float32), delay=z.astype(np.int32), dt=float(dt), params=params,
                      n_regions=1, meta={"kind": "uncoupled"})
