"""Helpers for the SLURM tests (tests/test_slurm_*.py): is the local cluster up, run / start
Snakemake through the project's SLURM profile with the CI-only overrides, read job records."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROFILE = REPO / "profiles" / "slurm"
FAULTS_SNAKEFILE = HERE / "faults" / "Snakefile"
JOBS = HERE / "jobs.py"

# CI-only overrides on top of profiles/slurm (docs/cluster.md explains each):
#   first status check after 2 s instead of 40 s; squeue status is already the profile's choice
#   (the CI cluster has no slurmdbd), repeated here so the test states what it relies on.
CI_OVERRIDES = ["--slurm-init-seconds-before-status-checks", "2", "--slurm-status-command", "squeue"]


def cluster_state() -> str:
    """'' when unusable, else the node state sinfo reports (idle, mix, alloc ...)."""
    if not shutil.which("sinfo") or not shutil.which("sbatch"):
        return ""
    try:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else ""


def _skip_reason() -> str | None:
    if os.environ.get("ENCEPHAGEN_SLURM") != "1":
        return "SLURM tests need ENCEPHAGEN_SLURM=1 and a running cluster (.ci/slurm-up)"
    state = cluster_state()
    if state.rstrip("*~#$@%!^-+") not in {"idle", "mix", "mixed", "alloc", "allocated", "comp", "completing"}:
        return (f"ENCEPHAGEN_SLURM=1 but the SLURM cluster does not answer with a usable node "
                f"(sinfo: {state or 'no answer'}); start it with .ci/slurm-up")
    return None


_REASON = _skip_reason()
requires_slurm = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


def snakemake_cmd(workdir: Path, *args: str, snakefile: Path | None = FAULTS_SNAKEFILE,
                  profile: Path | None = PROFILE, ci_overrides: bool = True) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake"]
    if profile is not None:
        cmd += ["--profile", str(profile)]
        if ci_overrides:
            cmd += CI_OVERRIDES
    if snakefile is not None:
        cmd += ["--snakefile", str(snakefile)]
    cmd += ["--directory", str(workdir)]
    return cmd + list(args)


@dataclass
class Controller:
    """A Snakemake controller started in its own session; output in ``log``."""
    proc: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.time)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"controller still running after {timeout} s (a hang); log:\n{self.text()[-6000:]}")

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(workdir: Path, *args: str, cwd: Path | None = None, env: dict | None = None,
          name: str = "controller", **kw) -> Controller:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir.parent / f"{workdir.name}.{name}.log"
    fh = open(log, "w")
    proc = subprocess.Popen(snakemake_cmd(workdir, *args, **kw), cwd=cwd or workdir, stdout=fh,
                            stderr=subprocess.STDOUT, start_new_session=True, env=env)
    fh.close()
    return Controller(proc, log)


def run(workdir: Path, *args: str, timeout: float = 600, **kw) -> tuple[int, str]:
    c = start(workdir, *args, **kw)
    rc = c.wait(timeout)
    return rc, c.text()


def wait_for(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """The fault harness's poll, failing the test (AssertionError) on a timeout."""
    from fault_workflows.harness import wait_for as poll

    try:
        return poll(pred, timeout=timeout, interval=interval, what=what)
    except TimeoutError:
        raise AssertionError(f"gave up after {timeout} s waiting for {what}") from None


def executions(workdir: Path) -> list[dict]:
    """The execution records written by jobs.py (one dict per start/end event)."""
    p = workdir / "executions.jsonl"
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def starts(workdir: Path, key: str) -> list[dict]:
    return [e for e in executions(workdir) if e["key"] == key and e["event"] == "start"]


def ends(workdir: Path, key: str) -> list[dict]:
    return [e for e in executions(workdir) if e["key"] == key and e["event"] == "end"]


def squeue_jobs() -> list[dict]:
    """Every job slurmctld still knows (finished ones for MinJobAge s): id, name, comment, state."""
    out = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%j|%k|%T"], capture_output=True,
                         text=True, timeout=30).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) == 4:
            rows.append(dict(id=parts[0], name=parts[1], comment=parts[2], state=parts[3]))
    return rows


def running_job(comment: str) -> str | None:
    """SLURM id of the RUNNING job whose comment (rule_<rule>[_wildcards_<w>]) is ``comment``."""
    for j in squeue_jobs():
        if j["comment"] == comment and j["state"] == "RUNNING":
            return j["id"]
    return None


def job_record(job_id: str) -> dict[str, str]:
    """``scontrol show job`` as a dict (kept for MinJobAge = 300 s after the job ends)."""
    out = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True,
                         timeout=30).stdout
    rec = {}
    for tok in out.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            rec[k] = v
    return rec


SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: ([^)]+)\)")
FAILED = re.compile(r"SLURM-job '(\d+)' failed, SLURM status is: '([A-Z_]+)'")
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def submissions(log_text: str) -> list[tuple[str, str, str]]:
    """(snakemake job id, SLURM job id, SLURM log path) of every submission in a controller log."""
    return SUBMITTED.findall(log_text)


def slurm_failures(log_text: str) -> dict[str, str]:
    """{SLURM job id: SLURM state} of every job the controller reported as failed."""
    return dict(FAILED.findall(log_text))
