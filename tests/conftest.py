"""Shared fixtures. The real packaged datasets are converted once per machine into a cache
(``ENCEPHAGEN_TEST_RESOURCES`` or ``.pytest_cache/encephagen-resources``) by the same library
function the workflow's fetch rules call; every file is validated before use."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def resources_dir() -> Path:
    from encephagen.steps.data import prepare_resources

    root = Path(os.environ.get("ENCEPHAGEN_TEST_RESOURCES", REPO / ".pytest_cache" / "encephagen-resources"))
    prepare_resources(root)  # idempotent: validates what exists, builds what is missing
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def ci_run(tmp_path_factory) -> Path:
    """One finished run of the whole workflow on the tiny CI config (tests/config/ci.yaml), made once
    per session and shared read-only by the workflow and report tests (tests that change files work
    on a copy: :func:`shutil.copytree` keeps the modification times Snakemake compares)."""
    import shutil
    import subprocess
    import sys

    wd = tmp_path_factory.mktemp("ci_run")
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, wd / d)
    (wd / "tests" / "config").mkdir(parents=True)
    shutil.copy(REPO / "tests/config/ci.yaml", wd / "tests/config/ci.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    r = subprocess.run([snakemake, "--cores", "2", "--configfile", "tests/config/ci.yaml"], cwd=wd,
                       capture_output=True, text=True, env=env, timeout=3600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]
    return wd
