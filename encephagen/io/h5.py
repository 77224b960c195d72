"""The one output contract for every HDF5 file encephagen writes.

Contract
--------
1. A file is written under a temporary name in the same directory
   (``<name>.tmp-<pid>-<random>``), never at its final path.
2. Root attributes ``encephagen_kind`` (what the file holds), ``encephagen_schema``
   (version of that kind's layout) and ``provenance`` (JSON: package versions, host,
   device, git commit, seeds, config hash ...) are written; then the data.
3. The attribute ``complete = True`` is written LAST, the file is flushed and closed,
   fsync'ed, and ``os.replace``'d onto the final path (atomic on POSIX).

So the final path holds either a whole file or nothing (or the previous whole file).
A writer killed after flushing chunks leaves only a stray temporary, which readers
never look at and :func:`clean_stale_temporaries` removes.

Every consumer opens files through :func:`open_validated` (or calls :func:`validate_h5`)
which checks the completion attribute, the kind, the schema's required datasets and
their shapes, and names the file in every error.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import h5py
import numpy as np

from encephagen.io.provenance import provenance as _provenance

SCHEMA_VERSION = 1
TMP_MARK = ".tmp-"


class OutputError(RuntimeError):
    """An HDF5 output is missing, partial, foreign or malformed. The message names the file."""


@dataclass(frozen=True)
class Kind:
    """Layout of one kind of file: required root datasets and attributes.

    ``datasets`` maps a dataset path to its number of dimensions (or None = any).
    ``check`` is an optional extra callable(h5py.File) -> list[str] of problems.
    """

    name: str
    datasets: Mapping[str, int | None] = field(default_factory=dict)
    attrs: Sequence[str] = ()
    check: Callable[[h5py.File], list[str]] | None = None


_KINDS: dict[str, Kind] = {}


def register_kind(kind: Kind) -> Kind:
    """Register (or re-register, idempotently) a file kind and its required layout."""
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown HDF5 file kind {name!r}; registered: {sorted(_KINDS)}") from None


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


class _Abort(BaseException):
    """Raised inside an atomic write when SIGTERM arrives, so the write aborts cleanly."""


@contextlib.contextmanager
def _sigterm_aborts() -> Iterator[None]:
    """Turn SIGTERM (SLURM's cancel/timeout signal) into an exception while writing.

    Only installed in the main thread; elsewhere the default handling stays.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _handler(signum, frame):  # noqa: ARG001
        raise _Abort(f"signal {signum} received during an atomic HDF5 write")

    try:
        old = signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not allowed here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def atomic_h5(
    path: str | os.PathLike,
    kind: str,
    provenance: Mapping | None = None,
    attrs: Mapping | None = None,
) -> Iterator[h5py.File]:
    """Write an HDF5 file under the output contract.

    >>> with atomic_h5("out.h5", kind="simulation", provenance={"seeds": [1, 2]}) as f:
    ...     f["x"] = np.arange(3)

    On any exception (or SIGTERM) the temporary is deleted and the final path is
    untouched. ``provenance`` is merged into the standard provenance record.
    """
    get_kind(kind)  # unknown kinds are a programming error: fail before writing
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    prov = _provenance(extra=provenance)
    try:
        with _sigterm_aborts():
            with h5py.File(tmp, "w", track_order=True) as f:
                f.attrs["encephagen_kind"] = kind
                f.attrs["encephagen_schema"] = SCHEMA_VERSION
                f.attrs["provenance"] = json.dumps(prov, sort_keys=True, default=_json_default)
                for k, v in (attrs or {}).items():
                    f.attrs[k] = v
                yield f
                f.attrs["complete"] = True  # last
                f.flush()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, _Abort):
            raise SystemExit(143) from None
        raise


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def validate_h5(path: str | os.PathLike, kind: str | None = None) -> None:
    """Raise :class:`OutputError` naming ``path`` unless it is a complete file of ``kind``."""
    path = Path(path)
    if not path.exists():
        raise OutputError(f"{path}: missing")
    if path.stat().st_size == 0:
        raise OutputError(f"{path}: zero-length file (a writer died or a job wrote nothing)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise OutputError(f"{path}: not a readable HDF5 file (truncated or garbage): {exc}") from None
    with f:
        problems = _problems(f, kind)
    if problems:
        raise OutputError(f"{path}: " + "; ".join(problems))


def _problems(f: h5py.File, kind: str | None) -> list[str]:
    if "encephagen_kind" not in f.attrs:
        return ["foreign file: no 'encephagen_kind' attribute (not written by encephagen)"]
    if not bool(f.attrs.get("complete", False)):
        return ["incomplete: the 'complete' attribute is missing (the writer was interrupted)"]
    found = f.attrs["encephagen_kind"]
    found = found.decode() if isinstance(found, bytes) else str(found)
    if kind is not None and found != kind:
        return [f"wrong kind: expected {kind!r}, found {found!r}"]
    schema = int(f.attrs.get("encephagen_schema", -1))
    if schema != SCHEMA_VERSION:
        return [f"schema version {schema}, this encephagen reads {SCHEMA_VERSION}"]
    spec = _KINDS.get(found)
    if spec is None:
        return []
    problems = []
    for name, ndim in spec.datasets.items():
        if name not in f:
            problems.append(f"dataset {name!r} missing")
        elif ndim is not None and f[name].ndim != ndim:
            problems.append(f"dataset {name!r} has {f[name].ndim} dimensions, expected {ndim}")
    for a in spec.attrs:
        if a not in f.attrs:
            problems.append(f"attribute {a!r} missing")
    if not problems and spec.check is not None:
        problems.extend(spec.check(f))
    return problems


@contextlib.contextmanager
def open_validated(path: str | os.PathLike, kind: str | None = None) -> Iterator[h5py.File]:
    """Open a validated file read-only (raises :class:`OutputError` naming it otherwise)."""
    validate_h5(path, kind)
    with h5py.File(path, "r") as f:
        yield f


def read_provenance(f: h5py.File) -> dict:
    raw = f.attrs.get("provenance", "{}")
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def validate_many(paths: Sequence[str | os.PathLike], kind: str | None = None) -> None:
    """Validate every file; raise one :class:`OutputError` listing every bad file."""
    bad = []
    for p in paths:
        try:
            validate_h5(p, kind)
        except OutputError as exc:
            bad.append(str(exc))
    if bad:
        raise OutputError(f"{len(bad)} of {len(paths)} inputs rejected:\n  " + "\n  ".join(bad))


def clean_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete temporaries left by killed writers below ``directory``; return what was removed."""
    removed = []
    for p in Path(directory).rglob(f"*{TMP_MARK}*"):
        if p.is_file():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def write_array(group: h5py.Group, name: str, data, compress: bool | None = None, **kw) -> h5py.Dataset:
    """Create a dataset, chunked + gzip-compressed when it is large enough to matter."""
    arr = np.asarray(data)
    if compress is None:
        compress = arr.size >= 4096 and arr.dtype.kind in "fiub"
    if compress:
        kw.setdefault("compression", "gzip")
        kw.setdefault("compression_opts", 4)
        kw.setdefault("shuffle", True)
        kw.setdefault("chunks", True)
    if arr.dtype.kind == "U":
        arr = arr.astype(h5py.string_dtype())
        return group.create_dataset(name, data=arr, dtype=h5py.string_dtype(), **kw)
    return group.create_dataset(name, data=arr, **kw)


def read_strings(ds: h5py.Dataset) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]
