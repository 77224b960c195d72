"""The cognition stage (claim 8; encephagen.learn.cognition, encephagen.steps.cognition): the NMDA
current lengthens the prefrontal tail on a tiny network (the NMDA-off condition is the same network
and drive), the readout is at chance with shuffled labels and well above it with planted classes,
the tests table has exactly the interface's columns, config errors name the key, and a dry run of
the study config layered on the CI config has the stage's jobs."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from encephagen.learn import cognition as CG
from encephagen.study.config import ParameterError

REPO = Path(__file__).resolve().parents[1]
R = 8
TINY = {"seeds_per_network": 2, "transient": 30.0, "batch_size": 12,
        "params": {"n_e": 12, "n_i": 3, "p_int": 0.3, "eta": 1.1, "p_between": 0.5, "delays": False,
                   "nmda_ratio": 1.0, "tau_nmda": 150.0},
        "memory": {"n_trials": 2, "off_ms": 30.0, "baseline_ms": 50.0, "cue_ms": 50.0, "delay_ms": 100.0,
                   "bin_ms": 50.0, "persistence_ms": 50.0, "rate_increase": 1.0},
        "patterns": {"n_classes": 3, "n_per_class": 4, "off_ms": 10.0, "on_ms": 40.0, "cv_folds": 2},
        "label_permutations": 9}


def _nets(n_nulls=0):
    from encephagen.study.network import Network

    rng = np.random.default_rng(0)
    W = rng.random((R, R)) * (rng.random((R, R)) < 0.6)
    np.fill_diagonal(W, 0.0)
    out = [Network("toy", "real", 0, W, None)]
    for k in range(n_nulls):
        P = rng.permutation(R)
        out.append(Network("toy", "degree", k, W[np.ix_(P, P)], None))
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from encephagen.study import run_study

    d = tmp_path_factory.mktemp("cognition")
    p = run_study("cognition_lif", TINY, _nets(2), 5, d / "runs.h5", region_labels=[f"r{k}" for k in range(R)],
                  prefrontal=[0, 1], inputs=[5, 6, 7])
    return d, p


def test_nmda_off_gives_a_shorter_prefrontal_tail(tiny):
    """The same network, seed and drive: with the NMDA current the prefrontal rate after cue offset
    stays higher above baseline than without it (defect: NMDA not switched per condition, or the
    conditions not paired)."""
    _d, p = tiny
    d = CG.read_cognition(p)
    runs, _cost, cfg = CG.runs_table([p], n_shuffles=0)
    real = runs[runs.family == "real"].set_index(["seed_id", "condition"])
    for s in (0, 1):
        assert real.loc[(s, 1), "pfc_delay_excess"] > real.loc[(s, 0), "pfc_delay_excess"] + 0.5
    # the conditions of a seed id share the build seed and the Poisson seed
    m = d["family"] == "real"
    for s in (0, 1):
        sel = m & (d["seed_id"] == s)
        assert len(set(d["seed"][sel])) == 1 and len(set(d["build_seed"][sel])) == 1
    assert sorted(set(d["condition"])) == [0, 1, 2]
    assert d["wm_delay"].shape[2] == 2 and d["pr_rate"].shape[1] == 12
    # every pattern drives only input regions, distinct patterns
    assert (d["patterns"][:, d["input"] == 0] == 0).all()
    assert len({tuple(r) for r in d["patterns"]}) == 3


def test_readout_is_at_chance_with_shuffled_labels_and_above_it_with_classes():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(5), 20)
    X = rng.normal(size=(100, 12)) + 3.0 * np.eye(5, 12)[y]
    acc, sh = CG.readout_accuracy(X, y, 4, n_shuffles=20, seed=3)
    assert acc > 0.9
    assert abs(sh.mean() - 0.2) < 0.06
    acc0, _ = CG.readout_accuracy(rng.normal(size=(100, 12)), y, 4, seed=3)
    assert acc0 < 0.4
    lp = CG.label_permutation_test([X[:, :6], X[:, 6:]], y, 4, 1.0, 19, seed=0)
    assert lp["p"] == pytest.approx(1 / 20) and lp["min_p"] == pytest.approx(1 / 20)


def test_tests_table_has_the_interface_columns(tiny):
    from encephagen.steps.cognition import summarize

    d, p = tiny
    res = summarize([p], d / "cognition_tests.tsv", d / "runs.tsv", d / "cognition.png", n_permutations=1000,
                    label_permutations=9, figure_rel="cognition/toy/cognition.png")
    t = pd.read_csv(d / "cognition_tests.tsv", sep="\t")
    assert list(t.columns) == ["experiment", "contrast", "unit", "network", "n", "effect", "ci_low", "ci_high",
                               "p", "min_p", "control", "figure"]
    assert set(t.experiment) == {"working_memory", "pattern_recognition", "structure"}
    assert set(t.unit) <= {"seed", "network"} and set(t.network) == {"real", "degree"}
    st = t[t.experiment == "structure"]
    assert (st.n == 2).all() and np.allclose(st.min_p, 1 / 3) and (st.p >= st.min_p - 1e-12).all()
    sf = t[(t.unit == "seed") & t.contrast.str.startswith("NMDA - no NMDA")]
    assert np.allclose(sf.min_p, 2 / 2 ** 2) and (sf.n == 2).all()
    assert (t.figure == "cognition/toy/cognition.png").all()
    assert (d / "cognition.png").stat().st_size > 1000 and res["cost"]["cpu_s"] > 0
    runs = pd.read_csv(d / "runs.tsv", sep="\t")
    assert len(runs) == 3 * 2 * 3


def test_config_errors_name_the_key():
    from encephagen.data.tables import region_table
    from encephagen.schemas import section_schema
    from encephagen.steps.networks import regions_of_class

    s = section_schema("stages")
    assert "cognition" in s["items"]["enum"] and "cognition" not in s["default"]
    with pytest.raises(ParameterError, match=r"cognition\.memory\.bogus"):
        CG.resolve_cognition({"memory": {"bogus": 1}})
    with pytest.raises(ParameterError, match=r"cognition\.colour"):
        CG.resolve_cognition({"colour": 1})
    with pytest.raises(ParameterError, match=r"cognition\.params\.G"):
        CG.resolve_cognition({"params": {"G": 2.0}})
    with pytest.raises(ParameterError, match=r"cognition\.params"):
        CG.resolve_cognition({"params": {"nmda_ratiox": 2.0}})
    with pytest.raises(ParameterError, match=r"cognition\.memory\.persistence_ms"):
        CG.resolve_cognition({"memory": {"persistence_ms": 500.0, "delay_ms": 300.0}})
    with pytest.raises(ParameterError, match=r"cognition\.patterns\.n_classes"):
        CG.resolve_cognition({"patterns": {"n_classes": 1}})
    labels = [r["label"] for r in region_table("tvb66")]
    idx, _ = regions_of_class("tvb66", labels, ["prefrontal"], "cognition.prefrontal_class")
    assert len(idx) == 12 and "rRMF" in [labels[k] for k in idx]
    with pytest.raises(ParameterError, match=r"cognition\.input_class"):
        regions_of_class("tvb66", labels, ["nonsense"], "cognition.input_class")


@pytest.mark.workflow
def test_study_config_dry_run_has_the_cognition_jobs(tmp_path):
    """The claim-8 study config layered on the CI config: one cognition_run per network batch (the
    real network and the 2 batches of 9 degree nulls) and one summary, nothing of the default run."""
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "config" / "ci.yaml", wd / "config" / "config.yaml")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(wd),
           "--configfile", str(wd / "config" / "config.yaml"),
           str(REPO / "config" / "studies" / "claim8_cognition.yaml"), "-n", "--quiet", "rules"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in res.stdout.splitlines() if len(ln.split()) == 2
              and ln.split()[1].isdigit()}
    assert counts.get("cognition_run") == 3 and counts.get("cognition_summary") == 1, res.stdout
    assert "simulate_batch" not in counts and "evoked_run" not in counts
