"""The closed loop as an engine of the study layer: registry, seeds, file kind, null seeds and the
shipped brain -> CPG coupling record."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")


def _nets(k=2, R=96, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(k):
        W = rng.random((R, R)) * (rng.random((R, R)) < 0.2)
        np.fill_diagonal(W, 0)
        out.append(("tvb96", "real" if i == 0 else "degree", i, W, np.where(W > 0, 40.0, 0.0)))
    return out


REGIONS = {"sensory": {"L": [76, 77], "R": [28, 29]}, "motor": {"L": [79], "R": [31]}}
SMALL = {"max_steps": 12, "brain": {"n_e": 4, "n_i": 1}}


def test_engine_is_registered_and_writes_runs_of_layout_embody(tmp_path):
    from encephagen.study.engines.embody import EmbodyEngine, read_embody
    from encephagen.io import validate_h5
    from encephagen.study import engine_for_kind, get_engine, read_runs, run_study
    from encephagen.study.engine import file_kind

    assert isinstance(get_engine("embody"), EmbodyEngine) and isinstance(engine_for_kind("embody"), EmbodyEngine)
    p = run_study("embody", {**SMALL, "controller": "full_loop"}, _nets(1), 3, tmp_path / "e.h5",
                  seed_ids=[100, 101], **REGIONS)
    validate_h5(p, "embody")
    assert file_kind(p) == "embody"
    r = read_runs(p)
    assert list(r["seed_id"]) == [100, 101] and r["attrs"]["controller"] == "full_loop"
    assert set(r["metrics"]) == {"steps", "dx", "velocity", "return"}
    d = read_embody(p)
    assert np.all(d["G"] == 0.1) and np.all(d["brain"] == 1) and d["versions"]["mujoco"]


def test_seed_rule_body_seed_is_the_seed_id_and_the_brain_streams_are_the_elements(tmp_path):
    """Controls without a brain give the same episode on any network (the body seed is the seed
    id); the brain's build seed and Poisson seed are the study layer's element seeds; a rerun is
    identical."""
    from encephagen.study.engines.embody import read_embody
    from encephagen.study import Network, element_seed, run_study

    nets = _nets(2)
    a = read_embody(run_study("embody", {**SMALL, "controller": "spinal"}, nets[:1], 3, tmp_path / "a.h5",
                              seed_ids=[100, 101]))
    b = read_embody(run_study("embody", {**SMALL, "controller": "spinal"}, nets[1:], 3, tmp_path / "b.h5",
                              seed_ids=[100, 101]))
    np.testing.assert_array_equal(a["dx"], b["dx"])
    f1 = read_embody(run_study("embody", {**SMALL, "controller": "full_loop"}, nets[:1], 3, tmp_path / "f1.h5",
                               seed_ids=[100], **REGIONS))
    f2 = read_embody(run_study("embody", {**SMALL, "controller": "full_loop"}, nets[:1], 3, tmp_path / "f2.h5",
                               seed_ids=[100], **REGIONS))
    np.testing.assert_array_equal(f1["dx"], f2["dx"])
    net = Network(*nets[0])
    assert f1["build_seed"][0] == element_seed(3, net, 100, "build") and f1["seed"][0] == element_seed(3, net, 100)


def test_bad_engine_input_is_refused_naming_the_key(tmp_path):
    from encephagen.study import ParameterError, run_study

    with pytest.raises(ParameterError, match="no controller"):
        run_study("embody", SMALL, _nets(1), 3, tmp_path / "x.h5", seed_ids=[100])
    with pytest.raises(ParameterError, match="controller 'dance'"):
        run_study("embody", {**SMALL, "controller": "dance"}, _nets(1), 3, tmp_path / "x.h5", seed_ids=[100])
    with pytest.raises(ParameterError, match="sensory and motor"):
        run_study("embody", {**SMALL, "controller": "full_loop"}, _nets(1), 3, tmp_path / "x.h5", seed_ids=[100])
    with pytest.raises(ParameterError, match="embody.brain.gain_out"):
        run_study("embody", {**SMALL, "brain": {"gain_out": -1}, "controller": "full_loop"}, _nets(1), 3,
                  tmp_path / "x.h5", seed_ids=[100], **REGIONS)


def test_brain_vs_null_compares_the_real_network_on_the_nulls_seeds():
    """With embody.null_seeds the nulls ran on fewer seeds: the real network's mean is taken over
    those seeds only (a real-network seed outside them must not move the statistic)."""
    from encephagen.bodies.cli import brain_vs_null

    rows = [{"controller": "full_loop", "null_index": 0, "seed": s, "steps": 1000, "dx": dx, "velocity": 0.2,
             "return": 1.0, "truncated": 1} for s, dx in ((100, 2.0), (101, 2.2), (102, -50.0))]
    rows += [{"controller": "brain_null", "null_index": i, "seed": s, "steps": 1000, "dx": 1.0 + 0.01 * i,
              "velocity": 0.2, "return": 1.0, "truncated": 1} for i in range(1, 21) for s in (100, 101)]
    b = {r["metric"]: r for r in brain_vs_null(rows)}
    assert b["dx"]["real"] == pytest.approx(2.1) and b["dx"]["n_seeds"] == 2
    assert b["dx"]["n_nulls"] == 20 and b["dx"]["p"] == pytest.approx(1 / 21)


def test_shipped_coupling_record_is_the_schema_default_and_was_chosen_on_training_seeds():
    from importlib import resources

    from encephagen.schemas import section_defaults

    rec = json.loads((resources.files("encephagen.bodies") / "assets" / "walker2d_coupling.json").read_text())
    assert section_defaults("embody")["brain"]["gain_out"] == rec["gain_out"]
    best = max(rec["table"], key=lambda r: r["score"])
    assert best["gain_out"] == rec["gain_out"]
    held_out = set(range(section_defaults("embody")["seed_start"],
                         section_defaults("embody")["seed_start"] + section_defaults("embody")["n_seeds"]))
    assert rec["train_seeds"] and not set(rec["train_seeds"]) & held_out
    assert all(int(n.split("-")[1]) >= 20 for n in rec["networks"] if not n.startswith("real"))


def test_calibrate_coupling_picks_the_best_training_score(tmp_path, resources_dir):
    """A tiny calibration through the engine, from the nulls stage's files (a real batch and a
    null batch): the record's choice is the argmax of its own table; the null used is index 20."""
    from encephagen.bodies.cli import calibrate_coupling
    from encephagen.connectome import Connectome
    from encephagen.steps.nulls import write_null_batch
    from encephagen.nulls.families import generate_batch, prepare_source

    src = prepare_source(Connectome.load(resources_dir / "connectomes" / "tvb96.h5", isolated="allow"))
    real = write_null_batch(tmp_path / "real.h5", generate_batch(src, "real", [0], 3, atlas="tvb96"))
    null = write_null_batch(tmp_path / "null.h5", generate_batch(src, "degree", [20], 3, atlas="tvb96"))
    rec = calibrate_coupling({"max_steps": 10, "brain": {"n_e": 4, "n_i": 1}}, 3, "tvb96", real, [null],
                             gains=[0.05, 0.5], seeds=[20], null_indices=(20,), out=tmp_path / "c.json")
    assert rec["gain_out"] == max(rec["table"], key=lambda r: r["score"])["gain_out"]
    assert rec["networks"] == ["real-0", "degree-20"]
    assert json.loads((tmp_path / "c.json").read_text())["episodes"] == 2 * 2 * 1
