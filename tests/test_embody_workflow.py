"""The embody stage through real snakemake on a tiny config, and its statistics."""
from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("mujoco")
pytest.importorskip("gymnasium")

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]


def _tsv(p):
    with open(p) as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.mark.workflow
def test_embody_stage_tiny(tmp_path, resources_dir):
    """nulls (2 degree nulls) -> five controls on 2 seeds x 40 steps -> report; real snakemake
    (every control in-process: test_every_controller_runs)."""
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    (wd / "resources" / "connectomes").mkdir(parents=True)
    shutil.copy(resources_dir / "connectomes" / "tvb96.h5", wd / "resources" / "connectomes" / "tvb96.h5")
    cfg = {"master_seed": 5, "atlases": ["tvb96"], "stages": ["embody"],
           "nulls": {"families": ["degree"], "n_per_family": 2, "batch_size": 2},
           "analysis": {"min_nulls_per_family": 2},
           "embody": {"n_seeds": 2, "max_steps": 40, "n_nulls": 2, "video": False,
                      "controllers": ["random", "pd_stand", "full_loop", "brain_ablated", "brain_null"],
                      "brain": {"n_e": 4, "n_i": 1}}}
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    res = subprocess.run(SNAKEMAKE + ["--directory", str(wd), "--cores", "1"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    out = wd / "results" / "embody" / "atlas-tvb96"
    summ = _tsv(out / "summary.tsv")
    ctrls = {r["controller"] for r in summ}
    assert ctrls == {"random", "pd_stand", "full_loop", "brain_ablated", "brain_null"}
    steps = {r["controller"]: float(r["mean"]) for r in summ if r["metric"] == "steps"}
    assert steps["pd_stand"] == 40 and steps["random"] < 40
    nn = [r for r in summ if r["controller"] == "brain_null" and r["metric"] == "dx"][0]
    assert int(nn["n"]) == 4                                   # 2 nulls x 2 seeds
    bvn = _tsv(out / "brain_vs_null.tsv")
    assert [r["metric"] for r in bvn] == ["steps", "dx", "velocity", "return"]
    assert all(int(r["n_nulls"]) == 2 for r in bvn)
    assert (out / "figure.png").stat().st_size > 10_000
    assert (out / "video" / "SKIPPED.txt").exists()
    from encephagen.study.engines.embody import episode_rows, read_embody
    from encephagen.io import validate_h5
    from encephagen.study import read_runs
    from encephagen.study.engine import file_kind

    p = out / "episodes" / "full_loop.h5"
    validate_h5(p, "embody")                                    # kind runs, engine embody
    assert file_kind(p) == "embody" and read_runs(p)["attrs"]["controller"] == "full_loop"
    ep = episode_rows(p)
    # body seed = seed id (the same for every control); the brain's build seed per (network, seed id)
    assert [r["seed"] for r in ep] == [100, 101] and len({r["network_seed"] for r in ep}) == 2
    assert [r["seed"] for r in episode_rows(out / "episodes" / "random.h5")] == [100, 101]
    nulls = read_embody(out / "episodes" / "brain_null" / "batch-0000.h5")
    assert list(nulls["null_index"]) == [0, 0, 1, 1] and set(nulls["family"]) == {"degree"}


def test_every_controller_runs_on_the_same_seeds():
    """All nine controls through run_controller (a random 96-region network stands in for the
    nulls stage's files): one row per network x seed, the same seeds for every control."""
    from encephagen.bodies.cli import resolve, run_controller
    from encephagen.bodies.loop import CONTROLLERS

    rng = np.random.default_rng(0)
    nets = []
    for k in range(2):
        W = rng.random((96, 96)) * (rng.random((96, 96)) < 0.2)
        np.fill_diagonal(W, 0)
        nets.append(("tvb96", "real" if k == 0 else "degree", k, W, np.where(W > 0, 50.0, 0.0)))
    cfg = resolve({"n_seeds": 2, "max_steps": 15, "brain": {"n_e": 4, "n_i": 1}})
    for c in CONTROLLERS:
        rows = run_controller(c, cfg, 3, "tvb96", nets)
        assert [r["seed"] for r in rows] == [100, 101], c
        assert all(1 <= r["steps"] <= 15 and np.isfinite(r["dx"]) for r in rows), c
        if c in ("full_loop", "brain_null"):
            assert {r["family"] for r in rows} == {"real" if c == "full_loop" else "degree"}


def test_summary_confidence_interval_and_brain_vs_null_statistics():
    from encephagen.bodies.cli import brain_effect, brain_vs_null, summarise

    rows = []
    for s in range(5):
        for c, dx in (("full_loop", 2.0 + 0.1 * s), ("brain_ablated", 1.0 + 0.1 * s)):
            rows.append({"controller": c, "null_index": 0, "seed": s, "steps": 1000, "dx": dx,
                         "velocity": dx / 8, "return": 1000.0, "truncated": 1})
        for i in range(1, 10):
            rows.append({"controller": "brain_null", "null_index": i, "seed": s, "steps": 1000,
                         "dx": 1.0 + 0.01 * i, "velocity": 0.1, "return": 1000.0, "truncated": 1})
    summ = {(r["controller"], r["metric"]): r for r in summarise(rows)}
    r = summ[("full_loop", "dx")]
    x = np.array([2.0, 2.1, 2.2, 2.3, 2.4])
    from scipy import stats
    h = stats.t.ppf(0.975, 4) * x.std(ddof=1) / np.sqrt(5)
    assert r["mean"] == pytest.approx(2.2) and r["ci_high"] - r["mean"] == pytest.approx(h)
    b = {r["metric"]: r for r in brain_vs_null(rows)}
    assert b["dx"]["n_nulls"] == 9 and b["dx"]["p"] == pytest.approx(0.1)    # most extreme of 10
    assert b["steps"]["p"] == 1.0 and b["dx"]["min_attainable_p"] == pytest.approx(0.1)
    e = {r["metric"]: r for r in brain_effect(rows)}
    assert e["dx"]["mean_diff"] == pytest.approx(1.0) and e["dx"]["ci_low"] == pytest.approx(1.0)


def test_unknown_embody_key_and_atlas_without_motor_regions_are_refused():
    from encephagen.bodies.cli import brain_regions, resolve

    with pytest.raises(ValueError, match="embody.*bogus"):
        resolve({"bogus": 1})
    with pytest.raises(ValueError, match="embody.n_seeds"):
        resolve({"n_seeds": 1})
    with pytest.raises(ValueError, match="no .motor. regions"):
        brain_regions("schaefer100")
    s, m = brain_regions("tvb96")
    assert s == {"L": [76, 77], "R": [28, 29]} and m == {"L": [79], "R": [31]}
