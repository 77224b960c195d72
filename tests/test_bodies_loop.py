"""The closed loop: brain network in and out of the loop, reproducibility, wiring of its output."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

from encephagen.bodies import cpg  # noqa: E402
from encephagen.bodies.loop import BrainNetwork, make_controller, run_loop_episode  # noqa: E402
from encephagen.bodies.walker2d import Walker2dBody  # noqa: E402


def _brain(seed=1, **kw):
    rng = np.random.default_rng(0)
    W = rng.random((12, 12)) * (rng.random((12, 12)) < 0.5)
    np.fill_diagonal(W, 0)
    return BrainNetwork(W, None, {"L": [0, 1], "R": [2, 3]}, {"L": [4], "R": [5]}, seed=seed, n_e=8, n_i=2, **kw)


@pytest.fixture(scope="module")
def body():
    b = Walker2dBody(max_steps=60)
    yield b
    b.close()


def test_full_loop_is_reproducible_and_the_brain_drives_only_rhythm_generators(body):
    a = run_loop_episode(body, make_controller("full_loop", brain=_brain()), 100, record=True)
    b = run_loop_episode(body, make_controller("full_loop", brain=_brain()), 100, record=True)
    np.testing.assert_array_equal(a["trace"]["obs"], b["trace"]["obs"])
    ctl = make_controller("full_loop", brain=_brain(gain_out=5.0, max_drive=1.0))
    run_loop_episode(body, ctl, 100)
    stim = ctl.brain_stim
    rg = np.concatenate([cpg.INDEX[(s, c)] for s in ("r", "l") for c in ("RG_F", "RG_E")])
    others = np.setdiff1d(np.arange(cpg.N), rg)
    assert np.any(stim[rg] != 0) and np.all(stim[others] == 0)
    # left hemisphere's motor region drives the right hemicord: both RG classes of a side get one value
    assert np.unique(stim[cpg.INDEX[("r", "RG_F")]]).size == 1


def test_brain_changes_the_trajectory_and_ablation_removes_it(body):
    full = run_loop_episode(body, make_controller("full_loop", brain=_brain(gain_out=2.0, max_drive=1.0)), 100,
                            record=True)
    abl = run_loop_episode(body, make_controller("brain_ablated"), 100, record=True)
    abl2 = run_loop_episode(body, make_controller("brain_ablated"), 100, record=True)
    np.testing.assert_array_equal(abl["trace"]["obs"], abl2["trace"]["obs"])
    n = min(len(full["trace"]["obs"]), len(abl["trace"]["obs"]))
    assert not np.allclose(full["trace"]["obs"][:n], abl["trace"]["obs"][:n])


def test_brain_region_indices_are_checked():
    W = np.ones((4, 4)) - np.eye(4)
    with pytest.raises(ValueError, match="both hemispheres"):
        BrainNetwork(W, None, {"L": [0]}, {"L": [1], "R": [2]}, seed=1)
    with pytest.raises(ValueError, match="out of range"):
        BrainNetwork(W, None, {"L": [0], "R": [9]}, {"L": [1], "R": [2]}, seed=1)
    with pytest.raises(ValueError, match="unknown controller"):
        make_controller("dance")
