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


def _fake_run(root: Path, jobs: dict) -> None:
    """A run folder as Snakemake leaves it: a log naming each job, one benchmark file per job."""
    blocks = []
    for jid, (name, (inputs, prio, cpu)) in enumerate(jobs.items(), start=1):
        bench = f"benchmarks/rules/{name}/all.tsv"
        (root / bench).parent.mkdir(parents=True, exist_ok=True)
        (root / bench).write_text(f"s\tcpu_time\tmax_rss\n{cpu}\t{cpu}\t10\n")
        lines = [f"[Fri Dec  4 11:00:0{jid} 2026]", f"rule {name}:"]
        if inputs:
            lines.append("    input: " + ", ".join(f"out/{i}.txt" for i in inputs))
        lines += [f"    output: out/{name}.txt", f"    jobid: {jid}", f"    benchmark: {bench}"]
        if prio:
            lines.append(f"    priority: {prio}")
        blocks.append("\n".join(lines))
    (root / ".snakemake/log").mkdir(parents=True)
    (root / ".snakemake/log/2026-12-04T110000.000000.snakemake.log").write_text(
        "Building DAG of jobs...\n" + "\n\n".join(blocks) + "\nFinished.\n")


def test_replay_follows_the_dependencies_and_priorities_of_the_run(tmp_path):
    """a (10 s) -> b (15 s, top priority), c (20 s) apart: on 2 idle cores b can start only when a is done
    (wall 25 s; a schedule that ignored the edge would start b at once and end at 30); on 1 core 45."""
    _fake_run(tmp_path, {"a": ([], 40, 10.0), "b": (["a"], 50, 15.0), "c": ([], 0, 20.0)})
    mod = bench_module()
    two = mod.summarise(tmp_path, cores=2, replay=True)["schedule"]
    assert two["schedule_wall_s"] == 25.0 and two["dag_jobs"] == 3 and not two["unmatched_jobs"]
    assert two["critical_path"] == ["a/all", "b/all"] and two["critical_path_cpu_s"] == 25.0
    assert mod.summarise(tmp_path, cores=1, replay=True)["schedule"]["schedule_wall_s"] == 45.0


def test_replay_holds_a_two_thread_job_until_both_cores_are_free(tmp_path):
    """Snakemake starts a 2-thread job on 2 cores only when both are free, however high its priority:
    h (2 threads, 10 CPU s, priority 40, after y) waits behind x (20 s) although y ended at 5: wall 25, not 20."""
    _fake_run(tmp_path, {"x": ([], 30, 20.0), "y": ([], 30, 5.0), "h": (["y"], 40, 10.0)})
    log = tmp_path / ".snakemake/log/2026-12-04T110000.000000.snakemake.log"
    log.write_text(log.read_text().replace("output: out/h.txt", "output: out/h.txt\n    threads: 2"))
    assert bench_module().summarise(tmp_path, cores=2, replay=True)["schedule"]["schedule_wall_s"] == 25.0


def test_cpu_log_replaces_the_sampled_cpu_time(tmp_path):
    """Snakemake samples a job's CPU every 0.5-30 s and misses the rest; a per-process record of the
    job's script (own + reaped children's CPU) replaces it when its start and end match the job's."""
    _fake_run(tmp_path, {"a": ([], 0, 1.0)})
    bench = tmp_path / "benchmarks/rules/a/all.tsv"
    end = bench.stat().st_mtime
    logdir = tmp_path / "cpu"
    logdir.mkdir()
    (logdir / "1.tsv").write_text(f"1\t0\t3.5\t2.0\t1.0\t{end - 1.0}\t/run/.snakemake/scripts/tmpab.a.py\t\n")
    (logdir / "2.tsv").write_text(f"2\t0\t9.0\t0.0\t1.0\t{end - 500}\t/run/.snakemake/scripts/tmpcd.a.py\t\n")
    s = bench_module().summarise(tmp_path, cores=2, cpu_log=logdir)
    assert s["cpu_s"] == 5.5 and s["cpu_log_jobs"] == 1


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


def test_reading_a_batch_does_not_load_the_generators():
    """Jobs that only read null batches (simulate, aggregate, figures) import encephagen.nulls for
    read_nulls; its generators (numba) load on first use of a generator name, not before."""
    code = ("import sys; from encephagen.nulls import read_nulls; import encephagen.analysis, encephagen.figures; "
            "print('numba' in sys.modules, 'scipy.stats' in sys.modules); "
            "import encephagen.nulls as N; N.generate_batch; print('numba' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAKEMAKE")}
    env.setdefault("PYTHONPATH", str(REPO))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split() == ["False", "False", "True"], r.stdout


def test_cpu_log_hook_writes_what_the_reader_reads(tmp_path):
    """The shipped hook (benchmarks/cpu_hook) records a job script's exact CPU in the format
    ``--cpu-log`` reads; without ENCEPHAGEN_CPU_LOG it records nothing."""
    scripts = tmp_path / "wd" / ".snakemake" / "scripts"
    scripts.mkdir(parents=True)
    job = scripts / "tmpab12cd.simulate.py"
    job.write_text("s = 0\nfor i in range(300000):\n    s += i * i\n")
    logdir = tmp_path / "cpu"
    logdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO / "benchmarks" / "cpu_hook")}
    env.pop("ENCEPHAGEN_CPU_LOG", None)
    subprocess.run([sys.executable, str(job)], env=env, check=True)
    assert not list(logdir.iterdir())
    subprocess.run([sys.executable, str(job)], env={**env, "ENCEPHAGEN_CPU_LOG": str(logdir)}, check=True)
    recs = bench_module().read_cpu_log(logdir)
    assert len(recs) == 1 and recs[0]["script"] == "simulate"
    assert recs[0]["cpu"] > 0 and recs[0]["end"] >= recs[0]["start"]
