"""Network construction contracts (Dale, [target, source], delays for real and null) and the
run_lif_networks glue (real connectome data, HDF5 output, flags, schema defaults)."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from encephagen.io import validate_h5
from encephagen.spiking.network import DaleError, check_dale, connectome_network, tau_m_from_t1t2
from encephagen.spiking.params import LIFParams
from encephagen.study.engines.lif import DEFAULTS, read_spiking, run_lif_networks

REPO = Path(__file__).resolve().parents[1]
SMALL = {"n_e": 16, "n_i": 4, "p_int": 0.3}


def _toy(R=5, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.random((R, R)) * (rng.random((R, R)) < 0.8)
    np.fill_diagonal(W, 0)
    L = rng.uniform(10, 80, (R, R))
    return W, (L + L.T) / 2


def test_dale_law_holds_and_violations_are_named():
    W, L = _toy()
    net = connectome_network(W, L, LIFParams(**SMALL), seed=1)
    src = net.source
    assert np.all(net.weight[net.is_exc[src]] > 0) and np.all(net.channel[net.is_exc[src]] == 0)
    assert np.all(net.weight[~net.is_exc[src]] < 0) and np.all(net.channel[~net.is_exc[src]] == 1)
    # long-range synapses come from excitatory cells only
    assert np.all(net.is_exc[src[net.region[src] != net.region[net.target]]])
    j = int(np.flatnonzero(~net.is_exc[src])[0])
    net.weight[j] = abs(net.weight[j])
    with pytest.raises(DaleError, match=f"inhibitory neuron {int(src[j])}"):
        check_dale(net)


def test_weights_are_target_source():
    """W[1, 0] > 0 only: region 0 projects to region 1, never the reverse."""
    W = np.zeros((3, 3))
    W[1, 0] = 1.0
    L = np.full((3, 3), 35.0)
    net = connectome_network(W, L, LIFParams(**SMALL, p_between=0.5), seed=2)
    src, tgt = net.source, net.target
    lr = net.region[src] != net.region[tgt]
    assert lr.sum() > 10
    assert np.all(net.region[src[lr]] == 0) and np.all(net.region[tgt[lr]] == 1)


def test_delays_identical_rule_for_real_and_null():
    """Delays come from lengths[target, source] / velocity for every network (real or null); never
    silently off. The lengths are asymmetric, so reading them transposed ([source, target]) fails."""
    W, _ = _toy(R=6)
    L = np.random.default_rng(9).uniform(10, 80, (6, 6))          # asymmetric on purpose
    assert np.abs(L - L.T).max() > 20
    p = LIFParams(**SMALL, p_between=0.3, velocity=2.0)
    perm = np.random.default_rng(5).permutation(6)
    W_null = W[np.ix_(perm, perm)]          # a 'null': rewired weights, same lengths
    for Wx in (W, W_null):
        net = connectome_network(Wx, L, p, seed=3)
        src, tgt = net.source, net.target
        lr = net.region[src] != net.region[tgt]
        expect = np.maximum(np.rint(L[net.region[tgt[lr]], net.region[src[lr]]] / p.velocity / 0.1), 1)
        assert np.array_equal(net.delay[lr], expect.astype(np.int32))
        transposed = np.maximum(np.rint(L[net.region[src[lr]], net.region[tgt[lr]]] / p.velocity / 0.1), 1)
        assert np.mean(net.delay[lr] != transposed) > 0.5          # the orientation is measurable
        assert np.all(net.delay[~lr] == 15)
        assert net.delay[lr].max() > 100
    off = connectome_network(W_null, L, p.replace(delays=False), seed=3)
    assert np.all(off.delay == 15)
    with pytest.raises(ValueError, match="no tract lengths"):
        connectome_network(W, None, p, seed=3)
    L0 = L.copy()
    L0[2, 1] = 0
    W1 = W.copy()
    W1[2, 1] = 1
    with pytest.raises(ValueError, match=r"target 2, source 1"):
        connectome_network(W1, L0, p, seed=3)


def test_tau_m_from_t1t2_maps_range_and_fills_missing(caplog):
    p = LIFParams()
    t = np.array([1.0, 2.0, np.nan, 1.5])
    with caplog.at_level(logging.WARNING):
        tau = tau_m_from_t1t2(t, p)
    assert np.allclose(tau, [30.0, 10.0, 20.0, 20.0])
    assert "[2]" in caplog.text


def test_params_refuse_bad_values():
    with pytest.raises(ValueError, match="'g'"):
        LIFParams(g=-1)
    with pytest.raises(ValueError, match="unknown spiking parameter"):
        LIFParams.from_dict({"tau": 3})
    with pytest.raises(ValueError, match="v_reset"):
        LIFParams(v_reset=25)


def test_schema_param_defaults_match_lifparams():
    """The LIF parameter dataclass carries units, bounds and docs; its defaults are the schema's."""
    frag = yaml.safe_load((REPO / "encephagen/schemas/fragments/spiking.schema.yaml").read_text())["spiking"]["properties"]
    pdef = {k: s["default"] for k, s in frag["params"]["properties"].items()}
    assert pdef == LIFParams().to_dict()


def test_run_lif_networks_real_connectome(tmp_path, resources_dir, caplog):
    from encephagen.data import load_connectome, load_t1t2

    c = load_connectome("tvb66", resources_dir)
    rows = load_t1t2("tvb66", resources_dir)
    t1t2 = np.array([r["t1t2"] for r in rows])
    rng = np.random.default_rng(0)
    perm = rng.permutation(c.weights.shape[0])
    nets = [("tvb66", "real", 0, c.weights, c.lengths),
            ("tvb66", "shuffle", 3, c.weights[np.ix_(perm, perm)], c.lengths[np.ix_(perm, perm)])]
    cfg = {"params": SMALL, "duration": 400.0, "transient": 100.0, "G": [0.5],
           "monitors": {"bold": True, "bold_period": 100.0, "bold_warmup": 0.0, "min_bold_samples": 3,
                        "fano_window": 50.0}, "tau_m_from_t1t2": True,
           "nmda_regions": [c.labels[0]], "batch_size": 1}
    out = run_lif_networks(cfg, nets, 1, 42, tmp_path / "a.h5", region_labels=c.labels, t1t2=t1t2)
    validate_h5(out, "spiking")
    d = read_spiking(out)
    R = len(c.labels)
    assert d["rate"].shape == (2, R) and d["fc_bold"].shape == (2, R, R)
    assert list(d["family"]) == ["real", "shuffle"] and list(d["null_index"]) == [0, 3]
    assert np.all(np.isfinite(d["rate"])) and np.all(d["rate"] >= 0)
    assert d["tau_m"].min() >= 10 and d["tau_m"].max() <= 30 and np.ptp(d["tau_m"]) > 5
    # the study layer's metric names (as the neural-mass engine's); a file with the old names still reads
    assert {"acf_tau_ms", "dominant_freq_hz"} <= set(d) and not {"acf_timescale", "peak_frequency"} & set(d)
    shutil.copy(out, tmp_path / "old.h5")
    with h5py.File(tmp_path / "old.h5", "r+") as f:
        f.move("acf_tau_ms", "acf_timescale")
        f.move("dominant_freq_hz", "peak_frequency")
    old = read_spiking(tmp_path / "old.h5")
    np.testing.assert_array_equal(old["acf_tau_ms"], d["acf_tau_ms"])
    np.testing.assert_array_equal(old["dominant_freq_hz"], d["dominant_freq_hz"])
    # the same config and seeds give the same file contents (batch composition does not matter)
    cfg2 = dict(cfg, batch_size=2)
    out2 = run_lif_networks(cfg2, nets[::-1], 1, 42, tmp_path / "b.h5", region_labels=c.labels, t1t2=t1t2)
    d2 = read_spiking(out2)
    assert np.array_equal(d["rate"], d2["rate"][::-1]) and np.array_equal(d["seed"], d2["seed"][::-1])
    # runaway and silent regimes are flagged and the network named
    with caplog.at_level(logging.WARNING):
        hot = run_lif_networks(dict(cfg, params=dict(SMALL, eta=20.0), tau_m_from_t1t2=False, nmda_regions=[],
                                    monitors={"bold": False}),
                               nets[:1], 1, 42, tmp_path / "hot.h5", region_labels=c.labels)
        cold = run_lif_networks(dict(cfg, params=dict(SMALL, eta=0.0), tau_m_from_t1t2=False, nmda_regions=[],
                                     monitors={"bold": False}),
                                nets[1:], 1, 42, tmp_path / "cold.h5", region_labels=c.labels)
    assert read_spiking(hot)["flags"] == ["runaway"] and read_spiking(cold)["flags"] == ["silent"]
    # regimes per region and per network: eta 20 drives every region near 1 / t_ref, eta 0 silences it
    from encephagen.sim.regime import REGIME_CODES

    h, c_ = read_spiking(hot), read_spiking(cold)
    assert h["network_regime"] == ["saturated"] and c_["network_regime"] == ["silent"]
    assert np.all(h["regime"] == REGIME_CODES["saturated"]) and np.all(c_["regime"] == REGIME_CODES["silent"])
    assert h["regime_fraction"][0, REGIME_CODES["saturated"]] == 1.0
    assert set(d["network_regime"]) <= {"fixed_point", "oscillating", "mixed"}
    assert "tvb66/real/0 seed_id 0" in caplog.text and "runaway" in caplog.text
    assert "tvb66/shuffle/3 seed_id 0" in caplog.text and "silent" in caplog.text


def test_cli_spiking_run(tmp_path, resources_dir):
    from encephagen.cli import main

    h5 = resources_dir / "connectomes" / "tvb66.h5"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"master_seed": 1, "spiking": {"params": SMALL, "duration": 100.0,
                                                                 "transient": 0.0, "monitors": {"bold": False}}}))
    out = tmp_path / "o.h5"
    assert main(["spiking", "run", "--config", str(cfg), "--connectome", str(h5), "--out", str(out),
                 "--set", "G=[0.2, 0.4]"]) == 0
    d = read_spiking(out)
    assert list(d["G"]) == [0.2, 0.4]
    with pytest.raises(ValueError, match="spiking.bogus"):
        main(["spiking", "run", "--config", str(cfg), "--connectome", str(h5), "--out", str(out), "--set", "bogus=1"])


def test_run_refuses_before_building_when_memory_would_not_fit(tmp_path):
    from encephagen.spiking.engine import SpikingMemoryError

    W, L = _toy(R=4)
    with pytest.raises(SpikingMemoryError, match=r"needs about .* GiB .*limit of 0.00 GiB"):
        run_lif_networks({"params": SMALL, "memory_limit_gb": 1e-6, "duration": 10.0}, [("toy", "real", 0, W, L)],
                         1, 0, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_uncoupled_regions_rate_and_bold(tmp_path):
    """Uncoupled regions (zero weights) through the run glue and the HDF5 output, at the shortest
    duration the default BOLD settings accept (bold_warmup + min_bold_samples TRs):

    * each region fires at Brunel's self-consistent rate for its local circuit (in-degrees
      C_E = p_int n_e, C_I = p_int n_i, synaptic filtering tau_s = 5 ms): 13.3 Hz predicted,
      ~13.7 Hz simulated; an engine without inhibition, without the external drive's
      calibration or with a wrong propagator misses the 15 % band;
    * |mean off-diagonal BOLD FC| < 0.05: before the fix (BOLD from rest, its start-up never
      discarded) uncoupled spiking regions gave a BOLD FC of 0.999 (rate FC 0.00);
    * every region is recorded in the 'fixed_point' regime (asynchronous irregular firing).
    dt 0.5 ms and a 5 ms local delay keep it cheap (the block length is the shortest delay)."""
    from encephagen.sim.regime import REGIME_CODES
    from encephagen.spiking.theory import brunel_rate

    R = 32
    W = np.zeros((R, R))
    L = np.full((R, R), 30.0)
    mon = DEFAULTS["monitors"]
    duration = mon["bold_warmup"] + mon["min_bold_samples"] * mon["bold_period"]
    cfg = {"params": dict(SMALL, delay_local=5.0), "dt": 0.5, "duration": duration, "transient": 1000.0,
           "G": [0.0], "monitors": {"bold": True, "rate_bin": 10.0}, "backend": "auto", "device": "cpu"}
    out = run_lif_networks(cfg, [("toy", "real", 0, W, L)], 1, 5, tmp_path / "u.h5")
    d = read_spiking(out)
    p = LIFParams(**SMALL)
    pred = brunel_rate(p.J, p.g, p.p_int * p.n_e, p.p_int * p.n_i, p.eta, p.tau_m, p.theta, p.v_reset, p.t_ref,
                       tau_s=p.tau_e)
    rate = d["rate"][0]
    assert abs(rate.mean() - pred) < 0.15 * pred, (rate.mean(), pred)
    assert np.all(np.abs(rate - pred) < 0.5 * pred)
    assert d["fc_bold"].shape == (1, R, R)
    fc = d["fc_bold"][0][np.triu_indices(R, 1)]
    assert abs(np.nanmean(fc)) < 0.05, np.nanmean(fc)
    assert np.all(d["regime"][0] == REGIME_CODES["fixed_point"])

