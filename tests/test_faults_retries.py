"""Deterministic errors are not retried (issue 15, item 4): Snakemake 9 retries every failed job
`retries` times whatever the exit status (scheduling/job_scheduler.py `_handle_error`), so a
job's script records a deterministic failure (bad parameters or input: ValueError, OutputError,
...) and its retries fail at once with the first error instead of redoing the work. A resource
failure (MemoryError) is still retried with the scaled resources. Real snakemake, real scripts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.workflow

SNAKEFILE = """\
rule all:
    input: "out.txt"

rule work:
    output: "out.txt"
    params: value=config.get("value", 1)
    script: "job.py"
"""
JOB = """\
from pathlib import Path
from encephagen.io import snakemake_job

snakemake_job(snakemake, shared=("value",))
with open("work-done.log", "a") as fh:  # the expensive part: counted
    fh.write("attempt\\n")
error = "{error}"
if error == "ValueError":
    raise ValueError("config key 'simulate.transient' must be below 'simulate.duration'")
if error == "MemoryError":
    raise MemoryError("out of memory")
Path(snakemake.output[0]).write_text("ok")
"""


def _run(tmp_path: Path, error: str, *extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "job.py").write_text(JOB.replace("{error}", error))
    r = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--retries", "2", *extra],
                       cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    done = (tmp_path / "work-done.log").read_text().split("\n") if (tmp_path / "work-done.log").exists() else []
    return r, [d for d in done if d]


def test_deterministic_error_is_not_redone_on_retry(tmp_path):
    r, done = _run(tmp_path, "ValueError")
    assert r.returncode != 0
    assert done == ["attempt"], f"the work was redone on retry: {done}"
    assert "retry not run: an earlier attempt failed with an error that a retry cannot change" in r.stdout
    assert "simulate.transient" in r.stdout  # the first error is repeated, naming the key


def test_resource_error_is_retried(tmp_path):
    r, done = _run(tmp_path, "MemoryError")
    assert r.returncode != 0 and done == ["attempt"] * 3


def test_fixed_input_runs_again_in_a_new_run(tmp_path):
    r, _ = _run(tmp_path, "ValueError")
    assert r.returncode != 0
    r, done = _run(tmp_path, "none")  # the user fixed the cause: a new run's attempt 1 runs
    assert r.returncode == 0, r.stdout[-3000:]
    assert len(done) == 2 and (tmp_path / "out.txt").read_text() == "ok"
