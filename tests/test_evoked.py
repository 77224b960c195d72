"""The evoked stage (claim 7, the "dMRI wall"; encephagen.learn.evoked, encephagen.steps.evoked):
hop distances against bctpy (and their direction), a planted network whose stimulated region has
no outgoing edges (no evoked change anywhere else, bit for bit, while one added edge carries it),
the tests table's columns, and a dry run of the study config layered on the CI config."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from encephagen.learn import evoked as EV

REPO = Path(__file__).resolve().parents[1]
SMALL = {"seeds_per_network": 2, "transient": 30.0, "batch_size": 8,
         "params": {"n_e": 8, "n_i": 2, "p_int": 0.3, "eta": 1.1, "p_between": 0.5, "velocity": 10.0},
         "trials": {"n_trials": 3, "off_ms": 10.0, "baseline_ms": 40.0, "on_ms": 40.0}}


def _run(tmp_path, name, nets, rate_increase, stim=(0,), backend="auto"):
    from encephagen.study import run_study

    cfg = {**SMALL, "stimulus": {"rate_increase": rate_increase}, "backend": backend}
    R = nets[0][3].shape[0]
    return EV.read_evoked(run_study("evoked_lif", cfg, nets, 11, tmp_path / f"{name}.h5",
                                    region_labels=[f"r{k}" for k in range(R)], stim_regions=list(stim)))


def test_hop_distances_equal_bctpy_and_follow_source_to_target():
    import bct
    from scipy.sparse.csgraph import shortest_path

    from encephagen.spiking.network import normalise_weights
    from encephagen.spiking.params import LIFParams

    # a chain 0 -> 1 -> 2 -> 3 in the package's [target, source] orientation
    W = np.zeros((4, 4))
    W[1, 0] = W[2, 1] = W[3, 2] = 1.0
    hop, plen = EV.distances_from(W, [0])
    assert hop.tolist() == [0, 1, 2, 3]
    assert np.allclose(plen, [0, 1, 2, 3])          # every normalised weight is 1
    hop, _ = EV.distances_from(W, [3])
    assert hop[3] == 0 and np.isinf(hop[:3]).all()  # nothing leaves region 3
    # a random directed weighted graph, two stimulated regions: bctpy directly, and scipy's Dijkstra
    rng = np.random.default_rng(3)
    W = (rng.random((12, 12)) < 0.2) * rng.random((12, 12))
    np.fill_diagonal(W, 0)
    S = [2, 7]
    hop, plen = EV.distances_from(W, S)
    np.testing.assert_array_equal(hop, bct.distance_bin((W.T > 0).astype(float))[S].min(0))
    wn = normalise_weights(W, LIFParams()).T
    L = np.where(wn > 0, 1.0 / np.where(wn > 0, wn, 1.0), 0.0)
    np.testing.assert_allclose(plen, shortest_path(L, directed=True)[S].min(0))
    np.testing.assert_array_equal(hop, shortest_path((W.T > 0).astype(float), directed=True, unweighted=True)[S].min(0))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Region 0 (stimulated) receives input but sends none; regions 1-3 are all connected.
    Runs with a strong stimulus and a sham one (the same seeds), without and with an edge 0 -> 1."""
    d = tmp_path_factory.mktemp("evoked")
    W = np.ones((4, 4)) * 0.5
    np.fill_diagonal(W, 0)
    W[:, 0] = 0.0                                   # [target, source]: no edge out of region 0
    L = np.full((4, 4), 10.0)
    leak = W.copy()
    leak[1, 0] = 0.5                                # one edge 0 -> 1
    out = {}
    for name, w in (("sealed", W), ("leak", leak)):
        nets = [("toy", "real", 0, w, L)]
        out[name] = {"stim": _run(d, f"{name}-stim", nets, 1.0), "sham": _run(d, f"{name}-sham", nets, 1e-9)}
    out["leak"]["torch"] = _run(d, "leak-torch", [("toy", "real", 0, leak, L)], 1.0, backend="torch")
    nulls = [("toy", "real", 0, leak, L), ("toy", "degree", 0, W, L), ("toy", "degree", 1, leak.T.copy(), L)]
    out["nulls"] = _run(d, "with-nulls", nulls, 1.0)
    out["dir"] = d
    return out


def test_no_outgoing_edges_gives_no_evoked_change_elsewhere(planted):
    """The stimulated region responds strongly; every other region's baseline and stimulus-window
    rates are identical, bit for bit, to a sham stimulus with the same seeds: no path carries it.
    The same comparison with one edge 0 -> 1 shows a change in region 1 (so the check can fail)."""
    s, z = planted["sealed"]["stim"], planted["sealed"]["sham"]
    resp, _, _ = EV.region_responses(s["base_rate"], s["stim_rate"])
    assert (resp[:, 0] > 0.3).all(), resp[:, 0]
    for k in ("base_rate", "stim_rate"):
        np.testing.assert_array_equal(s[k][:, :, 1:], z[k][:, :, 1:])
    assert not np.array_equal(s["stim_rate"][:, :, 0], z["stim_rate"][:, :, 0])
    assert s["hop"][0].tolist()[0] == 0 and np.isinf(s["hop"][0][1:]).all()
    ls, lz = planted["leak"]["stim"], planted["leak"]["sham"]
    np.testing.assert_array_equal(ls["base_rate"][:, 0], lz["base_rate"][:, 0])   # first baseline: before any stimulus
    assert not np.array_equal(ls["stim_rate"][:, :, 1], lz["stim_rate"][:, :, 1])
    assert ls["hop"][0].tolist() == [0, 1, 2, 2]


def test_stimulus_is_the_same_on_the_torch_path(planted):
    """PoissonStimulus switches the threshold rows of both backends: the torch path (CPU here,
    the CUDA code path) gives the numba path's rates, spike for spike."""
    a, b = planted["leak"]["stim"], planted["leak"]["torch"]
    for k in ("base_rate", "stim_rate", "rate"):
        np.testing.assert_array_equal(a[k], b[k])


def test_ffi_conditions_are_paired(planted):
    d = planted["sealed"]["stim"]
    assert d["ffi"].tolist() == [0, 1, 0, 1] and d["ffi_scale"].tolist() == [1.0, 3.0, 1.0, 3.0]
    assert d["seed"][0] == d["seed"][1] and d["build_seed"][0] == d["build_seed"][1] and d["seed"][0] != d["seed"][2]


def test_tests_table_columns_and_files(planted):
    from encephagen.steps.evoked import summarize

    dd = planted["dir"]
    res = summarize([dd / "with-nulls.h5"], dd / "evoked_tests.tsv", dd / "regions.tsv", dd / "runs.tsv",
                    dd / "evoked.png", n_permutations=1000)
    t = pd.read_csv(dd / "evoked_tests.tsv", sep="\t")
    assert list(t.columns) == ["test", "measure", "effect", "ci_low", "ci_high", "p", "q", "n", "note"]
    assert set(t.test) == {"propagation", "decay", "ffi", "real_vs_nulls"}
    vs = t[t.test == "real_vs_nulls"]
    assert (vs.n == 2).all() and (vs.p.dropna() >= 1 / 3 - 1e-12).all()
    ok = np.isfinite(t.p)
    assert (t.q[ok] >= t.p[ok] - 1e-12).all() and np.isnan(t.q[~ok]).all()
    reg = pd.read_csv(dd / "regions.tsv", sep="\t")
    assert len(reg) == 3 * 2 * 4 and (reg.n_seeds == 2).all()
    assert (dd / "evoked.png").stat().st_size > 10_000 and res["cost"]["cpu_s"] > 0


@pytest.mark.workflow
def test_study_config_dry_run_has_the_evoked_jobs(tmp_path):
    """The claim-7 study config layered on the CI config: one evoked_run per network batch (the
    real network and the 2 batches of 9 degree nulls) and one summary."""
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "config" / "ci.yaml", wd / "config" / "config.yaml")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(wd),
           "--configfile", str(wd / "config" / "config.yaml"), str(REPO / "config" / "studies" / "claim7_dmri_wall.yaml"),
           "-n", "--quiet", "rules"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in res.stdout.splitlines() if len(ln.split()) == 2
              and ln.split()[1].isdigit()}
    assert counts.get("evoked_run") == 3 and counts.get("evoked_summary") == 1, res.stdout
    assert "simulate_batch" not in counts and "learn_run" not in counts


def test_evoked_is_opt_in_and_config_errors_name_the_key():
    from encephagen.data.tables import region_table
    from encephagen.schemas import section_schema
    from encephagen.steps.evoked import stimulated_regions
    from encephagen.study.config import ParameterError

    s = section_schema("stages")
    assert "evoked" in s["items"]["enum"] and "evoked" not in s["default"]
    with pytest.raises(ParameterError, match=r"evoked\.params\.ffi_scale"):
        EV.resolve_evoked({"params": {"ffi_scale": 3.0}})
    with pytest.raises(ParameterError, match=r"evoked\.stimulus"):
        EV.resolve_evoked({"stimulus": {"rate_increase": -1}})
    with pytest.raises(ParameterError, match=r"evoked\.trials"):
        EV.resolve_evoked({"trials": {"n_trials": 1}})
    labels = [r["label"] for r in region_table("tvb66")]
    idx, what = stimulated_regions("tvb66", labels, {"region_class": ["visual"]})
    assert [labels[k] for k in idx] == ["rCUN", "rLOCC", "rLING", "rPCAL", "lCUN", "lLOCC", "lLING", "lPCAL"]
    assert stimulated_regions("tvb66", labels, {"labels": ["lPCAL"]})[0] == [labels.index("lPCAL")]
    with pytest.raises(ParameterError, match=r"evoked\.stimulus\.labels"):
        stimulated_regions("tvb66", labels, {"labels": ["V1"]})
    with pytest.raises(ParameterError, match=r"evoked\.stimulus\.region_class"):
        stimulated_regions("tvb66", labels, {"region_class": ["nonsense"]})
