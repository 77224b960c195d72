"""The predecessor's planar 2-leg walker: an MJCF shipped with the package (assets/planar_walker.xml).

Torso (capsule 0.3 m), two thighs (0.4 m), two shins (0.4 m), two feet (boxes 0.2 m long, welded
to the shins); planar root (x slide, z slide, pitch hinge) + 4 hinge joints (hips, knees); 4 torque
motors, gear 20 (+-20 N m), ctrlrange [-1, 1]; physics timestep 5 ms (Euler), one physics step per
control step, so ``dt`` = 5 ms. Mass about 19 kg (density 1000). Signs follow Walker2d (root pitch axis (0, 1, 0), limb axes
(0, -1, 0)): pitch > 0 leans forward, hip q < 0 swings the thigh backward, knee q < 0 flexes.

Reset: qpos and qvel get uniform noise in +-``reset_noise`` drawn from ``numpy.random.default_rng(seed)``.
Healthy while ``z_range[0] < z < z_range[1]`` and |pitch| < ``max_pitch``; reward as Walker2d:
forward velocity + 1 while healthy - 1e-3 |a|^2.
"""
from __future__ import annotations

from importlib import resources

import mujoco
import numpy as np

from encephagen.bodies.base import check_action, check_seed

#: observation index map (13 values; root x is in info["x_position"])
OBS = {
    "z": 0, "pitch": 1, "r_hip": 2, "r_knee": 3, "l_hip": 4, "l_knee": 5,
    "vx": 6, "vz": 7, "pitch_rate": 8, "r_hip_vel": 9, "r_knee_vel": 10, "l_hip_vel": 11, "l_knee_vel": 12,
}
#: action index map (torque = 20 N m x action)
ACT = {"r_hip": 0, "r_knee": 1, "l_hip": 2, "l_knee": 3}
JOINTS = ("r_hip", "r_knee", "l_hip", "l_knee")


def model_path() -> str:
    """Path of the packaged MJCF."""
    return str(resources.files("encephagen.bodies") / "assets" / "planar_walker.xml")


class PlanarWalkerBody:
    name = "planar_walker"
    OBS = OBS
    ACT = ACT
    obs_dim = 13
    act_dim = 4

    def __init__(self, max_steps: int = 1000, reset_noise: float = 5e-3, z_range=(0.6, 1.5), max_pitch: float = 1.0,
                 ctrl_cost: float = 1e-3):
        if int(max_steps) < 1:
            raise ValueError(f"planar_walker: max_steps must be >= 1, got {max_steps}")
        self.model = mujoco.MjModel.from_xml_path(model_path())
        self.data = mujoco.MjData(self.model)
        self.dt = float(self.model.opt.timestep)
        self.max_steps = int(max_steps)
        self.reset_noise = float(reset_noise)
        self.z_range = (float(z_range[0]), float(z_range[1]))
        self.max_pitch = float(max_pitch)
        self.ctrl_cost = float(ctrl_cost)
        self._t = 0
        assert self.model.nq == 7 and self.model.nu == 4

    def _obs(self) -> np.ndarray:
        d = self.data
        return np.concatenate([d.qpos[1:], np.clip(d.qvel, -10.0, 10.0)])

    def healthy(self) -> bool:
        z, pitch = self.data.qpos[1], self.data.qpos[2]
        return bool(self.z_range[0] < z < self.z_range[1] and abs(pitch) < self.max_pitch
                    and np.all(np.isfinite(self.data.qpos)) and np.all(np.isfinite(self.data.qvel)))

    def reset(self, seed: int) -> np.ndarray:
        rng = np.random.default_rng(check_seed(seed, self.name))
        mujoco.mj_resetData(self.model, self.data)
        e = self.reset_noise
        self.data.qpos[:] = self.model.qpos0 + rng.uniform(-e, e, self.model.nq)
        self.data.qvel[:] = rng.uniform(-e, e, self.model.nv)
        mujoco.mj_forward(self.model, self.data)
        self._t = 0
        return self._obs()

    def step(self, action):
        a = check_action(action, self.act_dim, self.name)
        x0 = float(self.data.qpos[0])
        self.data.ctrl[:] = a
        mujoco.mj_step(self.model, self.data)
        self._t += 1
        x1 = float(self.data.qpos[0])
        healthy = self.healthy()
        fwd = (x1 - x0) / self.dt
        ctrl = -self.ctrl_cost * float(a @ a)
        surv = 1.0 if healthy else 0.0
        info = {"x_position": x1, "reward_forward": fwd, "reward_ctrl": ctrl, "reward_survive": surv}
        return self._obs(), fwd + ctrl + surv, not healthy, self._t >= self.max_steps and healthy, info

    def close(self) -> None:
        pass
