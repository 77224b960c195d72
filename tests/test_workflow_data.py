"""The data stages through real snakemake runs: offline, idempotent, reruns only what depends on a change."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.workflow

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def _cfg(tmp: Path, name: str, **data) -> str:
    base = yaml.safe_load((tmp / "config" / "config.yaml").read_text()) or {}
    base["atlases"] = ["tvb96"]
    # fc_datasets: null (every dataset of these connectomes): the Snakefile's config/config.yaml is
    # layered under this file and names only the default run's datasets
    base["data"] = {"connectomes": ["tvb96", "dk84"], "t1t2_extra": [], "fc_datasets": None, **data}
    p = tmp / "config" / name
    p.write_text(yaml.safe_dump(base))
    return str(p)


def _smk(tmp: Path, cfg: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["ENCEPHAGEN_DATA_PACKAGES"] = ""
    return subprocess.run([SNAKEMAKE, *args, "-s", "workflow/Snakefile", "--cores", "2", "--configfile", cfg],
                          cwd=tmp, capture_output=True, text=True, env=env, timeout=900)


def _jobs(out: str) -> dict[str, int]:
    """The dry run's 'Job stats' table as {rule: count}."""
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", out, re.S)
    if not m:
        return {}
    return {ln.split()[0]: int(ln.split()[1]) for ln in m.group(1).splitlines() if ln.strip()}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, repo_root):
    tmp = tmp_path_factory.mktemp("wf")
    for d in ("workflow", "config"):
        shutil.copytree(repo_root / d, tmp / d)
    return tmp


def test_prepare_data_runs_then_does_nothing_then_reruns_only_dependents(workdir):
    from encephagen.connectome import Connectome
    from encephagen.data.empirical import read_baselines, read_fc
    from encephagen.data.parcellate import read_t1t2

    cfg = _cfg(workdir, "test_data.yaml")
    r = _smk(workdir, cfg, "prepare_data")
    assert r.returncode == 0, r.stderr[-3000:]
    c = Connectome.load(workdir / "resources/connectomes/tvb96.h5")
    assert c.n == 96
    assert read_fc(workdir / "resources/fc/dk84.h5")["fc"].shape == (84, 84)
    assert len(read_t1t2(workdir / "resources/t1t2/tvb96.tsv")) == 96
    assert [(b["connectome"], b["fc_dataset"]) for b in read_baselines(workdir / "results/baselines/sc_fc.tsv")] \
        == [("dk84", "dk84")]
    assert (workdir / "logs/fetch/tvb96.log").exists()

    again = _smk(workdir, cfg, "-n", "prepare_data")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    # a config change of the parcellation step reruns the T1w/T2w tables only
    cfg2 = _cfg(workdir, "test_data_minvert.yaml", min_vertices=25)
    dry = _smk(workdir, cfg2, "-n", "prepare_data")
    assert _jobs(dry.stdout) == {"parcellate_t1t2": 2, "prepare_data": 1}, dry.stdout[-2000:]

    # one changed source file: only its dependents rerun ...
    raw = workdir / "resources/raw/tvb-data/tvb_data/connectivity/connectivity_96.zip"
    with open(raw, "ab") as fh:
        fh.write(b"tampered")
    dry = _smk(workdir, cfg, "-n", "prepare_data")
    jobs = _jobs(dry.stdout)
    assert jobs == {"convert_connectome": 1, "parcellate_t1t2": 1, "prepare_data": 1}, dry.stdout[-2000:]
    outputs = " ".join(ln for ln in dry.stdout.splitlines() if ln.strip().startswith("output:"))
    assert "resources/connectomes/tvb96.h5" in outputs and "dk84" not in outputs
    # ... and they refuse the tampered file, naming it and both hashes; nothing is left built on it
    bad = _smk(workdir, cfg, "prepare_data")
    assert bad.returncode != 0
    log = (workdir / "logs/convert_connectome/tvb96.log").read_text()
    assert "ChecksumError" in log and "connectivity_96.zip" in log and "expected" in log
    assert not (workdir / "resources/connectomes/tvb96.h5").exists()
