"""The long-running parts of the SLURM tests, started together in the background.

Each SLURM scenario mostly waits on the scheduler, so the fault scenarios
(tests/test_slurm_faults.py) and the end-to-end workflow runs (tests/test_slurm_workflow.py)
start side by side as soon as the first SLURM test needs either; each module's tests then wait
for their own group. Only groups whose test module is selected in this session start.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from slurm_workflows import harness as H

# --------------------------------------------------------------------------- fault scenarios
FAULT_TARGETS = "targets=[flaky,bad,slow,hold_cancel,hold_requeue,after_flaky,downstream]"
KILL_KEYS = ["hold_k1", "hold_k2", "hold_k3"]


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


def temporaries(workdir: Path, key: str) -> list[Path]:
    return sorted((workdir / "results").glob(f"{key}.h5.tmp-*"))


def started_writing(workdir: Path, key: str) -> str | None:
    """SLURM job id of ``key``'s latest execution once it has flushed its first chunk."""
    s = H.starts(workdir, key)
    if s and temporaries(workdir, key):
        return s[-1]["job"]
    return None


def scenario_faults(sc: Scenario) -> None:
    """Cases 18-21 and the bad parameter, in one run of the faults workflow."""
    c = H.start(sc.workdir, "--config", FAULT_TARGETS, "bad={scale: -1}", "hold_seconds=30", name="faults")
    # case 20: cancel hold_cancel once it is writing; case 21: requeue hold_requeue once it is writing
    cancel_id = H.wait_for(lambda: started_writing(sc.workdir, "hold_cancel"), 240, "hold_cancel to write")
    subprocess.run(["scancel", cancel_id], check=True, timeout=30)
    sc.info.update(cancel_id=cancel_id, cancel_time=time.time())
    requeue_id = H.wait_for(lambda: started_writing(sc.workdir, "hold_requeue"), 240, "hold_requeue to write")
    subprocess.run(["scontrol", "requeue", requeue_id], check=True, timeout=30)
    sc.info.update(requeue_id=requeue_id, requeue_time=time.time())
    sc.rc = c.wait(720)
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


def scenario_outage(sc: Scenario) -> None:
    """Case 22: squeue fails (a PATH shim in front of it) while the run's jobs finish."""
    shim = sc.workdir.parent / f"{sc.workdir.name}-shim"
    shim.mkdir(parents=True, exist_ok=True)
    flag, calls = shim / "fail", shim / "calls.log"
    real = subprocess.run(["bash", "-c", "command -v squeue"], capture_output=True, text=True).stdout.strip()
    (shim / "squeue").write_text(SHIM.format(flag=flag, calls=calls, real=real))
    (shim / "squeue").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    c = H.start(sc.workdir, "--config", "targets=[hold_a,hold_b]", "hold_seconds=10", env=env, name="outage")
    H.wait_for(lambda: len(H.submissions(c.text())) == 2, 180, "both jobs to be submitted")
    flag.touch()
    sc.info["outage_start"] = time.time()
    # the outage lasts until both jobs have finished in SLURM (and 5 s more), but at most ~70 s:
    # the profile tolerates about 2 min (slurm-status-attempts 60 x one check per 2 s)
    try:
        H.wait_for(lambda: len(H.ends(sc.workdir, "hold_a")) and len(H.ends(sc.workdir, "hold_b")), 65,
                   "both jobs to finish during the outage")
    except AssertionError:
        pass  # the test still checks that the controller recovers
    time.sleep(5)
    flag.unlink()
    sc.info["outage_end"] = time.time()
    sc.rc = c.wait(400)
    sc.log = c.text()
    sc.info["calls"] = [line.split() for line in calls.read_text().splitlines()]


def scenario_kill(sc: Scenario) -> None:
    """Case 23: SIGKILL the controller while its jobs write, then the documented recovery."""
    args = ("--config", "targets=[hold_k1,hold_k2,hold_k3]", "hold_seconds=60")
    c = H.start(sc.workdir, *args, name="killed")
    H.wait_for(lambda: all(H.starts(sc.workdir, k) for k in KILL_KEYS)
               and any(temporaries(sc.workdir, k) for k in KILL_KEYS), 240, "all jobs to run")
    os.killpg(c.proc.pid, signal.SIGKILL)
    c.proc.wait(30)
    sc.info["kill_time"] = time.time()
    run_id = H.RUN_ID.search(c.text()).group(1)
    sc.info["run_id"] = run_id
    # a plain restart must refuse (stale lock), without submitting anything
    sc.info["plain_restart"] = H.run(sc.workdir, *args, timeout=240, name="plain-restart")
    # the documented recovery (docs/cluster.md): 1. cancel the dead run's jobs by its run id
    subprocess.run(["scancel", "--name", run_id], check=True, timeout=30)
    H.wait_for(lambda: not [j for j in H.squeue_jobs() if j["name"] == run_id
                            and j["state"] in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING")],
               120, f"the jobs of {run_id} to end")
    sc.info["orphans_gone"] = time.time()
    # 2. unlock, 3. rerun (rerun-incomplete is in the profile)
    sc.info["unlock"] = H.run(sc.workdir, "--unlock", *args, timeout=240, name="unlock")
    sc.rc, sc.log = H.run(sc.workdir, *args, timeout=500, name="recovered")


def run_fault_scenarios(root: Path) -> dict[str, Scenario]:
    runs = {"faults": scenario_faults, "outage": scenario_outage, "kill": scenario_kill}
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
    return out


# --------------------------------------------------------------------------- the real workflow
CI_CONFIG = H.REPO / "tests" / "config" / "ci.yaml"


def workflow_cmd(workdir: Path, *args: str, slurm: bool) -> list[str]:
    if slurm:
        # CI-only: at most 4 SLURM jobs at once (the CI node advertises 16 CPUs on 2 real cores)
        return H.snakemake_cmd(workdir, "--configfile", str(CI_CONFIG), "--jobs", "4", *args, snakefile=None)
    return H.snakemake_cmd(workdir, "--configfile", str(CI_CONFIG), "--cores", "2", *args, snakefile=None,
                           profile=None)


def _run_logged(cmd: list[str], log: Path, timeout: float) -> tuple[int, str, float]:
    """Run from the repository root, as a user would (profiles/default is found there too)."""
    t0 = time.monotonic()
    with open(log, "w") as fh:
        p = subprocess.Popen(cmd, cwd=H.REPO, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = -9
    return rc, log.read_text(errors="replace"), time.monotonic() - t0


class JobRecorder(threading.Thread):
    """Keeps the latest `scontrol -d show job` record of every job while a run lasts
    (slurmctld forgets finished jobs after MinJobAge), and every GRES allocation seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.records: dict[str, dict[str, str]] = {}
        self.gres_seen: dict[str, set[str]] = {}  # GRES=gpu:1(IDX:n) shows only while a job runs
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                out = subprocess.run(["scontrol", "-d", "-o", "show", "job"], capture_output=True, text=True,
                                     timeout=30).stdout
            except subprocess.TimeoutExpired:
                out = ""
            for line in out.splitlines():
                rec = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
                if "JobId" in rec:
                    self.records[rec["JobId"]] = rec
                    if rec.get("GRES"):
                        self.gres_seen.setdefault(rec["JobId"], set()).add(rec["GRES"])
            self.stop.wait(2)


def run_workflow(root: Path) -> dict:
    """A dry run, then the SLURM run and a local run of the CI config side by side."""
    dry = subprocess.run(workflow_cmd(root / "dry", "-n", slurm=True), cwd=H.REPO, capture_output=True,
                         text=True, timeout=600)
    out = dict(root=root, dry=(dry.returncode, dry.stdout + dry.stderr))
    if dry.returncode != 0:
        return out
    rec = JobRecorder()
    rec.start()
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        fs = ex.submit(_run_logged, workflow_cmd(root / "slurm", slurm=True), root / "slurm.log", 1500)
        fl = ex.submit(_run_logged, workflow_cmd(root / "local", slurm=False), root / "local.log", 1500)
        out.update(slurm=fs.result(), local=fl.result())
    rec.stop.set()
    rec.join(35)
    (root / "job_records.json").write_text(json.dumps(rec.records, indent=1))  # for post-mortems
    out.update(records=rec.records, gres_seen=rec.gres_seen)
    return out


# --------------------------------------------------------------------------- launcher
GROUPS = {"faults": ("test_slurm_faults", run_fault_scenarios),
          "workflow": ("test_slurm_workflow", run_workflow)}
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=len(GROUPS), thread_name_prefix="slurm-scenario")
_FUTURES: dict[str, concurrent.futures.Future] = {}
_T0: dict[str, float] = {}


def launch(session, tmp_path_factory) -> dict[str, concurrent.futures.Future]:
    """Start (once) every group whose test module is selected in this pytest session."""
    selected = {getattr(getattr(item, "module", None), "__name__", "").rsplit(".", 1)[-1] for item in session.items}
    for group, (module, runner) in GROUPS.items():
        if module in selected and group not in _FUTURES:
            _T0[group] = time.monotonic()
            _FUTURES[group] = _POOL.submit(runner, tmp_path_factory.mktemp(f"slurm-{group}"))
    return _FUTURES


def result(group: str, session, tmp_path_factory):
    fut = launch(session, tmp_path_factory)[group]
    value = fut.result()
    print(f"\nSLURM scenario group {group!r}: {time.monotonic() - _T0[group]:.0f} s (started side by side "
          f"with: {', '.join(sorted(_FUTURES))})")
    return value
