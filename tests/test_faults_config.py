"""Config faults across every stage's schema section: RELIABILITY.md plan case 10, the parts
tests/test_config.py does not already show (a missing required key, nulls inside stage
sections, negative counts in stage sections, wrong container types, several faults reported
together). Each error names the key path; Snakemake refuses before any job
(tests/test_config.py::test_snakemake_refuses_bad_config_before_any_job)."""
from __future__ import annotations

from pathlib import Path

import pytest

from encephagen.config import ConfigError, load_schema, validate_config

SCHEMA = Path(__file__).resolve().parents[1] / "encephagen" / "schemas"


def _section(name):
    props = load_schema(SCHEMA)["properties"]
    if name not in props:
        pytest.skip(f"schema section {name!r} not present yet")
    return props[name]


CASES = [
    # missing required key inside a list item
    ("analysis", {"analysis": {"fc_pairs": [{"atlas": "hcp80", "train": "hcp80"}]}},
     "analysis.fc_pairs[0]", "'test' is a required property"),
    # null where a value is required
    ("analysis", {"analysis": {"fc_pairs": [{"atlas": "hcp80", "train": "hcp80", "test": None}]}},
     "analysis.fc_pairs[0].test", "None"),
    ("analysis", {"analysis": None}, "analysis", "not of type 'object'"),
    # wrong container type
    ("atlases", {"atlases": "tvb96"}, "atlases", "not of type 'array'"),
    # negative / zero counts in stage sections
    ("nulls", {"nulls": {"n_per_family": -5}}, "nulls.n_per_family", "-5"),
    ("nulls", {"nulls": {"batch_size": 0}}, "nulls.batch_size", "0"),
    ("simulate", {"simulate": {"seeds_per_network": -1}}, "simulate.seeds_per_network", "-1"),
    ("simulate", {"simulate": {"duration": None}}, "simulate.duration", "None"),
    # wrong type and unknown key inside a stage section
    ("simulate", {"simulate": {"dt": "fast"}}, "simulate.dt", "'fast'"),
    ("nulls", {"nulls": {"familes": ["degree"]}}, "nulls", "familes"),
    ("nulls", {"nulls": {"families": ["degree", "no_such_family"]}}, "nulls.families[1]", "no_such_family"),
]


@pytest.mark.parametrize("section, cfg, keypath, detail", CASES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)])
def test_config_fault_named_by_key_path(section, cfg, keypath, detail):
    sub = _section(section)
    if keypath.startswith(section + ".") and "properties" in sub:
        leaf = keypath.split(".")[1].split("[")[0]
        if leaf not in sub["properties"]:
            pytest.skip(f"{section}.{leaf} not in the schema")
    with pytest.raises(ConfigError) as ei:
        validate_config(cfg, SCHEMA)
    msg = str(ei.value)
    assert f"'{keypath}'" in msg, msg
    assert detail in msg, msg


def test_every_fault_listed_at_once():
    """Several faults in one config: each key path is named in ONE error (fix them all in one go)."""
    _section("nulls"), _section("simulate")
    cfg = {"master_seed": -1, "nulls": {"n_per_family": -5}, "simulate": {"dt": "fast"}, "typo": 1}
    with pytest.raises(ConfigError) as ei:
        validate_config(cfg, SCHEMA)
    msg = str(ei.value)
    for key in ("'master_seed'", "'nulls.n_per_family'", "'simulate.dt'", "typo"):
        assert key in msg, (key, msg)
