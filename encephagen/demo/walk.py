"""``walk``: the spinal CPG (:class:`encephagen.bodies.cpg.SpinalCPG`) drives Walker2d-v5
(:class:`encephagen.bodies.walker2d.Walker2dBody`) through the packaged flexor/extensor map.

Descending drive: the CPG's extra current on its rhythm generators is ``speed x (motor-cortex
rate / 20 Hz)`` (clipped to 0..2; 1 without a motor-cortex rate) times ``0.3``. Honest scope: no
posture control, no reflexes; the body usually falls within a second or two, and the picture shows
what the CPG does, not a walking brain. With MUJOCO_GL=egl the frames are rendered to a GIF;
otherwise (or if rendering fails) the joint angles are plotted to a PNG.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from encephagen.bodies.cpg import WALKER2D_MOTOR_MAP, SpinalCPG, motor_to_action, stim_vector
from encephagen.bodies.walker2d import JOINTS, OBS, Walker2dBody
from encephagen.demo.plots import joint_angles


def walk(speed: float, motor_rate_hz: float | None, stem, seed: int = 0, duration_s: float = 2.0) -> dict:
    scale = 1.0 if motor_rate_hz is None else float(np.clip(motor_rate_hz / 20.0, 0.0, 2.0))
    amp = 0.3 * float(speed) * scale
    stim = sum(stim_vector(side, cls, amp) for side in ("l", "r") for cls in ("RG_F", "RG_E"))
    render = os.environ.get("MUJOCO_GL") == "egl"
    body = Walker2dBody(max_steps=int(duration_s / 0.008) + 1, render_mode="rgb_array" if render else None)
    cpg = SpinalCPG(seed=seed)
    cpg.reset(seed)
    obs = body.reset(seed)
    x0 = float(body.data.qpos[0])
    qs, ts, frames = [], [], []
    fell = False
    steps = 0
    for k in range(int(duration_s / body.dt)):
        m = cpg.advance(body.dt, stim)
        obs, _r, term, trunc, _info = body.step(motor_to_action(m, WALKER2D_MOTOR_MAP))
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

            out = str(stem) + ".gif"
            imageio.mimsave(out, frames, duration=0.04)
        except Exception:
            out = None
    if out is None:
        out = joint_angles(str(stem) + "_joints.png", np.array(ts), np.array(qs), JOINTS,
                           title=f"walk speed {speed:g} (CPG drive {amp:.2f})")
    return {"drive_scale": amp, "steps": steps, "distance": dist, "fell": fell, "file": out}
