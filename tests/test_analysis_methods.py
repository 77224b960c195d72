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
    # read at their validated paths: a renamed schema key would drop the sentence, not guess
    assert f"{cfg['nulls']['n_per_family']} null networks" in t
    assert "Wilson-Cowan" in t and "Stuart-Landau (Hopf)" in t and f"{cfg['hopf']['G']['num']} log-spaced" in t
    assert not [x for x in tmp_path.iterdir() if ".tmp-" in x.name]


def test_values_are_read_at_their_section_not_by_key_name(tmp_path):
    """Several sections share key names (G in simulate, spiking and hopf; monitors.bold in simulate
    and spiking). The paragraph used to search a key name anywhere in the config (depth-first), so a
    same-named key of a section searched earlier was read instead of the right one."""
    from encephagen.figures.summary import collect_summary

    good = _cfg()
    cfg = {"analysis": {**good["analysis"], "families": ["er"], "n_per_family": 3, "models": ["kuramoto"],
                        "n_seeds": 9, "bold": True},   # decoys in a section searched before nulls/simulate
           "atlases": good["atlases"], "hopf": {"enabled": False, "G": [5.0, 6.0]}, "master_seed": 7,
           "nulls": good["nulls"], "simulate": {**good["simulate"], "monitors": {"bold": False}},
           "spiking": {"G": [1.0], "monitors": {"bold": True}}}
    t = methods_paragraph(cfg)
    assert "500 null networks" in t and "3 null networks" not in t        # nulls.n_per_family
    assert "per family: degree (" in t and "per family: er (" not in t    # nulls.families
    assert "Wilson-Cowan" in t and "Kuramoto" not in t                    # simulate.model
    assert "4 each" in t and "9 each" not in t                            # simulate.seeds_per_network
    assert "3 values (0.01 to 0.04)" in t                                  # simulate.G, not hopf.G / spiking.G
    assert "Balloon-Windkessel" not in t                                  # simulate.monitors.bold is off
    rows = {r["item"]: r["value"] for r in collect_summary(tmp_path, cfg).rows if r["section"] == "design"}
    assert rows["nulls per family (configured)"] == 500 and rows["simulated G values"] == "0.01, 0.02, 0.04"
    assert rows["null families"] == "degree, geometry"

