"""An 80-neuron spiking central pattern generator with identified classes (after Rybak et al. 2015,
J Physiol 593:4511; Danner et al. 2017, eLife 6:e31050), arrays in, arrays out.

Classes (per hemicord, ``r`` and ``l``; 40 neurons each):

======  ===  ====  =================================================================
class    n   sign  role
======  ===  ====  =================================================================
RG_F     7   +     Shox2 flexor rhythm generator (spike-frequency adaptation)
RG_E     7   +     Shox2 extensor rhythm generator (spike-frequency adaptation)
V1       4   -     driven by RG_F; inhibits RG_E and the extensor motor neurons
V2b      4   -     driven by RG_E; inhibits RG_F and the flexor motor neurons;
                   also the contralateral target of V0v (Danner's "Ini")
V2a      4   +     driven by RG_F; premotor to MN_F, drives V0v
MN_F     4   +     flexor motor neurons (output)
MN_E     4   +     extensor motor neurons (output)
V0d      2   -     commissural: driven by RG_F, inhibits the contralateral RG_F
V0v      2   +     commissural: driven by V2a, excites the contralateral V2b (-> RG_F)
V3       2   +     commissural: driven by RG_F, excites the contralateral RG_F (weak;
                   promotes synchrony at high drive in Danner 2017)
======  ===  ====  =================================================================

The V1/V2b assignment follows the issue (V1 inhibits extensor motor neurons); the literature
assigns flexor/extensor preference of V1 and V2b with caveats (Zhang et al. 2014; Britz et al. 2015).

All connections come from ONE table, :data:`CONNECTIONS`, rows ``(source, target, side, sign,
weight, p)``: each (target neuron, source neuron) pair of the named classes on the same side
(``side='ipsi'``) or on opposite sides (``side='contra'``) is connected with probability ``p``
(drawn from a seeded generator) with weight ``sign * weight``. The weight matrix is oriented
**W[target, source]** like the rest of the project; a source spike adds column ``W[:, j]`` to the
targets' synaptic current. Signs must match the source class (Dale's law; checked).

Neuron model (one numba kernel, :func:`lif_adapt_block`, calling the spiking engine's neuron
update :func:`encephagen.spiking.update.lif_step`; dimensionless, threshold 1, reset 0, time in
seconds). Per step of length ``dt``, with ``e_m = exp(-dt/tau_m)``::

    I  = drive + s - a + stim
    v' = e_m v + (1 - e_m) I + sigma sqrt(1 - e_m^2) xi  (xi ~ N(0,1); exact for constant I;
                                                           stationary noise SD sigma)
    spike if v' >= 1: v' = 0, refractory t_ref (v held at 0)
    s' = s exp(-dt/tau_s) + W @ spike                    (one current-based synapse, tau_s)
    a' = a exp(-dt/tau_a) + b * spike                    (adaptation; b > 0 only for RG_F, RG_E)

The neuron update is shared with the spiking engine (encephagen.spiking.engine.LIFBatch); the
loop is this module's own, because the CPG's synapses have no delay (a spike reaches its targets'
current in the step it is emitted), dense 80 x 80 weights and Gaussian membrane noise, where the
engine's blocks need a delay of at least one step.

Motor output: the spike count of each motor pool (MN_F, MN_E per side) divided by pool size and
``dt`` is low-pass filtered with ``tau_motor`` into a rate (Hz); :meth:`SpinalCPG.motor` returns
rate / ``rate_max`` clipped to [0, 1] in the order (r_F, r_E, l_F, l_E); :func:`motor_to_action`
maps it linearly into body torques.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numba
import numpy as np

from encephagen.spiking._numba_kernels import cached
from encephagen.spiking.update import lif_step

SIDES = ("r", "l")
#: (class, neurons per side, sign of its outputs, adapting)
CLASSES = (
    ("RG_F", 7, +1, True), ("RG_E", 7, +1, True), ("V1", 4, -1, False), ("V2b", 4, -1, False),
    ("V2a", 4, +1, False), ("MN_F", 4, +1, False), ("MN_E", 4, +1, False),
    ("V0d", 2, -1, False), ("V0v", 2, +1, False), ("V3", 2, +1, False),
)
CLASS_SIGN = {c: s for c, _n, s, _a in CLASSES}
N_PER_SIDE = sum(n for _c, n, _s, _a in CLASSES)
N = 2 * N_PER_SIDE

#: the connection table: (source, target, side, sign, weight, probability); W[target, source].
#: Default: every class pair connected all-to-all (p = 1; no autapses). With sparse wiring
#: (the same mean weight w * p at p = 0.5-0.75) the rhythm is seed-dependent: flexor-extensor or
#: left-right phase left 0.5 +- 0.1 on 3 of 10 seeds over 30 s (2 of 10 at p = 0.9; 0 at p = 1).
CONNECTIONS = (
    # rhythm generators: recurrent excitation
    ("RG_F", "RG_F", "ipsi", +1, 0.25, 1.0),
    ("RG_E", "RG_E", "ipsi", +1, 0.25, 1.0),
    # flexor-extensor reciprocal inhibition through V1 / V2b
    ("RG_F", "V1", "ipsi", +1, 0.36, 1.0),
    ("V1", "RG_E", "ipsi", -1, 0.9, 1.0),
    ("V1", "MN_E", "ipsi", -1, 0.9, 1.0),
    ("RG_E", "V2b", "ipsi", +1, 0.36, 1.0),
    ("V2b", "RG_F", "ipsi", -1, 0.9, 1.0),
    ("V2b", "MN_F", "ipsi", -1, 0.9, 1.0),
    # premotor drive
    ("RG_F", "V2a", "ipsi", +1, 0.36, 1.0),
    ("V2a", "MN_F", "ipsi", +1, 0.375, 1.0),
    ("RG_F", "MN_F", "ipsi", +1, 0.15, 1.0),
    ("RG_E", "MN_E", "ipsi", +1, 0.3, 1.0),
    # commissural pathways (Danner 2017): left-right alternation via V0d and V2a -> V0v -> Ini
    ("RG_F", "V0d", "ipsi", +1, 0.36, 1.0),
    ("V0d", "RG_F", "contra", -1, 0.75, 1.0),
    ("V2a", "V0v", "ipsi", +1, 0.45, 1.0),
    ("V0v", "V2b", "contra", +1, 0.45, 1.0),
    ("RG_F", "V3", "ipsi", +1, 0.18, 1.0),
    ("V3", "RG_F", "contra", +1, 0.05, 1.0),
)


@dataclass(frozen=True)
class CPGParams:
    """Neuron, drive and readout parameters (dimensionless currents: threshold = 1)."""
    dt: float = 1e-3            # s, integration step
    tau_m: float = 0.02         # s, membrane time constant
    tau_s: float = 0.01         # s, synaptic current decay
    t_ref: float = 0.002        # s, refractory period
    tau_a: float = 0.4          # s, adaptation time constant (RG_F, RG_E)
    b_a: float = 0.1            # adaptation increment per spike (RG_F, RG_E)
    sigma: float = 0.03         # membrane noise SD (stationary)
    drive: dict = field(default_factory=lambda: {
        "RG_F": 2.05, "RG_E": 1.5, "V1": 0.6, "V2b": 0.6, "V2a": 0.6, "MN_F": 0.7, "MN_E": 0.7,
        "V0d": 0.6, "V0v": 0.6, "V3": 0.6})
    weight_scale: float = 1.0   # multiplies every table weight
    tau_motor: float = 0.05     # s, motor-rate low-pass filter
    rate_max: float = 80.0      # Hz, motor rate mapped to activation 1

    def __post_init__(self):
        for k in ("dt", "tau_m", "tau_s", "tau_a", "tau_motor", "rate_max"):
            if not getattr(self, k) > 0:
                raise ValueError(f"CPGParams.{k} must be > 0, got {getattr(self, k)}")
        for k in ("t_ref", "b_a", "sigma", "weight_scale"):
            if getattr(self, k) < 0:
                raise ValueError(f"CPGParams.{k} must be >= 0, got {getattr(self, k)}")
        if self.dt > self.tau_m / 5:
            raise ValueError(f"CPGParams.dt = {self.dt} s is too coarse for tau_m = {self.tau_m} s")
        unknown = set(self.drive) - set(CLASS_SIGN)
        if unknown:
            raise ValueError(f"CPGParams.drive: unknown classes {sorted(unknown)}; known {sorted(CLASS_SIGN)}")

    def replace(self, **kw) -> "CPGParams":
        return replace(self, **kw)

    def to_dict(self) -> dict:
        return asdict(self)


def class_index() -> dict[tuple[str, str], np.ndarray]:
    """(side, class) -> neuron indices. Layout: side r then side l, classes in CLASSES order."""
    out, i = {}, 0
    for side in SIDES:
        for c, n, _s, _a in CLASSES:
            out[(side, c)] = np.arange(i, i + n)
            i += n
    return out


INDEX = class_index()


def check_table(table=CONNECTIONS) -> None:
    for row in table:
        if len(row) != 6:
            raise ValueError(f"CPG connection row {row!r}: expected (source, target, side, sign, weight, p)")
        src, tgt, side, sign, w, p = row
        for c in (src, tgt):
            if c not in CLASS_SIGN:
                raise ValueError(f"CPG connection row {row!r}: unknown class {c!r}")
        if side not in ("ipsi", "contra"):
            raise ValueError(f"CPG connection row {row!r}: side must be 'ipsi' or 'contra'")
        if sign != CLASS_SIGN[src]:
            raise ValueError(f"CPG connection row {row!r}: sign {sign} contradicts class {src} (sign {CLASS_SIGN[src]})")
        if not (w >= 0 and 0 <= p <= 1):
            raise ValueError(f"CPG connection row {row!r}: weight must be >= 0 and p in [0, 1]")


def build_weights(seed: int, table=CONNECTIONS, weight_scale: float = 1.0) -> np.ndarray:
    """Dense W[target, source] (N x N) drawn from ``table`` with ``numpy.random.default_rng(seed)``."""
    check_table(table)
    rng = np.random.default_rng(seed)
    W = np.zeros((N, N))
    for src, tgt, side, sign, w, p in table:
        for s_side in SIDES:
            t_side = s_side if side == "ipsi" else SIDES[1 - SIDES.index(s_side)]
            si, ti = INDEX[(s_side, src)], INDEX[(t_side, tgt)]
            mask = rng.random((ti.size, si.size)) < p
            if src == tgt and side == "ipsi":
                mask[np.arange(ti.size), np.arange(si.size)] = False  # no autapses
            W[np.ix_(ti, si)] += sign * weight_scale * w * mask
    return W


@cached
@numba.njit(nogil=True)
def lif_adapt_block(v, s, a, ref, W, drive, stim, b, xi, em, es, ea, noise, ref_steps, pool, n_pools,
                    em_motor, inv_dt, motor_rate, spikes):
    """Advance the LIF + adaptation network ``xi.shape[0]`` steps (all state arrays in place).

    v, s, a (N,) float; ref (N,) int, remaining refractory steps; W (N, N) = W[target, source];
    drive, stim, b (N,); xi (steps, N) standard normals; pool (N,) int motor pool of each neuron
    (-1: none) with pool sizes folded into ``motor_rate`` updates; spikes (steps, N) bool output.

    The neuron update is the spiking engine's :func:`encephagen.spiking.update.lif_step`: the
    synaptic current ``s`` on the excitatory channel and the adaptation current ``a`` on the
    inhibitory channel, both held over the step (propagators 1 - e_m and -(1 - e_m)), drive,
    stimulus and noise in the bias term; threshold 1, reset 0. Arrivals come after every
    neuron's update of the step (no delay)."""
    n_steps, N = xi.shape
    c1m = 1.0 - em
    counts = np.zeros(n_pools)
    size = np.zeros(n_pools)
    for i in range(N):
        if pool[i] >= 0:
            size[pool[i]] += 1.0
    for k in range(n_steps):
        for i in range(N):
            bt = c1m * (drive[i] + stim[i]) + noise * xi[k, i]
            vi, si, ai, _n, r, z = lif_step(v[i], s[i], a[i], 0.0, ref[i], 0.0, 0.0, 0.0, 0.0, em, c1m, -c1m, 0.0,
                                            es, ea, 1.0, 0.0, bt, 1.0, 0.0, ref_steps, False)
            v[i] = vi
            s[i] = si
            a[i] = ai
            ref[i] = r
            spikes[k, i] = z
        for q in range(n_pools):
            counts[q] = 0.0
        for j in range(N):
            if spikes[k, j]:
                for i in range(N):
                    s[i] += W[i, j]
                a[j] += b[j]
                if pool[j] >= 0:
                    counts[pool[j]] += 1.0
        for q in range(n_pools):
            motor_rate[q] = em_motor * motor_rate[q] + (1.0 - em_motor) * counts[q] / size[q] * inv_dt


def step_constants(p: CPGParams) -> dict:
    em = np.exp(-p.dt / p.tau_m)
    return {"em": em, "es": np.exp(-p.dt / p.tau_s), "ea": np.exp(-p.dt / p.tau_a),
            "noise": p.sigma * np.sqrt(1 - em**2), "ref_steps": int(round(p.t_ref / p.dt)),
            "em_motor": np.exp(-p.dt / p.tau_motor)}


class SpinalCPG:
    """The 80-neuron CPG. ``seed`` draws the connectivity; ``reset(seed)`` the initial state and noise."""

    def __init__(self, params: CPGParams | None = None, seed: int = 1, table=CONNECTIONS):
        self.p = params or CPGParams()
        self.table = tuple(table)
        self.W = build_weights(seed, self.table, self.p.weight_scale)
        self.drive = np.zeros(N)
        self.b = np.zeros(N)
        for side in SIDES:
            for c, _n, _s, adapt in CLASSES:
                self.drive[INDEX[(side, c)]] = self.p.drive.get(c, 0.0)
                if adapt:
                    self.b[INDEX[(side, c)]] = self.p.b_a
        self.c = step_constants(self.p)
        self.mn = [INDEX[("r", "MN_F")], INDEX[("r", "MN_E")], INDEX[("l", "MN_F")], INDEX[("l", "MN_E")]]
        self._pool = np.full(N, -1, dtype=np.int64)
        for k, idx in enumerate(self.mn):
            self._pool[idx] = k
        self.reset(0)

    def reset(self, seed: int) -> None:
        """Initial state and noise stream from ``default_rng(seed)``: v ~ U(0, 1), s = a = 0.
        The right flexor generator starts 'on' (v near threshold) and the others partly adapted,
        which only sets the initial phase."""
        self.rng = np.random.default_rng(seed)
        self.v = self.rng.uniform(0.0, 1.0, N)
        self.s = np.zeros(N)
        self.a = np.zeros(N)
        self.a[INDEX[("r", "RG_E")]] = 0.3
        self.a[INDEX[("l", "RG_F")]] = 0.3
        self.ref = np.zeros(N, dtype=np.int64)
        self.motor_rate = np.zeros(4)
        self.t = 0

    def run_steps(self, n: int, stim: np.ndarray | float = 0.0) -> np.ndarray:
        """Advance ``n`` steps of ``dt``; ``stim`` is an extra current per neuron (N,) or a scalar.
        Noise: ``n x N`` standard normals from the reset generator (the same stream however the
        run is chunked). Returns spikes (n, N) bool."""
        n = int(n)
        stim = np.broadcast_to(np.asarray(stim, dtype=np.float64), (N,)).copy()
        xi = self.rng.standard_normal((n, N))
        spikes = np.zeros((n, N), dtype=np.bool_)
        c = self.c
        lif_adapt_block(self.v, self.s, self.a, self.ref, self.W, self.drive, stim, self.b, xi, c["em"], c["es"],
                        c["ea"], c["noise"], c["ref_steps"], self._pool, 4, c["em_motor"], 1.0 / self.p.dt,
                        self.motor_rate, spikes)
        self.t += n
        return spikes

    def step(self, stim: np.ndarray | float = 0.0) -> np.ndarray:
        """Advance one ``dt``; returns the spike vector (N,) bool."""
        return self.run_steps(1, stim)[0]

    def run(self, duration: float, stim: np.ndarray | float = 0.0) -> np.ndarray:
        """Simulate ``duration`` s; returns spikes (steps, N) bool."""
        return self.run_steps(int(round(duration / self.p.dt)), stim)

    def advance(self, duration: float, stim: np.ndarray | float = 0.0) -> np.ndarray:
        """Simulate ``duration`` s (e.g. one body control period) and return :meth:`motor`."""
        self.run_steps(int(round(duration / self.p.dt)), stim)
        return self.motor()

    def motor(self) -> np.ndarray:
        """Motor activations in [0, 1], order (r_F, r_E, l_F, l_E)."""
        return np.clip(self.motor_rate / self.p.rate_max, 0.0, 1.0)


def stim_vector(side: str, cls: str, amplitude: float) -> np.ndarray:
    """Extra current ``amplitude`` to every neuron of (side, class), zero elsewhere."""
    if (side, cls) not in INDEX:
        raise ValueError(f"no CPG population ({side!r}, {cls!r}); sides {SIDES}, classes {sorted(CLASS_SIGN)}")
    x = np.zeros(N)
    x[INDEX[(side, cls)]] = amplitude
    return x


def population_rate(spikes: np.ndarray, side: str, cls: str, dt: float, smooth: float = 0.05) -> np.ndarray:
    """Population rate (Hz) of (side, class), box-smoothed over ``smooth`` s."""
    r = spikes[:, INDEX[(side, cls)]].mean(axis=1) / dt
    k = max(1, int(round(smooth / dt)))
    return np.convolve(r, np.ones(k) / k, mode="same")


def burst_onsets(rate: np.ndarray, dt: float, min_gap: float = 0.15) -> np.ndarray:
    """Onset times (s) of bursts: upward crossings of the midpoint between the 10th and 90th
    percentiles, with hysteresis (the rate must fall below the 25 % level between onsets)."""
    lo, hi = np.percentile(rate, [10, 90])
    if hi - lo < 1.0:  # no rhythm (flat rate)
        return np.zeros(0)
    up, down = lo + 0.5 * (hi - lo), lo + 0.25 * (hi - lo)
    onsets, armed, last = [], True, -np.inf
    for k, x in enumerate(rate):
        if armed and x >= up and (k * dt - last) >= min_gap:
            onsets.append(k * dt)
            last, armed = k * dt, False
        elif not armed and x < down:
            armed = True
    return np.asarray(onsets)


def relative_phase(onsets_a: np.ndarray, onsets_b: np.ndarray) -> np.ndarray:
    """Phase of b's onsets in a's cycles: for each cycle [a_k, a_k+1), (b - a_k) / (a_k+1 - a_k)
    for the first b in that cycle (cycles without a b onset are skipped)."""
    out = []
    for t0, t1 in zip(onsets_a[:-1], onsets_a[1:]):
        b = onsets_b[(onsets_b >= t0) & (onsets_b < t1)]
        if b.size:
            out.append((b[0] - t0) / (t1 - t0))
    return np.asarray(out)


def circular_mean(phases: np.ndarray) -> float:
    if phases.size == 0:
        return float("nan")
    return float(np.mod(np.angle(np.mean(np.exp(2j * np.pi * phases))) / (2 * np.pi), 1.0))


def rhythm_summary(spikes: np.ndarray, dt: float, skip: float = 1.0) -> dict:
    """Frequency and phases of the rhythm (flexor RG onsets), ignoring the first ``skip`` s.

    Returns frequency (Hz, 1 / median right-flexor cycle), the number of cycles, the longest cycle
    (s; a stall shows here), and for flexor-extensor (both sides) and left-right (flexor RGs):
    circular mean phase and the fraction of cycles with phase within 0.5 +- 0.1."""
    k0 = int(round(skip / dt))
    sp = spikes[k0:]
    on = {(s, c): burst_onsets(population_rate(sp, s, c, dt), dt) for s in SIDES for c in ("RG_F", "RG_E")}
    rf = on[("r", "RG_F")]
    per = np.diff(rf)
    out = {"duration": sp.shape[0] * dt, "n_cycles": int(per.size),
           "frequency": float(1 / np.median(per)) if per.size else 0.0,
           "longest_cycle": float(per.max()) if per.size else float("inf"),
           "cv_period": float(per.std() / per.mean()) if per.size > 1 else float("nan")}
    pairs = {"flex_ext_r": (("r", "RG_F"), ("r", "RG_E")), "flex_ext_l": (("l", "RG_F"), ("l", "RG_E")),
             "left_right": (("r", "RG_F"), ("l", "RG_F"))}
    for name, (a, b) in pairs.items():
        ph = relative_phase(on[a], on[b])
        out[f"phase_{name}"] = circular_mean(ph)
        out[f"in_band_{name}"] = float(np.mean(np.abs(ph - 0.5) <= 0.1)) if ph.size else 0.0
        out[f"n_{name}"] = int(ph.size)
    return out


def motor_to_action(motor: np.ndarray, M: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """Torque command clip(M @ motor + bias, -1, 1); M is (n_actuators, 4) over (r_F, r_E, l_F, l_E)."""
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[1] != 4:
        raise ValueError(f"motor_to_action: M must be (n_actuators, 4), got {M.shape}")
    a = M @ np.asarray(motor, dtype=float)
    if bias is not None:
        a = a + bias
    return np.clip(a, -1.0, 1.0)


#: Walker2d flexor/extensor -> actuator map following the joint signs (docs/bodies.md): flexor
#: activity drives hip flexion (+ torque) and knee flexion (- torque) and ankle dorsiflexion (+);
#: extensor activity the reverse. Rows r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle.
WALKER2D_MOTOR_MAP = np.array([
    [+1, -1, 0, 0], [-1, +1, 0, 0], [+0.5, -0.5, 0, 0],
    [0, 0, +1, -1], [0, 0, -1, +1], [0, 0, +0.5, -0.5],
])
#: planar walker map; rows r_hip, r_knee, l_hip, l_knee
PLANAR_MOTOR_MAP = np.array([[+1, -1, 0, 0], [-1, +1, 0, 0], [0, 0, +1, -1], [0, 0, -1, +1]])
