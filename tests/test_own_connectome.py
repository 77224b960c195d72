"""Your own connectome (docs/own_connectome.md): files declared under `connectomes:` go through the
same validation (Connectome) and then through every stage like a built-in atlas. The end-to-end test
writes a 12-region connectome and runs real snakemake through conversion, nulls, simulations,
aggregation, statistics and the T1w/T2w analysis on it."""
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

from encephagen.connectome import Connectome
from encephagen.data.own import OwnConnectomeError, build_own_connectome

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
N = 12


def make_files(d: Path, fmt: str = "csv") -> dict:
    """A 12-region symmetric connectome with centres, classes and a map, written in ``fmt``."""
    rng = np.random.default_rng(12)
    w = rng.uniform(0.1, 1.0, (N, N)) * (rng.random((N, N)) < 0.6)
    w = np.triu(w, 1)
    w = w + w.T
    for i in range(N):  # no isolated node: a ring
        j = (i + 1) % N
        w[i, j] = w[j, i] = max(w[i, j], 0.5)
    centres = np.column_stack([np.r_[-np.ones(N // 2), np.ones(N // 2)] * rng.uniform(10, 60, N),
                               rng.uniform(-80, 60, N), rng.uniform(-20, 60, N)])
    lengths = np.sqrt(((centres[:, None] - centres[None]) ** 2).sum(-1)) * 1.2
    labels = [f"{'L' if i < N // 2 else 'R'}_region{i % (N // 2)}" for i in range(N)]
    classes = ["sensory", "association", "limbic"] * (N // 3)
    d.mkdir(parents=True, exist_ok=True)

    def mat(name, a):
        if fmt == "npy":
            p = d / f"{name}.npy"
            np.save(p, a)
        else:
            p = d / f"{name}.{fmt}"
            np.savetxt(p, a, delimiter={"csv": ",", "tsv": "\t", "txt": " "}[fmt])
        return str(p)

    (d / "labels.txt").write_text("\n".join(labels) + "\n")
    (d / "classes.txt").write_text("\n".join(classes) + "\n")
    (d / "t1t2.txt").write_text("\n".join(f"{v:.4f}" for v in np.linspace(1.2, 1.8, N)) + "\n")
    spec = {"weights": mat("weights", w), "lengths": mat("lengths", lengths), "labels": str(d / "labels.txt"),
            "centres": mat("centres", centres), "region_class": str(d / "classes.txt"), "t1t2": str(d / "t1t2.txt"),
            "weight_kind": "synthetic test weights"}
    return {"spec": spec, "weights": w, "lengths": lengths, "centres": centres, "labels": labels, "classes": classes}


@pytest.mark.parametrize("fmt", ["npy", "csv", "tsv", "txt"])
def test_files_in_each_format_become_the_same_connectome(tmp_path, fmt):
    f = make_files(tmp_path / fmt, fmt)
    c = build_own_connectome("my12", f["spec"])
    np.testing.assert_allclose(c.weights, f["weights"], rtol=1e-12)
    np.testing.assert_allclose(c.lengths, f["lengths"], rtol=1e-12)
    np.testing.assert_allclose(c.centres, f["centres"], rtol=1e-12)
    assert c.labels == tuple(f["labels"]) and c.region_class == tuple(f["classes"])
    assert c.hemisphere == tuple("L" if x < 0 else "R" for x in f["centres"][:, 0])
    assert not c.directed  # symmetric input


def test_lengths_default_to_centre_distances(tmp_path):
    f = make_files(tmp_path)
    spec = dict(f["spec"], lengths=None)
    c = build_own_connectome("my12", spec)
    d = np.sqrt(((f["centres"][:, None] - f["centres"][None]) ** 2).sum(-1))
    np.testing.assert_allclose(c.lengths, d)
    assert "Euclidean" in c.lengths_source


@pytest.mark.parametrize("change, match", [
    (lambda d, s: np.savetxt(s["weights"], np.ones((N, N - 1)), delimiter=","), r"weights.*square"),
    (lambda d, s: Path(s["labels"]).write_text("a\nb\n"), r"connectomes\.my12\.labels .*2 entries for 12 regions"),
    (lambda d, s: np.savetxt(s["lengths"], np.ones((N - 1, N - 1)), delimiter=","), r"connectomes\.my12\.lengths"),
    (lambda d, s: np.savetxt(s["weights"], -np.ones((N, N)), delimiter=","), r"my12.*negative"),
    (lambda d, s: os.remove(s["centres"]), r"connectomes\.my12\.centres .*not found"),
])
def test_bad_files_are_refused_naming_the_key_and_file(tmp_path, change, match):
    f = make_files(tmp_path)
    change(tmp_path, f["spec"])
    with pytest.raises(OwnConnectomeError, match=match):
        build_own_connectome("my12", f["spec"])


def test_config_accepts_declared_names_only(tmp_path):
    from encephagen.config import ConfigError, layered_config

    f = make_files(tmp_path)
    cfg = layered_config(REPO, [], {"atlases": ["my12"], "connectomes": {"my12": f["spec"]}})
    assert cfg["connectomes"]["my12"]["weights"] == f["spec"]["weights"]
    with pytest.raises(ConfigError, match=r"atlases\[0\]': unknown connectome 'my13'"):
        layered_config(REPO, [], {"atlases": ["my13"], "connectomes": {"my12": f["spec"]}})
    with pytest.raises(ConfigError, match="built-in connectome"):
        layered_config(REPO, [], {"atlases": ["hcp80"], "connectomes": {"hcp80": f["spec"]}})


@pytest.mark.workflow
def test_own_connectome_runs_through_every_stage_with_snakemake(tmp_path):
    wd = tmp_path / "wf"
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, wd / d)
    f = make_files(wd / "mydata")
    spec = {k: os.path.relpath(v, wd) if k in ("weights", "lengths", "labels", "centres", "region_class", "t1t2")
            else v for k, v in f["spec"].items()}
    own = {"atlases": ["my12"], "connectomes": {"my12": spec},
           "data": {"connectomes": ["tvb96"], "fc_datasets": [], "t1t2_extra": []},
           "nulls": {"families": ["degree", "strength"], "n_per_family": 4, "batch_size": 4},
           "hopf": {"enabled": False}, "analysis": {"fc_pairs": [], "min_nulls_per_family": 4,
                                                    "n_spatial_surrogates": 20}}
    (wd / "own.yaml").write_text(yaml.safe_dump(own))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PYTHONPATH"] = str(REPO)
    stats = "results/stats/atlas-my12/model-wilson_cowan"
    targets = [f"{stats}/network_stats.tsv", f"{stats}/t1t2.tsv", "results/nulls/atlas-my12/properties.tsv"]
    args = ["--cores", "2", "--configfile", str(REPO / "tests/config/ci.yaml"), "own.yaml"]
    dry = subprocess.run([SNAKEMAKE, "-n", *args], cwd=wd, capture_output=True, text=True, env=env, timeout=600)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-4000:]  # the whole workflow's DAG takes it
    r = subprocess.run([SNAKEMAKE, *targets, *args], cwd=wd, capture_output=True, text=True, env=env, timeout=1800)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    c = Connectome.load(wd / "resources/connectomes/my12.h5")
    np.testing.assert_allclose(c.weights, f["weights"], rtol=1e-12)
    assert c.labels == tuple(f["labels"]) and c.region_class == tuple(f["classes"])
    net = pd.read_csv(wd / "results/aggregate/atlas-my12/model-wilson_cowan/network.tsv.gz", sep="\t")
    assert set(net["family"]) == {"real", "degree", "strength"}
    assert net[net["family"] != "real"].groupby("family")["null_index"].nunique().to_dict() == \
        {"degree": 4, "strength": 4}
    st = pd.read_csv(wd / f"{stats}/network_stats.tsv", sep="\t")
    assert set(st["family"]) == {"degree", "strength"} and len(st) > 0
    t1 = pd.read_csv(wd / f"{stats}/t1t2.tsv", sep="\t")
    assert len(t1) > 0
