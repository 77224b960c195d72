"""Generated methods paragraph: says what the config says, cites it, numbers references consistently."""
from __future__ import annotations

import re

import yaml

from encephagen.analysis.methods import REFERENCES, methods_paragraph, write_methods


def _cfg():
    return {"master_seed": 7, "atlases": ["tvb96", "schaefer100"],
            "nulls": {"families": ["degree", "geometry"], "n_per_family": 500},
            "simulate": {"model": "wilson_cowan", "seeds_per_network": 4, "G": [0.01, 0.02, 0.04], "dt": 0.1,
                         "duration": 10000.0, "transient": 2000.0, "velocity": 10.0, "noise": 0.01,
                         "integrator": "heun", "monitors": {"bold": True}},
            "hopf": {"enabled": False},
            "analysis": {"fdr_alpha": 0.1, "min_nulls_per_family": 50, "equivalence_margin": 2.5,
                         "fc_pairs": [{"atlas": "schaefer100", "train": "schaefer100-train706",
                                       "test": "schaefer100-test303"}]}}


def test_methods_reflect_config_and_cite():
    t = methods_paragraph(_cfg(), provenance={"packages": {"numpy": "2.4.6"}, "git_commit": "abcdef1234567890"})
    for s in ("500 null networks", "degree", "geometry", "same number of noise seeds (4 each",
              "3 values (0.01 to 0.04)", "FDR 0.1", "fewer than 50 nulls", "within 2.5 null SDs", "whole coupling sweep", "10 m/s",
              "schaefer100-test303", "numpy 2.4.6", "abcdef123456", "not HCP tractography"):
        assert s in t, s
    assert "Analytic FC" not in t                           # hopf disabled: not claimed
    # every cited number has a reference, numbered in order of first citation
    refs = re.findall(r"^(\d+)\. (.+)$", t.split("## References")[1], flags=re.M)
    cited = {int(n) for grp in re.findall(r"\[([\d, ]+)\]", t.split("## References")[0]) for n in grp.split(",")}
    assert cited == set(range(1, len(refs) + 1))
    texts = [r[1] for r in refs]
    for key in ("maslov", "betzel", "burt", "bh", "phipson", "wc", "bold", "schaefer", "cocomac"):
        assert REFERENCES[key] in texts, key


def test_methods_from_the_shipped_config(repo_root, tmp_path):
    from encephagen.config import validate_config

    cfg = validate_config(yaml.safe_load((repo_root / "config" / "config.yaml").read_text()),
                          repo_root / "encephagen" / "schemas")
    p = write_methods(tmp_path / "methods.md", cfg)
    t = p.read_text()
    assert t.startswith("## Methods") and "## References" in t
    assert f"master seed {cfg['master_seed']}" in t
    assert not [x for x in tmp_path.iterdir() if ".tmp-" in x.name]
