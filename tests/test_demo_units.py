"""The demo's engines as arrays: encoders, motor decoder, grid world, the NMDA switch, the brain's
stimulation, learning and save/load. Each test names the defect it catches."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.demo.decoder import MotorDecoder
from encephagen.demo.encoders import (PATTERNS, AuditoryEncoder, TouchEncoder, VisualEncoder, pattern, resize,
                                      tone_position)
from encephagen.demo.gridworld import ACTIONS, GridWorld, RandomAgent, random_success_probability, run_closed_loop


def test_visual_field_is_contralateral_and_tiled():
    """Defect: an ipsilateral mapping, or pixels no neuron sees."""
    hemi = np.array(["L"] * 64 + ["R"] * 64)
    enc = VisualEncoder(hemi, size=8, max_rate=100.0)
    left_half = np.zeros((8, 8))
    left_half[:, :4] = 1.0
    r = enc.rates(left_half)
    assert r[64:].min() > 50 and r[:64].max() < 50        # left visual field -> right hemisphere
    for side, cols in (("L", range(4, 8)), ("R", range(4))):
        c = enc.centre[hemi == side]
        assert {(i, j) for i in range(8) for j in cols} == set(map(tuple, c))
    np.testing.assert_allclose(enc.rates(np.ones((8, 8))), 100.0)   # receptive fields normalised


def test_visual_rejects_bad_images():
    enc = VisualEncoder(["L", "R"] * 8)
    with pytest.raises(ValueError, match="8 x 8"):
        enc.rates(np.ones((4, 4)))
    with pytest.raises(ValueError, match="within"):
        enc.rates(np.full((8, 8), 2.0))
    with pytest.raises(ValueError, match="unknown pattern 'zz'"):
        pattern("zz")


def test_patterns_distinct_and_resizable():
    """Defect: two named patterns with the same bitmap (a discrimination task would be ill-posed)."""
    imgs = {p: pattern(p).tobytes() for p in PATTERNS}
    assert len(set(imgs.values())) == len(PATTERNS)
    assert resize(np.ones((16, 16)), 8).shape == (8, 8)


def test_tonotopy_peaks_at_the_tone():
    """Defect: best frequencies reversed or the map not logarithmic."""
    hemi = np.array(["L"] * 50 + ["R"] * 50)
    enc = AuditoryEncoder(hemi, max_rate=10.0)
    bf = enc.best_frequency()
    assert np.all(np.diff(bf[:50]) > 0)
    for f in (100.0, 1000.0, 8000.0):
        r = enc.rates(f)
        k = int(np.argmax(r[:50]))
        assert abs(np.log(bf[k] / f)) < np.log(20000 / 20) / 50 + 1e-9
    assert tone_position(20.0) == 0.0 and tone_position(20000.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="20..20000"):
        enc.rates(5.0)


def test_touch_is_contralateral():
    enc = TouchEncoder(np.array(["L", "L", "R"]), max_rate=7.0)
    np.testing.assert_array_equal(enc.rates("left"), [0, 0, 7])
    np.testing.assert_array_equal(enc.rates("right"), [7, 7, 0])
    np.testing.assert_array_equal(enc.rates("both"), [7, 7, 7])
    with pytest.raises(ValueError, match="touch side 'up'"):
        enc.rates("up")


def test_decoder_argmax_and_smoothing():
    """Defect: the action is not the most active pool, or the moving average has the wrong gain."""
    dec = MotorDecoder([np.array([0, 1]), np.array([2, 3]), np.array([4]), np.array([5])], ACTIONS, tau_ms=100.0)
    counts = np.array([0, 0, 2, 2, 0, 1])
    assert dec.decide(counts, 100.0) == 1
    np.testing.assert_allclose(dec.smoothed, (1 - np.exp(-1)) * np.array([0, 20, 0, 10]))
    with pytest.raises(ValueError, match="overlap"):
        MotorDecoder([np.array([0]), np.array([0])], ("a", "b"))


def test_centred_decoder_removes_a_constant_pool_bias():
    """Defect: with ``center`` a pool that is always more active still wins every decision."""
    pools = [np.array([k]) for k in range(4)]
    dec = MotorDecoder(pools, ACTIONS, center=True, center_tau_ms=200.0, seed=0)
    rng = np.random.default_rng(1)
    picks = [dec.decide(np.array([30, 10, 10, 10]) + rng.poisson(3, 4), 100.0) for _ in range(400)]
    frac = np.bincount(picks, minlength=4) / 400
    assert frac.max() < 0.5 and frac.min() > 0.1
    plain = MotorDecoder(pools, ACTIONS, seed=0)
    assert all(plain.decide(np.array([30, 10, 10, 10]), 100.0) == 0 for _ in range(5))


def test_gridworld_rewards_and_termination():
    w = GridWorld(width=3, height=3, start=(2, 0), goal=(0, 2), max_steps=10)
    assert w.observation() == "right"
    obs, r, reached = w.step("left")           # wall bump: no progress
    assert r == -1.0 and w.pos == (2, 0) and not reached
    obs, r, _ = w.step("right")
    assert r == 1.0 and obs == "up"            # (2, 1): the goal is 2 up, 1 right
    obs, _, _ = w.step("up")
    assert obs == "right"                       # (1, 1): a tie goes to the horizontal axis
    w.step("right")
    _, _, reached = w.step(ACTIONS.index("up"))
    assert reached and w.done
    with pytest.raises(RuntimeError):
        w.step("up")
    with pytest.raises(ValueError, match="outside"):
        GridWorld(start=(9, 9))


def test_closed_loop_oracle_beats_random():
    """Defect: the runner does not pass the observation to the agent (an oracle would not win)."""
    class Oracle:
        def act(self, obs):
            return ACTIONS.index(obs)

        def reward(self, r):
            pass

    o = run_closed_loop(GridWorld(), Oracle(), 5)
    r = run_closed_loop(GridWorld(), RandomAgent(0), 50, learn=False)
    assert o["success"].all() and (o["moves"] == 8).all() and o["correct"].all()
    assert r["success"].mean() < 0.5


def test_exact_chance_level_matches_random_episodes():
    """Defect: a chance level that is not what a random mover achieves."""
    w = GridWorld(width=3, height=3, start=(2, 0), goal=(0, 2), max_steps=8)
    p = random_success_probability(w)
    r = run_closed_loop(w, RandomAgent(4), 2000, learn=False)["success"].mean()
    assert abs(r - p) < 4 * np.sqrt(p * (1 - p) / 2000)
    assert random_success_probability(GridWorld()) == pytest.approx(0.0656, abs=1e-4)


def _tiny_net(nmda):
    from encephagen.spiking import LIFParams, connectome_network

    W = np.array([[0, 1, 0.5], [1, 0, 1], [0.2, 1, 0]], float)
    L = np.full((3, 3), 20.0)
    p = LIFParams(n_e=40, n_i=10, eta=0.9)
    return connectome_network(W, L, p, seed=3, nmda_regions=nmda)


def _spikes(net):
    from encephagen.spiking import LIFBatch

    sim = LIFBatch([net], [5], backend="numba")
    sim.random_initial_state()
    out = []
    for _ in range(40):
        b = sim.step_block()
        out.append((b.k + b.t0).numpy() * 100000 + b.i.numpy())
    return np.concatenate(out)


def test_nmda_off_is_bitwise_the_network_without_nmda():
    """Defect: an all-false NMDA mask (the demo's --no-nmda, and the memory control) changes the
    spikes; and NMDA on must change them (else the control compares nothing)."""
    none = _spikes(_tiny_net(None))
    off = _spikes(_tiny_net(np.zeros(3, bool)))
    on = _spikes(_tiny_net(np.array([True, False, False])))
    np.testing.assert_array_equal(none, off)
    assert not np.array_equal(none, on)


# ---------------------------------------------------------------- the brain on the real connectome
@pytest.fixture(scope="module")
def brain(resources_dir):
    from encephagen.demo.brain import BrainConfig, build_brain

    return build_brain(BrainConfig(n_per_region=10, seed=1), resources_dir)


def test_brain_regions_from_the_class_table(brain):
    """Defect: input/motor regions chosen by label spelling rather than the reviewed classes."""
    assert [brain.labels[r] for r in brain.vis_regions] == ["RM-V1_R", "RM-V1_L"]
    assert [brain.labels[r] for r in brain.mot_regions] == ["RM-M1_R", "RM-M1_L"]
    assert set(brain.region_class[brain.nmda_mask]) == {"prefrontal"}
    assert brain.net.nmda_ratio[brain.net.region == brain.vis_regions[0]].max() == 0


def test_stimulus_drives_only_the_target_and_is_removed(brain):
    """Defect: a stimulus left on after present(), or on the wrong neurons."""
    base_grp = brain.sim.grp.clone()
    snap = brain.snapshot()
    rest = brain.run(100.0)
    brain.restore(snap)
    look = brain.present("look", pattern("SQUARE"), 100.0)
    assert look.counts[brain.vis_idx].sum() > 2 * rest.counts[brain.vis_idx].sum()
    assert (brain.stim == 0).all()
    assert np.array_equal(brain.sim.grp.numpy(), base_grp.numpy()) or \
        np.array_equal(np.unique(brain.sim.grp.numpy()), np.unique(base_grp.numpy()))
    brain.restore(snap)
    again = brain.run(100.0)
    np.testing.assert_array_equal(again.counts, rest.counts)   # removed stimulus: the same run as before


def test_reward_changes_only_the_pathway(brain):
    """Defect: learning writes outside the plastic pathway, or a frozen brain still learns."""
    snap = brain.snapshot()
    w0 = brain.sim.weight.clone()
    brain.trial("A", pattern("A"), 100.0)
    brain.learning = False
    brain.reward(1.0)
    assert torch_equal(brain.sim.weight, w0)
    brain.learning = True
    brain.trial("A", pattern("A"), 100.0)
    brain.reward(1.0)
    changed = np.flatnonzero((brain.sim.weight != w0).numpy())
    assert changed.size > 0 and np.isin(changed, brain.sm_pos).all()
    brain.restore(snap)


def test_credit_goes_to_the_acting_pool_only(brain):
    """Defect: with per-action credit (the default) a reward changes synapses onto pools that did not
    act -- the drift that let every pathway weight grow and the learned mapping fade."""
    assert brain.cfg.credit == "chosen"
    snap = brain.snapshot()
    for r in (1.0, -1.0):
        w0 = brain.w_sm.clone()
        a, _ = brain.trial("A", pattern("A"), 100.0)
        assert brain.rstdp.c.abs().sum() > 0          # the execution phase made eligibility
        brain.reward(r)
        changed = np.flatnonzero((brain.w_sm != w0)[0].numpy())
        assert changed.size > 0
        assert set(brain.sm_pool_of_syn.numpy()[changed]) == {a}
    brain.restore(snap)


def torch_equal(a, b):
    return bool((a == b).all())


def test_save_load_round_trip(brain, tmp_path):
    """Defect: a state file that does not restore the run (the continuation must be identical)."""
    brain.trial("A", pattern("A"), 50.0)
    brain.reward(1.0)
    path = tmp_path / "s.h5"
    brain.save(path)
    first = brain.present("look", pattern("B"), 50.0).counts
    brain.run(30.0)
    brain.load(path)
    np.testing.assert_array_equal(brain.present("look", pattern("B"), 50.0).counts, first)
    import h5py

    with h5py.File(path, "a") as f:
        f.attrs["config"] = f.attrs["config"].replace('"seed": 1', '"seed": 2')
    with pytest.raises(ValueError, match="differs in seed"):
        brain.load(path)


def test_memory_probe_is_the_two_runs_in_turn(brain):
    """Defect: the batched memory probe (pattern and blank copies in one run) gives other numbers than
    the two runs one after the other from the same state (a copy not started from the state, noise
    not shared, the stimulus on the wrong copy), or ``go_on`` leaves the brain elsewhere than at
    the end of the pattern run; and the no-NMDA control must differ from the NMDA run."""
    brain.set_stimulus(None)
    brain.run(20.0)
    snap = brain.snapshot()
    got = brain.memory(pattern("A"), True, snap, stim_ms=40.0, post_ms=60.0, bin_ms=20.0, go_on=True)
    end_v, end_t = brain.sim.v.clone(), brain.sim.t
    ref = {}
    for shown in ("A", "BLANK"):
        brain.restore(snap)
        during = brain.present("look", pattern(shown), 40.0).region_rate[brain.nmda_mask].mean()
        ref[shown] = (during, brain.run(60.0, bin_ms=20.0).bins[:, brain.nmda_mask].mean(axis=1))
        if shown == "A":
            assert brain.sim.t == end_t and torch_equal(brain.sim.v, end_v)
    np.testing.assert_allclose(got["during"], [ref["A"][0], ref["BLANK"][0]], rtol=1e-12)
    np.testing.assert_allclose(got["after"], ref["A"][1], rtol=1e-12)
    np.testing.assert_allclose(got["blank"], ref["BLANK"][1], rtol=1e-12)
    assert got["visual_during"][0] > 2 * got["visual_during"][1] + 1.0     # the pattern reached copy 0 only
    ctl = brain.memory(pattern("A"), False, snap, stim_ms=40.0, post_ms=60.0, bin_ms=20.0)
    assert ctl["after"].shape == got["after"].shape
    assert not torch_equal(brain._probe.copy_state(0)["v"], end_v)     # without NMDA the pattern run ends elsewhere
    brain.restore(snap)


def _egl_available() -> bool:
    import ctypes.util

    return ctypes.util.find_library("EGL") is not None


@pytest.mark.skipif(__import__("os").environ.get("MUJOCO_GL") != "egl" or not _egl_available(),
                    reason="rendering needs MUJOCO_GL=egl and libEGL")
def test_walk_writes_an_animated_gif(tmp_path):
    """Defect: with EGL the walk falls back to the joint-angle PNG, or writes a GIF of one frame or
    of identical frames (the body not rendered as it moves)."""
    import imageio.v2 as imageio

    from encephagen.demo.walk import walk

    res = walk(1.0, None, tmp_path / "w", seed=0, duration_s=0.4)
    assert res["file"].endswith(".gif") and not res["fell"]
    frames = imageio.mimread(res["file"])
    assert len(frames) >= 8 and frames[0].std() > 0
    assert any(not np.array_equal(frames[0], f) for f in frames[1:])
