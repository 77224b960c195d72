"""``walk``: the calibrated spinal gait of the embodiment stage
(:class:`encephagen.bodies.gait.CPGGait`: the 80-neuron spiking CPG with hip-extension feedback and
posture control, its parameters calibrated by CMA-ES on training seeds and shipped in
``encephagen/bodies/assets/walker2d_gait.json``) drives Walker2d-v5.

Descending drive: ``speed x (motor-cortex rate / 20 Hz)`` (clipped to 0..2; 1 without a
motor-cortex rate) sets an extra current ``0.3 x (drive - 1)`` on the four rhythm generators, so
drive 1 is the calibrated gait itself (20/20 held-out seeds reach the 1000-step limit, ~2.2 m in
8 s: docs/bodies.md), lower drive slows it, higher drive speeds it up; the body may fall away from
drive 1. With MUJOCO_GL=egl the frames are rendered to a GIF; otherwise (or if rendering fails) the
joint angles are plotted to a PNG.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from encephagen.bodies.cpg import stim_vector
from encephagen.bodies.gait import CPGGait
from encephagen.bodies.walker2d import JOINTS, OBS, Walker2dBody
from encephagen.demo.plots import joint_angles
from encephagen.io.tables import write_with


def walk(speed: float, motor_rate_hz: float | None, stem, seed: int = 0, duration_s: float = 2.0) -> dict:
    scale = 1.0 if motor_rate_hz is None else float(np.clip(motor_rate_hz / 20.0, 0.0, 2.0))
    drive = float(speed) * scale
    amp = 0.3 * (drive - 1.0)
    stim = sum(stim_vector(side, cls, amp) for side in ("l", "r") for cls in ("RG_F", "RG_E"))
    render = os.environ.get("MUJOCO_GL") == "egl"
    body = Walker2dBody(max_steps=int(duration_s / 0.008) + 1, render_mode="rgb_array" if render else None)
    gait = CPGGait()
    obs = body.reset(seed)
    gait.reset(seed)
    x0 = float(body.data.qpos[0])
    qs, ts, frames = [], [], []
    fell = False
    steps = 0
    for k in range(int(duration_s / body.dt)):
        obs, _r, term, trunc, _info = body.step(gait(obs, extra_stim=stim, dt=body.dt))
        qs.append([obs[OBS[j]] for j in JOINTS])
        ts.append((k + 1) * body.dt)
        steps += 1
        if render and k % 5 == 0:
            try:
                frames.append(body.render())
            except Exception:   # no EGL after all: fall back to the joint-angle figure
                render = False
                frames = []
        if term or trunc:
            fell = bool(term)
            break
    dist = float(body.data.qpos[0]) - x0
    body.close()
    stem = Path(stem)
    out = None
    if render and frames:
        try:
            import imageio.v2 as imageio

            out = str(write_with(str(stem) + ".gif", lambda tmp: imageio.mimsave(tmp, frames, format="GIF",
                                                                                  duration=0.04)))
        except Exception:
            out = None
    if out is None:
        out = joint_angles(str(stem) + "_joints.png", np.array(ts), np.array(qs), JOINTS,
                           title=f"walk speed {speed:g} (descending drive x{drive:.2f})")
    return {"drive_scale": drive, "steps": steps, "distance": dist, "fell": fell, "file": out}
