"""The whole workflow through real snakemake runs on the tiny CI config (tests/config/ci.yaml):
every stage runs, outputs validate, the design is honest (real and nulls with the same seeds),
a second run does nothing, and a change reruns only what depends on it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.workflow

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
CFG = "tests/config/ci.yaml"


def smk(workdir: Path, *args: str, cfg: str = CFG, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    return subprocess.run([SNAKEMAKE, *args, "--cores", "2", "--configfile", cfg], cwd=workdir,
                          capture_output=True, text=True, env=env, timeout=timeout)


def job_stats(out: str) -> dict[str, int]:
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", out, re.S)
    if not m:
        return {}
    return {ln.split()[0]: int(ln.split()[1]) for ln in m.group(1).splitlines() if ln.strip()}


@pytest.fixture(scope="module")
def ran(tmp_path_factory, repo_root):
    wd = tmp_path_factory.mktemp("workflow")
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(repo_root / d, wd / d)
    (wd / "tests" / "config").mkdir(parents=True)
    shutil.copy(repo_root / CFG, wd / CFG)
    r = smk(wd)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    return wd


def test_every_stage_ran_and_validates(ran):
    from encephagen.io import validate_h5

    for atlas in ("tvb96", "hcp80"):
        validate_h5(ran / f"results/aggregate/atlas-{atlas}/model-wilson_cowan/store.h5", "aggregate")
        for name in ("metric_distributions", "hierarchy", "decomposition", "t1t2", "silencing"):
            for ext in ("png", "pdf"):
                p = ran / f"results/figures/atlas-{atlas}/model-wilson_cowan/{name}.{ext}"
                assert p.stat().st_size > 1000, p
    for p in (ran / "results/sims").rglob("*.h5"):
        validate_h5(p, "simulation")
    assert (ran / "results/figures/atlas-hcp80/model-wilson_cowan/fc_fit.png").exists()
    desc = (ran / "results/dataset_description.json").read_text()
    assert '"master_seed": 7' in desc and "seed_rule" in desc
    assert "Wilson" in (ran / "results/methods.md").read_text()


def test_real_and_nulls_get_identical_treatment(ran):
    """Same seed ids and G values for the real network and every null (no pseudo-replication);
    hcp80 is a complete graph: degree rewiring is refused and recorded, never a silent copy."""
    net = pd.read_csv(ran / "results/aggregate/atlas-tvb96/model-wilson_cowan/network.tsv.gz", sep="\t")
    runs = net[net.metric == "fc_mean"]
    per_net = runs.groupby(["family", "null_index"]).apply(
        lambda g: tuple(sorted(zip(g.seed_id, g.G))), include_groups=False)
    assert per_net.nunique() == 1 and len(per_net.iloc[0]) == 2 * 2
    assert set(runs.family) == {"real", "degree", "weight_perm"}
    assert runs[runs.family != "real"].groupby("family").null_index.nunique().to_dict() == \
        {"degree": 4, "weight_perm": 4}
    # seeds differ between networks (derived from the network id), and between seed ids
    assert runs.groupby(["family", "null_index", "seed_id"]).seed.first().nunique() == 9 * 2
    skipped = pd.read_csv(ran / "results/aggregate/atlas-hcp80/model-wilson_cowan/skipped_families.tsv", sep="\t")
    assert set(skipped.family) == {"degree"} and len(skipped) == 2  # both degree batches
    assert skipped.reason.str.contains("complete graph").all()
    stats = pd.read_csv(ran / "results/stats/atlas-hcp80/model-wilson_cowan/network_stats.tsv", sep="\t")
    assert set(stats.family) == {"weight_perm"}
    stats = pd.read_csv(ran / "results/stats/atlas-tvb96/model-wilson_cowan/network_stats.tsv", sep="\t")
    assert set(stats.family) == {"degree", "weight_perm"}
    assert (stats.n_nulls == 4).all() and stats.q.between(0, 1).all()


def test_fc_fit_is_heldout_and_beside_baselines(ran):
    s = pd.read_csv(ran / "results/stats/atlas-hcp80/model-wilson_cowan/fc_fit_summary.tsv", sep="\t")
    assert (s.train == "hcp80").all() and (s.test == "gw80").all()
    assert any(c.startswith("sc_") for c in s.columns)
    assert np.isfinite(s.real_test_pearson).all()


def test_second_run_does_nothing(ran):
    r = smk(ran, "-n")
    assert r.returncode == 0
    assert "Nothing to be done" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]


def test_model_parameter_change_reruns_only_simulations_and_downstream(ran):
    cfg = yaml.safe_load((ran / CFG).read_text())
    cfg["simulate"]["noise"] = 0.02
    (ran / "tests/config/noise.yaml").write_text(yaml.safe_dump(cfg))
    jobs = job_stats(smk(ran, "-n", cfg="tests/config/noise.yaml").stdout)
    assert jobs.get("simulate_batch") == 10, jobs
    assert "generate_nulls" not in jobs and "hopf_sweep" not in jobs and "convert_connectome" not in jobs
    assert jobs.get("aggregate_sims") == 2


def test_one_connectome_change_reruns_only_its_dependents(ran):
    from encephagen.connectome import Connectome

    p = ran / "resources/connectomes/tvb96.h5"
    c = Connectome.load(p)
    w = c.weights.copy()
    w[0, 1] += 1.0
    c.with_weights(w).save(p)
    out = smk(ran, "-n").stdout
    jobs = job_stats(out)
    assert jobs.get("generate_nulls") == 5 and jobs.get("simulate_batch") == 5, jobs
    assert "hcp80" not in " ".join(ln for ln in out.splitlines() if ln.strip().startswith("output:")), out[-3000:]


def test_lif_model_runs_through_the_same_pipeline(tmp_path, repo_root):
    """model: lif -> spiking simulations of the real network and its nulls with the same seeds,
    aggregated and tested like the neural-mass runs; runaway regimes flagged by network."""
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(repo_root / d, tmp_path / d)
    (tmp_path / "tests" / "config").mkdir(parents=True)
    shutil.copy(repo_root / "tests/config/lif.yaml", tmp_path / "tests/config/lif.yaml")
    r = smk(tmp_path, cfg="tests/config/lif.yaml")
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    from encephagen.spiking.run import read_spiking

    sim = read_spiking(tmp_path / "results/sims/atlas-tvb96/model-lif/null-real/batch-0000.h5")
    assert sim["rate"].shape == (2 * 2, 96)
    reg = pd.read_csv(tmp_path / "results/aggregate/atlas-tvb96/model-lif/regional.tsv.gz", sep="\t")
    assert {"rate", "cv_isi", "acf_timescale"} <= set(reg.metric)
    runs = reg[(reg.metric == "rate") & (reg.region == 0)]
    assert runs.groupby(["family", "null_index"]).size().to_dict() == \
        {("real", 0): 4, ("weight_perm", 0): 4, ("weight_perm", 1): 4, ("weight_perm", 2): 4}
    st = pd.read_csv(tmp_path / "results/stats/atlas-tvb96/model-lif/network_stats.tsv", sep="\t")
    assert (st.n_nulls == 3).all() and (st.n_seeds == 2).all()
    assert (tmp_path / "results/figures/atlas-tvb96/model-lif/t1t2.png").stat().st_size > 1000


def test_report_builds_with_clean_captions(ran):
    r = smk(ran, "--report", "results/report.html")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "ERROR/" not in r.stdout + r.stderr  # every caption is valid reStructuredText
    assert (ran / "results/report.html").stat().st_size > 100_000
