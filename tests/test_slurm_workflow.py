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

import re
from collections import Counter
from pathlib import Path

import pytest

from encephagen.io.recovery import DEFAULT_IGNORED_ATTRS, compare_contents
from slurm_workflows import harness as H
from slurm_workflows import scenarios as S

pytestmark = [pytest.mark.slurm, H.requires_slurm]

# attributes that legitimately differ between two runs of the same code and config:
# provenance (time, host, ...), the job's start time (when, not what: encephagen.io.recovery's
# DEFAULT_IGNORED_ATTRS), HDF5 dimension-scale bookkeeping (object references, i.e. file addresses;
# the scales themselves are datasets and compared), and wall-clock timings
IGNORED_ATTRS = (*DEFAULT_IGNORED_ATTRS, "REFERENCE_LIST", "DIMENSION_LIST", "sweep_seconds")
JOB_HEADER = re.compile(r"^\[.*\]\n(local)?rule (\w+):\n(?:    .*\n)*?    jobid: (\d+)", re.M)


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory):
    out = S.result("workflow", request.session, tmp_path_factory)
    rc, text = out["dry"]
    assert rc == 0, f"dry run of the CI config failed:\n{text[-4000:]}"
    print(f"\nCI workflow: SLURM run {out['slurm'][2]:.0f} s, local run {out['local'][2]:.0f} s (side by side)")
    return out


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
    # the dry run lists every job as "rule"; the real run marks the submit-host jobs "localrule"
    local_rules = {rule for local, rule, _ in _jobs(text) if local}
    assert "all" in local_rules
    expected = Counter(rule for _, rule, _ in _jobs(runs["dry"][1]) if rule not in local_rules)
    assert expected, "the dry run lists no non-local jobs"
    subs = H.submissions(text)
    print(f"\nSLURM jobs: {len(subs)} submitted, dry run expects {sum(expected.values())} "
          f"(+ {sum(1 for _, r, _ in _jobs(runs['dry'][1]) if r in local_rules)} local); per rule: {dict(expected)}")
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
        assert rec.get("JOB_GRES") == "gpu:1", f"job {sid} was not allocated a GRES gpu: {rec}"
    # while running, the allocation names the (fake) device index
    seen = set().union(*(runs["gres_seen"].get(sid, set()) for sid in sim_ids))
    assert seen and all(re.fullmatch(r"gpu:1\(IDX:\d\)", g) for g in seen), seen


def test_results_equal_local_run(runs):
    slurm_dir, local_dir = runs["root"] / "slurm", runs["root"] / "local"
    a = sorted(p.relative_to(slurm_dir) for p in (slurm_dir / "results").rglob("*.h5"))
    b = sorted(p.relative_to(local_dir) for p in (local_dir / "results").rglob("*.h5"))
    assert a, "the SLURM run wrote no HDF5 results"
    assert a == b
    diffs = {str(p): d for p in a if (d := compare_contents(slurm_dir / p, local_dir / p, IGNORED_ATTRS))}
    assert not diffs, f"results differ between SLURM and local runs: {diffs}"
