"""The real workflow (workflow/Snakefile) with the tiny CI config (tests/config/ci.yaml) run end
to end on the local SLURM cluster (.ci/slurm-up) exactly as users run it:

    snakemake --profile profiles/slurm --configfile tests/config/ci.yaml --jobs 4 \
        --slurm-init-seconds-before-status-checks 2 --slurm-status-command squeue

from the repository root (so profiles/default is loaded as the workflow profile too), into a
temporary --directory. A local run of the same config runs side by side for comparison.
Checks (issue 4): the run passes; every non-local job went through SLURM (one SLURM log per
job, job count as the dry run says); simulate_batch asked for a GPU and got the fake GRES;
every HDF5 result equals the local run's (provenance ignored).

Run: ENCEPHAGEN_SLURM=1 pytest -m slurm tests/test_slurm_workflow.py
"""
from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from encephagen.io.recovery import compare_contents
from slurm_workflows import harness as H

pytestmark = [pytest.mark.slurm, H.requires_slurm]

REPO = H.REPO
CI_CONFIG = REPO / "tests" / "config" / "ci.yaml"
JOB_HEADER = re.compile(r"^\[.*\]\n(local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)", re.M)


def _workflow_cmd(workdir: Path, *args: str, slurm: bool) -> list[str]:
    if slurm:
        # CI-only: at most 4 SLURM jobs at once (the CI node advertises 16 CPUs on 2 real cores)
        return H.snakemake_cmd(workdir, "--configfile", str(CI_CONFIG), "--jobs", "4", *args, snakefile=None)
    return H.snakemake_cmd(workdir, "--configfile", str(CI_CONFIG), "--cores", "2", *args, snakefile=None,
                           profile=None)


def _run(cmd: list[str], log: Path, timeout: float) -> tuple[int, str, float]:
    t0 = time.monotonic()
    with open(log, "w") as fh:
        p = subprocess.Popen(cmd, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = -9
    return rc, log.read_text(errors="replace"), time.monotonic() - t0


class JobRecorder(threading.Thread):
    """Keeps the latest `scontrol -d show job` record of every job while the run lasts
    (slurmctld forgets finished jobs after MinJobAge)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.records: dict[str, dict[str, str]] = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            out = subprocess.run(["scontrol", "-d", "-o", "show", "job"], capture_output=True, text=True,
                                 timeout=30).stdout
            for line in out.splitlines():
                rec = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
                if "JobId" in rec:
                    self.records[rec["JobId"]] = rec
            self.stop.wait(2)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm-workflow")
    dry = subprocess.run(_workflow_cmd(root / "dry", "-n", slurm=True), cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert dry.returncode == 0, f"dry run of the CI config failed:\n{dry.stdout[-3000:]}\n{dry.stderr[-3000:]}"
    rec = JobRecorder()
    rec.start()
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        fs = ex.submit(_run, _workflow_cmd(root / "slurm", slurm=True), root / "slurm.log", 1200)
        fl = ex.submit(_run, _workflow_cmd(root / "local", slurm=False), root / "local.log", 1200)
        slurm, local = fs.result(), fl.result()
    rec.stop.set()
    rec.join(10)
    (root / "job_records.json").write_text(json.dumps(rec.records, indent=1))  # for post-mortems
    print(f"\nCI workflow: SLURM run {slurm[2]:.0f} s, local run {local[2]:.0f} s (side by side)")
    return dict(root=root, dry=dry.stdout + dry.stderr, slurm=slurm, local=local, records=rec.records)


def _jobs(text: str) -> list[tuple[bool, str, str]]:
    """(is local, rule, snakemake job id) of every job header in a Snakemake log."""
    return [(bool(m.group(1)), m.group(2), m.group(3)) for m in JOB_HEADER.finditer(text)]


def test_slurm_run_passes(runs):
    rc, text, seconds = runs["slurm"]
    assert rc == 0, text[-6000:]
    assert "Using profile" in text and "profiles/slurm" in text
    lrc, ltext, _ = runs["local"]
    assert lrc == 0, ltext[-6000:]


def test_every_nonlocal_job_went_through_slurm(runs):
    rc, text, _ = runs["slurm"]
    expected = Counter(rule for local, rule, _ in _jobs(runs["dry"]) if not local)
    assert expected, "the dry run lists no non-local jobs"
    subs = H.submissions(text)
    print(f"\nSLURM jobs: {len(subs)} submitted (dry run: {sum(expected.values())}); per rule: {dict(expected)}")
    assert len(subs) == sum(expected.values()), "one SLURM job per non-local job, no retries needed"
    got = Counter()
    for _, slurm_id, log in subs:
        log = Path(log)
        assert log.exists(), f"no SLURM log {log}"
        rule_dir = next(p for p in log.parents if p.name.startswith("rule_"))
        got[rule_dir.name[len("rule_"):]] += 1
        assert slurm_id in log.name
        assert "Finished jobid" in log.read_text(errors="replace") or "steps (100%) done" in log.read_text(
            errors="replace"), f"SLURM log {log} does not show the job finishing"
    assert got == expected
    assert str(runs["root"] / "slurm" / "logs" / "slurm") in text


def test_simulation_requests_gpu_on_fake_gres(runs):
    rc, text, _ = runs["slurm"]
    sim_ids = [sid for _, sid, log in H.submissions(text) if "/rule_simulate_batch/" in log]
    assert sim_ids, "no simulate_batch job was submitted"
    for sid in sim_ids:
        rec = runs["records"].get(sid)
        assert rec is not None, f"no job record seen for SLURM job {sid}"
        assert rec.get("TresPerJob") == "gres:gpu:1", rec  # sbatch --gpus=1 (profile: gpu: 1)
        assert rec.get("CpusPerTres") == "gres:gpu:4", rec  # sbatch --cpus-per-gpu=4 (profile)
        assert rec.get("GRES", "").startswith("gpu:1(IDX:"), f"job {sid} did not get a GRES gpu: {rec}"


def test_results_equal_local_run(runs):
    slurm_dir, local_dir = runs["root"] / "slurm", runs["root"] / "local"
    a = sorted(p.relative_to(slurm_dir) for p in (slurm_dir / "results").rglob("*.h5"))
    b = sorted(p.relative_to(local_dir) for p in (local_dir / "results").rglob("*.h5"))
    assert a, "the SLURM run wrote no HDF5 results"
    assert a == b
    diffs = {str(p): d for p in a if (d := compare_contents(slurm_dir / p, local_dir / p))}
    assert not diffs, f"results differ between SLURM and local runs: {diffs}"
