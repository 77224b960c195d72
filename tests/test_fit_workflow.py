"""The `fit` stage: its library step (encephagen.fit.stage, arrays in) and the stage through real snakemake
on a tiny config (tests/config/fit_tiny.yaml); a bad fit config is refused naming the key before any job."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from encephagen.fit.space import FitError
from encephagen.fit.stage import compare, figure, fit_batch, stage_maps, stage_seed
from encephagen.schemas import section_defaults

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile")]


def _cfg(**opt):
    cfg = section_defaults("fit")
    cfg["optimiser"].update(opt)
    return cfg


def _net(n, seed):
    rng = np.random.default_rng(seed)
    W = rng.random((n, n)) * (rng.random((n, n)) < 0.4)
    return (W + W.T) / 2


def _fc(W):
    from encephagen.fit import AnalyticHopf
    from encephagen.hopf import fit as hf

    return AnalyticHopf(hf.normalise_sc(W))(np.array([2.0]))["fc"][0].numpy()


def test_stage_fits_every_network_alike_and_scores_held_out():
    n = 24
    W = np.stack([_net(n, 0), _net(n, 1), _net(n, 2)])
    F = _fc(W[0])
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.02, (n, n))
    Ftest = np.clip(F + (noise + noise.T) / 2, -1, 1)
    np.fill_diagonal(Ftest, 1.0)
    cfg = _cfg(popsize=8, generations=6)
    cfg["space"]["heterogeneity"] = []                       # homogeneous: G only
    rows = fit_batch(W, fc_train=F, fc_test=Ftest, cfg=cfg, seed=3, atlas="toy", family="real",
                     null_index=[0, 1, 2])
    assert [r["null_index"] for r in rows] == [0, 1, 2] and {r["seed"] for r in rows} == {3}
    assert {r["n_evaluations"] for r in rows} == {48}           # the same budget for every network
    assert rows[0]["train_fc_r"] > 0.99 > rows[1]["train_fc_r"]   # the generating network fits
    assert rows[0]["test_fc_r"] < rows[0]["train_fc_r"] and rows[0]["test_fc_r"] > 0.9
    # same network, same seed -> same fit (deterministic); the maps need the TRAINING FC only
    again = fit_batch(W[:1], fc_train=F, fc_test=Ftest, cfg=cfg, seed=3, atlas="toy", family="real", null_index=[0])
    assert again[0]["G"] == rows[0]["G"]
    maps, nets = stage_maps(F, t1t2=np.arange(n), labels=[f"r{i}" for i in range(n)])
    assert set(maps) == {"t1t2", "fc_gradient1", "fc_gradient2", "fc_gradient3"} and nets == {}
    cfg["space"]["heterogeneity"] = [{"parameter": "a", "maps": ["t1t2"]}]
    with pytest.raises(FitError, match="fit.space.*t1t2"):           # t1t2 named but not given
        fit_batch(W, fc_train=F, fc_test=Ftest, cfg=cfg, seed=3, atlas="toy", family="real", null_index=[0, 1, 2])
    assert stage_seed(cfg, 7, "toy") == stage_seed(cfg, 7, "toy") != stage_seed(cfg, 7, "other")


def test_compare_real_vs_nulls_p_z_fdr():
    rows = [{"atlas": "a", "family": "real", "null_index": 0, "status": "ok", "test_fc_r": 0.8, "train_fc_r": 0.8,
             "test_sc_log_r": 0.5}]
    for f, vals in (("deg", [0.1, 0.2, 0.3, 0.9]), ("wp", [0.1, 0.2, 0.3, 0.4])):
        rows += [{"atlas": "a", "family": f, "null_index": i, "status": "ok", "test_fc_r": v, "train_fc_r": v,
                  "test_sc_log_r": 0.0} for i, v in enumerate(vals)]
    rows.append({"atlas": "a", "family": "geometry", "null_index": -1, "status": "skipped", "test_fc_r": np.nan,
                 "train_fc_r": np.nan, "test_sc_log_r": np.nan})
    out = {(r["family"], r["score"]): r for r in compare(rows, min_nulls=3)}
    assert out["deg", "test_fc_r"]["p"] == pytest.approx(2 / 5)      # one null of four beats the real network
    assert out["wp", "test_fc_r"]["p"] == pytest.approx(1 / 5)       # none does: the floor 1/(k+1)
    assert out["wp", "test_fc_r"]["z"] == pytest.approx((0.8 - 0.25) / np.std([0.1, 0.2, 0.3, 0.4], ddof=1))
    assert np.isnan(out["geometry", "test_fc_r"]["p"]) and "0 nulls" in out["geometry", "test_fc_r"]["excluded_reason"]
    q = [r["q"] for r in out.values() if np.isfinite(r["p"])]
    assert all(qq >= 0.2 for qq in q) and len(q) == 6
    fig = figure(rows, "a", train="x", test="y")
    assert len(fig.axes) == 1


def _workdir(tmp_path: Path, resources_dir: Path, cfg_file: Path) -> Path:
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    res = wd / "resources"
    for sub, names in (("connectomes", ["hcp80.h5", "gw80.h5"]), ("fc", ["hcp80.h5", "gw80.h5"]),
                       ("t1t2", ["hcp80.tsv"])):
        (res / sub).mkdir(parents=True)
        for nm in names:
            shutil.copy(resources_dir / sub / nm, res / sub / nm)
    shutil.copy(cfg_file, wd / "config" / "config.yaml")
    return wd


def _run(wd: Path, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    r = subprocess.run(SNAKEMAKE + ["--directory", str(wd), *args], capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise AssertionError(f"snakemake failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}")
    return r


RESOURCES = ["resources/connectomes/hcp80.h5", "resources/connectomes/gw80.h5", "resources/fc/hcp80.h5",
             "resources/fc/gw80.h5", "resources/t1t2/hcp80.tsv"]


@pytest.mark.workflow
def test_fit_stage_through_snakemake(tmp_path, resources_dir):
    """Real snakemake on tests/config/fit_tiny.yaml (hcp80 -> gw80, real + 2 weight-permutation nulls,
    CMA-ES 8 x 4, score_fcd with one 72-s run): the tables, the same seed and budget for every network, the
    simulated FC / FCD columns, real vs nulls, the figure."""
    cfg = yaml.safe_load((REPO / "tests/config/fit_tiny.yaml").read_text())
    cfg["nulls"].update(n_per_family=2, batch_size=2)
    cfg["analysis"]["min_nulls_per_family"] = 2
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    wd = _workdir(tmp_path, resources_dir, tmp_path / "c.yaml")
    _run(wd, "--touch", "--cores", "1", *RESOURCES)              # the copied data stage counts as built
    _run(wd, "--cores", "2")
    out = wd / "results" / "fit" / "atlas-hcp80"
    nets = pd.read_csv(out / "networks.tsv", sep="\t")
    assert nets["family"].tolist() == ["real", "weight_perm", "weight_perm"]
    assert nets["seed"].nunique() == 1 and nets["n_evaluations"].eq(32).all()
    real = nets.iloc[0]
    assert real["test_fc_r"] > real["test_sc_log_r"] > nets["test_sc_log_r"].iloc[1:].max()
    assert (nets["test_fc_r"].iloc[1:] < real["test_fc_r"]).all()
    # fit.score_fcd (tiny config): every optimum simulated and scored on FC and FCD
    # (an optimum too stiff to simulate within fit.score_fcd.max_steps_per_tr is NaN with its reason)
    assert nets["sim_runs"].eq(1).all() and nets["sim_steps_per_tr"].ge(8).all()
    done = nets["reason"].fillna("").eq("")
    assert nets.loc[done, "test_fcd_ks"].between(0, 1).all() and nets.loc[done, "train_fcd_ks"].between(0, 1).all()
    assert nets.loc[done, "sim_test_fc_r"].notna().all()
    assert nets.loc[~done, "reason"].astype(str).str.contains("stiff|diverged").all()
    assert nets.loc[~done, "test_fcd_ks"].isna().all()
    cmp = pd.read_csv(out / "real_vs_nulls.tsv", sep="\t")
    row = cmp[(cmp.family == "weight_perm") & (cmp.score == "test_fc_r")].iloc[0]
    assert row["n_null"] == 2 and row["p"] == pytest.approx(1 / 3) and np.isfinite(row["z"]) and "q" in cmp
    assert (out / "heldout_vs_nulls.png").stat().st_size > 10_000
    assert (wd / "logs" / "fit_batch" / "atlas-hcp80" / "null-real" / "batch-0000.log").exists()


@pytest.mark.workflow
@pytest.mark.parametrize("fit, key", [
    ({"optimiser": {"popsize": 1}}, "fit.optimiser.popsize"),
    ({"space": {"heterogeneity": [{"parameter": "a", "maps": ["t1t2"], "networks": "yeo7"}]}},
     "fit.space.heterogeneity[0]"),
    ({"families": ["degree"]}, "fit.families"),
    ({"score_fcd": {"enabled": True, "seconds": 20.0}}, "fit.score_fcd.seconds"),
])
def test_bad_fit_config_refused_before_any_job(tmp_path, fit, key):
    cfg = yaml.safe_load((REPO / "tests/config/fit_tiny.yaml").read_text())
    cfg["fit"] = fit
    wd = tmp_path / "wd"
    (wd / "config").mkdir(parents=True)
    (wd / "config" / "config.yaml").write_text(yaml.safe_dump(cfg))
    r = _run(wd, "-n", check=False)
    assert r.returncode != 0 and f"'{key}'" in r.stdout + r.stderr, (r.stdout + r.stderr)[-2000:]
    assert not (wd / "results").exists() and not (wd / "resources").exists()
