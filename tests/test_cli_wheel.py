"""The package installed without the checkout validates a config: the schema ships as package data,
`encephagen config validate` names the offending key, passes a good config, and imports neither the
engines (torch) nor anything from a checkout. Also: the CLI imports only the module of the command it
runs (COMMAND_MODULES in step with what each module registers)."""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from encephagen import cli

REPO = Path(__file__).resolve().parents[1]


def test_command_modules_name_what_each_module_registers():
    registered = {}
    for modname in cli._SUBCOMMANDS:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(modname).register(sub)
        registered.update({name: modname for name in sub.choices})
    assert registered == cli.COMMAND_MODULES


def _setuptools_major() -> int:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """pip install (no dependencies: those of the test environment are used) of a copy of the package
    sources into a target folder; the checkout is neither on sys.path nor the working directory."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "encephagen", src / "encephagen", ignore=shutil.ignore_patterns("__pycache__"))
    # offline with the environment's setuptools (pyproject: >= 77); without it pip fetches one
    build = ["--no-build-isolation", "--no-index"] if _setuptools_major() >= 77 else []
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *build,
                        "--target", str(root / "site"), str(src)],
                       cwd=root, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    shutil.rmtree(src)  # nothing of the sources is left to fall back on
    return root


def run(installed: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SNAKEMAKE"))}
    env["PYTHONPATH"] = str(installed / "site")
    work = installed / "elsewhere"
    work.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, *args], cwd=work, capture_output=True, text=True, env=env,
                          timeout=300)


def test_installed_package_validates_a_config_naming_the_key(installed):
    r = run(installed, "-c", "import encephagen, encephagen.schemas as s; print(encephagen.__file__); "
                             "print(s.SCHEMA_DIR)")
    assert r.returncode == 0, r.stderr
    assert all(Path(p).is_relative_to(installed / "site") for p in r.stdout.split()), r.stdout
    script = str(installed / "site" / "bin" / "encephagen")

    bad = installed / "bad.yaml"
    bad.write_text("atlases: [tvb96]\nnulls:\n  n_per_family: 0\n")
    r = run(installed, script, "config", "validate", "--configfile", str(bad))
    assert r.returncode == 1
    assert "nulls.n_per_family" in r.stderr and str(bad) in r.stderr, r.stderr
    typo = installed / "typo.yaml"
    typo.write_text("atlases: [tvb96]\nnulls:\n  n_per_famly: 20\n")
    r = run(installed, script, "config", "validate", "--configfile", str(typo))
    assert r.returncode == 1 and "n_per_famly" in r.stderr and "'nulls'" in r.stderr, r.stderr

    good = installed / "good.yaml"
    good.write_text("atlases: [tvb96]\nnulls:\n  n_per_family: 20\n")
    r = run(installed, "-X", "importtime", script, "config", "validate", "--configfile", str(good))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith("valid: schema defaults < " + str(good)), r.stdout
    imported = {ln.split("|")[-1].strip() for ln in r.stderr.splitlines() if ln.startswith("import time:")}
    assert "torch" not in imported and "snakemake" not in imported
