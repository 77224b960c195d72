"""Config: one schema, defaults filled, every bad key or value named by its key path."""
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from encephagen.config import ConfigError, load_config, load_schema, schema_markdown, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "encephagen" / "schemas"


def test_default_config_is_valid_and_filled():
    cfg = load_config(REPO / "config" / "config.yaml", SCHEMA)
    assert cfg["analysis"]["fdr_alpha"] == 0.05
    assert cfg["master_seed"] == 20261123
    for section in load_schema(SCHEMA)["properties"]:
        assert section in cfg, f"schema default missing for {section}"


def test_ci_config_is_valid():
    load_config(REPO / "tests" / "config" / "ci.yaml", SCHEMA)


@pytest.mark.parametrize("cfg, keypath", [
    ({"master_seed": -3}, "master_seed"),
    ({"master_seed": "abc"}, "master_seed"),
    ({"master_seed": None}, "master_seed"),
    ({"atlases": ["tvb97"]}, "atlases[0]"),
    ({"atlases": []}, "atlases"),
    ({"analysis": {"fdr_alpha": 0}}, "analysis.fdr_alpha"),
    ({"analysis": {"min_nulls_per_family": -1}}, "analysis.min_nulls_per_family"),
    ({"analysis": {"fdr_alfa": 0.1}}, "analysis"),
    ({"typo_key": 1}, "<top level>"),
])
def test_bad_values_name_the_key(cfg, keypath):
    with pytest.raises(ConfigError) as ei:
        validate_config(cfg, SCHEMA)
    assert f"'{keypath}'" in str(ei.value)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="fdr_alfa"):
        validate_config({"analysis": {"fdr_alfa": 0.1}}, SCHEMA)


def test_config_docs_are_current():
    """config/README.md is generated from the schema; regenerate with `encephagen config docs`."""
    assert (REPO / "config" / "README.md").read_text() == schema_markdown(load_schema(SCHEMA))


@pytest.mark.workflow
def test_snakemake_refuses_bad_config_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"analysis": {"fdr_alpha": 2.0}}))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(bad)],
                       cwd=REPO, capture_output=True, text=True)
    assert r.returncode != 0
    assert "analysis.fdr_alpha" in r.stdout + r.stderr
    assert "Job stats" not in r.stdout + r.stderr


def test_key_order_is_canonical():
    from encephagen.config import canonical_config

    a = validate_config({"analysis": {"equivalence_margin": 3.0, "fdr_alpha": 0.1}, "master_seed": 1}, SCHEMA)
    b = validate_config({"master_seed": 1, "analysis": {"fdr_alpha": 0.1, "equivalence_margin": 3.0}}, SCHEMA)
    assert list(canonical_config(a)["analysis"]) == list(canonical_config(b)["analysis"])
    assert repr(canonical_config(a)) == repr(canonical_config(b))
