"""Fault injection at the file level, no Snakemake: writers SIGKILLed at every stage of an
atomic write and at seeded random moments, partial files that open at full shape, and
truncated / zero-length / garbage / foreign files handed to a consumer.
RELIABILITY.md plan cases 3, 4, 5 (docs/reliability.md); the recovery helpers.
"""
from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from encephagen.io import (OutputError, atomic_h5, clean_stale_temporaries, validate_h5, validate_many)
from encephagen.io.recovery import (compare_contents, content_digest, find_temporaries, require_outputs,
                                    snakemake_leftovers, survey_outputs)
from fault_workflows.harness import TOYJOBS
from fault_workflows import toyjobs  # registers the toy kinds in this process  # noqa: F401


def _toy(*args, check=None):
    r = subprocess.run([sys.executable, str(TOYJOBS), *map(str, args)], capture_output=True, text=True)
    if check is not None:
        assert r.returncode == check, r.stderr
    return r


def _consume(out, expected: dict, *extra):
    """The toy aggregate (a consumer that validates every input) on label -> path."""
    return _toy("aggregate", "--out", out, *extra, "--expect", *[f"{k}={v}" for k, v in expected.items()])


# ---------------------------------------------------------------- case 3
def test_flushed_then_killed_writer_is_rejected(tmp_path):
    """Case 3: a plain-h5py writer that flushed chunks and was SIGKILLed leaves a file that
    OPENS, at full shape, with half its data silently zero. The validator rejects it naming
    the file and 'incomplete'; the consumer refuses to aggregate it."""
    bad = tmp_path / "run-1.h5"
    r = _toy("naive", "--run", 1, "--out", bad, "--chunks", 4, "--kill-after-chunk", 1)
    assert r.returncode == -signal.SIGKILL
    with h5py.File(bad, "r") as f:  # the hazard: it looks fine to a naive reader
        x = f["x"][()]
        assert x.shape == (4 * 64, 32)
        assert np.all(x[128:] == 0) and np.all(x[:128] != 0)
    with pytest.raises(OutputError, match="incomplete") as ei:
        validate_h5(bad, "toy_run")
    assert str(bad) in str(ei.value)
    good = tmp_path / "run-0.h5"
    _toy("simulate", "--run", 0, "--out", good, check=0)
    agg = tmp_path / "agg.h5"
    r = _consume(agg, {"run-0": good, "run-1": bad})
    assert r.returncode != 0 and not agg.exists()
    assert f"run-1: {bad}: incomplete" in r.stderr and "run-0:" not in r.stderr.split("unusable")[-1]


def test_atomic_writer_killed_after_flush_leaves_only_a_rejected_temporary(tmp_path):
    """Case 3 with the contract: the same kill leaves nothing at the final path; the
    temporary (even if someone renames it into place) is rejected as incomplete."""
    out = tmp_path / "run-1.h5"
    r = _toy("simulate", "--run", 1, "--out", out, "--chunks", 4, "--kill-after-chunk", 1)
    assert r.returncode == -signal.SIGKILL
    assert not out.exists()
    (tmp,) = find_temporaries(tmp_path)
    assert survey_outputs({"run-1": out}).missing == ("run-1",)  # readers never look at temporaries
    shutil.copy(tmp, out)  # a careless manual "recovery"
    with pytest.raises(OutputError, match=f"{out}: incomplete"):
        validate_h5(out)


# ---------------------------------------------------------------- case 4
_STAGE_CHILD = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from encephagen.io import atomic_h5, register_kind, Kind
    register_kind(Kind("toy_run", datasets={"x": 2, "seed": 0}, attrs=("run",)))
    path, stage = sys.argv[1], sys.argv[2]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    real_replace = os.replace
    if stage == "before_replace":
        os.replace = lambda a, b: die()
    if stage == "after_replace":
        os.replace = lambda a, b: (real_replace(a, b), die())
    with atomic_h5(path, "toy_run", attrs={"run": 1}) as f:
        f["seed"] = np.int64(2)
        d = f.create_dataset("x", shape=(512, 32), chunks=(64, 32), dtype="f8")
        if stage == "after_create":
            die()
        d[:256] = 2.0
        f.flush()
        if stage == "after_flush":
            die()
        d[256:] = 2.0
    """)


def _old_file(path):
    with atomic_h5(path, "toy_run", attrs={"run": 1}) as f:
        f["seed"] = np.int64(1)
        f["x"] = np.ones((512, 32))


@pytest.mark.parametrize("earlier", [False, True], ids=["no-earlier-file", "earlier-complete-file"])
def test_sigkill_at_each_stage_of_an_atomic_write(tmp_path, earlier):
    """Case 4: SIGKILL after creating a dataset, after flushing half the data, just before
    and just after os.replace -> the final path holds the earlier complete file (or nothing)
    until the replace, the new complete file after it, never a partial file. Stray
    temporaries are ignored by readers and removed by clean_stale_temporaries."""
    expect_tmp = 0
    for stage in ("after_create", "after_flush", "before_replace", "after_replace"):
        out = tmp_path / stage / "run-1.h5"
        out.parent.mkdir()
        if earlier:
            _old_file(out)
        r = subprocess.run([sys.executable, "-c", _STAGE_CHILD, str(out), stage])
        assert r.returncode == -signal.SIGKILL, stage
        if stage == "after_replace":
            validate_h5(out, "toy_run")
            with h5py.File(out, "r") as f:
                assert int(f["seed"][()]) == 2 and np.all(f["x"][()] == 2.0)
        elif earlier:
            validate_h5(out, "toy_run")
            with h5py.File(out, "r") as f:
                assert int(f["seed"][()]) == 1, f"{stage}: the earlier file must be intact"
        else:
            assert not out.exists(), stage
        stray = find_temporaries(out.parent)
        assert len(stray) == (0 if stage == "after_replace" else 1), (stage, stray)
        expect_tmp += len(stray)
        # readers ignore temporaries: a directory listing of outputs never shows them
        assert all(p.suffix == ".h5" for p in out.parent.glob("*.h5"))
        validate_many(list(out.parent.glob("*.h5")), "toy_run")
    assert len(clean_stale_temporaries(tmp_path)) == expect_tmp
    assert not find_temporaries(tmp_path)


def test_sigkill_at_random_moments_old_or_new_never_partial(tmp_path):
    """Case 4 at seeded random moments (killed from outside, during a slow chunked write over
    an earlier complete file): the final path always validates and holds exactly the old
    or the new contents."""
    out = tmp_path / "run-1.h5"
    new_ref = tmp_path / "ref" / "run-1.h5"
    _toy("simulate", "--run", 1, "--out", new_ref, "--chunks", 6, check=0)
    old = tmp_path / "old.h5"
    _toy("simulate", "--run", 1, "--master-seed", 99, "--out", old, "--chunks", 6, check=0)
    d_old, d_new = content_digest(old), content_digest(new_ref)
    assert d_old != d_new
    rng = random.Random(8)
    seen = set()
    for _ in range(5):
        shutil.copy(old, out)
        p = subprocess.Popen([sys.executable, str(TOYJOBS), "simulate", "--run", "1", "--out", str(out),
                              "--chunks", "6", "--sleep", "0.05"], stdout=subprocess.PIPE, text=True)
        p.stdout.readline()  # the writer has started (imports done)
        time.sleep(rng.uniform(0.0, 0.45))
        p.kill()
        p.wait()
        validate_h5(out, "toy_run")
        d = content_digest(out)
        assert d in (d_old, d_new)
        seen.add("new" if d == d_new else "old")
    assert "old" in seen, "at least one kill should have hit mid-write"
    clean_stale_temporaries(tmp_path)
    assert not find_temporaries(tmp_path)


def test_find_temporaries_age_filter(tmp_path):
    """A cleanup during a live run must spare a writer's fresh temporary (older_than_s)."""
    fresh = tmp_path / "a.h5.tmp-1-abcd"
    old = tmp_path / "b.h5.tmp-2-abcd"
    fresh.write_bytes(b"x")
    old.write_bytes(b"x")
    t = time.time() - 3600
    os.utime(old, (t, t))
    assert find_temporaries(tmp_path) == [fresh, old]
    assert find_temporaries(tmp_path, older_than_s=600) == [old]


# ---------------------------------------------------------------- case 5
def test_truncated_empty_garbage_foreign_each_named_by_the_consumer(tmp_path):
    """Case 5: truncated (at several points), zero-length, garbage and foreign files given to
    the consumer -> one error listing every bad file by name and why; nothing written."""
    good = tmp_path / "run-0.h5"
    _toy("simulate", "--run", 0, "--out", good, check=0)
    data = good.read_bytes()
    bad = {}
    for i, frac in enumerate((0.999, 0.5, 0.02)):
        p = tmp_path / f"run-{i + 1}.h5"
        p.write_bytes(data[: int(len(data) * frac)])
        bad[f"run-{i + 1}"] = (p, "not a readable HDF5")
    empty = tmp_path / "run-4.h5"
    empty.write_bytes(b"")
    bad["run-4"] = (empty, "zero-length")
    garbage = tmp_path / "run-5.h5"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    bad["run-5"] = (garbage, "not a readable HDF5")
    foreign = tmp_path / "run-6.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros((4, 4))
    bad["run-6"] = (foreign, "foreign")
    wrong = tmp_path / "run-7.h5"
    _toy("aggregate", "--out", wrong, "--expect", f"run-0={good}", check=0)  # another kind
    bad["run-7"] = (wrong, "wrong kind")
    expected = {"run-0": good, **{k: v[0] for k, v in bad.items()}}
    agg = tmp_path / "agg.h5"
    r = _consume(agg, expected)
    assert r.returncode != 0 and not agg.exists()
    assert "7 of 8 unusable" in r.stderr
    for label, (path, why) in bad.items():
        assert f"{label}: {path}: {why}" in r.stderr, (label, r.stderr)
    # the library form: one OutputError naming each
    with pytest.raises(OutputError) as ei:
        require_outputs(expected, "toy_run")
    for path, why in bad.values():
        assert f"{path}: {why}" in str(ei.value)


# ---------------------------------------------------------------- recovery helpers
def test_survey_records_exactly_what_is_absent(tmp_path):
    paths = {f"run-{i}": tmp_path / f"run-{i}.h5" for i in range(4)}
    for i in (0, 2):
        _toy("simulate", "--run", i, "--out", paths[f"run-{i}"], check=0)
    paths["run-3"].write_bytes(b"")
    s = survey_outputs(paths, "toy_run")
    assert s.valid == ("run-0", "run-2") and s.missing == ("run-1",) and list(s.invalid) == ["run-3"]
    assert s.absent == ("run-1", "run-3") and not s.complete
    attrs = s.as_attrs()
    assert attrs["n_expected"] == 4 and attrs["n_used"] == 2
    assert json.loads(attrs["missing"]) == ["run-1"] and "zero-length" in json.loads(attrs["invalid"])["run-3"]
    with pytest.raises(OutputError, match="2 of 4 unusable"):
        s.require()
    assert survey_outputs([paths["run-0"]]).require() == [paths["run-0"]]


def test_content_digest_ignores_provenance_only(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.h5", "b.h5", "c.h5"))
    for p in (a, b):
        _toy("simulate", "--run", 3, "--out", p, check=0)
    _toy("simulate", "--run", 4, "--out", c, check=0)
    assert compare_contents(a, b) == []
    assert set(compare_contents(a, c)) >= {"x", "seed", "/@run"}
    assert "/@provenance" in content_digest(a, ignore_attrs=())


def test_snakemake_leftovers_decodes_markers(tmp_path):
    inc = tmp_path / ".snakemake" / "incomplete"
    inc.mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks").mkdir()
    (tmp_path / ".snakemake" / "locks" / "0.output.lock").write_text("x")
    name = "results/nulls/atlas-tvb96/null-degree/batch-0000.h5"
    (inc / base64.urlsafe_b64encode(name.encode()).decode()).write_text("{}")
    left = snakemake_leftovers(tmp_path)
    assert left["incomplete"] == [name] and len(left["locks"]) == 1
    assert snakemake_leftovers(tmp_path / "nowhere") == {"locks": [], "incomplete": []}
