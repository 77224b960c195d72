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
def ran(tmp_path_factory, ci_run):
    """A copy of the session's finished CI run (conftest.ci_run): these tests change files in it."""
    wd = tmp_path_factory.mktemp("workflow") / "run"
    shutil.copytree(ci_run, wd, symlinks=True)
    return wd


def test_every_stage_ran_and_validates(ran):
    from encephagen.io import validate_h5

    for atlas in ("tvb96", "hcp80"):
        validate_h5(ran / f"results/aggregate/atlas-{atlas}/model-wilson_cowan/store.h5", "aggregate")
        for name in ("metric_distributions", "hierarchy", "decomposition", "t1t2", "silencing"):
            for ext in ("png", "pdf"):
                p = ran / f"results/figures/atlas-{atlas}/model-wilson_cowan/{name}.{ext}"
                assert p.stat().st_size > 1000, p
    # the second model of the run (simulate.model: [wilson_cowan, hopf]) on the atlas with an FC pair
    validate_h5(ran / "results/aggregate/atlas-hcp80/model-hopf/store.h5", "aggregate")
    assert not (ran / "results/sims/atlas-tvb96/model-hopf").exists()
    for p in (ran / "results/sims").rglob("*.h5"):
        validate_h5(p, "simulation")
    assert (ran / "results/figures/atlas-hcp80/model-wilson_cowan/fc_fit.png").exists()
    desc = (ran / "results/dataset_description.json").read_text()
    assert '"master_seed": 7' in desc and "seed_rule" in desc
    assert "Wilson" in (ran / "results/methods.md").read_text()


def _sim_files(ran, atlas, model):
    return sorted((ran / f"results/sims/atlas-{atlas}/model-{model}").rglob("batch-*.h5"))


@pytest.mark.parametrize("atlas,model", [("tvb96", "wilson_cowan"), ("hcp80", "wilson_cowan"), ("hcp80", "hopf")])
def test_real_and_nulls_get_identical_treatment(ran, atlas, model):
    """Every network of an (atlas, model) -- the nulls stage's real network and every null -- is run
    with the same settings (model, normalisation, delays rule, noise, dt, duration, monitors), at the
    same G values (the atlas's operating-point table) and the same seed ids; the real network is the
    nulls stage's file, not the raw connectome; no chosen G leaves the real network saturated,
    silent or diverged (recomputed here from its own simulated regional activity)."""
    import json

    import h5py

    from encephagen.sim import regime as rg
    from encephagen.study.engines.neural_mass_io import read_simulation
    from encephagen.steps.operating_point import read_grid

    grid = read_grid(ran / f"results/operating_point/atlas-{atlas}/model-{model}/G.tsv")
    configs, designs = set(), set()
    real = None
    for p in _sim_files(ran, atlas, model):
        with h5py.File(p, "r") as f:
            if f.attrs.get("status", "ok") == "skipped":
                continue
        sim = read_simulation(p)
        cfg = dict(sim["config"])
        assert cfg["model"] == model and cfg["G"] == grid.tolist(), p
        configs.add(json.dumps(cfg, sort_keys=True))
        for k in np.unique(sim["null_index"]):
            sel = sim["null_index"] == k
            designs.add(tuple(sorted(zip(sim["seed_id"][sel].tolist(), sim["G"][sel].tolist()))))
        if sim["family"][0] == "real":
            real = sim
            assert sim["provenance"]["networks_file"].endswith(f"results/nulls/atlas-{atlas}/null-real/batch-0000.h5")
    assert len(configs) == 1, "networks of one study were run with different settings"
    assert designs == {tuple(sorted((s, float(g)) for s in (0, 1) for g in grid))}
    assert real is not None
    codes = np.asarray(real["regime"])
    assert rg.admissible(codes).all(), rg.regime_names(codes[~rg.admissible(codes, axis=-1)])
    if model == "wilson_cowan":   # normalised weights: the same working range on both atlases
        assert 0.05 <= grid.min() and grid.max() < 2.0


def test_seeds_and_refused_families_are_recorded(ran):
    """Seeds differ between networks and seed ids; hcp80 is a complete graph: degree rewiring is
    refused and recorded, never a silent copy."""
    net = pd.read_csv(ran / "results/aggregate/atlas-tvb96/model-wilson_cowan/network.tsv.gz", sep="\t")
    runs = net[net.metric == "fc_mean"]
    assert set(runs.family) == {"real", "degree", "weight_perm"}
    assert runs[runs.family != "real"].groupby("family").null_index.nunique().to_dict() == \
        {"degree": 4, "weight_perm": 4}
    assert runs.groupby(["family", "null_index", "seed_id"]).seed.first().nunique() == 9 * 2
    skipped = pd.read_csv(ran / "results/aggregate/atlas-hcp80/model-wilson_cowan/skipped_families.tsv", sep="\t")
    assert set(skipped.family) == {"degree"} and len(skipped) == 2  # both degree batches
    assert skipped.reason.str.contains("complete graph").all()
    stats = pd.read_csv(ran / "results/stats/atlas-hcp80/model-wilson_cowan/network_stats.tsv", sep="\t")
    assert set(stats.family) == {"weight_perm"}
    stats = pd.read_csv(ran / "results/stats/atlas-tvb96/model-wilson_cowan/network_stats.tsv", sep="\t")
    assert set(stats.family) == {"degree", "weight_perm"}
    assert (stats.n_nulls == 4).all() and stats.q.between(0, 1).all()


def test_simulated_fc_matches_the_analytic_fc_and_beats_the_sc_baseline(ran):
    """The simulated Hopf FC of the real network agrees with the analytic FC at the G chosen on the
    training group (r >= 0.9), and its held-out fit beats the SC-only log baseline (hcp80 -> gw80)."""
    chk = pd.read_csv(ran / "results/hopf/atlas-hcp80/sim_vs_analytic.tsv", sep="\t")
    at = chk[chk.chosen_on_training]
    assert len(at) == 1 and (at.r_sim_analytic >= 0.9).all() and at.passes.all()
    assert (chk.n_fc_samples >= 1000).all()
    s = pd.read_csv(ran / "results/stats/atlas-hcp80/model-hopf/fc_fit_summary.tsv", sep="\t")
    assert (s.train == "hcp80").all() and (s.test == "gw80").all()
    base = [c for c in s.columns if c.startswith("sc_") and "log" in c and "pearson" in c]
    assert base, list(s.columns)
    assert (s.real_test_pearson > s[base[0]]).all(), s[["real_test_pearson", base[0]]]


def test_second_run_does_nothing(ran):
    r = smk(ran, "-n")
    assert r.returncode == 0
    assert "Nothing to be done" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]


def test_model_parameter_change_reruns_only_simulations_and_downstream(ran):
    cfg = yaml.safe_load((ran / CFG).read_text())
    cfg["simulate"]["noise"] = 0.02
    (ran / "tests/config/noise.yaml").write_text(yaml.safe_dump(cfg))
    jobs = job_stats(smk(ran, "-n", cfg="tests/config/noise.yaml").stdout)
    # Wilson-Cowan only: simulate.per_model.hopf.noise overrides the section's noise for hopf
    assert jobs.get("simulate_batch") == 10 and jobs.get("operating_point") == 2, jobs
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
    from encephagen.study.engines.lif import read_spiking

    sim = read_spiking(tmp_path / "results/sims/atlas-tvb96/model-lif/null-real/batch-0000.h5")
    assert sim["rate"].shape == (2 * 2, 96)
    reg = pd.read_csv(tmp_path / "results/aggregate/atlas-tvb96/model-lif/regional.tsv.gz", sep="\t")
    assert {"rate", "cv_isi", "acf_tau_ms", "dominant_freq_hz"} <= set(reg.metric)   # the shared metric names
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
