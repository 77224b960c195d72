"""The nulls stage through real snakemake runs and the CLI."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from encephagen.nulls import read_nulls

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]


def _workdir(tmp_path: Path, resources_dir: Path, atlases, nulls: dict) -> Path:
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    (wd / "resources" / "connectomes").mkdir(parents=True)
    for a in atlases:
        shutil.copy(resources_dir / "connectomes" / f"{a}.h5", wd / "resources" / "connectomes" / f"{a}.h5")
    cfg = {"master_seed": 11, "atlases": list(atlases), "nulls": nulls,
           "analysis": {"min_nulls_per_family": min(10, nulls.get("n_per_family", 10))}}
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    return wd


def _run(wd: Path, *args, check=True):
    res = subprocess.run(SNAKEMAKE + ["--directory", str(wd), *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise AssertionError(f"snakemake failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
    return res


@pytest.mark.workflow
def test_generate_nulls_workflow(tmp_path, resources_dir):
    wd = _workdir(tmp_path, resources_dir, ["tvb96"],
                  {"families": ["degree"], "n_per_family": 3, "batch_size": 2, "panel_max_per_family": 3})
    _run(wd, "--cores", "2", "results/nulls/atlas-tvb96/properties.tsv")
    out = wd / "results" / "nulls" / "atlas-tvb96"
    b0 = read_nulls(out / "null-degree" / "batch-0000.h5")
    b1 = read_nulls(out / "null-degree" / "batch-0001.h5")
    assert b0.null_index.tolist() == [0, 1] and b1.null_index.tolist() == [2]
    assert b0.master_seed == 11 and (b0.swaps_achieved > 0).all()
    real = read_nulls(out / "null-real" / "batch-0000.h5")
    assert real.family == "real" and real.null_index.tolist() == [0]
    assert np.array_equal(real.weights[0], b0.source_weights)
    assert np.array_equal(real.lengths[0], np.where(real.weights[0] != 0, real.pair_lengths, 0))
    rows = (out / "properties.tsv").read_text().splitlines()
    assert len(rows) == 1 + 1 + 3 and rows[1].split("\t")[1] == "real"
    assert (out / "properties.png").stat().st_size > 10_000 and (out / "properties.pdf").exists()
    assert (wd / "logs" / "generate_nulls" / "atlas-tvb96" / "null-degree" / "batch-0000.log").exists()
    # a deleted batch is regenerated bit for bit
    p = out / "null-degree" / "batch-0001.h5"
    before = read_nulls(p).weights
    p.unlink()
    _run(wd, "--cores", "1", str(p.relative_to(wd)))
    assert np.array_equal(read_nulls(p).weights, before)


@pytest.mark.workflow
def test_dag_stays_in_hundreds_for_10000_nulls(tmp_path, resources_dir):
    wd = _workdir(tmp_path, resources_dir, ["tvb96", "schaefer100"], {"n_per_family": 10000})
    res = _run(wd, *[f"results/nulls/atlas-{a}/properties.tsv" for a in ("tvb96", "schaefer100")],
               "-n", "--quiet", "rules")
    m = re.search(r"generate_nulls\s+(\d+)", res.stdout)
    assert m, res.stdout[-2000:]
    n_jobs = int(m.group(1))
    assert n_jobs == 2 * (7 * 20 + 1), n_jobs  # 2 atlases x (7 families x 20 batches + real)


@pytest.mark.workflow
def test_bad_nulls_config_named(tmp_path, resources_dir):
    wd = _workdir(tmp_path, resources_dir, ["tvb96"], {"families": ["degre"]})
    res = _run(wd, "-n", "results/nulls/atlas-tvb96/properties.tsv", check=False)
    assert res.returncode != 0
    assert "nulls.families[0]" in res.stdout + res.stderr


def test_cli_generate_refusal_and_skip(tmp_path, resources_dir):
    conn = resources_dir / "connectomes" / "hcp80.h5"
    base = [sys.executable, "-m", "encephagen", "nulls", "generate", "--connectome", str(conn), "--atlas", "hcp80",
            "--family", "degree", "--n", "2", "--master-seed", "0", "--out", str(tmp_path)]
    res = subprocess.run(base, capture_output=True, text=True)
    assert res.returncode == 1 and "complete graph" in res.stderr
    assert not list(tmp_path.rglob("*.h5"))
    res = subprocess.run(base + ["--on-refusal", "skip", "--family", "weight_perm"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert read_nulls(tmp_path / "atlas-hcp80" / "null-degree" / "batch-0000.h5").skipped
    wp = read_nulls(tmp_path / "atlas-hcp80" / "null-weight_perm" / "batch-0000.h5")
    assert len(wp) == 2 and wp.master_seed == 0
    res = subprocess.run([sys.executable, "-m", "encephagen", "nulls", "families"], capture_output=True, text=True)
    assert res.returncode == 0 and "geometry" in res.stdout and "exact" in res.stdout
