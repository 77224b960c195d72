"""Brainstem reflexes for Walker2d as explicit controllers, with priority gating (arrays in, arrays out).

Each reflex reads the observation (index map :data:`encephagen.bodies.walker2d.OBS`) and returns a
:class:`ReflexOutput`: whether it is active, a torque command (6,) or None, a weight in [0, 1] with
which that command replaces the lower-priority command, and a CPG input (80,) (currents to the
spinal CPG's populations, :mod:`encephagen.bodies.cpg`).

==========  ========  =====================================================================
reflex      priority  what it does
==========  ========  =====================================================================
startle     1 (top)   a sudden perturbation (|pitch rate| > ``rate_threshold`` rad/s) triggers
                      a brief co-contraction: every joint held at its current angle with a
                      stiff PD law for ``duration`` s, and the CPG's rhythm generators are
                      inhibited (the stepping pauses). Refractory for ``refractory`` s.
righting    2         the torso pitched beyond ``threshold`` rad: hips and ankles torque the
                      torso back toward upright, proportional to the excess (weight rises from
                      0 at the threshold to 1 at ``threshold + ramp``).
stepping    3         descending locomotor drive (the mesencephalic locomotor region's role):
drive                 while upright (|pitch| < ``upright``) a tonic current to all four rhythm
                      generators, plus a forward-lean term: leaning forward (pitch > 0) adds
                      current to the flexor generator of the leg further behind, which starts
                      its swing (a catching step). No torque of its own.
==========  ========  =====================================================================

Priority gating (:class:`Brainstem`): reflexes are evaluated from the top; the highest-priority
active reflex with a torque blends it over the spinal (CPG) command with its weight
``a = (1 - w) a_spinal + w a_reflex``; its weight also gates every lower-priority reflex's CPG input
(multiplied by 1 - w), and a fully active reflex (w = 1) silences the lower ones. The Brainstem
reports which reflex won each step (``last_active``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encephagen.bodies import cpg

_RG = {k: cpg.INDEX[k] for k in (("r", "RG_F"), ("r", "RG_E"), ("l", "RG_F"), ("l", "RG_E"))}


@dataclass
class ReflexOutput:
    active: bool
    torque: np.ndarray | None
    weight: float
    stim: np.ndarray


def _zero_stim():
    return np.zeros(cpg.N)


class Startle:
    """Sudden pitch-rate spike -> brief stiff co-contraction and CPG inhibition."""

    name = "startle"

    def __init__(self, rate_threshold: float = 6.0, duration: float = 0.12, refractory: float = 1.0,
                 kp: float = 3.0, kd: float = 0.2, inhibit: float = 1.5, dt: float = 0.008):
        if not (rate_threshold > 0 and duration > 0 and refractory >= duration and dt > 0):
            raise ValueError("Startle: need rate_threshold > 0, duration > 0, refractory >= duration, dt > 0")
        self.rate_threshold, self.kp, self.kd, self.inhibit = rate_threshold, kp, kd, inhibit
        self.n_on, self.n_ref = int(round(duration / dt)), int(round(refractory / dt))
        self.reset()

    def reset(self):
        self.left, self.since, self.hold = 0, 10**9, None

    def __call__(self, obs) -> ReflexOutput:
        self.since += 1
        if self.left == 0 and self.since >= self.n_ref and abs(obs[10]) > self.rate_threshold:
            self.left, self.since, self.hold = self.n_on, 0, np.array(obs[2:8], dtype=float)
        if self.left == 0:
            return ReflexOutput(False, None, 0.0, _zero_stim())
        self.left -= 1
        q, qd = np.asarray(obs[2:8]), np.asarray(obs[11:17])
        tau = np.clip(self.kp * (self.hold - q) - self.kd * qd, -1, 1)
        stim = _zero_stim()
        for idx in _RG.values():
            stim[idx] -= self.inhibit
        return ReflexOutput(True, tau, 1.0, stim)


class Righting:
    """Torso pitched beyond a threshold -> hips and ankles torque it back toward upright."""

    name = "righting"

    def __init__(self, threshold: float = 0.35, ramp: float = 0.2, k_hip: float = -2.5, k_hip_d: float = 0.2,
                 k_ankle: float = -1.5, kp: float = 1.0, kd: float = 0.05):
        if not (threshold > 0 and ramp > 0):
            raise ValueError("Righting: need threshold > 0 and ramp > 0")
        self.threshold, self.ramp = threshold, ramp
        self.k_hip, self.k_hip_d, self.k_ankle, self.kp, self.kd = k_hip, k_hip_d, k_ankle, kp, kd

    def reset(self):
        pass

    def __call__(self, obs) -> ReflexOutput:
        th, thd = float(obs[1]), float(obs[10])
        excess = abs(th) - self.threshold
        if excess <= 0:
            return ReflexOutput(False, None, 0.0, _zero_stim())
        w = float(min(1.0, excess / self.ramp))
        q, qd = np.asarray(obs[2:8]), np.asarray(obs[11:17])
        tau = self.kp * (0.0 - q) - self.kd * qd
        tau[[0, 3]] += self.k_hip * th + self.k_hip_d * thd
        tau[[2, 5]] += self.k_ankle * th
        return ReflexOutput(True, np.clip(tau, -1, 1), w, _zero_stim())


class SteppingDrive:
    """Descending locomotor drive to the rhythm generators while upright, plus a catching step on
    forward lean (current to the flexor generator of the rear leg)."""

    name = "stepping"

    def __init__(self, tonic: float = 0.0, lean_gain: float = 1.0, upright: float = 0.6):
        if upright <= 0:
            raise ValueError("SteppingDrive: upright must be > 0")
        self.tonic, self.lean_gain, self.upright = tonic, lean_gain, upright

    def reset(self):
        pass

    def __call__(self, obs) -> ReflexOutput:
        th = float(obs[1])
        stim = _zero_stim()
        if abs(th) >= self.upright:
            return ReflexOutput(False, None, 0.0, stim)
        for idx in _RG.values():
            stim[idx] += self.tonic
        if th > 0 and self.lean_gain > 0:
            rear = "r" if obs[2] < obs[5] else "l"    # hip q < 0: thigh further back
            stim[_RG[(rear, "RG_F")]] += self.lean_gain * th
        return ReflexOutput(True, None, 0.0, stim)


class Brainstem:
    """Reflexes in priority order (first = highest) with gating; see the module docstring."""

    def __init__(self, reflexes=None):
        self.reflexes = list(reflexes) if reflexes is not None else [Startle(), Righting(), SteppingDrive()]
        names = [r.name for r in self.reflexes]
        if len(set(names)) != len(names):
            raise ValueError(f"Brainstem: duplicate reflex names {names}")
        self.last_active = None

    def reset(self):
        for r in self.reflexes:
            r.reset()
        self.last_active = None

    def __call__(self, obs):
        """Returns (torque (6,) or None, weight, CPG stim (80,), name of the winning reflex or None)."""
        gate, torque, weight, stim, winner = 1.0, None, 0.0, np.zeros(cpg.N), None
        for r in self.reflexes:
            out = r(obs)
            if not out.active:
                continue
            stim += gate * out.stim
            if out.torque is not None and torque is None:
                torque, weight, winner = out.torque, out.weight * gate, r.name
            elif winner is None:
                winner = r.name
            gate *= 1.0 - out.weight
            if gate <= 0:
                break
        self.last_active = winner
        return torque, weight, stim, winner

    def blend(self, spinal_action, obs):
        """Gate the spinal command with the reflexes; returns (action, CPG stim, winner)."""
        torque, w, stim, winner = self(obs)
        a = np.asarray(spinal_action, dtype=float)
        if torque is not None:
            a = (1.0 - w) * a + w * torque
        return np.clip(a, -1, 1), stim, winner
