"""Fault injection on a real Snakemake run of the toy workflow (tests/fault_workflows/toy):
writers and controllers killed, jobs failing or lying, outputs appearing late, two
controllers at once. RELIABILITY.md plan cases 1, 2, 6, 7, 8, 9, 15 (docs/reliability.md).

The toy workflow has the pipeline's contracts (atomic_h5 writers, derived seeds, a consumer
that validates every input) and costs a couple of seconds per run, so the faults can be
injected at many points. tests/test_faults_real_workflow.py repeats the key cases on the
real workflow with the CI config.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import h5py
import pytest

from encephagen.io import OutputError, clean_stale_temporaries, validate_h5
from encephagen.io.recovery import find_temporaries, snakemake_leftovers, survey_outputs
from fault_workflows.harness import (TOY_RUNS, TOYJOBS, digests, kill_group, parallel, run_snakemake,
                                     start_snakemake, toy_expected, wait_for)

pytestmark = pytest.mark.workflow

SLOW = {"chunks": 4, "sleep": 0.3}  # each simulate job ~1.2 s, flushing a chunk every 0.3 s


def _ok(r):
    assert r.returncode == 0, r.stdout[-4000:]
    return r


def _all_valid(workdir, n_runs=TOY_RUNS):
    survey = survey_outputs({**toy_expected(workdir, range(n_runs)), "aggregate": workdir / "results/aggregate.h5"})
    assert survey.complete, survey.report()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Two uninterrupted runs (case 15 on the toy workflow): digests of every output."""
    a, b = tmp_path_factory.mktemp("ref-a"), tmp_path_factory.mktemp("ref-b")
    ra, rb = parallel(lambda: run_snakemake(a), lambda: run_snakemake(b))
    _ok(ra), _ok(rb)
    return a, digests(a), digests(b)


def test_same_config_and_seed_twice_identical(reference):
    """Case 15 (toy): same config + seed in two directories -> identical contents of every
    dataset and attribute (provenance time/host ignored)."""
    a, da, db = reference
    assert len(da) == TOY_RUNS + 1
    assert da == db
    _all_valid(a)
    # and the digest is sensitive: a different master seed changes the data
    with h5py.File(a / "results/runs/run-0.h5", "r") as f:
        assert f["x"].shape == (4 * 64, 32) and int(f["seed"][()]) != 0


def _temporaries_seen(workdir):
    return {p.name for p in (workdir / "results").rglob("*.tmp-*")} if (workdir / "results").exists() else set()


def _runs_started(workdir):
    """Run ids whose writer has created a file (a temporary, or the final path for a naive writer)."""
    d = workdir / "results/runs"
    return {p.name.split(".")[0] for p in d.glob("run-*.h5*")} if d.exists() else set()


def _kill_controller_then_recover(workdir, k: int, delay: float, writer: str = "simulate"):
    """Start a run, SIGKILL the controller's process group `delay` s after the k-th writer
    started, then: plain run (must refuse, fast), --unlock, --rerun-incomplete."""
    cfg = {**SLOW, "writer": writer}
    proc = start_snakemake(workdir, config=cfg)
    seen: set[str] = set()

    def kth_writer():
        seen.update(_runs_started(workdir))
        return len(seen) >= k or proc.poll() is not None

    wait_for(kth_writer, 180, what=f"writer #{k}")
    time.sleep(delay)
    assert proc.poll() is None, "the run ended before the kill point; " + proc.log_path.read_text()[-2000:]
    kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    left = snakemake_leftovers(workdir)
    stray = find_temporaries(workdir / "results")
    partial = [p for p in (workdir / "results").rglob("*.h5") if _invalid(p)]
    # the plain rerun refuses fast: stale lock (or incomplete files), no job started
    plain = run_snakemake(workdir, config=cfg)
    unlock = run_snakemake(workdir, "--unlock", config=cfg)
    after_unlock = None
    if writer == "naive":  # the anchor's own protection: the partial file is marked incomplete
        after_unlock = run_snakemake(workdir, config=cfg)
    recover = run_snakemake(workdir, "--rerun-incomplete", config=cfg)
    return dict(left=left, stray=stray, partial=partial, plain=plain, unlock=unlock,
                after_unlock=after_unlock, recover=recover)


def _invalid(p):
    try:
        validate_h5(p)
    except OutputError as exc:
        return str(exc)
    return None


def test_controller_killed_at_random_points_recovers_identically(reference, tmp_path):
    """Case 2: SIGKILL the controller's process group (controller + running jobs) at seeded
    random points mid-run -> the next plain run fails fast (stale lock), `--unlock` then
    `--rerun-incomplete` completes, every output validates, stray temporaries are found and
    cleaned, and every output is identical to an uninterrupted run's."""
    _, ref, _ = reference
    rng = random.Random(20261123)
    points = [(rng.randint(1, TOY_RUNS), round(rng.uniform(0.0, 0.6), 2)) for _ in range(3)]
    # + a writer without the contract (plain h5py at the final path), killed the same way,
    # to show what the anchor alone does: the partial file is left and marked incomplete
    scenarios = [(tmp_path / f"kill-{i}", k, d, "simulate") for i, (k, d) in enumerate(points)]
    scenarios.append((tmp_path / "kill-naive", 2, 0.4, "naive"))
    results = parallel(*[(lambda s=s: _kill_controller_then_recover(*s)) for s in scenarios])
    for (workdir, k, delay, writer), r in zip(scenarios, results):
        where = f"{writer} writer, killed {delay} s after writer #{k} started"
        assert r["left"]["locks"], f"{where}: a killed controller leaves its locks"
        assert r["left"]["incomplete"], f"{where}: and incomplete markers for its running jobs"
        out = r["plain"].stdout
        assert r["plain"].returncode != 0, f"{where}: plain rerun must refuse\n{out[-3000:]}"
        assert "LockException" in out or "IncompleteFilesException" in out, out[-3000:]
        assert str(workdir) in out or "incomplete" in out.lower()
        assert "Finished jobid" not in out, f"{where}: the refusing run must start no job"
        _ok(r["unlock"])
        if writer == "simulate":
            # atomic writes: nothing partial ever sits at a final path, only temporaries
            assert r["partial"] == [], f"{where}: {r['partial']}"
            assert r["stray"], f"{where}: the killed writer's temporary is expected"
        else:
            assert r["partial"], f"{where}: a plain h5py writer leaves a partial file at the final path"
            au = r["after_unlock"].stdout
            assert r["after_unlock"].returncode != 0 and "IncompleteFilesException" in au, au[-3000:]
            for p in r["partial"]:
                assert str(p.relative_to(workdir)) in au, f"the exception names {p}"
        _ok(r["recover"])
        assert snakemake_leftovers(workdir) == {"locks": [], "incomplete": []}
        removed = clean_stale_temporaries(workdir / "results")
        assert set(r["stray"]) <= set(removed), "the killed writers' temporaries outlive the rerun until cleaned"
        assert not find_temporaries(workdir)
        _all_valid(workdir)
        assert digests(workdir) == ref, f"{where}: results differ from the uninterrupted run"


def test_writer_killed_mid_write_leaves_nothing_and_rerun_identical(reference, tmp_path):
    """Case 1: SIGKILL one simulation process mid-write while the controller lives ->
    the job fails, no file at its output path (only a temporary nobody reads); a plain
    rerun completes with contents identical to an uninterrupted run."""
    _, ref, _ = reference
    wd = tmp_path / "w"
    gate = tmp_path / "gate"
    proc = start_snakemake(wd, config={"gate": str(gate), "chunks": 4})
    runs = wd / "results/runs"
    try:  # every writer holds after its first flushed chunk until the gate opens
        tmp = wait_for(lambda: sorted(runs.glob("run-*.h5.tmp-*")), 180, what="a writer's temporary")[0]
        target = runs / tmp.name.split(".tmp-")[0]
        pid = int(re.match(r".*\.tmp-(\d+)-", tmp.name).group(1))
        time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
    finally:
        gate.touch()  # let the others finish
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            raise
    log = proc.log_path.read_text()
    assert proc.returncode != 0
    assert "Error in rule simulate" in log and str(target.relative_to(wd)) in log, log[-3000:]
    assert not target.exists(), "a killed writer must leave nothing at the output path"
    assert tmp.exists() and _invalid(tmp), "its temporary is partial (and never read)"
    assert snakemake_leftovers(wd)["locks"] == [], "a living controller cleans up after a failed job"
    _ok(run_snakemake(wd))
    assert clean_stale_temporaries(wd / "results") == [tmp]
    _all_valid(wd)
    assert digests(wd) == ref


def test_one_job_fails_under_keep_going(tmp_path):
    """Case 6: one of N jobs fails under --keep-going -> exit != 0, the others finish and
    validate, no aggregate is made; the consumer run on what exists either refuses naming
    the missing run or (allow-missing policy) records exactly which run is missing."""
    wd = tmp_path / "w"
    r = run_snakemake(wd, "--keep-going", config={"bad_runs": [2], "bad_writer": "fail"})
    assert r.returncode != 0
    assert "Error in rule simulate" in r.stdout and "run-2.h5" in r.stdout
    assert not (wd / "results/aggregate.h5").exists(), "never an aggregate over N-1 runs"
    expected = toy_expected(wd)
    survey = survey_outputs(expected, "toy_run")
    assert survey.missing == ("run-2",) and survey.valid == ("run-0", "run-1", "run-3")
    with pytest.raises(OutputError, match=r"1 of 4 unusable(.|\n)*run-2: .*run-2\.h5"):
        survey.require()
    expect = [f"{k}={v}" for k, v in expected.items()]
    agg = wd / "results/aggregate.h5"
    refuse = subprocess.run([sys.executable, str(TOYJOBS), "aggregate", "--out", str(agg), "--expect", *expect],
                            capture_output=True, text=True)
    assert refuse.returncode != 0 and "run-2" in refuse.stderr and not agg.exists()
    partial = subprocess.run([sys.executable, str(TOYJOBS), "aggregate", "--out", str(agg), "--allow-missing",
                              "--expect", *expect], capture_output=True, text=True)
    assert partial.returncode == 0, partial.stderr
    assert "missing  run-2" in partial.stderr
    with h5py.File(agg, "r") as f:
        assert f.attrs["n_expected"] == 4 and f.attrs["n_used"] == 3
        assert json.loads(f.attrs["missing"]) == ["run-2"]
        assert [s.decode() for s in f["runs"][()]] == ["run-0", "run-1", "run-3"]


def test_second_controller_is_refused(tmp_path):
    """Case 7: a second controller on the same directory while the first runs -> refused
    (LockException), starting no job; the first run completes and its outputs validate."""
    wd = tmp_path / "w"
    gate = tmp_path / "gate"
    first = start_snakemake(wd, config={"gate": str(gate)})
    try:
        wait_for(lambda: snakemake_leftovers(wd)["locks"] and _temporaries_seen(wd), 180,
                 what="the first controller to lock and start writing")
        second = run_snakemake(wd)
    finally:
        gate.touch()
    first.wait(timeout=180)
    assert second.returncode != 0
    assert "LockException" in second.stdout and "Finished jobid" not in second.stdout
    assert first.returncode == 0, first.log_path.read_text()[-3000:]
    _all_valid(wd)
    assert not find_temporaries(wd)


def test_empty_or_short_output_is_named(tmp_path):
    """Case 8: a rule exits 0 but leaves an empty or a short (truncated) output.
    ensure(non_empty=True) makes Snakemake fail an EMPTY output at once, naming it (and
    deleting it); a SHORT output is non-empty, passes ensure, and is caught by the consumer's
    validation, which names the file. Without ensure the consumer also names the empty file."""
    runs = {name: tmp_path / name for name in ("empty-ensure", "empty", "short-ensure")}
    cfg = {"n_runs": 2, "bad_runs": [1]}
    r_empty_ensure, r_empty, r_short = parallel(
        lambda: run_snakemake(runs["empty-ensure"], config={**cfg, "bad_writer": "empty", "ensure": True}),
        lambda: run_snakemake(runs["empty"], config={**cfg, "bad_writer": "empty"}),
        lambda: run_snakemake(runs["short-ensure"], config={**cfg, "bad_writer": "short", "ensure": True}),
    )
    out = r_empty_ensure.stdout
    assert r_empty_ensure.returncode != 0
    assert "empty output files" in out and "results/runs/run-1.h5" in out
    assert not (runs["empty-ensure"] / "results/runs/run-1.h5").exists()
    assert "rule aggregate" not in out, "ensure stops it before the consumer"
    for name, r, word in (("empty", r_empty, "zero-length"), ("short-ensure", r_short, "not a readable HDF5")):
        wd = runs[name]
        assert r.returncode != 0
        assert "Error in rule aggregate" in r.stdout, r.stdout[-3000:]
        log = (wd / "logs/aggregate/aggregate.log").read_text()
        assert f"{wd / 'results/runs/run-1.h5'}: {word}" in log or f"results/runs/run-1.h5: {word}" in log, log
        assert not (wd / "results/aggregate.h5").exists()


def test_late_output_latency_wait(tmp_path):
    """Case 9: an output that appears only after a delay (as on a lagging shared filesystem)
    -> completes with --latency-wait above the delay; below it, a clear
    MissingOutputException naming the file, and a rerun that succeeds."""
    delay = 3
    cfg = {"n_runs": 2, "bad_runs": [1], "bad_writer": "delayed", "delay": delay}
    hi, lo = tmp_path / "hi", tmp_path / "lo"
    r_hi, r_lo = parallel(lambda: run_snakemake(hi, "--latency-wait", str(delay + 12), config=cfg),
                          lambda: run_snakemake(lo, "--latency-wait", "0", config=cfg))
    _ok(r_hi)
    _all_valid(hi, 2)
    assert r_lo.returncode != 0
    assert "MissingOutputException" in r_lo.stdout and "results/runs/run-1.h5" in r_lo.stdout, r_lo.stdout[-3000:]
    # the late file lands after the controller gave up; the rerun regenerates what it must
    time.sleep(delay + 1)
    _ok(run_snakemake(lo, "--latency-wait", str(delay + 12), config=cfg))
    _all_valid(lo, 2)
    assert not find_temporaries(lo)
