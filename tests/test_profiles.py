"""The execution profiles (profiles/default, profiles/slurm): every line commented, and the
settings Snakemake really uses when a user types `snakemake --profile profiles/slurm` in the
repository root. Snakemake then also loads profiles/default as the workflow profile, whose keys
win over the SLURM profile's: this test catches a default profile that would silently cap
threads, drop retries or shorten latency-wait on the cluster. No SLURM cluster needed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PROFILES = {name: REPO / "profiles" / name / "config.yaml" for name in ("default", "slurm")}


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_line_commented(name):
    path = PROFILES[name]
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            assert " # " in line or "\t#" in line, f"{path}:{i} has no comment: {line!r}"


def test_shared_keys_agree():
    default = yaml.safe_load(PROFILES["default"].read_text())
    slurm = yaml.safe_load(PROFILES["slurm"].read_text())
    for key in set(default) & set(slurm):
        assert default[key] == slurm[key], (
            f"profiles/default sets {key}={default[key]!r} and profiles/slurm {key}={slurm[key]!r}: "
            "the default (workflow) profile would win on the cluster")
    for key in ("latency-wait", "keep-going", "jobs", "executor", "default-resources", "set-resources"):
        assert key not in default, f"{key} in profiles/default would override profiles/slurm on the cluster"


EFFECTIVE = """
import json, sys
from snakemake.cli import parse_args
parser, a = parse_args(sys.argv[1:])


def _keys(d):
    # snakemake >= 9.15 parses --default-resources into a DefaultResources object ("key=expr" in .args);
    # older releases leave a list of "key=expr" strings or a mapping
    if d is None:
        return []
    items = getattr(d, "args", d)
    return sorted(k.split("=", 1)[0] for k in items) if not isinstance(items, dict) else sorted(items)
print(json.dumps({k: str(getattr(a, k, None)) for k in (
    "executor", "retries", "keep_going", "latency_wait", "cores", "jobs", "rerun_incomplete",
    "slurm_status_command", "slurm_logdir", "max_jobs_per_timespan", "max_status_checks_per_second")}
    | {"set_resources": str(a.set_resources), "default_resources": _keys(a.default_resources),
       "default_resources_raw": str(getattr(a.default_resources, "args", a.default_resources))}))
"""


def _effective(*args: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", EFFECTIVE, *args], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_slurm_profile_as_users_run_it():
    """`snakemake --profile profiles/slurm` in the repository root (default profile loaded too)."""
    eff = _effective("--profile", "profiles/slurm", "-n")
    assert eff["executor"] == "slurm"
    assert eff["retries"] == "2"
    assert eff["keep_going"] == "True"
    assert eff["latency_wait"] == "60"
    assert eff["rerun_incomplete"] == "True"
    assert eff["slurm_status_command"] == "squeue"
    assert eff["slurm_logdir"] == "logs/slurm"
    assert eff["cores"] in ("None", "all") or int(eff["cores"]) >= 1
    assert "simulate_batch" in eff["set_resources"] and "gpu" in eff["set_resources"]
    assert {"mem_mb", "runtime"} <= set(eff["default_resources"])
    assert "2000 * attempt" in eff["default_resources_raw"], eff["default_resources_raw"]  # the retry scaling


def test_default_profile_alone():
    eff = _effective("-n")
    assert eff["executor"] in ("None", "local")
    assert eff["retries"] == "2" and eff["rerun_incomplete"] == "True"
