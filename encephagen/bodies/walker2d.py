"""Gymnasium's Walker2d-v5 behind the :class:`~encephagen.bodies.base.Body` interface.

Facts (gymnasium 1.4.0, mujoco 4.0.0; trajectories differ between mujoco releases, so exact
numbers are only reproducible with these pins): physics timestep 2 ms, RK4, frame skip 4, so
``dt`` = 8 ms; time limit 1000 steps (8 s). Six ``motor`` actuators, gear 100, ctrlrange [-1, 1].
Limb hinge axes are (0, -1, 0), the root pitch axis (0, 1, 0). Signs (checked in tests/test_bodies_walker.py):

* ``pitch`` > 0: torso leaning forward (+x).
* hip q < 0: thigh swung backward relative to the torso (range [-150, 0] deg); positive hip
  torque drives the hip toward +q (forward / flexion).
* knee q < 0: flexion (range [-150, 0] deg); positive knee torque extends.
* ankle q > 0: toe up (range [-45, 45] deg).

Termination: not (0.8 < z < 2 and |pitch| < 1). Observation velocities are clipped to +-10.
"""
from __future__ import annotations

import numpy as np

from encephagen.bodies.base import check_action, check_seed

#: observation index map (17 values; root x is not observed, see info["x_position"])
OBS = {
    "z": 0, "pitch": 1,
    "r_hip": 2, "r_knee": 3, "r_ankle": 4, "l_hip": 5, "l_knee": 6, "l_ankle": 7,
    "vx": 8, "vz": 9, "pitch_rate": 10,
    "r_hip_vel": 11, "r_knee_vel": 12, "r_ankle_vel": 13, "l_hip_vel": 14, "l_knee_vel": 15, "l_ankle_vel": 16,
}
#: action index map (torque = 100 N m x action)
ACT = {"r_hip": 0, "r_knee": 1, "r_ankle": 2, "l_hip": 3, "l_knee": 4, "l_ankle": 5}
JOINTS = ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle")


class Walker2dBody:
    """Walker2d-v5 (gymnasium). ``render_mode='rgb_array'`` needs MUJOCO_GL=egl set before import."""

    name = "walker2d"
    OBS = OBS
    ACT = ACT
    obs_dim = 17
    act_dim = 6

    def __init__(self, max_steps: int = 1000, render_mode: str | None = None, width: int = 480, height: int = 360):
        import gymnasium as gym

        if int(max_steps) < 1:
            raise ValueError(f"walker2d: max_steps must be >= 1, got {max_steps}")
        kw = {"render_mode": render_mode}
        if render_mode is not None:
            kw.update(width=width, height=height)
        self.env = gym.make("Walker2d-v5", max_episode_steps=int(max_steps), **kw)
        self.max_steps = int(max_steps)
        self.dt = float(self.env.unwrapped.dt)
        self.model = self.env.unwrapped.model
        self.data = self.env.unwrapped.data

    def reset(self, seed: int) -> np.ndarray:
        obs, _info = self.env.reset(seed=check_seed(seed, self.name))
        return obs

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(check_action(action, self.act_dim, self.name))
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray:
        return self.env.render()

    def close(self) -> None:
        self.env.close()
