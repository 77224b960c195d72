"""SLURM fault injection against the local cluster (.ci/slurm-up), through profiles/slurm:
RELIABILITY.md cases 18-23 and issue 4's deliberately failing job.

Three scenarios run side by side (each mostly waits on SLURM), then each test checks one case:
  faults   one run of tests/slurm_workflows/faults: a job failing twice (18), a bad parameter
           (issue 4), a job past its time limit (19), a job we scancel (20), a job we requeue (21)
  outage   squeue fails for ~40 s while jobs finish (22), through a PATH shim
  kill     the controller is SIGKILLed while its jobs run, then the documented recovery (23)

Run: ENCEPHAGEN_SLURM=1 pytest -m slurm tests/test_slurm_faults.py   (about 4-5 minutes)
"""
from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from encephagen.io import validate_h5
from slurm_workflows import harness as H
from slurm_workflows.jobs import KIND, expected_values

pytestmark = [pytest.mark.slurm, H.requires_slurm]

FAULT_TARGETS = "targets=[flaky,bad,slow,hold_cancel,hold_requeue,after_flaky,downstream]"


@dataclass
class Scenario:
    workdir: Path
    rc: int | None = None
    log: str = ""
    info: dict = field(default_factory=dict)
    error: BaseException | None = None
    seconds: float = 0.0

    def check(self) -> "Scenario":
        if self.error is not None:
            raise AssertionError(f"scenario in {self.workdir} broke: {self.error!r}\n{self.log[-6000:]}") from self.error
        return self


def _temporaries(workdir: Path, key: str) -> list[Path]:
    return sorted((workdir / "results").glob(f"{key}.h5.tmp-*"))


def _started_writing(workdir: Path, key: str) -> str | None:
    """SLURM job id of ``key``'s execution once it has flushed its first chunk."""
    s = H.starts(workdir, key)
    if s and _temporaries(workdir, key):
        return s[-1]["job"]
    return None


def _assert_output(workdir: Path, key: str, chunks: int) -> None:
    path = workdir / "results" / f"{key}.h5"
    validate_h5(path, KIND.name)
    import h5py

    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["values"][()], expected_values(key, chunks))


# --------------------------------------------------------------------------- scenarios
def _scenario_faults(sc: Scenario) -> None:
    c = H.start(sc.workdir, "--config", FAULT_TARGETS, "bad={scale: -1}", "hold_seconds=30", name="faults")
    # case 20: cancel hold_cancel once it is writing; case 21: requeue hold_requeue once it is writing
    cancel_id = H.wait_for(lambda: _started_writing(sc.workdir, "hold_cancel"), 180, "hold_cancel to write")
    subprocess.run(["scancel", cancel_id], check=True, timeout=30)
    sc.info.update(cancel_id=cancel_id, cancel_time=time.time())
    requeue_id = H.wait_for(lambda: _started_writing(sc.workdir, "hold_requeue"), 180, "hold_requeue to write")
    subprocess.run(["scontrol", "requeue", requeue_id], check=True, timeout=30)
    sc.info.update(requeue_id=requeue_id, requeue_time=time.time())
    sc.rc = c.wait(540)
    sc.log = c.text()


SHIM = """#!/bin/sh
# squeue that fails while {flag} exists (RELIABILITY.md case 22)
if [ -e {flag} ]; then
  echo "$(date +%s.%N) fail" >> {calls}
  echo "squeue: error: slurm_load_jobs error: Socket timed out on send/recv operation" >&2
  exit 1
fi
echo "$(date +%s.%N) ok" >> {calls}
exec {real} "$@"
"""


def _scenario_outage(sc: Scenario) -> None:
    shim = sc.workdir.parent / f"{sc.workdir.name}-shim"
    shim.mkdir(parents=True, exist_ok=True)
    flag, calls = shim / "fail", shim / "calls.log"
    real = subprocess.run(["bash", "-c", "command -v squeue"], capture_output=True, text=True).stdout.strip()
    (shim / "squeue").write_text(SHIM.format(flag=flag, calls=calls, real=real))
    (shim / "squeue").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    c = H.start(sc.workdir, "--config", "targets=[hold_a,hold_b]", "hold_seconds=10", env=env, name="outage")
    H.wait_for(lambda: len(H.submissions(c.text())) == 2, 120, "both jobs to be submitted")
    flag.touch()
    sc.info["outage_start"] = time.time()
    # the outage lasts until both jobs have finished in SLURM (and 5 s more), but at most ~70 s:
    # the profile tolerates about 2 min (slurm-status-attempts 60 x one check per 2 s)
    try:
        H.wait_for(lambda: len(H.ends(sc.workdir, "hold_a")) and len(H.ends(sc.workdir, "hold_b")), 65,
                   "both jobs to finish during the outage")
    except AssertionError:
        pass  # the test below still checks that the controller recovers
    time.sleep(5)
    flag.unlink()
    sc.info["outage_end"] = time.time()
    sc.rc = c.wait(300)
    sc.log = c.text()
    sc.info["calls"] = [line.split() for line in calls.read_text().splitlines()]


KILL_KEYS = ["hold_k1", "hold_k2", "hold_k3"]


def _scenario_kill(sc: Scenario) -> None:
    args = ("--config", "targets=[hold_k1,hold_k2,hold_k3]", "hold_seconds=40")
    c = H.start(sc.workdir, *args, name="killed")
    H.wait_for(lambda: all(_started_writing(sc.workdir, k) for k in KILL_KEYS), 180, "all jobs to write")
    os.killpg(c.proc.pid, signal.SIGKILL)
    c.proc.wait(30)
    sc.info["kill_time"] = time.time()
    killed_log = c.text()
    run_id = H.RUN_ID.search(killed_log).group(1)
    sc.info["run_id"] = run_id
    # a plain restart must refuse (stale lock), without submitting anything
    rc, text = H.run(sc.workdir, *args, timeout=180, name="plain-restart")
    sc.info["plain_restart"] = (rc, text)
    # the documented recovery (docs/cluster.md): 1. cancel the dead run's jobs by its run id
    subprocess.run(["scancel", "--name", run_id], check=True, timeout=30)
    H.wait_for(lambda: not [j for j in H.squeue_jobs() if j["name"] == run_id
                            and j["state"] in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")],
               120, f"the jobs of {run_id} to end")
    sc.info["orphans_gone"] = time.time()
    # 2. unlock, 3. rerun (rerun-incomplete is in the profile)
    sc.info["unlock"] = H.run(sc.workdir, "--unlock", *args, timeout=180, name="unlock")
    sc.rc, sc.log = H.run(sc.workdir, *args, timeout=400, name="recovered")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, Scenario]:
    root = tmp_path_factory.mktemp("slurm-faults")
    runs = {"faults": _scenario_faults, "outage": _scenario_outage, "kill": _scenario_kill}
    out = {name: Scenario(root / name) for name in runs}

    def go(name):
        sc, t0 = out[name], time.monotonic()
        try:
            runs[name](sc)
        except BaseException as exc:  # reported by the tests of this scenario
            sc.error = exc
        sc.seconds = time.monotonic() - t0

    with concurrent.futures.ThreadPoolExecutor(len(runs)) as ex:
        list(ex.map(go, runs))
    print("\nSLURM fault scenarios: " + ", ".join(f"{n} {s.seconds:.0f} s" for n, s in out.items()))
    return out


# --------------------------------------------------------------------------- case 18 + issue 4
def test_retries_scale_memory_by_attempt(scenarios):
    """Case 18: attempts 1-2 fail, the third succeeds: exactly 3 SLURM jobs with growing --mem."""
    sc = scenarios["faults"].check()
    runs = H.starts(sc.workdir, "flaky")
    assert [r["attempt"] for r in runs] == [1, 2, 3], runs
    assert len({r["job"] for r in runs}) == 3, "each attempt must be its own SLURM job"
    assert [r["slurm_mem_mb"] for r in runs] == [300, 600, 900], "SLURM's own record of --mem per attempt"
    assert [e["outcome"] for e in H.ends(sc.workdir, "flaky")] == ["failed", "failed", "ok"]
    _assert_output(sc.workdir, "flaky", 4)


def test_bad_parameter_fails_with_log_paths_and_profile_retries(scenarios):
    """Issue 4: a bad parameter fails the job on every attempt (1 + the profile's 2 retries); the
    controller names the SLURM job, the rule log and the SLURM log, and exits non-zero."""
    sc = scenarios["faults"].check()
    assert sc.rc != 0
    runs = H.starts(sc.workdir, "bad")
    assert [r["attempt"] for r in runs] == [1, 2, 3], "profiles/slurm has retries: 2"
    failed = H.slurm_failures(sc.log)
    for r in runs:
        assert failed.get(r["job"]) == "FAILED", f"SLURM job {r['job']} not reported as failed"
        slurm_log = sc.workdir / "logs" / "slurm" / "rule_bad" / f"{r['job']}.log"
        assert str(slurm_log) in sc.log, f"controller does not name {slurm_log}"
        assert slurm_log.exists()
    assert "Error in rule bad" in sc.log and "logs/bad.log" in sc.log
    assert "config key 'bad.scale' must be > 0" in (sc.workdir / "logs" / "bad.log").read_text()
    assert not (sc.workdir / "results" / "bad.h5").exists()


# --------------------------------------------------------------------------- case 19
def test_timeout_no_output_then_scaled_runtime_completes(scenarios):
    """Case 19: attempt 1 (1 min) hits its time limit: TIMEOUT, the write aborted, nothing at
    the output path; attempt 2 gets 2 min and completes with the full, validated output."""
    sc = scenarios["faults"].check()
    runs = H.starts(sc.workdir, "slow")
    assert [r["attempt"] for r in runs] == [1, 2]
    assert [r["slurm_time_limit"] for r in runs] == ["00:01:00", "00:02:00"]
    assert H.slurm_failures(sc.log).get(runs[0]["job"]) == "TIMEOUT"
    assert [e["outcome"] for e in H.ends(sc.workdir, "slow")] == ["terminated", "ok"]
    _assert_output(sc.workdir, "slow", 19)
    assert not _temporaries(sc.workdir, "slow")


# --------------------------------------------------------------------------- case 20
def test_scancel_fails_the_job_and_others_continue(scenarios):
    """Case 20: a cancelled job is reported with its SLURM id and state CANCELLED, leaves no
    output or temporary, its consumer never runs, and independent jobs still finish (-k)."""
    sc = scenarios["faults"].check()
    cid = sc.info["cancel_id"]
    assert H.slurm_failures(sc.log).get(cid) == "CANCELLED", f"job {cid} not reported as cancelled"
    assert f"external_jobid: {cid}" in sc.log
    assert [e["outcome"] for e in H.ends(sc.workdir, "hold_cancel")] == ["terminated"]
    assert len(H.starts(sc.workdir, "hold_cancel")) == 1, "rule hold has retries: 0"
    assert not (sc.workdir / "results" / "hold_cancel.h5").exists()
    assert not _temporaries(sc.workdir, "hold_cancel")
    assert not H.starts(sc.workdir, "downstream"), "a consumer of the cancelled output ran"
    for key, chunks in (("after_flaky", 2), ("slow", 19)):
        assert H.ends(sc.workdir, key)[-1]["t"] > sc.info["cancel_time"]
        _assert_output(sc.workdir, key, chunks)


# --------------------------------------------------------------------------- case 21
def test_requeue_completes_cleanly(scenarios):
    """Case 21: a job requeued by SLURM is killed mid-write (temporary removed), runs again
    under the same job id, and the controller accepts only the complete second write."""
    sc = scenarios["faults"].check()
    rid = sc.info["requeue_id"]
    runs = H.starts(sc.workdir, "hold_requeue")
    assert [r["job"] for r in runs] == [rid, rid], "requeued: same SLURM job, run twice"
    assert [e["outcome"] for e in H.ends(sc.workdir, "hold_requeue")] == ["terminated", "ok"]
    assert rid not in H.slurm_failures(sc.log)
    _assert_output(sc.workdir, "hold_requeue", 10)
    assert not _temporaries(sc.workdir, "hold_requeue")


# --------------------------------------------------------------------------- case 22
def test_status_command_failing_for_a_while(scenarios):
    """Case 22: squeue fails for up to ~70 s (while the jobs finish): the controller keeps polling
    (more failed calls than the plugin's default 5 attempts), recovers and finishes."""
    sc = scenarios["outage"].check()
    calls = sc.info["calls"]
    n_fail = sum(1 for _, r in calls if r == "fail")
    assert n_fail > 5, f"only {n_fail} failed squeue calls: the outage was not exercised"
    assert calls[-1][1] == "ok"
    assert sc.rc == 0, sc.log[-4000:]
    for key in ("hold_a", "hold_b"):
        assert len(H.starts(sc.workdir, key)) == 1
        _assert_output(sc.workdir, key, 10)
    assert len(H.submissions(sc.log)) == 2


# --------------------------------------------------------------------------- case 23
def test_controller_killed_then_documented_recovery(scenarios):
    """Case 23: the controller is SIGKILLed while its jobs write. A plain restart refuses (stale
    lock) without submitting; the documented recovery (scancel --name <run id>, --unlock,
    rerun with rerun-incomplete) completes with valid outputs and never two writers at once."""
    sc = scenarios["kill"].check()
    rc, text = sc.info["plain_restart"]
    assert rc != 0 and "--unlock" in text, text[-3000:]
    assert not H.submissions(text), "the refused restart submitted jobs"
    urc, utext = sc.info["unlock"]
    assert urc == 0, utext[-3000:]
    assert sc.rc == 0, sc.log[-4000:]
    assert len(H.submissions(sc.log)) == 3, "the recovery must redo the three incomplete jobs"
    for key in KILL_KEYS:
        _assert_output(sc.workdir, key, 10)
        assert not _temporaries(sc.workdir, key)
        events = sorted((e for e in H.executions(sc.workdir) if e["key"] == key), key=lambda e: e["t"])
        kinds = [e["event"] for e in events]
        assert kinds == ["start", "end"] * (len(kinds) // 2), f"{key}: overlapping writers {kinds}"
        first_end = events[1]
        assert first_end["outcome"] in ("terminated", "ok")
        assert first_end["t"] <= sc.info["orphans_gone"], "an orphan kept writing after the recovery began"
        assert events[-1]["outcome"] == "ok"
