"""The work done by the SLURM fault-injection workflows (tests/slurm_workflows/*/Snakefile).

Each execution appends one JSON line per event to a record file (``--record``), so a test can
count executions and see what each one was given by SLURM:

    {"event": "start"|"end", "key", "attempt", "job" (SLURM_JOB_ID), "restarts"
     (SLURM_RESTART_COUNT), "pid", "t" (time.time()), "slurm_mem_mb", "slurm_time_limit",
     "slurm_gres" (start only: what SLURM's own job record grants), "outcome" (end only:
     ok | failed | terminated)}

Outputs are written under the project's HDF5 contract (encephagen.io.atomic_h5): chunk by
chunk into a temporary, flushed after each chunk, 'complete' attribute last, os.replace.
A SIGTERM (scancel, time limit, requeue) aborts the write and leaves no file at the final path.

Modes
  work    write ``--chunks`` chunks, ``--sleep`` seconds apart; fail (exit 3) while attempt < --fail-until
  bad     validate the parameter ``--scale`` like real code does: a negative value is an error
          naming the config key (always fails with a bad config)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from encephagen.io import Kind, atomic_h5, register_kind

KIND = register_kind(Kind("slurm_fault_test", datasets={"values": 1, "chunk_written_at": 1},
                          attrs=("key",)))


def expected_values(key: str, chunks: int, per_chunk: int = 64) -> np.ndarray:
    """The deterministic content of a finished output (same on every host, attempt, retry)."""
    rng = np.random.default_rng(sum(key.encode()) * 7919 + chunks)
    return rng.standard_normal(chunks * per_chunk)


def slurm_job_info() -> dict:
    """What SLURM granted this job (from its own record): memory (MB), time limit, GPU request."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return {}
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    rec = dict(tok.split("=", 1) for tok in out.split() if "=" in tok)
    info = {"slurm_time_limit": rec.get("TimeLimit"),
            "slurm_gres": rec.get("TresPerNode") or rec.get("TresPerJob")}
    v = rec.get("MinMemoryNode", "")
    if v:
        mult = {"M": 1, "G": 1024, "T": 1024 * 1024}.get(v[-1:], 1)
        info["slurm_mem_mb"] = int(float(v.rstrip("MGT")) * mult)
    return info


def _record(path: Path, **event) -> None:
    event.update(job=os.environ.get("SLURM_JOB_ID"), restarts=int(os.environ.get("SLURM_RESTART_COUNT", 0) or 0),
                 pid=os.getpid(), t=time.time())
    line = json.dumps(event, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one write() on O_APPEND: lines never interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["work", "bad"])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--key", required=True)
    ap.add_argument("--record", required=True, type=Path)
    ap.add_argument("--attempt", type=int, default=1)
    ap.add_argument("--chunks", type=int, default=4)
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds after each chunk")
    ap.add_argument("--fail-until", type=int, default=1, help="fail while attempt < this")
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args(argv)

    base = dict(key=a.key, attempt=a.attempt)
    _record(a.record, event="start", **slurm_job_info(), **base)
    print(f"{a.key}: attempt {a.attempt}, SLURM job {os.environ.get('SLURM_JOB_ID', '-')}", flush=True)

    if a.mode == "bad":
        if a.scale <= 0:
            _record(a.record, event="end", outcome="failed", **base)
            print(f"ERROR: config key 'bad.scale' must be > 0, got {a.scale}", file=sys.stderr, flush=True)
            return 2
    if a.attempt < a.fail_until:
        _record(a.record, event="end", outcome="failed", **base)
        print(f"ERROR: {a.key} fails on attempt {a.attempt} (succeeds from attempt {a.fail_until})",
              file=sys.stderr, flush=True)
        return 3

    values = expected_values(a.key, a.chunks)
    per = values.size // a.chunks
    try:
        with atomic_h5(a.out, KIND.name, provenance={"key": a.key, "attempt": a.attempt},
                       attrs={"key": a.key}) as f:
            ds = f.create_dataset("values", shape=values.shape, dtype=values.dtype, chunks=(per,))
            stamps = f.create_dataset("chunk_written_at", shape=(a.chunks,), dtype="f8")
            for c in range(a.chunks):
                ds[c * per:(c + 1) * per] = values[c * per:(c + 1) * per]
                stamps[c] = 0.0  # times would differ between runs; the content must not
                f.flush()
                print(f"{a.key}: chunk {c + 1}/{a.chunks} flushed", flush=True)
                if a.sleep:
                    time.sleep(a.sleep)
    except SystemExit as exc:  # atomic_h5 turns SIGTERM into SystemExit(143) after removing the temporary
        _record(a.record, event="end", outcome="terminated", **base)
        print(f"{a.key}: terminated (SIGTERM) during the write; temporary removed", flush=True)
        raise exc
    _record(a.record, event="end", outcome="ok", **base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
