"""The workflow's parse, through real snakemake dry runs on a copy of the workflow: targets come from
the stage target functions (config key `stages`; a stage without one is an error, never silently no
targets), and parsing the Snakefile and building the DAG never imports torch (every SLURM job
re-parses the workflow: torch alone costs seconds there)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CFG = "tests/config/ci.yaml"


@pytest.fixture(scope="module")
def wd(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("parse")
    for sub in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / sub, d / sub)
    (d / "tests" / "config").mkdir(parents=True)
    shutil.copy(REPO / CFG, d / CFG)
    return d


def smk(wd: Path, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, *flags, "-m", "snakemake", "-n", "--cores", "1", "--configfile", CFG,
                           *args], cwd=wd, capture_output=True, text=True, env=env, timeout=600)


def job_counts(out: str) -> dict[str, int]:
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", out, re.S)
    return {ln.split()[0]: int(ln.split()[1]) for ln in m.group(1).splitlines() if ln.strip()} if m else {}


def importers(lines: list[str], i: int) -> list[str]:
    """The chain of modules whose import pulled in the module at ``lines[i]`` (-X importtime nests by
    indentation, a parent printed after its children)."""
    depth = len(lines[i]) - len(lines[i].lstrip())
    chain = []
    for ln in lines[i + 1:]:
        d = len(ln) - len(ln.lstrip())
        if d < depth:
            chain.append(ln.strip())
            depth = d
    return chain


def test_parse_and_dag_import_no_torch(wd):
    r = smk(wd, "--quiet", "rules", flags=("-X", "importtime"))
    assert r.returncode == 0, r.stderr[-4000:]
    assert job_counts(r.stdout)["all"] == 1
    names = [ln.split("|")[-1] for ln in r.stderr.splitlines() if ln.startswith("import time:")]
    hits = [i for i, n in enumerate(names) if n.strip() == "torch"]
    assert not hits, ("parsing the workflow imported torch, through: "
                      + " <- ".join(n for n in importers(names, hits[0]) if "encephagen" in n))


def test_stages_choose_the_targets(wd):
    r = smk(wd, "--config", "stages=[data,nulls]")
    assert r.returncode == 0, r.stderr[-4000:]
    jobs = job_counts(r.stdout)
    assert jobs.get("generate_nulls") and jobs.get("compute_null_properties") and jobs.get("empirical_fc")
    assert not {"simulate_batch", "hopf_sweep", "aggregate_sims", "summary_page"} & set(jobs), jobs
    r = smk(wd, "--config", "stages=[data,hopff]")
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "stages[1]" in out and "hopff" in out, out[-2000:]


def test_a_stage_without_target_function_is_an_error(tmp_path, wd):
    """A stage whose rules file is not included (or registers its function under another name) used
    to give no targets silently (globals().get); now the parse fails naming the stage."""
    d = tmp_path / "w"
    shutil.copytree(wd, d)
    snakefile = d / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert 'include: "rules/figures.smk"\n' in text
    snakefile.write_text(text.replace('include: "rules/figures.smk"\n', ""))
    r = smk(d)
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "stages: stage 'figures' has no target function" in out, out[-2000:]
