"""The learn package (issue 16): the exact sign-flip test, the plastic engine on the study layer
(kind 'plastic'; plastic and frozen runs paired; results independent of the batch composition),
the protocol measures."""
from __future__ import annotations

import itertools

import h5py
import numpy as np
import pandas as pd
import pytest

from encephagen.io import validate_h5
from encephagen.learn import statistics as S
from encephagen.learn.engine import PlasticEngine, read_plastic, resolve_learn
from encephagen.seeds import numpy_rng
from encephagen.study import ParameterError, engine_for_kind, run_study


def test_sign_flip_exact_equals_brute_force_and_known_values():
    d = np.array([0.3, -0.1, 0.7, 0.2, 0.05, -0.4, 0.9])
    brute = np.mean([abs(np.dot(s, d)) >= abs(d.sum()) - 1e-12 for s in itertools.product((1, -1), repeat=d.size)])
    t = S.sign_flip_test(d)
    assert t["exact"] and t["n_patterns"] == 2 ** 7 and t["p"] == pytest.approx(brute, abs=0)
    # all 20 positive: only the observed pattern and its mirror are as extreme
    t = S.sign_flip_test(np.linspace(1, 2, 20))
    assert t["exact"] and t["p"] == 2 / 2 ** 20
    # beyond 20 pairs: Monte Carlo, (k + 1) / (m + 1), never 0
    t = S.sign_flip_test(np.linspace(1, 2, 25), n_permutations=2000)
    assert not t["exact"] and t["p"] == 1 / 2001
    assert S.sign_flip_test(np.zeros(4))["p"] == 1.0


def test_paired_runs_refuses_a_run_without_partner():
    runs = pd.DataFrame({"atlas": ["a"] * 3, "family": ["real"] * 3, "null_index": [0] * 3, "seed_id": [0, 0, 1],
                         "plastic": [1, 0, 1], "novelty": [0.1, 0.0, 0.2]})
    with pytest.raises(ValueError, match="no frozen partner"):
        S.paired_runs(runs, "novelty")


def test_learn_config_errors_name_the_key():
    with pytest.raises(ParameterError, match="learn.habituation.n_repeats"):
        resolve_learn({"habituation": {"n_repeats": 0}})
    with pytest.raises(ParameterError, match="learn: .*tau_c"):
        resolve_learn({"rstdp": {"tau_c": -1.0}})
    with pytest.raises(ParameterError, match="protocol"):
        PlasticEngine().prepare({})


def test_cli_protocol_choices_are_the_engines():
    from encephagen.learn import cli, engine

    assert cli.PROTOCOLS == engine.PROTOCOLS


def _nets(R=12, seed=1):
    rng = numpy_rng(seed)
    W = rng.random((R, R)) * (rng.random((R, R)) < 0.5)
    np.fill_diagonal(W, 0)
    L = 20 + 60 * rng.random((R, R))
    perm = rng.permutation(R)
    return [("toy", "real", 0, W, (L + L.T) / 2), ("toy", "shuffle", 0, W[perm][:, perm], (L + L.T) / 2)]


SMALL = {"seeds_per_network": 2, "transient": 20.0, "params": {"n_e": 8, "n_i": 2, "p_int": 0.4, "eta": 1.1,
                                                               "p_between": 0.3, "velocity": 10.0},
         "habituation": {"n_repeats": 3, "on_ms": 20.0, "off_ms": 20.0, "pattern_regions": 2},
         "conditioning": {"n_trials": 6, "on_ms": 20.0, "iti_ms": 20.0, "pattern_regions": 2, "block": 3},
         "three_way": {"n_trials": 6, "on_ms": 10.0, "iti_ms": 10.0, "pattern_regions": 2, "block": 3},
         "eprop": {"eta_rec": 0.05, "eta_out": 0.1},
         "stdp": {"lam": 0.05, "alpha": 1.2}, "rstdp": {"tau_c": 50.0, "eta": 5.0}, "record_every_ms": 10.0}


@pytest.mark.parametrize("protocol", ["habituation", "conditioning", "three_way_eprop", "three_way_rstdp"])
def test_plastic_engine_pairs_runs_and_ignores_batch_composition(tmp_path, protocol):
    """Through run_study: 2 networks x 2 seed ids x {plastic, frozen}; frozen weights never move,
    plastic ones do; the file (kind 'plastic') is the same whether the runs share a batch or not;
    the real network and its null get the same stimulated neurons (pattern seed per seed id)."""
    files = []
    for bs in (8, 1):
        p = run_study("plastic_lif", {**SMALL, "protocol": protocol, "batch_size": bs}, _nets(), 3,
                      tmp_path / f"{protocol}-{bs}.h5")
        validate_h5(p, "plastic")
        files.append(p)
    a, b = (read_plastic(f, weights=True) for f in files)
    assert a["plastic"].tolist() == [1, 0] * 4 and list(a["family"]) == ["real"] * 4 + ["shuffle"] * 4
    for k in a["trials"]:
        np.testing.assert_array_equal(a["trials"][k], b["trials"][k])
    np.testing.assert_array_equal(a["weights"]["final"], b["weights"]["final"])
    off, w0, w1 = a["weights"]["offset"], a["weights"]["initial"], a["weights"]["final"]
    for r, flag in enumerate(a["plastic"]):
        d = w1[off[r]:off[r + 1]] - w0[off[r]:off[r + 1]]
        assert (np.abs(d).max() > 0) == bool(flag), (r, flag)
    assert np.all(a["weight_change"]["frac_changed"][a["plastic"] == 0] == 0)
    assert np.all(a["weight_change"]["frac_changed"][a["plastic"] == 1] > 0.05)
    assert a["pattern_seed"][0] == a["pattern_seed"][4] and a["pattern_seed"][0] != a["pattern_seed"][2]
    assert a["trajectory"]["mean"].shape[0] == 8 and a["trajectory"]["step"].size >= 5
    # frozen run = plastic run's partner: same seeds; their trials differ once the weights moved
    assert a["seed"][0] == a["seed"][1]
    runs = engine_for_kind("plastic").read_runs(files[0])
    assert runs["metrics"]["rate"].shape == (8, 12) and np.all(runs["metrics"]["rate"] > 0)
    with h5py.File(files[0]) as f:
        assert f.attrs["protocol"] == protocol and f.attrs["cpu_s"] > 0
    m = S.run_measures(protocol, a["trials"], 3)
    assert all(v.shape == (8,) for v in m.values())
