"""The closed loop: body <-> brainstem reflexes <-> spinal CPG <-> optional connectome spiking network.

Per body control step (8 ms for Walker2d)::

    obs --> BrainNetwork (optional): somatosensory regions get proprioceptive input; the motor
            regions' excitatory rate, relative to its slow running mean, is a descending drive
            (current) to the contralateral hemicord's rhythm generators
        --> Brainstem (reflexes, priority gated): reflex torques and CPG currents
        --> CPGGait: CPG (+ hip-extension feedback + brainstem + brain currents) -> motor
            activations -> torques mixed with posture control
        --> reflex torques blended over the spinal command --> body.step

The brain is a connectome network of the project's LIF engine
(:func:`encephagen.spiking.network.connectome_network`, simulated by
:class:`encephagen.spiking.engine.LIFBatch`, numba backend), so a real connectome and its nulls
go through the same code. Sensory input enters as a constant current (mV, the engine's ``bias``)
held over each control step on the excitatory neurons of the somatosensory regions: each
hemisphere's regions receive the contralateral leg's hip extension ``max(0, -q_hip)`` (rad) and
the torso's tilt ``|pitch|`` (rad), times ``gain_in`` (mV / rad). Output: the excitatory spike
rate of each hemisphere's motor regions, low-pass filtered (``tau_out``), minus its slow running
mean (``tau_base``; started at the rate over a warm-up with no sensory input), divided by that
mean, times ``gain_out`` -- the network modulates the CPG rather than shifting its operating point --
is added to the contralateral hemicord's flexor and extensor rhythm generators (the CPG's
dimensionless current, threshold 1), clipped to +-``max_drive``.

Controllers (all ``reset(seed)`` + ``__call__(obs) -> action``): :func:`make_controller` builds
the named controls of the ``embody`` stage from one place.
"""
from __future__ import annotations

import numpy as np

from encephagen.bodies import cpg
from encephagen.bodies.controllers import WALKER2D_PD_GAINS, pd_stand_walker2d
from encephagen.bodies.gait import CPGGait
from encephagen.bodies.reflexes import Brainstem

CONTROLLERS = ("zero", "random", "pd_stand", "cpg_only", "reflexes_only", "spinal", "full_loop",
               "brain_ablated", "brain_null")


class BrainNetwork:
    """A small spiking connectome network in the loop (see the module docstring).

    ``weights`` [target, source], ``lengths`` (mm) or None, ``sensory`` / ``motor``: dict
    hemisphere ('L', 'R') -> region indices. ``seed`` builds the network and draws its Poisson
    drive (the engine's counter-based generator)."""

    def __init__(self, weights, lengths, sensory: dict, motor: dict, seed: int, n_e: int = 20, n_i: int = 5,
                 dt: float = 0.25, gain_in: float = 10.0, gain_out: float = 0.1, tau_out: float = 0.05,
                 tau_base: float = 1.0, max_drive: float = 0.2, params: dict | None = None, warmup: float = 0.2, name: str = "brain"):
        from encephagen.spiking.network import connectome_network
        from encephagen.spiking.params import LIFParams

        W = np.asarray(weights, dtype=float)
        R = W.shape[0]
        for what, d in (("sensory", sensory), ("motor", motor)):
            if set(d) != {"L", "R"} or any(len(v) == 0 for v in d.values()):
                raise ValueError(f"BrainNetwork {name}: {what} regions need both hemispheres 'L' and 'R', got {d}")
            for v in d.values():
                if np.any(np.asarray(v) < 0) or np.any(np.asarray(v) >= R):
                    raise ValueError(f"BrainNetwork {name}: {what} region index out of range 0..{R - 1}: {v}")
        kw = {"n_e": int(n_e), "n_i": int(n_i), "delays": lengths is not None}
        kw.update(params or {})
        self.params = LIFParams(**kw)
        self.net = connectome_network(W, lengths, self.params, seed=int(seed), dt=float(dt), name=name)
        self.seed, self.dt, self.name = int(seed), float(dt), name
        self.gain_in, self.gain_out, self.tau_out, self.max_drive = gain_in, gain_out, tau_out, max_drive
        self.tau_base = float(tau_base)
        self.warmup = float(warmup)
        reg, exc = self.net.region, self.net.is_exc
        self.sens = {h: np.flatnonzero(np.isin(reg, v) & exc) for h, v in sensory.items()}
        self.mot = {h: np.flatnonzero(np.isin(reg, v) & exc) for h, v in motor.items()}
        self.n_regions = R
        self.batch = None

    def reset(self, seed: int, stream: int | None = None) -> None:
        """A fresh simulation; its Poisson drive from ``stream`` when given (the study layer's
        element seed), else ``derive_seed(build seed, seed, "lif")``."""
        from encephagen.seeds import derive_seed
        from encephagen.spiking.engine import LIFBatch

        self.episode_seed = int(stream) if stream is not None else derive_seed(self.seed, int(seed), "lif")
        self.batch = LIFBatch([self.net], [self.episode_seed], device="cpu", backend="numba", names=[self.name])
        self.batch.random_initial_state()
        self._bias0 = self.batch.bias_term.clone()
        self._fac = (1.0 - self.batch.p22).clone()
        self.rate = {"L": 0.0, "R": 0.0}
        self.rest = {"L": 0.0, "R": 0.0}
        steps = max(1, int(round(self.warmup / 0.008)))
        acc = {"L": 0.0, "R": 0.0}
        for _ in range(steps):
            c = self._advance(0.008)
            for h in acc:
                acc[h] += c[h]
        self.rest = {h: max(acc[h] / steps, 1.0) for h in acc}
        self.rate = dict(self.rest)
        self.base = dict(self.rest)

    def _advance(self, duration: float) -> dict:
        """Advance ``duration`` s; returns each hemisphere's motor-region E rate (Hz) over it."""
        b = self.batch
        n = int(round(duration * 1000.0 / self.dt))
        counts = {"L": 0, "R": 0}
        masks = {h: np.zeros(b.N, bool) for h in self.mot}
        for h, idx in self.mot.items():
            masks[h][idx] = True
        left = n
        while left > 0:
            k = min(b.K, left)
            sp = b.step_block(k)
            ii = sp.i.numpy() if hasattr(sp, "i") else np.asarray(sp[2])
            for h in counts:
                counts[h] += int(masks[h][ii].sum())
            left -= k
        return {h: counts[h] / max(len(self.mot[h]), 1) / duration for h in counts}

    def __call__(self, obs, duration: float = 0.008) -> np.ndarray:
        """Sensory input from ``obs``, advance one control period, return the CPG current (80,)."""
        b = self.batch
        hip = {"R": max(0.0, -float(obs[2])), "L": max(0.0, -float(obs[5]))}
        tilt = abs(float(obs[1]))
        bias = self._bias0.clone()
        for h, idx in self.sens.items():
            other = "L" if h == "R" else "R"         # contralateral leg
            bias[idx] += self._fac[idx] * float(self.gain_in * (hip[other] + tilt))
        b.bias_term.copy_(bias)
        r = self._advance(duration)
        a = np.exp(-duration / self.tau_out)
        ab = np.exp(-duration / self.tau_base)
        stim = np.zeros(cpg.N)
        for h in ("L", "R"):
            self.rate[h] = a * self.rate[h] + (1 - a) * r[h]
            self.base[h] = ab * self.base[h] + (1 - ab) * r[h]
            drive = float(np.clip(self.gain_out * (self.rate[h] - self.base[h]) / self.base[h],
                                  -self.max_drive, self.max_drive))
            side = "r" if h == "L" else "l"          # contralateral hemicord
            stim[cpg.INDEX[(side, "RG_F")]] += drive
            stim[cpg.INDEX[(side, "RG_E")]] += drive
        return stim


class EmbodiedLoop:
    """brain (optional) -> brainstem -> CPG gait -> reflex gating; ``reset(seed)``, ``action = loop(obs)``."""

    def __init__(self, gait: CPGGait | None, brainstem: Brainstem | None = None, brain: BrainNetwork | None = None,
                 dt: float = 0.008):
        self.gait, self.brainstem, self.brain, self.dt = gait, brainstem, brain, dt
        self.winner = None
        self.brain_stim = np.zeros(cpg.N)

    def reset(self, seed: int, brain_stream: int | None = None) -> None:
        """Body-side state from ``seed``; the brain's Poisson drive from ``brain_stream`` (else derived)."""
        if self.gait is not None:
            self.gait.reset(seed)
        if self.brainstem is not None:
            self.brainstem.reset()
        if self.brain is not None:
            self.brain.reset(seed, brain_stream)

    @property
    def motor(self):
        return self.gait.motor if self.gait is not None else np.zeros(4)

    def __call__(self, obs) -> np.ndarray:
        stim = np.zeros(cpg.N)
        if self.brain is not None:
            self.brain_stim = self.brain(obs, self.dt)
            stim += self.brain_stim
        torque, w = None, 0.0
        if self.brainstem is not None:
            torque, w, rstim, self.winner = self.brainstem(obs)
            stim += rstim
        a = self.gait(obs, extra_stim=stim, dt=self.dt) if self.gait is not None else np.zeros(6)
        if torque is not None:
            a = (1.0 - w) * a + w * torque
        return np.clip(a, -1.0, 1.0)


class _Fn:
    def __init__(self, f, reset=None):
        self.f, self._reset = f, reset

    def reset(self, seed):
        if self._reset:
            self._reset(seed)

    def __call__(self, obs):
        return self.f(obs)


class _OpenLoopCPG:
    """The CPG alone, open loop: motor activations through the flexor/extensor map, no posture."""

    def __init__(self, cpg_seed: int = 1, dt: float = 0.008):
        self.net, self.dt = cpg.SpinalCPG(seed=cpg_seed), dt
        self.motor = np.zeros(4)

    def reset(self, seed):
        self.net.reset(seed)

    def __call__(self, obs):
        self.motor = self.net.advance(self.dt)
        return cpg.motor_to_action(self.motor, cpg.WALKER2D_MOTOR_MAP)


def make_controller(name: str, brain: BrainNetwork | None = None, gait_x=None):
    """One of :data:`CONTROLLERS` for Walker2d (``brain`` needed by full_loop and brain_null)."""
    if name == "zero":
        return _Fn(lambda obs: np.zeros(6))
    if name == "random":
        st = {}

        def reset(seed):
            st["rng"] = np.random.default_rng(seed)
        return _Fn(lambda obs: st["rng"].uniform(-1, 1, 6), reset)
    if name == "pd_stand":
        return _Fn(lambda obs: pd_stand_walker2d(obs, **WALKER2D_PD_GAINS))
    if name == "cpg_only":
        return _OpenLoopCPG()
    if name == "reflexes_only":
        return EmbodiedLoop(None, Brainstem())
    if name == "spinal":
        return EmbodiedLoop(CPGGait(gait_x))
    if name == "brain_ablated":
        return EmbodiedLoop(CPGGait(gait_x), Brainstem())
    if name in ("full_loop", "brain_null"):
        if brain is None:
            raise ValueError(f"controller {name!r} needs a BrainNetwork")
        return EmbodiedLoop(CPGGait(gait_x), Brainstem(), brain)
    raise ValueError(f"unknown controller {name!r}; known: {CONTROLLERS}")


def run_loop_episode(body, controller, seed: int, max_steps: int | None = None, record: bool = False,
                     brain_stream: int | None = None) -> dict:
    """One episode; returns steps, return, dx, forward velocity (dx / simulated time), terminated,
    truncated and, with ``record``, the observation, action, motor and reflex traces and the CPG spikes.
    ``brain_stream``: the brain network's Poisson seed (the study layer's element seed)."""
    obs = body.reset(seed)
    if brain_stream is not None and isinstance(controller, EmbodiedLoop):
        controller.reset(seed, brain_stream)
    else:
        controller.reset(seed)
    gait = getattr(controller, "gait", None)
    if record and gait is not None:
        gait.record = True
    x0 = float(body.data.qpos[0])
    ret, n, term, trunc = 0.0, 0, False, False
    limit = max_steps or 10**9
    tr = {"obs": [], "action": [], "motor": [], "spikes": [], "winner": []}
    while n < limit:
        a = controller(obs)
        if record:
            tr["obs"].append(np.asarray(obs, dtype=float))
            tr["action"].append(a)
            tr["motor"].append(np.array(getattr(controller, "motor", np.zeros(4)), dtype=float))
            if gait is not None and gait.spikes is not None:
                tr["spikes"].append(gait.spikes)
            tr["winner"].append(getattr(controller, "winner", None) or "")
        obs, r, term, trunc, _info = body.step(a)
        ret += r
        n += 1
        if term or trunc:
            break
    dx = float(body.data.qpos[0]) - x0
    out = {"steps": n, "return": ret, "dx": dx, "velocity": dx / (n * body.dt), "terminated": bool(term),
           "truncated": bool(trunc)}
    if record:
        out["trace"] = {k: (np.asarray(v) if k != "spikes" else (np.concatenate(v) if v else np.zeros((0, cpg.N), bool)))
                        for k, v in tr.items()}
        if gait is not None:
            gait.record = False
    return out
