"""Bad input named before any job runs where the config alone decides it (issue 15, item 4), and
canonical numbers (item 5): rules between keys that the schema cannot express, checked at parse
time by the workflow (workflow/rules/common.smk -> encephagen.config.check_config)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from encephagen.config import (ConfigError, canonical_config, check_config, cross_key_problems, load_schema,
                               validate_config)

REPO = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(REPO / "encephagen" / "schemas")


def _cfg(**sections):
    return validate_config(sections, SCHEMA)


@pytest.mark.parametrize("cfg, keys", [
    ({"simulate": {"duration": 1000.0, "transient": 1000.0}}, ["simulate.transient", "simulate.duration"]),
    ({"simulate": {"duration": 1000.0, "transient": 2000.0}}, ["simulate.transient"]),
    ({"nulls": {"n_per_family": 4}, "analysis": {"min_nulls_per_family": 10}},
     ["nulls.n_per_family", "analysis.min_nulls_per_family"]),
    ({"simulate": {"velocity": 1e-9}}, ["simulate.velocity", "simulate.dt"]),
])
def test_cross_key_errors_name_the_keys(cfg, keys):
    with pytest.raises(ConfigError) as exc:
        check_config(_cfg(**cfg))
    for k in keys:
        assert f"'{k}'" in str(exc.value)


def test_defaults_and_ci_config_pass():
    assert cross_key_problems(_cfg())[0] == []
    ci = yaml.safe_load((REPO / "tests/config/ci.yaml").read_text())
    assert cross_key_problems(validate_config(ci, SCHEMA)) == ([], [])


def test_zero_delay_warned_with_counts_from_a_known_connectome():
    cfg = _cfg(simulate={"dt": 1.0, "velocity": 20.0})
    lengths = np.full((4, 4), np.nan)
    lengths[0, 1] = lengths[1, 0] = 5.0   # 5 mm / 20 mm/ms / 1 ms = 0.25 step -> 0
    lengths[2, 3] = lengths[3, 2] = 80.0  # 4 steps
    errors, warnings = cross_key_problems(cfg, {"toy": lengths})
    assert not errors and len(warnings) == 1
    assert "'simulate.velocity'" in warnings[0] and "toy: 2 of 4 tracts" in warnings[0]
    # without a connectome: a generic warning for a step this coarse
    assert cross_key_problems(cfg)[1] and not cross_key_problems(_cfg())[1]


def test_master_seed_above_int64_refused_by_the_schema():
    with pytest.raises(ConfigError, match="master_seed"):
        _cfg(master_seed=2**63)
    assert _cfg(master_seed=2**63 - 1)["master_seed"] == 2**63 - 1


def test_numbers_are_canonical():
    a = canonical_config(_cfg(simulate={"duration": 3000, "transient": 1000}), SCHEMA)
    b = canonical_config(_cfg(simulate={"duration": 3000.0, "transient": 1000.0}), SCHEMA)
    assert repr(a) == repr(b)
    assert isinstance(a["simulate"]["duration"], float)
    assert isinstance(a["simulate"]["seeds_per_network"], int)  # integers stay integers


@pytest.mark.parametrize("override, key", [
    ({"simulate": {"duration": 1000.0, "transient": 1000.0}}, "simulate.transient"),
    ({"simulate": {"velocity": 1e-9}}, "simulate.velocity"),
    ({"nulls": {"n_per_family": 2}}, "nulls.n_per_family"),
])
def test_snakemake_refuses_before_any_job(tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile",
                        str(REPO / "tests/config/ci.yaml"), str(bad)], cwd=REPO, capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-3000:]
    assert f"'{key}'" in out and "Job stats" not in out


def test_isolated_regions_of_an_existing_connectome_judged_by_the_policy(tmp_path, resources_dir):
    import h5py

    from encephagen.config import connectome_facts

    p = tmp_path / "tvb96.h5"
    p.write_bytes((resources_dir / "connectomes" / "tvb96.h5").read_bytes())
    with h5py.File(p, "r+") as f:  # cut every connection of region 3
        w = f["weights"][()]
        w[3, :] = 0
        w[:, 3] = 0
        f["weights"][...] = w
        label = f["labels"][3].decode()
    lengths, isolated = connectome_facts({"tvb96": p, "absent": tmp_path / "nope.h5"})
    assert isolated == {"tvb96": [label]} and lengths["absent"] is None
    err, warn = cross_key_problems(_cfg(data={"isolated_nodes": "error"}), isolated=isolated)
    assert len(err) == 1 and "resources/connectomes/tvb96.h5" in err[0] and label in err[0]
    assert "'data.isolated_nodes'" in err[0]
    err, warn = cross_key_problems(_cfg(data={"isolated_nodes": "warn"}), isolated=isolated)
    assert not err and len(warn) == 1
    assert cross_key_problems(_cfg(data={"isolated_nodes": "allow"}), isolated=isolated) == ([], [])
