"""The simulated Hopf model at BOLD time scales against the analytic FC of the same network, in the
same G units (the analytic route's max x sc_scale weights): what the default run's
results/hopf/atlas-X/sim_vs_analytic.tsv reports."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.hopf import study
from encephagen.steps.hopf import sim_vs_analytic_file, sweep_file
from encephagen.study.engines.neural_mass import run_networks
from encephagen.sim.models import ParameterError

HOPF_SIM = {"model": "hopf", "dt": 100.0, "duration": 960000.0, "transient": 60000.0, "velocity": None,
            "noise": 0.02, "normalize": "max", "weight_scale": 0.2, "compile": False, "seeds_per_network": 2,
            "monitors": {"period": 100.0, "bold": False, "fc_period": 800.0, "record_samples": 256, "welch_nperseg": 128}}


@pytest.fixture(scope="module")
def hcp80_real(resources_dir, tmp_path_factory):
    from encephagen.steps.nulls import generate_nulls_file

    out = tmp_path_factory.mktemp("hopf") / "hcp80-real.h5"
    generate_nulls_file(resources_dir / "connectomes" / "hcp80.h5", out, atlas="hcp80", family="real", batch=0,
                        batch_size=1, n_per_family=1, master_seed=1)
    return out


def test_simulated_fc_agrees_with_analytic_fc_at_the_analytic_G(hcp80_real, resources_dir, tmp_path):
    from encephagen.nulls import read_nulls

    fc = resources_dir / "fc"
    sweep = study.read_sweep(sweep_file(hcp80_real, fc / "hcp80.h5", fc / "gw80.h5", tmp_path / "sw.h5"))
    g = float(sweep["best_G"][0])
    nb = read_nulls(hcp80_real)
    run_networks({**HOPF_SIM, "G": [g]}, [(nb.source, "real", 0, nb.weights[0], nb.lengths[0])], None, 11,
                 tmp_path / "sim.h5")
    df = sim_vs_analytic_file(tmp_path / "sim.h5", hcp80_real, tmp_path / "check.tsv", fc_test=fc / "gw80.h5")
    row = df.iloc[0]
    assert np.isclose(row.G, g) and row.n_seeds == 2 and row.n_fc_samples == 1125
    assert row.r_sim_analytic >= 0.9 and row.passes
    assert row.r_em_analytic > 0.99           # the Euler step at dt 0.1 s barely biases FC
    # the simulated held-out fit is the analytic one's, above the SC-only log baseline (0.53)
    assert row.r_test_sim > 0.6 and abs(row.r_test_sim - row.r_test_analytic) < 0.1


def test_simulated_hopf_in_other_weight_units_is_refused(hcp80_real, tmp_path):
    from encephagen.nulls import read_nulls
    from encephagen.steps.operating_point import check_hopf_convention

    nb = read_nulls(hcp80_real)
    cfg = {**HOPF_SIM, "normalize": "mean_strength", "weight_scale": 1.0, "duration": 2000.0, "transient": 0.0,
           "G": [0.5], "monitors": {**HOPF_SIM["monitors"], "fc_period": 100.0}}
    run_networks(cfg, [(nb.source, "real", 0, nb.weights[0], nb.lengths[0])], None, 1, tmp_path / "s.h5")
    with pytest.raises(ValueError, match="analytic route"):
        sim_vs_analytic_file(tmp_path / "s.h5", hcp80_real, tmp_path / "c.tsv")
    with pytest.raises(ParameterError, match=r"hopf\.sc_scale"):
        check_hopf_convention({"normalize": "max", "weight_scale": 1.0, "params": {}, "velocity": None}, {})
    with pytest.raises(ParameterError, match=r"hopf\.a"):
        check_hopf_convention({"normalize": "max", "weight_scale": 0.2, "params": {"a": -0.05}, "velocity": None}, {})
