"""The operating point: weight normalisation, per-model settings, the regime classifier, the G grid
chosen on the nulls stage's real network, and that network used everywhere (CLI, baselines,
Hopf heterogeneity) -- each test fails on the defect it names."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from encephagen.sim import regime as rg
from encephagen.study.engines.neural_mass import model_config, normalize_weights, resolve_config, run_networks
from encephagen.sim.models import ParameterError
from encephagen.steps.networks import real_network
from encephagen.steps.operating_point import read_grid


# ----------------------------------------------------------------------------- regimes
def test_admissible_uses_the_simulation_regimes():
    """The operating point judges G by the regimes the simulations write (one classifier)."""
    metrics = {"mean": np.array([[0.999, 0.45, 0.03, 0.002, np.nan, 0.93]]),
               "var": np.array([[0.006, 0.42, 0.004, 0.001, 0.1, 0.2]]) ** 2,
               "silenced": np.array([[False, False, False, True, False, False]])}
    codes = rg.neural_mass_regimes("wilson_cowan", metrics, {})
    got = rg.regime_names(codes[0]).tolist()
    assert got == ["saturated", "oscillating", "fixed_point", "silent", "diverged", "oscillating"]
    assert not rg.admissible(codes[0, :2])
    assert rg.admissible(codes[0, 1:3])


def test_choose_grid_stays_below_the_first_inadmissible_G():
    G = np.geomspace(0.05, 5, 12)
    ok = np.array([True] * 7 + [False] * 5)
    grid = rg.choose_grid(G, ok, 3, placement="below", margin=1)
    assert np.allclose(grid, G[[3, 4, 5]])
    assert np.allclose(rg.choose_grid(G, ok, 2, placement="below", margin=0, ratio=2), G[[4, 6]])
    # silent at low G, then admissible, then saturated: the admissible window is used
    ok2 = np.array([False, False] + [True] * 5 + [False] * 5)
    assert np.allclose(rg.choose_grid(G, ok2, 3, margin=0), G[[4, 5, 6]])
    with pytest.raises(ValueError, match="do not fit"):
        rg.choose_grid(G, ok2, 6, margin=0)
    with pytest.raises(ValueError, match="every pre-sweep G"):
        rg.choose_grid(G, np.zeros(12, bool), 2)
    c = rg.choose_grid([], [], 3, placement="centred", centre=2.0, ratio=1.5)
    assert np.allclose(c, [2 / 1.5, 2, 3])


# ----------------------------------------------------------------------------- configuration
def test_mean_strength_makes_G_comparable_across_atlases():
    rng = np.random.default_rng(0)
    small = rng.random((20, 20))
    big = small * 6e4           # the same network in streamline counts
    a = normalize_weights(small, "mean_strength")
    b = normalize_weights(big, "mean_strength")
    assert np.allclose(a, b) and np.isclose(a.sum(1).mean(), 1.0)
    assert np.allclose(normalize_weights(big, "max", 0.2).max(), 0.2)
    assert resolve_config({})["normalize"] == "mean_strength"


def test_per_model_settings_merge_and_refuse_unknown_keys():
    sec = {"model": ["wilson_cowan", "hopf"], "duration": 1000.0, "monitors": {"bold": False},
           "per_model": {"hopf": {"dt": 100.0, "duration": 60000.0, "monitors": {"period": 100.0, "fc_period": 800.0}}}}
    wc, hopf = (resolve_config(model_config(sec, m)) for m in ("wilson_cowan", "hopf"))
    assert (wc["dt"], wc["duration"], wc["monitors"]["period"]) == (0.1, 1000.0, 1.0)
    assert (hopf["dt"], hopf["duration"], hopf["monitors"]["period"]) == (100.0, 60000.0, 100.0)
    assert hopf["monitors"]["bold"] is False          # inherited from the section, merged key by key
    with pytest.raises(ParameterError, match="several models"):
        resolve_config(sec)
    with pytest.raises(ParameterError, match=r"simulate\.per_model\.hopf\.velocityy"):
        model_config({**sec, "per_model": {"hopf": {"velocityy": None}}}, "hopf")
    with pytest.raises(ParameterError, match=r"simulate\.per_model\.sl: use the canonical"):
        model_config({**sec, "per_model": {"sl": {}}}, "hopf")
    # an entry of a model that is not run is ignored (config files are layered on config/config.yaml)
    assert model_config({"model": "lif", "per_model": {"hopf": {"dt": 100.0}}}, "lif")["model"] == "lif"
    with pytest.raises(ParameterError, match=r"operating_point\.ratio"):
        resolve_config({"operating_point": {"placement": "below", "ratio": 1.5}})
    with pytest.raises(ParameterError, match="'auto'"):
        run_networks({"G": "auto"}, [("x", "real", 0, np.ones((2, 2)), np.ones((2, 2)))], 1, 0, "/nonexistent.h5")


# ----------------------------------------------------------------------------- the real network
def _nulls_real(resources_dir, atlas, tmp_path, threshold=None):
    from encephagen.steps.nulls import generate_nulls_file

    out = tmp_path / f"{atlas}-real.h5"
    generate_nulls_file(resources_dir / "connectomes" / f"{atlas}.h5", out, atlas=atlas, family="real", batch=0,
                        batch_size=1, n_per_family=1, master_seed=1, threshold=threshold)
    return out


def test_cli_connectome_gets_the_nulls_stage_real_network(resources_dir, tmp_path):
    """`encephagen simulate --connectome` used to give the real network its raw lengths while the
    nulls got the length rule's: it must simulate exactly the nulls stage's real network."""
    from encephagen.connectome import Connectome
    from encephagen.nulls import read_nulls
    from encephagen.study.engines.neural_mass_io import read_simulation

    th = {"method": "density", "value": 0.3}
    nb = read_nulls(_nulls_real(resources_dir, "tvb96", tmp_path, threshold=th))
    raw = Connectome.load(resources_dir / "connectomes" / "tvb96.h5")
    net = real_network(raw, threshold=th)
    assert np.array_equal(net.weights, nb.weights[0]) and np.array_equal(net.lengths, nb.lengths[0])
    assert not np.array_equal(raw.lengths, nb.lengths[0])     # the defect would pass raw lengths on
    cfg = {"master_seed": 3, "nulls": {"threshold": {"tvb96": th}},
           "simulate": {"model": ["wilson_cowan", "hopf"], "G": [0.3], "duration": 50.0, "transient": 10.0,
                        "velocity": 10.0, "monitors": {"bold": False}, "compile": False}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    outs = {}
    for name, args in (("cli", ["--connectome", str(resources_dir / "connectomes" / "tvb96.h5")]),
                       ("nulls", ["--nulls", str(tmp_path / "tvb96-real.h5")])):
        outs[name] = tmp_path / f"{name}.h5"
        r = subprocess.run([sys.executable, "-m", "encephagen", "simulate", "--config", str(tmp_path / "c.yaml"),
                            "--model", "wilson_cowan", *args, "--out", str(outs[name])], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr[-2000:]
    a, b = read_simulation(outs["cli"]), read_simulation(outs["nulls"])
    assert a["attrs"]["max_delay_steps"] == b["attrs"]["max_delay_steps"]
    for m in ("mean", "var"):
        assert np.array_equal(a["metrics"][m], b["metrics"][m])


def test_sc_baselines_use_the_nulls_stage_real_network(resources_dir, tmp_path):
    """The SC-only baselines used to read the raw connectome although the models ran on the
    (thresholded) nulls-stage network."""
    from encephagen.data.empirical import read_baselines, read_fc, sc_fc_baseline
    from encephagen.steps.data import write_baselines
    from encephagen.nulls import read_nulls
    from encephagen.steps.aggregate import baselines_for

    th = {"method": "density", "value": 0.2}
    out = write_baselines([("hcp80", "hcp80")], resources_dir, tmp_path / "b.tsv", thresholds={"hcp80": th})
    row = read_baselines(out)[0]
    real = read_nulls(_nulls_real(resources_dir, "hcp80", tmp_path, threshold=th))
    want = sc_fc_baseline(real.weights[0], read_fc(resources_dir / "fc" / "hcp80.h5")["fc"])
    assert np.isclose(row["pearson_log10"], want["pearson_log10"], atol=1e-5)
    raw = read_baselines(write_baselines([("hcp80", "hcp80")], resources_dir, tmp_path / "r.tsv"))[0]
    assert abs(raw["pearson_log10"] - row["pearson_log10"]) > 1e-3
    # the FC fit's baselines (rule fit_fc) read the nulls stage's file
    fit = baselines_for(tmp_path / "hcp80-real.h5", resources_dir / "fc" / "gw80.h5")
    want = sc_fc_baseline(real.weights[0], read_fc(resources_dir / "fc" / "gw80.h5")["fc"])
    assert np.isclose(fit["log_pearson"], want["pearson_log10"], atol=1e-6)


def test_hopf_heterogeneity_fits_the_nulls_stage_real_network(resources_dir, tmp_path):
    from encephagen.nulls import read_nulls
    from encephagen.steps.hopf import heterogeneity_file, sweep_file

    th = {"method": "density", "value": 0.2}
    real = _nulls_real(resources_dir, "hcp80", tmp_path, threshold=th)
    fc = resources_dir / "fc"
    params = {"G": {"start": 0.01, "stop": 3.0, "num": 8},
              "heterogeneity": {"n_null": 2, "bias": {"start": -2.0, "stop": -0.002, "num": 3},
                                "scale_relative": {"start": -3.0, "stop": 3.0, "num": 3}, "refine": 0,
                                "null": "permutation"}}
    sweep = sweep_file(real, fc / "hcp80.h5", fc / "gw80.h5", tmp_path / "sw.h5", params=params)
    t1t2 = resources_dir / "t1t2" / "hcp80.tsv"
    got = {}
    for name, rn in (("real", real), ("raw", None)):
        heterogeneity_file(resources_dir / "connectomes" / "hcp80.h5", t1t2, fc / "hcp80.h5", fc / "gw80.h5",
                           sweep, tmp_path / f"{name}.h5", tmp_path / f"{name}.tsv", params=params,
                           master_seed=1, real_network=rn)
        got[name] = (tmp_path / f"{name}.tsv").read_text()
    assert got["real"] != got["raw"]      # the thresholded network is fitted, not the raw connectome
    assert read_nulls(real).weights[0].astype(bool).mean() < 0.25


# ----------------------------------------------------------------------------- operating point
def test_operating_point_excludes_saturated_G_on_the_real_network(resources_dir, tmp_path):
    """One G list for every atlas left schaefer100 saturated (E = 1) at every G; the chosen grid
    must hold no G where the real network is saturated, silent or diverged -- checked on the
    real network's own runs at those G (the same seeds as the main runs)."""
    from encephagen.steps.operating_point import operating_point_file
    from encephagen.study.engines.neural_mass_io import read_simulation

    real = _nulls_real(resources_dir, "tvb96", tmp_path)
    cfg = {"model": "wilson_cowan", "G": "auto", "seeds_per_network": 2, "duration": 300.0, "transient": 100.0,
           "velocity": None, "compile": False, "monitors": {"bold": False, "record_samples": 128, "welch_nperseg": 64},
           "operating_point": {"num": 3, "margin": 1, "presweep": {"start": 0.05, "stop": 20.0, "num": 10}}}
    out = operating_point_file(real, tmp_path / "G.tsv", cfg, master_seed=5, out_h5=tmp_path / "pre.h5")
    import pandas as pd

    t = pd.read_csv(out, sep="\t")
    assert (~t.admissible).any() and t.regime.str.contains("saturated").any()   # the sweep reaches saturation
    grid = read_grid(out)
    assert len(grid) == 3 and t[t.chosen].admissible.all()
    first_bad = t[~t.admissible & (t.G > t[t.admissible].G.min())].G.min()
    assert grid.max() < first_bad
    # the main runs of the real network at the chosen G: no region saturated, silent or diverged
    run_networks({**cfg, "G": grid.tolist()}, [real_network(resources_dir / "connectomes" / "tvb96.h5")], None, 5,
                 tmp_path / "main.h5")
    sim = read_simulation(tmp_path / "main.h5")
    codes = np.asarray(sim["regime"])
    assert rg.admissible(codes).all()
    pre = read_simulation(tmp_path / "pre.h5")
    for g in grid:   # identical runs: the pre-sweep's seeds and settings are the main runs'
        assert np.array_equal(pre["metrics"]["mean"][np.isclose(pre["G"], g)], sim["metrics"]["mean"][np.isclose(sim["G"], g)])
