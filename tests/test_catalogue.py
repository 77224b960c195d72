"""Snakemake workflow catalogue conventions that a tool can check: the rule files are snakefmt-clean
(line length from pyproject's [tool.snakefmt]), and the catalogue's usage file and the licence exist."""
from __future__ import annotations

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
