"""Explicit reference controllers (no learning).

``pd_stand``: hold every joint straight (q = 0) with a PD law, and correct torso pitch with the
hips (and ankles where the body has them). Gains for Walker2d are the 5-gain controller of
docs/bodies.md (tuned on a grid, held-out seeds): kp = 1, kd = 0.05, kh = -1, khd = 0.1, ka = -1
(there the ankles do the balancing). The planar walker has no ankles; its gains, from a small
grid on seeds 0-2 (kh in {-2, -1, 2} x khd in {-0.2, 0.2}, kp = 2, kd = 0.1): kh = -2, khd = -0.2
stands 1000 steps on all three; kh = -2, khd = +0.2 falls after ~250 steps.
"""
from __future__ import annotations

import numpy as np

#: Walker2d PD-stand gains (action units per rad or rad/s; action x 100 = N m)
WALKER2D_PD_GAINS = {"kp": 1.0, "kd": 0.05, "kh": -1.0, "khd": 0.1, "ka": -1.0}
#: planar walker PD-stand gains (action x 20 = N m)
PLANAR_PD_GAINS = {"kp": 2.0, "kd": 0.1, "kh": -2.0, "khd": -0.2}


def pd_stand_walker2d(obs, kp=1.0, kd=0.05, kh=-1.0, khd=0.1, ka=-1.0) -> np.ndarray:
    from encephagen.bodies.walker2d import OBS

    th, thd = obs[OBS["pitch"]], obs[OBS["pitch_rate"]]
    q, qd = np.asarray(obs[2:8]), np.asarray(obs[11:17])
    a = kp * (0.0 - q) - kd * qd                  # hold every joint at 0 (straight)
    a[[0, 3]] += kh * th + khd * thd              # hips correct torso pitch
    a[[2, 5]] += ka * th                          # ankles correct body lean
    return np.clip(a, -1.0, 1.0)


def pd_stand_planar(obs, kp=2.0, kd=0.1, kh=-2.0, khd=-0.2) -> np.ndarray:
    from encephagen.bodies.planar import OBS

    th, thd = obs[OBS["pitch"]], obs[OBS["pitch_rate"]]
    q, qd = np.asarray(obs[2:6]), np.asarray(obs[9:13])
    a = kp * (0.0 - q) - kd * qd
    a[[0, 2]] += kh * th + khd * thd
    return np.clip(a, -1.0, 1.0)


def run_episode(body, controller, seed: int, max_steps: int | None = None) -> dict:
    """Run one episode; returns steps, return, dx, terminated, truncated."""
    obs = body.reset(seed)
    x0 = float(body.data.qpos[0])
    ret, n, term, trunc = 0.0, 0, False, False
    limit = max_steps or 10**9
    while n < limit:
        obs, r, term, trunc, info = body.step(controller(obs))
        ret += r
        n += 1
        if term or trunc:
            break
    return {"steps": n, "return": ret, "dx": float(body.data.qpos[0]) - x0, "terminated": term, "truncated": trunc}
