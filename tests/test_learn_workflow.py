"""The `learn` stage through real snakemake on a tiny config (tests/config/learn_tiny.yaml): the
real network and two nulls, both protocols, plastic and frozen runs; tables, figure and files."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from encephagen.io import validate_h5
from encephagen.learn.engine import read_plastic

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]


@pytest.mark.workflow
def test_learn_stage_runs_and_writes_paired_results(tmp_path, resources_dir):
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    (wd / "resources" / "connectomes").mkdir(parents=True)
    shutil.copy(resources_dir / "connectomes" / "tvb66.h5", wd / "resources" / "connectomes" / "tvb66.h5")
    shutil.copy(REPO / "tests" / "config" / "learn_tiny.yaml", wd / "config" / "config.yaml")
    res = subprocess.run(SNAKEMAKE + ["--directory", str(wd), "--cores", "2"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-5000:]
    for proto in ("habituation", "conditioning"):
        out = wd / "results" / "learn" / "atlas-tvb66" / f"protocol-{proto}"
        real = out / "null-real" / "batch-0000.h5"
        validate_h5(real, "plastic")
        d = read_plastic(out / "null-degree" / "batch-0000.h5")
        assert d["null_index"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and d["plastic"].tolist() == [1, 0] * 4
        eff = pd.read_csv(out / "effects.tsv", sep="\t")
        assert len(eff) == 3 * 2 and set(eff.family) == {"real", "degree"}
        assert eff.exact.all() and (eff.n_seeds == 2).all()
        assert np.isfinite(eff[eff.family == "real"].q_signflip).all()
        vs = pd.read_csv(out / "vs_nulls.tsv", sep="\t")
        assert len(vs) == 2 and (vs.n_nulls == 2).all() and np.isfinite(vs.q).all()
        runs = pd.read_csv(out / "runs.tsv", sep="\t")
        assert len(runs) == 3 * 2 * 2
        assert (runs[runs.plastic == 0].w_frac_changed == 0).all() and (runs[runs.plastic == 1].w_frac_changed > 0).all()
        assert (out / "summary.png").stat().st_size > 10_000
        assert (wd / "benchmarks" / "rules" / "learn_run" / "atlas-tvb66" / f"protocol-{proto}" / "null-real"
                / "batch-0000.tsv").exists()
    # the stage is not in the default run: no learn target without `stages: [learn]`
    cfg = (wd / "config" / "config.yaml").read_text().replace("stages: [learn]", "stages: [nulls]")
    (wd / "config" / "config.yaml").write_text(cfg)
    dry = subprocess.run(SNAKEMAKE + ["--directory", str(wd), "-n", "--quiet", "rules"], capture_output=True, text=True)
    assert dry.returncode == 0 and "learn_run" not in dry.stdout


def test_learn_is_not_a_default_stage():
    from encephagen.schemas import section_schema

    s = section_schema("stages")
    assert "learn" in s["items"]["enum"] and "learn" not in s["default"]


@pytest.mark.workflow
def test_learn_families_must_be_null_families(tmp_path):
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    cfg = (REPO / "tests" / "config" / "learn_tiny.yaml").read_text().replace("families: [degree]\n  n_nulls",
                                                                               "families: [weight_perm]\n  n_nulls")
    (wd / "config" / "config.yaml").write_text(cfg)
    res = subprocess.run(SNAKEMAKE + ["--directory", str(wd), "-n"], capture_output=True, text=True)
    assert res.returncode != 0 and "learn.families" in res.stdout + res.stderr, (res.stdout + res.stderr)[-2000:]
