"""Nothing lost, nothing stale: the REAL workflow (workflow/Snakefile, tests/config/ci.yaml on
hcp80 with one null family, in a temporary copy; profiles/default applies as for users).

- deleted batches (a null batch, a simulation batch, a Hopf sweep batch) are rebuilt by a plain
  rerun, and no other batch is rebuilt (only what depends on the rebuilt files reruns);
- a forced rerun (``--forcerun``, the documented remedy) killed while its job runs, then
  ``--unlock`` and a plain rerun: the batch is rebuilt (it used to be missing for good);
- an orphaned job (controller killed, job alive) of the OLD parameters finishing after the
  rerun with a changed ``simulate.noise``: it does not replace the newer batch, which keeps the
  new noise level; the store and every batch agree;
- ``duration: 3000`` vs ``3000.0`` reruns nothing; ``compare_contents(p, p)`` on a store is [].
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import h5py
import pytest

from encephagen.io import validate_h5, validate_many
from encephagen.io.recovery import compare_contents
from fault_workflows.harness import _live_members, parallel, run_snakemake, start_snakemake, wait_for

pytestmark = pytest.mark.workflow

REPO = Path(os.environ.get("ENCEPHAGEN_REAL_WORKFLOW_ROOT", Path(__file__).resolve().parents[1]))
OVERLAY = """\
# one atlas, one null family: every batch kind (nulls, simulations, Hopf sweeps) still exists
atlases: [hcp80]
nulls:
  families: [weight_perm]
"""
A = "hcp80"
M = "wilson_cowan"
MODELS = ("wilson_cowan", "hopf")   # tests/config/ci.yaml simulate.model, both run on hcp80
NULLS = [f"results/nulls/atlas-{A}/null-real/batch-0000.h5"] + [
    f"results/nulls/atlas-{A}/null-weight_perm/batch-{b:04d}.h5" for b in range(2)]
SIMS = [f"results/sims/atlas-{A}/model-{M}/null-real/batch-0000.h5"] + [
    f"results/sims/atlas-{A}/model-{M}/null-weight_perm/batch-{b:04d}.h5" for b in range(2)]
HOPF = [f"results/hopf/atlas-{A}/null-real/batch-0000.h5"] + [
    f"results/hopf/atlas-{A}/null-weight_perm/batch-{b:04d}.h5" for b in range(2)]
STORE = f"results/aggregate/atlas-{A}/model-{M}/store.h5"


def _smk(wd, *args, overlay="overlay.yaml", **kw):  # --configfile takes several files: it goes last
    return run_snakemake(wd, *args, "--configfile", "tests/config/ci.yaml", overlay, snakefile=None,
                         timeout=1800, **kw)


def _start(wd, *args, overlay="overlay.yaml"):
    return start_snakemake(wd, *args, "--configfile", "tests/config/ci.yaml", overlay, snakefile=None)


def _ok(r):
    assert r.returncode == 0, r.stdout[-6000:]
    return r


def job_stats(out: str) -> dict[str, int]:
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal", out, re.S)
    if not m:
        return {}
    return {ln.split()[0]: int(ln.split()[1]) for ln in m.group(1).splitlines() if ln.strip()}


def _mtimes(wd, files):
    return {f: (wd / f).stat().st_mtime_ns for f in files}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A complete run of `rule all` in a temporary copy of the workflow."""
    root = tmp_path_factory.mktemp("lost") / "done"
    prebuilt = os.environ.get("ENCEPHAGEN_LOST_OUTPUTS_DONE")  # a finished run of this overlay (debugging)
    if prebuilt:
        shutil.copytree(prebuilt, root, symlinks=True)
        assert "Nothing to be done" in _ok(_smk(root, "-n")).stdout
        return root
    root.mkdir()
    shutil.copytree(REPO / "workflow", root / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "tests" / "config", root / "tests" / "config")
    shutil.copytree(REPO / "profiles", root / "profiles")
    (root / "overlay.yaml").write_text(OVERLAY)
    r = _smk(root)
    assert r.returncode == 0, "the real workflow must run with the CI config:\n" + r.stdout[-6000:]
    assert "Nothing to be done" in _ok(_smk(root, "-n")).stdout
    return root


def _copy(done, name):
    wd = done.parent / name
    shutil.copytree(done, wd, symlinks=True)
    return wd


def _script_pid(proc, script):
    """Pid of the running rule script ``script`` among the controller's process group."""
    for pid in _live_members(proc.pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if f"{script}.py".encode() in cmd and b"--target-jobs" not in cmd:  # the script process itself
            return pid
    return None


def _deleted_batches_rebuilt(done):
    wd = _copy(done, "deleted")
    gone = [NULLS[2], SIMS[0], HOPF[1]]
    for f in gone:
        (wd / f).unlink()
    before = _mtimes(wd, [f for f in NULLS + SIMS + HOPF if f not in gone])
    r = _ok(_smk(wd))
    again = _smk(wd, "-n")
    return wd, gone, before, r, again


def _killed_forced_rerun(done):
    wd = _copy(done, "forced")
    target = SIMS[1]
    proc = _start(wd, "--forcerun", target)
    wait_for(lambda: _script_pid(proc, "simulate_batch") or proc.poll() is not None, 600,
             interval=0.1, what="the forced simulate_batch job to start")
    assert proc.poll() is None, proc.log_path.read_text()[-3000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    wait_for(lambda: not _live_members(proc.pid), 30, what="the killed run's processes to end")
    missing_after_kill = not (wd / target).exists()
    _ok(_smk(wd, "--unlock"))
    r = _ok(_smk(wd))
    return wd, target, missing_after_kill, r


def _orphan(done):
    """Controller killed (only the controller: an out-of-memory kill), its job lives on, frozen
    until the rerun with a new noise level has finished; then it completes."""
    wd = _copy(done, "orphan")
    (wd / "overlay-noise.yaml").write_text(OVERLAY + "simulate:\n  noise: 0.02\n")
    target = SIMS[0]
    proc = _start(wd, "--forcerun", target)
    orphan = wait_for(lambda: _script_pid(proc, "simulate_batch") or proc.poll() is not None, 600,
                      interval=0.1, what="the simulate_batch job to start")
    assert proc.poll() is None, proc.log_path.read_text()[-3000:]
    os.kill(orphan, signal.SIGSTOP)
    os.kill(proc.pid, signal.SIGKILL)  # the controller only
    proc.wait(timeout=30)
    _ok(_smk(wd, "--unlock", overlay="overlay-noise.yaml"))
    r = _ok(_smk(wd, overlay="overlay-noise.yaml"))
    os.kill(orphan, signal.SIGCONT)
    wait_for(lambda: not Path(f"/proc/{orphan}").exists() or
             Path(f"/proc/{orphan}/stat").read_text().split(") ")[1].startswith("Z"), 600, interval=0.2,
             what="the orphan to finish")
    time.sleep(1)
    again = _smk(wd, "-n", overlay="overlay-noise.yaml")
    return wd, target, r, again


def test_lost_batches_are_rebuilt_and_stale_writers_lose(done):
    # cheap checks on the finished run first
    import yaml

    d = float(yaml.safe_load((REPO / "tests/config/ci.yaml").read_text())["simulate"]["duration"])
    assert d == int(d)
    (done / "overlay-int.yaml").write_text(OVERLAY + f"simulate:\n  duration: {int(d)}\n")  # ci.yaml: a float
    r = _smk(done, "-n", overlay="overlay-int.yaml")
    assert "Nothing to be done" in r.stdout, f"duration {int(d)} vs {d} must rerun nothing:\n" + r.stdout[-3000:]
    assert compare_contents(done / STORE, done / STORE) == []
    for f in NULLS + SIMS + HOPF:
        with h5py.File(done / f) as h:
            assert "job_identity" in h.attrs and "job_shared" in h.attrs, f

    (wd, gone, before, rerun, again), (fwd, ftarget, fmissing, frerun), (owd, otarget, orerun, oagain) = parallel(
        lambda: _deleted_batches_rebuilt(done), lambda: _killed_forced_rerun(done), lambda: _orphan(done))

    # 1. deleted batches: rebuilt, nothing else rebuilt, then nothing to do
    for f in gone:
        validate_h5(wd / f)
    stats = job_stats(rerun.stdout)
    assert stats.get("generate_nulls") == 1, stats
    # the deleted simulation + the rebuilt null batch's simulation for each model the CI config runs
    # (wilson_cowan and the BOLD-scale hopf model); the deleted Hopf sweep + the rebuilt batch's sweep
    assert stats.get("simulate_batch") == 1 + len(MODELS) and stats.get("hopf_sweep") == 2, stats
    rebuilt_downstream = {SIMS[2], HOPF[2]}  # made from the rebuilt null batch 0001
    assert {f: t for f, t in _mtimes(wd, before).items() if f not in rebuilt_downstream} == \
        {f: t for f, t in before.items() if f not in rebuilt_downstream}, "a batch that was there was rebuilt"
    assert "Nothing to be done" in again.stdout, again.stdout[-3000:]

    # 2. a killed forced rerun: the batch was gone after the kill, the plain rerun rebuilt it
    assert fmissing, "the forced rerun deletes the old batch before its job runs"
    validate_h5(fwd / ftarget, "simulation")
    assert job_stats(frerun.stdout).get("simulate_batch") == 1, frerun.stdout[-3000:]

    # 3. the orphan did not replace the newer batch: every batch and the store at noise 0.02
    assert orerun.returncode == 0
    for f in SIMS:
        with h5py.File(owd / f) as h:
            assert json.loads(h.attrs["config"])["noise"] == 0.02, f"{f}: replaced by the stale orphan"
    validate_many([owd / f for f in SIMS])
    # the orphan's log handler may point at a log file the rerun replaced; its traceback also goes
    # to the killed controller's output, which it inherited
    logs = "".join(p.read_text() for p in (owd / "logs/simulate_batch").rglob("*.log"))
    logs += "".join(p.read_text() for p in owd.parent.glob("orphan.controller-*.log"))
    assert "not replaced: it was made by a job started later" in logs, "the orphan must say why it stopped"
    assert "Nothing to be done" in oagain.stdout, oagain.stdout[-3000:]
