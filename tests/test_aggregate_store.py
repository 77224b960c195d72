"""The aggregation's store and tables (issue 13): the store's labelled arrays read back with
the right shape in h5py and xarray (the 3-D seed array was made the 'seed' dimension scale),
regimes per region and per run in the tables (a saturated real network is flagged), and a
file without ``fc_bold`` under BOLD is refused instead of silently using the FC of activity.

Real simulation files through the batch API (tvb96 real + two degree nulls, short WC runs)."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from encephagen.io import OutputError

MASTER = 20261123
CFG = {"model": "wilson_cowan", "G": [0.0, 0.5], "normalize": "none", "duration": 100.0, "transient": 50.0, "velocity": 10.0,
       "noise": 0.01, "dtype": "float32", "device": "cpu", "seeds_per_network": 2,
       "monitors": {"bold": False, "record_samples": 64}}
BOLD = {"bold": True, "bold_period": 10.0, "bold_warmup": 0.0, "min_bold_samples": 3, "record_samples": 64}


def _networks(resources_dir):
    from encephagen.data import load_connectome
    from encephagen.nulls import generate_batch, prepare_source

    conn = load_connectome("tvb96", resources_dir)
    src = prepare_source(conn)
    nulls = generate_batch(src, "degree", [0, 1], MASTER, atlas="tvb96")
    nets = [("tvb96", "real", 0, src.weights, src.real_lengths())] + [
        ("tvb96", "degree", int(i), w, ln) for i, w, ln in zip(nulls.null_index, nulls.weights, nulls.lengths)]
    return conn, nets


def _run(nets, d, cfg):
    from encephagen.study.engines.neural_mass import run_networks

    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for net in nets:
        p = d / f"{net[1]}-{net[2]}.h5"
        run_networks(cfg, [net], None, MASTER, p)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def sims(resources_dir, tmp_path_factory):
    conn, nets = _networks(resources_dir)
    root = tmp_path_factory.mktemp("aggsims")
    return conn, nets, _run(nets, root / "act", CFG), _run(nets, root / "bold", dict(CFG, monitors=BOLD))


def _aggregate(conn, paths, out, **kw):
    from encephagen.steps.aggregate import aggregate

    return aggregate(paths, connectome=conn, out_store=out / "store.h5", out_network=out / "network.tsv.gz",
                     out_regional=out / "regional.tsv.gz", **kw)


def test_store_arrays_have_the_right_dimensions(sims, tmp_path):
    """'seed' is the 1-D scale of seed ids; each run's simulation seed is the variable 'run_seed'
    on (network, seed, param). Before the fix the (network, seed, param) seed array itself was the
    'seed' scale, so the regional arrays' second axis was labelled by a 3-D array."""
    from encephagen.study.engines.neural_mass_io import read_simulation

    conn, _nets, act, _bold = sims
    _aggregate(conn, act, tmp_path)
    runs = [read_simulation(p) for p in act]
    with h5py.File(tmp_path / "store.h5", "r") as f:
        assert f["seed"].shape == (2,) and list(f["seed"][()]) == [0, 1]
        ds = f["regional/mean"]
        assert ds.shape == (3, 2, 2, 96)
        for axis, (name, size) in enumerate((("network", 3), ("seed", 2), ("param", 2), ("region", 96))):
            scales = list(ds.dims[axis].values())
            assert len(scales) == 1 and scales[0].name == f"/{name}" and scales[0].shape == (size,), (axis, name)
        rs = f["run_seed"][()]
        assert rs.shape == (3, 2, 2)
        for k, d in enumerate(runs):                 # network k, its seed ids x G values
            for s_id, g, seed, mean in zip(d["seed_id"], d["G"], d["seed"], d["metrics"]["mean"]):
                p = list(f["param_G"][()]).index(g)
                assert rs[k, s_id, p] == seed
                np.testing.assert_array_equal(ds[k, s_id, p], mean.astype(np.float32))
        assert f["regime"].shape == (3, 2, 2, 96) and json.loads(f["regime"].attrs["legend"])["2"] == "saturated"
        assert f.attrs["fc_source"] == "activity"


def test_store_reads_in_xarray(sims, tmp_path):
    """xr.open_dataset(store, engine='h5netcdf', group='regional'): the right dims, shape and values
    (before the fix: a seed dimension of length 1 for 2 seed ids). Skipped where xarray/h5netcdf
    are not installed; test_store_arrays_have_the_right_dimensions checks the same layout in h5py."""
    xr = pytest.importorskip("xarray", reason="xarray not installed")
    pytest.importorskip("h5netcdf")
    conn, _nets, act, _bold = sims
    _aggregate(conn, act, tmp_path)
    with xr.open_dataset(tmp_path / "store.h5", engine="h5netcdf", group="regional") as x:
        assert x["mean"].dims == ("network", "seed", "param", "region")
        assert x["mean"].shape == (3, 2, 2, 96)
        assert list(x["seed"].values) == [0, 1]
        np.testing.assert_array_equal(x["mean"].values, ds_values(tmp_path / "store.h5"))


def ds_values(path):
    with h5py.File(path, "r") as f:
        return f["regional/mean"][()]


def test_regimes_in_the_tables_flag_a_saturated_real_network(sims, tmp_path, caplog):
    """WC on tvb96 (mean in-strength ~98): uncoupled (G 0) every node oscillates on its limit
    cycle; at G 0.5 the whole network sits at E ~ 1 with noise-sized SD: saturated, flagged in
    the file, in both tables and in a warning naming the real network."""
    import logging

    from encephagen.analysis.tables import param_cols
    from encephagen.study.engines.neural_mass_io import read_simulation

    conn, _nets, act, _bold = sims
    real = read_simulation(act[0])
    by_g = dict(zip(zip(real["seed_id"], real["G"]), real["network_regime"]))
    assert by_g[(0, 0.0)] == "oscillating" and by_g[(0, 0.5)] == "saturated", by_g
    assert json.loads(h5py.File(act[0], "r")["regime"].attrs["legend"])["3"] == "silent"
    with caplog.at_level(logging.WARNING):
        _aggregate(conn, act, tmp_path)
    assert "real network is saturated" in caplog.text
    net = pd.read_csv(tmp_path / "network.tsv.gz", sep="\t")
    reg = pd.read_csv(tmp_path / "regional.tsv.gz", sep="\t")
    for col in ("network_regime", "fc_source", "regime_frac_fixed_point", "regime_frac_oscillating",
                "regime_frac_saturated", "regime_frac_silent", "regime_frac_diverged"):
        assert col in net.columns, col
    r = net[(net["family"] == "real") & (net["G"] == 0.5) & (net["metric"] == "fc_mean")]
    assert set(r["network_regime"]) == {"saturated"} and (r["regime_frac_saturated"] > 0.9).all()
    fr = net[[c for c in net.columns if c.startswith("regime_frac_")]].sum(axis=1)
    np.testing.assert_allclose(fr, 1.0)
    assert {"regime", "network_regime"} <= set(reg.columns)
    rr = reg[(reg["G"] == 0.5) & (reg["family"] == "real") & (reg["metric"] == "mean")]
    assert (rr["regime"] == "saturated").mean() > 0.9 and set(rr["network_regime"]) == {"saturated"}
    np.testing.assert_allclose(rr.groupby("seed_id")["regime"].apply(lambda x: (x == "saturated").mean()).to_numpy(),
                               r.sort_values("seed_id")["regime_frac_saturated"].to_numpy())
    # identifiers, never parameter columns (a parameter column would split real from nulls)
    assert param_cols(net) == ["G"] and param_cols(reg) == ["G"]


def test_fc_source_bold_and_missing_fc_bold_refused(sims, tmp_path):
    import shutil

    conn, _nets, act, bold = sims
    res = _aggregate(conn, bold, tmp_path / "ok")
    assert res["fc_source"] == "bold"
    net = pd.read_csv(tmp_path / "ok" / "network.tsv.gz", sep="\t")
    assert set(net["fc_source"]) == {"bold"}
    # one null's file lost its fc_bold: refused naming it, never the FC of activity for that network
    d = tmp_path / "damaged"
    d.mkdir()
    paths = [shutil.copy(p, d / p.name) for p in bold]
    with h5py.File(paths[2], "a") as f:
        del f["fc_bold"]
    # (the file contract refuses it first, naming the file and the missing dataset)
    with pytest.raises(OutputError, match=rf"(?s){paths[2].name}.*fc_bold"):
        _aggregate(conn, paths, tmp_path / "bad")
    # BOLD on for the real network, off for the nulls: refused
    with pytest.raises(OutputError, match="disagree on the FC|differs from its siblings|siblings"):
        _aggregate(conn, [bold[0], *act[1:]], tmp_path / "mixed")
    # BOLD off for the whole run: the FC of activity for every network, recorded
    res = _aggregate(conn, act, tmp_path / "act")
    assert res["fc_source"] == "activity"
    assert set(pd.read_csv(tmp_path / "act" / "network.tsv.gz", sep="\t")["fc_source"]) == {"activity"}
