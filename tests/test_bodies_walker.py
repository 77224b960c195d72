"""Bodies: index maps mean what they say, seeds reproduce, baselines match docs/bodies.md."""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

from encephagen.bodies import planar, walker2d  # noqa: E402
from encephagen.bodies.base import Body  # noqa: E402
from encephagen.bodies.controllers import pd_stand_planar, pd_stand_walker2d, run_episode  # noqa: E402


@pytest.fixture(scope="module")
def w2d():
    b = walker2d.Walker2dBody()
    yield b
    b.close()


@pytest.fixture(scope="module")
def pw():
    return planar.PlanarWalkerBody()


def _push(body, name, value, steps):
    obs0 = body.reset(0)
    a = np.zeros(body.act_dim)
    a[body.ACT[name]] = value
    for _ in range(steps):
        obs, *_ = body.step(a)
    return obs0, obs


@pytest.mark.parametrize("make", ["w2d", "pw"])
def test_body_interface_and_shapes(make, request):
    body = request.getfixturevalue(make)
    assert isinstance(body, Body)
    assert sorted(body.OBS.values()) == list(range(body.obs_dim))
    assert sorted(body.ACT.values()) == list(range(body.act_dim))
    obs = body.reset(3)
    assert obs.shape == (body.obs_dim,)
    obs, r, term, trunc, info = body.step(np.zeros(body.act_dim))
    assert {"x_position", "reward_forward", "reward_ctrl", "reward_survive"} <= set(info)
    with pytest.raises(ValueError, match="action has"):
        body.step(np.zeros(body.act_dim + 1))
    with pytest.raises(ValueError, match="seed"):
        body.reset(None)


@pytest.mark.parametrize("make", ["w2d", "pw"])
def test_hip_and_knee_torque_signs(make, request):
    """Positive hip torque moves the hip angle toward + (flexion); negative toward -; positive knee
    torque cannot flex the knee (range [.., 0]) while negative knee torque flexes it (q < 0)."""
    body = request.getfixturevalue(make)
    for side in ("r", "l"):
        hip, knee = body.OBS[f"{side}_hip"], body.OBS[f"{side}_knee"]
        o0, o = _push(body, f"{side}_hip", -1.0, 10)
        assert o[hip] < o0[hip] - 0.05
        o0, o = _push(body, f"{side}_hip", +1.0, 10)
        assert o[hip] > o0[hip]
        o0, o = _push(body, f"{side}_knee", -1.0, 10)
        assert o[knee] < o0[knee] - 0.05
        # the other leg's joints barely move
        other = "l" if side == "r" else "r"
        assert abs(o[body.OBS[f"{other}_knee"]] - o0[body.OBS[f"{other}_knee"]]) < 0.05


def test_walker2d_pitch_sign_and_height(w2d):
    """pitch > 0 means leaning forward: the torso's top end is ahead (+x) of its centre."""
    w2d.reset(0)
    u = w2d.env.unwrapped
    q = u.data.qpos.copy()
    q[2] = 0.3
    u.set_state(q, np.zeros_like(u.data.qvel))
    obs = u._get_obs()
    assert obs[w2d.OBS["pitch"]] == pytest.approx(0.3)
    torso, thigh = u.data.xpos[1], u.data.xpos[2]
    assert thigh[0] < torso[0]            # below the hip pivot the body moves back: top leans forward
    assert obs[w2d.OBS["z"]] == pytest.approx(u.data.qpos[1])
    assert 1.2 < obs[w2d.OBS["z"]] < 1.3


def test_planar_pitch_sign_and_height(pw):
    pw.reset(0)
    pw.data.qpos[2] = 0.3
    import mujoco

    mujoco.mj_forward(pw.model, pw.data)
    head = pw.data.geom_xpos[pw.model.geom("torso_geom").id]
    assert pw._obs()[pw.OBS["pitch"]] == pytest.approx(0.3)
    assert pw.data.xpos[pw.model.body("thigh_r").id][0] < pw.data.xpos[1][0] < head[0]
    assert pw._obs()[pw.OBS["z"]] == pytest.approx(pw.data.qpos[1])


def test_planar_model_facts(pw):
    m = pw.model
    assert m.opt.timestep == pytest.approx(0.005) and pw.dt == pytest.approx(0.005)
    assert m.nu == 4 and list(m.actuator_gear[:, 0]) == [20.0] * 4
    assert m.nbody == 8  # world, torso, 2 thighs, 2 shins, 2 feet
    names = [m.joint(i).name for i in range(m.njnt)]
    assert names == ["rootx", "rootz", "rooty", "r_hip", "r_knee", "l_hip", "l_knee"]
    assert os.path.isfile(planar.model_path())


@pytest.mark.parametrize("make", ["w2d", "pw"])
def test_seeds_reproducible(make, request):
    body = request.getfixturevalue(make)
    rng = np.random.default_rng(0)
    acts = rng.uniform(-1, 1, (30, body.act_dim))

    def roll(seed):
        out = [body.reset(seed)]
        for a in acts:
            out.append(body.step(a)[0])
        return np.array(out)

    assert np.array_equal(roll(5), roll(5))
    assert not np.array_equal(roll(5), roll(6))


def test_walker2d_zero_action_baseline(w2d):
    """docs/bodies.md (mujoco 4.0.0): zero action lasts 115.8 +- 17.3 steps over seeds 0-19,
    range [103, 182], dx -0.17 m. Seeds 0-7 here, with tolerances."""
    res = [run_episode(w2d, lambda o: np.zeros(6), s) for s in range(8)]
    steps = np.array([r["steps"] for r in res])
    assert all(r["terminated"] for r in res)
    assert steps.min() >= 100 and steps.max() <= 190
    assert 100 <= steps.mean() <= 135
    assert -0.35 < np.mean([r["dx"] for r in res]) < 0.0


def test_pd_stand_walker2d(w2d):
    for s in (0, 1, 2):
        r = run_episode(w2d, pd_stand_walker2d, s)
        assert r["steps"] == 1000 and r["truncated"] and not r["terminated"]


def test_pd_stand_planar(pw):
    zero = run_episode(pw, lambda o: np.zeros(4), 0)
    assert zero["terminated"] and zero["steps"] < 400  # falls without control
    for s in (0, 1, 2):
        r = run_episode(pw, pd_stand_planar, s)
        assert r["steps"] == 1000 and r["truncated"] and not r["terminated"]


def _egl_available() -> bool:
    try:
        import ctypes.util

        return ctypes.util.find_library("EGL") is not None
    except Exception:  # pragma: no cover
        return False


@pytest.mark.skipif(os.environ.get("MUJOCO_GL") != "egl" or not _egl_available(),
                    reason="rendering needs MUJOCO_GL=egl and libEGL")
def test_walker2d_renders():
    b = walker2d.Walker2dBody(render_mode="rgb_array", width=64, height=48)
    b.reset(0)
    frame = b.render()
    b.close()
    assert frame.shape == (48, 64, 3) and frame.std() > 0
