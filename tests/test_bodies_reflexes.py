"""Brainstem reflexes do what their names say, on the Walker2d body, and priority gating holds."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

from encephagen.bodies import cpg  # noqa: E402
from encephagen.bodies.reflexes import Brainstem, Righting, Startle, SteppingDrive  # noqa: E402
from encephagen.bodies.walker2d import Walker2dBody  # noqa: E402


@pytest.fixture(scope="module")
def body():
    b = Walker2dBody()
    yield b
    b.close()


def _perturbed(body, seed=0, pitch=0.0, pitch_rate=0.0):
    """Reset, then set the torso pitch (qpos[2]) and pitch rate (qvel[2]) directly."""
    import mujoco

    body.reset(seed)
    d = body.data
    d.qpos[2] += pitch
    d.qvel[2] += pitch_rate
    mujoco.mj_forward(body.model, d)
    return body.env.unwrapped._get_obs()


def _run(body, obs, ctl, n):
    pitches, qd = [], []
    for _ in range(n):
        obs, _r, term, _tr, _ = body.step(ctl(obs))
        pitches.append(obs[1])
        qd.append(np.abs(obs[11:17]).mean())
        if term:
            break
    return np.asarray(pitches), np.asarray(qd)


def _reflex_only(bs):
    def ctl(obs):
        a, _stim, _w = bs.blend(np.zeros(6), obs)
        return a
    return ctl


@pytest.mark.parametrize("sign", [+1])
def test_righting_brings_the_torso_back_toward_upright(body, sign):
    """Tilted 0.55 rad forward: with righting alone (no other command) the pitch falls below the
    reflex's threshold within 0.2 s; with zero action it does not. (Backward tilt of the whole
    body is not corrected: the hips are at their range limit q = 0; docs/bodies.md.)"""
    obs = _perturbed(body, pitch=sign * 0.55)
    p_ref, _ = _run(body, obs, _reflex_only(Brainstem([Righting()])), 25)
    obs = _perturbed(body, pitch=sign * 0.55)
    p_zero, _ = _run(body, obs, lambda o: np.zeros(6), 25)
    assert np.abs(p_ref).min() < Righting().threshold
    assert np.abs(p_zero).min() > Righting().threshold


def test_righting_is_silent_when_upright(body):
    obs = _perturbed(body)
    out = Righting()(obs)
    assert not out.active and out.torque is None and out.weight == 0.0


def test_startle_triggers_on_a_jolt_holds_the_joints_and_times_out(body):
    st = Startle(rate_threshold=3.0, duration=0.12, refractory=1.0)
    obs = _perturbed(body, pitch_rate=0.0)
    assert not st(obs).active                      # no jolt: silent
    st.reset()
    obs = _perturbed(body, pitch_rate=4.0)         # a jolt
    q0 = obs[2:8].copy()
    bs = Brainstem([st])
    ctl = _reflex_only(bs)
    active = []
    for _ in range(st.n_on + 5):
        active.append(bs(obs)[3] == "startle")
        st.left += 1 if active[-1] else 0          # undo the probe's count-down
        obs, *_ = body.step(ctl(obs))
    n_on = int(np.sum(active))
    assert n_on == st.n_on, f"startle active {n_on} steps, expected {st.n_on}"
    assert not active[-1]
    out = st(obs)                                 # refractory: no retrigger even on a jolt
    assert not out.active
    # co-contraction: joints held near their angles at the jolt, closer than with zero action
    obs = _perturbed(body, pitch_rate=4.0)
    st2 = Startle(rate_threshold=3.0)
    ctl2 = _reflex_only(Brainstem([st2]))
    for _ in range(st2.n_on):
        obs, *_ = body.step(ctl2(obs))
    held = np.abs(obs[2:8] - q0).max()
    obs = _perturbed(body, pitch_rate=4.0)
    for _ in range(st2.n_on):
        obs, *_ = body.step(np.zeros(6))
    free = np.abs(obs[2:8] - q0).max()
    assert held < free


def test_startle_inhibits_the_rhythm_generators(body):
    obs = _perturbed(body, pitch_rate=5.0)
    out = Startle(rate_threshold=3.0)(obs)
    for side in ("r", "l"):
        for c in ("RG_F", "RG_E"):
            assert np.all(out.stim[cpg.INDEX[(side, c)]] < 0)
    assert np.all(out.stim[cpg.INDEX[("r", "MN_F")]] == 0)


def test_stepping_drive_starts_stepping_and_a_catching_step():
    """With the rhythm generators' own drive halved the extensor generator is silent (no
    flexor-extensor rhythm); the stepping drive's tonic current while upright brings both
    generators into alternating bursts. A forward lean adds current to the rear leg's flexor
    generator only; beyond 'upright' the drive is off."""
    from encephagen.bodies.gait import cpg_params_for

    sd = SteppingDrive(tonic=0.5, lean_gain=1.0, upright=0.6)
    obs = np.zeros(17)
    stim = sd(obs).stim
    assert np.all(stim[cpg.INDEX[("r", "RG_F")]] == 0.5) and np.all(stim[cpg.INDEX[("l", "RG_E")]] == 0.5)
    res = []
    for s in (None, stim):
        net = cpg.SpinalCPG(cpg_params_for(0.5), seed=1)
        net.reset(0)
        sp = net.run(6.0, 0.0 if s is None else s)
        rate_e = sp[1000:, cpg.INDEX[("r", "RG_E")]].mean() / net.p.dt
        res.append((rate_e, cpg.rhythm_summary(sp, net.p.dt)))
    assert res[0][0] < 1.0, f"extensor generator without drive: {res[0][0]:.2f} Hz"
    assert res[1][0] > 5.0, f"extensor generator with the stepping drive: {res[1][0]:.2f} Hz"
    assert abs(res[1][1]["phase_flex_ext_r"] - 0.5) < 0.1 and abs(res[1][1]["phase_left_right"] - 0.5) < 0.1
    sd = SteppingDrive(tonic=0.3, lean_gain=1.0, upright=0.6)
    lean = np.zeros(17)
    lean[1], lean[2], lean[5] = 0.3, -0.5, 0.0     # leaning forward, right thigh behind
    st = sd(lean).stim
    assert st[cpg.INDEX[("r", "RG_F")]][0] == pytest.approx(0.3 + 0.3)
    assert st[cpg.INDEX[("l", "RG_F")]][0] == pytest.approx(0.3)
    fallen = np.zeros(17)
    fallen[1] = 0.7
    assert not sd(fallen).active and not np.any(sd(fallen).stim)


def test_priority_gating_higher_reflex_wins_and_silences_lower():
    jolt_tilt = np.zeros(17)
    jolt_tilt[1], jolt_tilt[10] = 0.5, 6.0          # tilted (righting) and jolted (startle)
    bs = Brainstem([Startle(rate_threshold=3.0), Righting(threshold=0.35, ramp=0.1), SteppingDrive()])
    torque, w, stim, winner = bs(jolt_tilt)
    assert winner == "startle" and w == 1.0
    held = Startle(rate_threshold=3.0)(jolt_tilt).torque
    np.testing.assert_allclose(torque, held)
    # stepping drive (lowest) gated off by the fully active startle: only startle's inhibition remains
    assert np.all(stim[cpg.INDEX[("r", "RG_F")]] < 0)
    # without the startle, righting wins and the stepping drive is scaled by 1 - w
    bs2 = Brainstem([Righting(threshold=0.35, ramp=0.3), SteppingDrive(tonic=0.2, lean_gain=0.0)])
    tilt = np.zeros(17)
    tilt[1] = 0.45
    torque, w, stim, winner = bs2(tilt)
    assert winner == "righting" and w == pytest.approx(0.1 / 0.3)
    assert stim[cpg.INDEX[("r", "RG_E")]][0] == pytest.approx(0.2 * (1 - w))
    a, _s, _w = bs2.blend(np.ones(6) * 0.5, tilt)
    np.testing.assert_allclose(a, np.clip((1 - w) * 0.5 + w * torque, -1, 1))
