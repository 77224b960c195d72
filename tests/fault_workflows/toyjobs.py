"""Jobs of the fault-injection toy workflows (tests/fault_workflows/*/Snakefile).

A stand-in for the real pipeline with the same contracts: every output written through
:func:`encephagen.io.atomic_h5`, randomness from :func:`encephagen.seeds.derive_seed`
(master seed, run id), and a consumer that validates every input before reading.
The writers can be made slow (chunks flushed one by one, with a sleep in between) so
that a test can kill them mid-write, and can be made to misbehave on purpose.

    python toyjobs.py simulate --run 3 --out r.h5 [--chunks 4 --sleep 0.2 --fail-runs 3
                               --kill-after-chunk 1 --gate FILE]
    python toyjobs.py naive    --run 3 --out r.h5 ...   (plain h5py, no contract: for contrast)
    python toyjobs.py aggregate --out agg.h5 [--allow-missing] --expect run-0=r0.h5 ...
    python toyjobs.py empty|short|delayed --out r.h5 [--delay 3]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from encephagen.io import Kind, atomic_h5, open_validated, register_kind, write_array
from encephagen.io.recovery import survey_outputs
from encephagen.seeds import derive_seed, numpy_rng

RUN_KIND = register_kind(Kind("toy_run", datasets={"x": 2, "seed": 0}, attrs=("run",)))
AGG_KIND = register_kind(Kind("toy_aggregate", datasets={"mean": 1, "runs": 1}))

N_ROWS = 64  # rows per chunk
N_COLS = 32


def _chunks(run: int, master: int, n_chunks: int):
    seed = derive_seed(master, "toy", run)
    rng = numpy_rng(seed)
    return seed, [rng.standard_normal((N_ROWS, N_COLS)) for _ in range(n_chunks)]


def simulate(a) -> int:
    if a.run in a.fail_runs:
        print(f"run {a.run}: failing on purpose", file=sys.stderr)
        return 3
    seed, chunks = _chunks(a.run, a.master_seed, a.chunks)
    with atomic_h5(a.out, "toy_run", provenance={"seed": seed, "run": a.run},
                   attrs={"run": a.run}) as f:
        f["seed"] = np.int64(seed)
        d = f.create_dataset("x", shape=(a.chunks * N_ROWS, N_COLS), dtype="f8",
                             chunks=(N_ROWS, N_COLS))
        for i, c in enumerate(chunks):
            d[i * N_ROWS:(i + 1) * N_ROWS] = c
            f.flush()  # the data of finished chunks is on disk: a kill now leaves a readable-looking temp
            _after_chunk(a, i)
    return 0


def _after_chunk(a, i: int) -> None:
    if a.kill_after_chunk is not None and i == a.kill_after_chunk:
        os.kill(os.getpid(), signal.SIGKILL)
    if i == 0 and a.gate:
        t0 = time.monotonic()
        while not Path(a.gate).exists():  # hold the job open until the test says so
            if time.monotonic() - t0 > 300:
                raise SystemExit(f"gate {a.gate} never opened")
            time.sleep(0.05)
    time.sleep(a.sleep)


def naive(a) -> int:
    """Writes at the final path with plain h5py (no temp name, no 'complete' attribute)."""
    seed, chunks = _chunks(a.run, a.master_seed, a.chunks)
    with h5py.File(a.out, "w") as f:
        f.attrs["encephagen_kind"] = "toy_run"
        f.attrs["encephagen_schema"] = 1
        f.attrs["run"] = a.run
        f["seed"] = np.int64(seed)
        d = f.create_dataset("x", shape=(a.chunks * N_ROWS, N_COLS), dtype="f8", chunks=(N_ROWS, N_COLS))
        for i, c in enumerate(chunks):
            d[i * N_ROWS:(i + 1) * N_ROWS] = c
            f.flush()
            _after_chunk(a, i)
        f.attrs["complete"] = True
    return 0


def aggregate(a) -> int:
    expected = dict(e.split("=", 1) for e in a.expect)
    survey = survey_outputs(expected, kind="toy_run")
    if not a.allow_missing:
        survey.require("toy runs")  # OutputError naming every missing or bad file
    elif not survey.valid:
        raise SystemExit(f"no usable toy runs at all:\n  {survey.report()}")
    rows = []
    for label in survey.valid:
        with open_validated(survey.paths[label], "toy_run") as f:
            rows.append(f["x"][()].mean(axis=0))
    with atomic_h5(a.out, "toy_aggregate", attrs=survey.as_attrs()) as f:
        write_array(f, "mean", np.mean(rows, axis=0))
        write_array(f, "runs", np.array(list(survey.valid)))
    if not survey.complete:
        print(f"WARNING partial aggregate, recorded in {a.out}:\n  {survey.report()}", file=sys.stderr)
    return 0


def empty(a) -> int:
    Path(a.out).write_bytes(b"")
    return 0


def short(a) -> int:
    """A whole file cut to half its size: exits 0, the output exists and is non-empty."""
    tmp = Path(str(a.out) + ".whole")
    with atomic_h5(tmp, "toy_run", attrs={"run": a.run}) as f:
        f["seed"] = np.int64(0)
        f["x"] = np.zeros((N_ROWS * 8, N_COLS))
    data = tmp.read_bytes()
    tmp.unlink()
    Path(a.out).write_bytes(data[: len(data) // 2])
    return 0


def delayed(a) -> int:
    """Exit 0 at once; a detached helper writes the (valid) output ``--delay`` seconds later,
    like a file that becomes visible late on a shared filesystem."""
    code = ("import sys, time, runpy; time.sleep(%r); sys.argv=%r; runpy.run_path(%r, run_name='__main__')"
            % (a.delay, [__file__, "simulate", "--run", str(a.run), "--out", str(a.out), "--chunks", "1"],
               __file__))
    subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["simulate", "naive", "aggregate", "empty", "short", "delayed"])
    p.add_argument("--out", required=True)
    p.add_argument("--run", type=int, default=0)
    p.add_argument("--master-seed", type=int, default=7)
    p.add_argument("--chunks", type=int, default=4)
    p.add_argument("--sleep", type=float, default=0.0)
    p.add_argument("--fail-runs", type=int, nargs="*", default=[])
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--kill-after-chunk", type=int, default=None)
    p.add_argument("--gate", default="")
    p.add_argument("--allow-missing", action="store_true")
    p.add_argument("--expect", nargs="*", default=[])
    a = p.parse_args(argv)
    print(f"pid {os.getpid()} {a.cmd} {a.out}", flush=True)
    return globals()[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
