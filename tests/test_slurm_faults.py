"""SLURM fault injection against the local cluster (.ci/slurm-up), through profiles/slurm:
RELIABILITY.md cases 18-23 and issue 4's deliberately failing job.

Three scenarios (tests/slurm_workflows/scenarios.py) run side by side, and beside the
end-to-end workflow runs of tests/test_slurm_workflow.py when both modules are selected;
each test then checks one case:
  faults   one run of tests/slurm_workflows/faults: a job failing twice (18), a bad parameter
           (issue 4), a job past its time limit (19), a job we scancel (20), a job we requeue (21)
  outage   squeue fails for up to ~70 s while jobs finish (22), through a PATH shim
  kill     the controller is SIGKILLed while its jobs run, then the documented recovery (23)

Run: ENCEPHAGEN_SLURM=1 pytest -m slurm tests/test_slurm_faults.py   (about 5 minutes)
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from encephagen.io import validate_h5
from slurm_workflows import harness as H
from slurm_workflows import scenarios as S
from slurm_workflows.jobs import KIND, expected_values

pytestmark = [pytest.mark.slurm, H.requires_slurm]


def _assert_output(workdir: Path, key: str, chunks: int) -> None:
    path = workdir / "results" / f"{key}.h5"
    validate_h5(path, KIND.name)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["values"][()], expected_values(key, chunks))


@pytest.fixture(scope="module")
def scenarios(request, tmp_path_factory) -> dict[str, S.Scenario]:
    return S.result("faults", request.session, tmp_path_factory)


_temporaries = S.temporaries
KILL_KEYS = S.KILL_KEYS


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
    the output path; attempt 2 gets attempt**2 = 4 min and completes with the full output."""
    sc = scenarios["faults"].check()
    runs = H.starts(sc.workdir, "slow")
    assert [r["attempt"] for r in runs] == [1, 2]
    assert [r["slurm_time_limit"] for r in runs] == ["00:01:00", "00:04:00"]
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
