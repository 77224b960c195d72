"""Job identity: which job (rule, parameters, inputs) must produce an output, so that a stale
writer cannot win and consumers can see that sibling inputs were made with the same parameters.

A workflow script declares its job before the work starts (:func:`declare_job`). Every HDF5
file that job then writes through :func:`encephagen.io.atomic_h5` carries

* ``job_rule``: the rule name;
* ``job_shared``: canonical JSON of the parameters every sibling of this file must share (the
  rule's parameters that do not depend on the wildcards: ``simulate``, ``master_seed`` ...);
* ``job_identity``: sha256 of the shared parameters, the wildcards and the inputs' identities;
* ``job_started``: when the job's process started (seconds since the epoch).

The writer refuses to replace an existing file that a job with ANOTHER identity started LATER
(an orphan of a killed controller finishing after the rerun with new parameters): it raises
:class:`StaleWriterError` and leaves the newer file in place. Consumers compare ``job_shared``
across the files they read together (:func:`sibling_problems`, called by ``validate_many``) and
name the file whose parameters differ.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from encephagen.io.errors import OutputError

_IMPORTED_AT = time.time()
_JOBS: dict[str, dict] = {}
#: where a deterministic failure of a job is recorded (relative to the working directory)
MARKER_DIR = ".snakemake/encephagen-deterministic"


def canonical(obj: Any) -> Any:
    """JSON-ready form with sorted keys and numbers canonicalised: an integral float equals the
    int (3000 and 3000.0 give one identity), -0.0 is 0."""
    if isinstance(obj, Mapping):
        return {str(k): canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    try:
        import numpy as np

        if isinstance(obj, np.ndarray):
            return [canonical(v) for v in obj.tolist()]
        if isinstance(obj, np.generic):
            obj = obj.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj) and obj == int(obj) and abs(obj) < 2**53:
            return int(obj)
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def canonical_json(obj: Any) -> str:
    return json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"))


def identity_hash(obj: Any) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def process_start_time() -> float:
    """When this process started (Linux: /proc), else when this module was imported."""
    try:
        stat = Path("/proc/self/stat").read_text()
        ticks = int(stat[stat.rfind(")") + 2:].split()[19])
        btime = next(int(ln.split()[1]) for ln in Path("/proc/stat").read_text().splitlines()
                     if ln.startswith("btime "))
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return _IMPORTED_AT


def _input_identities(inputs: Iterable[str | os.PathLike]) -> dict[str, str]:
    """The job identity of every HDF5 input that has one (else its size and mtime_ns)."""
    out = {}
    for p in inputs:
        p = Path(p)
        try:
            st = p.stat()
        except OSError:
            continue
        ident = None
        if p.suffix == ".h5":
            try:
                import h5py

                with h5py.File(p, "r") as f:
                    v = f.attrs.get("job_identity")
                    ident = v.decode() if isinstance(v, bytes) else (str(v) if v is not None else None)
            except OSError:
                ident = None
        out[str(p)] = ident or f"size={st.st_size}"
    return out


def declare_job(outputs: Iterable[str | os.PathLike], *, rule: str, shared: Mapping,
                wildcards: Mapping | None = None, inputs: Iterable[str | os.PathLike] = (),
                started: float | None = None) -> dict:
    """Declare the job that must produce ``outputs`` (call at the start of a workflow script).

    ``shared``: the parameters every sibling output must share; ``wildcards``: what makes this
    output distinct; ``inputs``: identified by their own ``job_identity`` where they have one.
    """
    shared_json = canonical_json(shared)
    rec = {
        "job_rule": str(rule),
        "job_shared": shared_json,
        "job_identity": identity_hash({"rule": rule, "shared": json.loads(shared_json),
                                       "wildcards": dict(wildcards or {}),
                                       "inputs": _input_identities(inputs)}),
        "job_started": float(process_start_time() if started is None else started),
    }
    for o in outputs:
        _JOBS[str(Path(o).resolve())] = rec
    return rec


def job_for(path: str | os.PathLike) -> dict | None:
    return _JOBS.get(str(Path(path).resolve()))


def forget_jobs() -> None:
    _JOBS.clear()


def snakemake_job(smk, shared: Iterable[str], marker_dir: str | os.PathLike = MARKER_DIR) -> dict:
    """:func:`declare_job` from a Snakemake script's ``snakemake`` object (duck-typed; encephagen
    never imports snakemake): ``shared`` names the rule's params every sibling must share.

    Also the retry guard: a job whose attempt failed with a DETERMINISTIC error (bad input or
    parameters: the same inputs give the same error) is not run again on the profile's retries;
    the retry fails at once, repeating the first error (:func:`deterministic`)."""
    params = {k: _plain(smk.params[k]) for k in shared}
    rec = declare_job(list(smk.output), rule=smk.rule, shared=params, wildcards=dict(smk.wildcards),
                      inputs=list(smk.input))
    attempt = getattr(smk, "attempt", None)  # Snakemake 9 does not give scripts the attempt
    retry_guard(rec, None if attempt is None else int(attempt), marker_dir)
    return rec


# ------------------------------------------------------------------ deterministic errors


class DeterministicJobError(RuntimeError):
    """A retry of a job whose earlier attempt failed deterministically (not run again)."""


def deterministic(exc: BaseException) -> bool:
    """Errors that a retry with more memory or time cannot change: bad parameters or inputs
    (ValueError, KeyError, TypeError, an invalid/missing input file, a refused null family, a
    diverging simulation with the same seed). Not: MemoryError, OSError, other RuntimeErrors
    (e.g. CUDA out of memory), signals."""
    if isinstance(exc, (MemoryError, OSError)):
        return False
    if isinstance(exc, (ValueError, KeyError, TypeError, IndexError, FloatingPointError, OutputError,
                        DeterministicJobError)):
        return True
    return type(exc).__name__ in ("NullRefusal",)


def _run_started(lock_dir: Path) -> float | None:
    """When the controller of this run started: its lock files (Snakemake writes them at start)."""
    times = []
    for p in lock_dir.glob("*.lock"):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def retry_guard(rec: Mapping, attempt: int | None = None, marker_dir: str | os.PathLike = MARKER_DIR) -> None:
    """A retry (``attempt`` > 1, or where Snakemake does not tell scripts the attempt: a marker
    written after this run's controller started) of a job that failed deterministically with the
    same identity fails at once, repeating the first error. Otherwise arm a hook that records a
    deterministic failure of this attempt. A new run (new locks) runs the job again."""
    import sys

    marker = Path(marker_dir) / rec["job_identity"]
    if marker.exists():
        started = _run_started(Path(marker_dir).parent / "locks")
        same_run = (attempt > 1) if attempt is not None else (
            started is not None and marker.stat().st_mtime >= started)
        if same_run:
            raise DeterministicJobError(
                f"{rec['job_rule']}: retry not run: an earlier attempt failed with an error that a retry cannot "
                f"change (bad input or parameters); fix the cause and rerun:\n{marker.read_text()}")
        marker.unlink()
    previous = sys.excepthook

    def hook(typ, exc, tb):
        if deterministic(exc):
            try:
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(f"{typ.__name__}: {exc}")
            except OSError:
                pass
        previous(typ, exc, tb)

    sys.excepthook = hook


def _plain(v):
    if isinstance(v, Mapping):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: d}


def differences(a: Any, b: Any, limit: int = 6) -> str:
    """``key: a vs b`` for the (dotted) keys where two parameter records differ."""
    fa, fb = _flat(a), _flat(b)
    keys = sorted(k for k in set(fa) | set(fb) if fa.get(k, "<absent>") != fb.get(k, "<absent>"))
    out = [f"{k or '<value>'}={fa.get(k, '<absent>')!r} (siblings: {fb.get(k, '<absent>')!r})" for k in keys[:limit]]
    if len(keys) > limit:
        out.append(f"... {len(keys) - limit} more")
    return ", ".join(out)


def sibling_problems(records: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``records``: {file: {name: value}} of one group of siblings. Returns one problem per file
    whose values differ from the majority's, naming the file and the differing keys."""
    if len(records) < 2:
        return []
    problems = []
    names = sorted({n for r in records.values() for n in r})
    for name in names:
        vals = {p: r.get(name) for p, r in records.items() if name in r}
        if len(vals) < 2:
            continue
        keyed = {p: canonical_json(v) for p, v in vals.items()}
        counts: dict[str, int] = {}
        for k in keyed.values():
            counts[k] = counts.get(k, 0) + 1
        if len(counts) == 1:
            continue
        ref = max(counts, key=lambda k: (counts[k], -list(keyed.values()).index(k)))
        ref_file = next(p for p, k in keyed.items() if k == ref)
        for p, k in keyed.items():
            if k != ref:
                problems.append(f"{p}: made with different {name} than its siblings (e.g. {ref_file}): "
                                f"{differences(json.loads(k), json.loads(ref))} -- a stale file from "
                                f"another run? delete it and rerun")
    return problems
