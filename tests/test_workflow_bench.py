"""Per-job cost accounting of the workflow: every job of the default run writes a Snakemake benchmark
file, and benchmarks/bench_workflow.py turns a run's files into per-rule CPU, a critical chain and an
idle-wall estimate (README "The default run")."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_workflow", REPO / "benchmarks/bench_workflow.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dry_run(tmp_path: Path, *args: str) -> str:
    for d in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / d, tmp_path / d)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    r = subprocess.run([SNAKEMAKE, "-n", "-p", "--cores", "2", *args], cwd=tmp_path, capture_output=True,
                       text=True, env=env, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return r.stdout


def test_every_job_of_the_default_run_has_a_benchmark_file(tmp_path):
    out = dry_run(tmp_path)
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", out)
    jobs = [b for b in blocks if re.match(r"(?:local)?rule \w+:", b)]
    assert len(jobs) > 50, out[-2000:]
    missing = [b.split(":", 1)[0] for b in jobs
               if not b.startswith(("rule all:", "localrule all:")) and "benchmark: benchmarks/rules/" not in b]
    assert not missing, f"jobs without a benchmark: directive: {sorted(set(missing))}"
    # the critical path is scheduled first: the G grids, then the simulations
    prio = {}
    for b in jobs:
        m = re.search(r"\n\s+priority: (\d+)", b)
        prio[re.match(r"(?:local)?rule (\w+):", b).group(1)] = int(m.group(1)) if m else 0
    assert prio.get("operating_point", 0) > prio.get("simulate_batch", 0) > 0, prio


def test_bench_workflow_names_a_missing_benchmark_folder(tmp_path, capsys):
    with pytest.raises(SystemExit, match="benchmarks/rules: no benchmark files"):
        bench_module().main([str(tmp_path)])


@pytest.mark.workflow
def test_bench_workflow_accounts_for_every_job_of_a_real_run(ci_run, tmp_path):
    mod = bench_module()
    files = list((ci_run / "benchmarks/rules").rglob("*.tsv"))
    s = mod.summarise(ci_run, cores=2)
    assert s["jobs"] == len(files) > 20
    assert sum(r["jobs"] for r in s["rules"].values()) == s["jobs"]
    assert {"simulate_batch", "generate_nulls", "aggregate_sims", "plot_metrics", "summary_page"} <= set(s["rules"])
    assert s["cpu_s"] > 0 and s["idle_wall_estimate_s"] >= s["cpu_s"] / 2
    # the chain runs forward in time and ends with the job that finished last
    chain = s["chain"]
    assert chain and chain[-1]["job"] == max(mod.read_jobs(ci_run), key=lambda j: j["end"])["job"]
    assert s["chain_wall_s"] <= s["job_wall_s"]
    assert mod.main([str(ci_run), "--json", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").stat().st_size > 100


SKIPPED_BATCH = r'''
import sys
import numpy as np
from encephagen.connectome import Connectome
from encephagen.steps.nulls import generate_nulls_file
from encephagen.steps.simulate import simulate_network_file
from encephagen.io import validate_h5

n = 6
W = np.ones((n, n)) - np.eye(n)  # complete graph: no degree-preserving swap can change it
c = Connectome(name="k6", weights=W, lengths=np.where(W != 0, 10.0, 0.0), labels=tuple(f"r{i}" for i in range(n)),
               hemisphere=("",) * n, cortical=np.ones(n, bool), region_class=("",) * n, directed=False,
               weight_kind="synthetic", lengths_source="synthetic", licence="-", citation="-",
               centres=np.arange(3 * n, dtype=float).reshape(n, 3), distances=None)
out = sys.argv[1]
generate_nulls_file(c, out + "/nulls.h5", atlas="k6", family="degree", batch=0, batch_size=2, n_per_family=2,
                    master_seed=1, on_refusal="skip")
simulate_network_file(out + "/nulls.h5", out + "/sim.h5", {"model": "wilson_cowan", "G": [0.1]}, master_seed=1,
                      threads=1)
validate_h5(out + "/sim.h5", "simulation")
print("TORCH" if "torch" in sys.modules else "NO-TORCH")
'''


def test_a_skipped_simulation_batch_never_imports_torch(tmp_path):
    """A family the nulls stage refused (e.g. rewiring hcp80's complete graph) still gets its
    simulation job, which only writes the refusal: it must not pay torch's import (~3 CPU s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    r = subprocess.run([sys.executable, "-c", SKIPPED_BATCH, str(tmp_path)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "NO-TORCH"
    import h5py

    with h5py.File(tmp_path / "sim.h5") as f:
        assert f.attrs["status"] == "skipped"
