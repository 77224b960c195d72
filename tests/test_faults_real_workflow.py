"""Fault injection on the REAL workflow (workflow/Snakefile, tests/config/ci.yaml), run in a
temporary copy of workflow/, config/, profiles/ and tests/config/ (never in the repository
itself; profiles/default applies as it does for users):
RELIABILITY.md plan cases 2, 6 and 15 on the null-connectome stage of tvb96.

- an uninterrupted run is the reference;
- case 2: the controller's process group is SIGKILLed at a seeded random point while jobs
  run -> the next plain run refuses fast, `--unlock` + `--rerun-incomplete` complete, every
  HDF5 output validates, results identical to the reference;
- case 6 (+1): one job's process is SIGKILLed under --keep-going -> exit != 0, its output
  absent, the property panel (the consumer) is not made and, called on the expected files,
  refuses naming the missing batch; a plain rerun completes identically;
- case 15: both recovered runs equal the reference (same config and seed -> same contents).

The resources (fetch + convert of tvb96) are built once and copied into each scenario.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import time
from pathlib import Path

import pytest

from encephagen.io import OutputError, clean_stale_temporaries
from encephagen.io.recovery import find_temporaries, snakemake_leftovers, survey_outputs
from fault_workflows.harness import _live_members, digests, kill_group, parallel, run_snakemake, start_snakemake, wait_for

pytestmark = pytest.mark.workflow

# where workflow/, config/ and tests/config/ are copied from (default: this checkout)
REPO = Path(os.environ.get("ENCEPHAGEN_REAL_WORKFLOW_ROOT", Path(__file__).resolve().parents[1]))
ATLAS = "tvb96"
OVERLAY = """\
# fault-injection overlay on tests/config/ci.yaml: a handful of small null batches
nulls:
  families: [degree]
  n_per_family: 2
  batch_size: 1
analysis:
  min_nulls_per_family: 2  # the parse-time check refuses fewer nulls than the statistics need
"""
TARGET = f"results/nulls/atlas-{ATLAS}/properties.tsv"
BATCHES = [f"results/nulls/atlas-{ATLAS}/null-real/batch-0000.h5"] + [
    f"results/nulls/atlas-{ATLAS}/null-degree/batch-{b:04d}.h5" for b in range(2)]
CONFIG_ARGS = ("--configfile", "tests/config/ci.yaml", "overlay.yaml")


def _smk(wd, *args, **kw):  # --configfile takes several files: it goes last
    return run_snakemake(wd, *args, *CONFIG_ARGS, snakefile=None, **kw)


def _start(wd, *args):
    return start_snakemake(wd, *args, TARGET, *CONFIG_ARGS, snakefile=None)


def _ok(r):
    assert r.returncode == 0, r.stdout[-5000:]
    return r


def _results(wd):
    """Digests of every HDF5 result and the bytes of every TSV table (figures excluded)."""
    tables = {str(p.relative_to(wd)): p.read_bytes() for p in sorted((wd / "results").rglob("*.tsv"))}
    return digests(wd), tables


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A temporary copy of the repository's workflow + configs with tvb96's resources built."""
    root = tmp_path_factory.mktemp("realwf") / "base"
    root.mkdir()
    shutil.copytree(REPO / "workflow", root / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "tests" / "config", root / "tests" / "config")
    if (REPO / "profiles").exists():  # profiles/default is loaded by Snakemake itself, as for users
        shutil.copytree(REPO / "profiles", root / "profiles")
    (root / "overlay.yaml").write_text(OVERLAY)
    built = _smk(root, f"resources/connectomes/{ATLAS}.h5")
    assert built.returncode == 0, "the real workflow must run with the CI config:\n" + built.stdout[-5000:]
    return root


def _scenario(base, name):
    wd = base.parent / name
    shutil.copytree(base, wd, symlinks=True)
    return wd


def _kill_controller(wd, k, delay):
    """Kill the controller's group `delay` s after the k-th job started (incomplete markers)."""
    proc = _start(wd)
    started: set[str] = set()

    def kth():
        started.update(snakemake_leftovers(wd)["incomplete"])
        return len(started) >= k or proc.poll() is not None

    wait_for(kth, 300, what=f"job #{k} to start")
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before the kill point:\n" + proc.log_path.read_text()[-3000:]
    kill_group(proc)
    left = snakemake_leftovers(wd)
    plain = _smk(wd, TARGET)
    _ok(_smk(wd, "--unlock", TARGET))
    recover = _smk(wd, "--rerun-incomplete", TARGET)
    return left, plain, recover


def _kill_one_job(wd):
    """SIGKILL one generate_nulls process (the controller lives) under --keep-going, with no
    retries (profiles/default's retries would rerun the killed job: a job that fails on every
    attempt ends the same way)."""
    proc = _start(wd, "--keep-going", "--cores", "1", "--retries", "0")
    killed = None

    def kill_a_job():
        nonlocal killed
        for pid in _live_members(proc.pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"generate_nulls.py" in cmd:  # the rule's script process
                try:
                    time.sleep(0.3)
                    os.kill(pid, signal.SIGKILL)
                    killed = pid
                    return True
                except ProcessLookupError:
                    continue
        return proc.poll() is not None

    wait_for(kill_a_job, 300, interval=0.05, what="a generate_nulls job to kill")
    proc.wait(timeout=300)
    return killed, proc


def test_real_workflow_survives_kills_and_reproduces(base):
    rng = random.Random(7)
    k, delay = rng.randint(1, 2), round(rng.uniform(0.0, 1.0), 2)
    ref_wd, kill_wd, job_wd = (_scenario(base, n) for n in ("reference", "kill-controller", "kill-job"))
    ref_run, (left, plain, recover), (killed, job_proc) = parallel(
        lambda: _smk(ref_wd, TARGET), lambda: _kill_controller(kill_wd, k, delay), lambda: _kill_one_job(job_wd))
    _ok(ref_run)
    ref = _results(ref_wd)
    assert sorted(ref[0]) == sorted(BATCHES) and TARGET in ref[1]

    # case 2: controller killed
    where = f"controller killed {delay} s after job #{k} started"
    assert left["locks"] and left["incomplete"], where
    assert plain.returncode != 0 and ("LockException" in plain.stdout or "IncompleteFilesException" in plain.stdout)
    assert "Finished jobid" not in plain.stdout, f"{where}: the refusing run must start no job"
    _ok(recover)
    assert snakemake_leftovers(kill_wd) == {"locks": [], "incomplete": []}
    clean_stale_temporaries(kill_wd / "results")
    assert survey_outputs([kill_wd / b for b in BATCHES], "nulls").complete
    assert _results(kill_wd) == ref, f"{where}: results differ from the uninterrupted run"

    # case 6: one job killed under --keep-going
    assert killed is not None and job_proc.returncode != 0
    log = job_proc.log_path.read_text()
    assert "Error in rule generate_nulls" in log, log[-3000:]
    survey = survey_outputs({b: job_wd / b for b in BATCHES}, "nulls")
    assert len(survey.missing) == 1 and not survey.invalid, survey.report()
    missing = survey.missing[0]
    assert missing in log
    assert not (job_wd / TARGET).exists(), "never a property panel over N-1 batches"
    from encephagen.steps.nulls import properties_files

    with pytest.raises(OutputError, match=f"{job_wd / missing}: missing"):
        properties_files([job_wd / b for b in BATCHES], job_wd / "t.tsv", [])
    _ok(_smk(job_wd, TARGET))
    clean_stale_temporaries(job_wd / "results")
    assert not find_temporaries(job_wd)
    assert _results(job_wd) == ref
