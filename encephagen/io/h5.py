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
import fnmatch
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

from encephagen.io.errors import OutputError
from encephagen.io.identity import job_for, sibling_problems
from encephagen.io.provenance import provenance as _provenance

SCHEMA_VERSION = 1
TMP_MARK = ".tmp-"


@dataclass(frozen=True)
class Dim:
    """A named dimension of a kind and its coordinate variable: a root dataset called ``name``
    made an HDF5 dimension scale (the netCDF-4 convention that h5netcdf / xarray read).

    ``values(f)`` gives the coordinate's values from what the writer wrote (a copy of the region
    labels, an index over an axis ...; None: the dimension cannot be made, e.g. its source is
    absent); without ``values`` the writer's own dataset ``name`` (e.g. ``G``) is the coordinate.
    """

    name: str
    values: Callable[[h5py.File], object] | None = None
    units: str | None = None


@dataclass(frozen=True)
class Kind:
    """Layout of one kind of file: required root datasets, groups and attributes.

    ``datasets`` maps a dataset path to its number of dimensions (or None = any).
    ``groups``: required groups. ``check`` is an optional extra callable(h5py.File) -> list[str]
    of problems. ``sibling_attrs``: root attributes that must be equal in every file a consumer
    reads together (:func:`validate_many`), e.g. a simulation's dt and duration.

    Labelled arrays (docs/outputs.md): ``dims`` are the kind's dimensions (:class:`Dim`, in the
    order they are made), ``variables`` map a dataset path (``fnmatch`` pattern, e.g.
    ``metrics/*``) to its dimension names (a tuple, or ``{ndim: tuple}`` when the number of
    dimensions varies), ``units`` map a dataset pattern to its ``units`` attribute. The atomic
    writer attaches them before the file is marked complete, so every file opens in xarray
    (``engine="h5netcdf"``) with named dimensions and coordinates.
    """

    name: str
    datasets: Mapping[str, int | None] = field(default_factory=dict)
    attrs: Sequence[str] = ()
    check: Callable[[h5py.File], list[str]] | None = None
    groups: Sequence[str] = ()
    sibling_attrs: Sequence[str] = ()
    dims: Sequence[Dim] = ()
    variables: Mapping[str, tuple | Mapping[int, tuple]] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    # one file kind, several layouts: the root attribute ``variant_attr`` (e.g. ``engine``) selects
    # the layout in ``variants`` (each a Kind named after its layout, e.g. "simulation")
    variant_attr: str = ""
    variants: Mapping[str, "Kind"] = field(default_factory=dict)


_KINDS: dict[str, Kind] = {}
_CHECKS: dict[str, dict[str, Callable]] = {}
# Every kind encephagen writes is declared once, in encephagen/io/kinds.py (imported by
# encephagen/io/__init__.py, so before any io use): validation never depends on which writer
# modules a consumer happened to import. A declared kind cannot be re-declared elsewhere.
_DECLARED: set[str] = set()
# layout name -> (file kind, variant): e.g. "simulation" -> ("runs", "neural_mass"). A layout name
# may be given where a kind is asked for (write, validate); files carry the kind and the variant.
_LAYOUTS: dict[str, tuple[str, str]] = {}


def _merge(old: Kind, new: Kind) -> Kind:
    attrs = list(old.attrs) + [a for a in new.attrs if a not in old.attrs]
    groups = list(old.groups) + [g for g in new.groups if g not in old.groups]
    sib = list(old.sibling_attrs) + [a for a in new.sibling_attrs if a not in old.sibling_attrs]
    dims = list(old.dims) + [d for d in new.dims if d.name not in {o.name for o in old.dims}]
    return Kind(name=new.name, datasets={**old.datasets, **new.datasets}, attrs=tuple(attrs), check=None,
                groups=tuple(groups), sibling_attrs=tuple(sib), dims=tuple(dims),
                variables={**old.variables, **new.variables}, units={**old.units, **new.units})


def register_kind(kind: Kind) -> Kind:
    """Register a file kind's required layout (encephagen's own kinds: encephagen/io/kinds.py;
    tests register toy kinds). Registering a name again ADDS to it (datasets, attributes, groups,
    checks); re-registering the same check is idempotent. A kind declared in encephagen/io/kinds.py
    may be re-registered only with nothing new (the declaration is returned): its layout lives in
    that one module."""
    old = _KINDS.get(kind.name)
    if kind.name in _DECLARED:
        extra = ([d for d in kind.datasets if d not in old.datasets] + [a for a in kind.attrs if a not in old.attrs]
                 + [g for g in kind.groups if g not in old.groups])
        if extra:
            raise ValueError(f"HDF5 file kind {kind.name!r} is declared in encephagen/io/kinds.py: declare "
                             f"{extra} there, not in {getattr(kind.check, '__module__', 'another module')}")
        return old
    merged = kind if old is None else _merge(old, kind)
    _KINDS[kind.name] = Kind(name=merged.name, datasets=dict(merged.datasets), attrs=tuple(merged.attrs),
                             check=None, groups=tuple(merged.groups), sibling_attrs=tuple(merged.sibling_attrs),
                             dims=tuple(merged.dims), variables=dict(merged.variables), units=dict(merged.units),
                             variant_attr=kind.variant_attr or (old.variant_attr if old else ""),
                             variants={**(old.variants if old else {}), **kind.variants})
    for value, layout in kind.variants.items():
        if layout.name in _KINDS:
            raise ValueError(f"layout {layout.name!r} of kind {kind.name!r} has the name of a file kind")
        _LAYOUTS[layout.name] = (kind.name, value)
    for k in (kind, *kind.variants.values()):
        if k.check is not None:
            key = f"{getattr(k.check, '__module__', '')}.{getattr(k.check, '__qualname__', repr(k.check))}"
            _CHECKS.setdefault(k.name, {})[key] = k.check
    return kind


def declare(kind: Kind) -> Kind:
    """Register one of encephagen's own kinds (only encephagen/io/kinds.py calls this)."""
    register_kind(kind)
    _DECLARED.add(kind.name)
    return _KINDS[kind.name]


def get_kind(name: str) -> Kind:
    """The registered layout of ``name`` (a file kind, or a layout of one, e.g. "simulation" of
    "runs"); an unknown kind is an error (KeyError naming the known ones)."""
    if name in _LAYOUTS:
        kind, value = _LAYOUTS[name]
        return _KINDS[kind].variants[value]
    kind = _KINDS.get(name)
    if kind is None:
        raise KeyError(f"unknown HDF5 file kind {name!r}; declared: {sorted(_KINDS)}, layouts "
                       f"{sorted(_LAYOUTS)} (encephagen/io/kinds.py)")
    return kind


def resolve_kind(name: str, attrs: Mapping | None = None) -> tuple[str, str, Kind]:
    """(file kind, variant, layout) of a kind or layout name; for a kind with variants the variant
    comes from ``attrs`` (e.g. ``{"engine": "lif"}``). Unknown names and variants are errors."""
    if name in _LAYOUTS:
        kind, value = _LAYOUTS[name]
        given = (attrs or {}).get(_KINDS[kind].variant_attr)
        if given is not None and str(given) != value:
            raise ValueError(f"layout {name!r} is {kind!r} with {_KINDS[kind].variant_attr}={value!r}, not {given!r}")
        return kind, value, _KINDS[kind].variants[value]
    spec = get_kind(name)
    if not spec.variants:
        return name, "", spec
    value = (attrs or {}).get(spec.variant_attr)
    if value is None or str(value) not in spec.variants:
        raise KeyError(f"kind {name!r} needs the attribute {spec.variant_attr!r}, one of {sorted(spec.variants)}; "
                       f"got {value!r}")
    return name, str(value), spec.variants[str(value)]


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
    # unknown kinds are a programming error: fail before writing
    kind, variant, spec = resolve_kind(kind, attrs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    prov = _provenance(extra=provenance)
    job = job_for(path)
    try:
        with _sigterm_aborts():
            with h5py.File(tmp, "w", track_order=True) as f:
                f.attrs["encephagen_kind"] = kind
                f.attrs["encephagen_schema"] = SCHEMA_VERSION
                f.attrs["provenance"] = json.dumps(prov, sort_keys=True, default=_json_default)
                if variant:
                    f.attrs[_KINDS[kind].variant_attr] = variant
                for k, v in (attrs or {}).items():
                    f.attrs[k] = v
                if job is not None:
                    for k, v in job.items():
                        f.attrs[k] = v
                yield f
                label_dimensions(f, spec)   # named dimensions, coordinates, units (the kind's declaration)
                f.attrs["complete"] = True  # last
                f.flush()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if job is not None:
                _refuse_if_stale(path, job)
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, _Abort):
            raise SystemExit(143) from None
        raise


class StaleWriterError(OutputError):
    """This writer's job is older than the one that made the file at the final path."""


def _refuse_if_stale(path: Path, job: Mapping) -> None:
    """Refuse to replace a file that a job with another identity started after this one."""
    if not path.exists():
        return
    try:
        with h5py.File(path, "r") as f:
            other_id = f.attrs.get("job_identity")
            other_started = f.attrs.get("job_started")
    except OSError:
        return  # not a readable file: replacing it is always right
    if other_id is None or other_started is None:
        return
    other_id = other_id.decode() if isinstance(other_id, bytes) else str(other_id)
    if other_id != job["job_identity"] and float(other_started) > float(job["job_started"]):
        raise StaleWriterError(
            f"{path}: not replaced: it was made by a job started later ({float(other_started):.3f} > "
            f"{float(job['job_started']):.3f}) with other parameters (identity {other_id[:12]} vs this "
            f"writer's {job['job_identity'][:12]}); this writer is stale (an orphan of an earlier run?)")


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
    """Raise :class:`OutputError` naming ``path`` unless it is a complete file of ``kind``.
    An unknown ``kind`` is a programming error (KeyError), as at write."""
    if kind is not None:
        get_kind(kind)   # a kind or a layout name ("simulation": kind "runs", engine "neural_mass")
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
    if found in _LAYOUTS:   # a layout written as its own kind by an older encephagen
        new, value = _LAYOUTS[found]
        return [f"written by an older encephagen as kind {found!r}; such files are now kind {new!r} with "
                f"{_KINDS[new].variant_attr} {value!r} (docs/outputs.md): re-run the step that made it"]
    want, want_variant = (_LAYOUTS[kind] if kind in _LAYOUTS else (kind, None)) if kind is not None else (None, None)
    if want is not None and found != want:
        return [f"wrong kind: expected {kind!r}, found {found!r}"]
    schema = int(f.attrs.get("encephagen_schema", -1))
    if schema != SCHEMA_VERSION:
        return [f"schema version {schema}, this encephagen reads {SCHEMA_VERSION}"]
    spec = _KINDS.get(found)
    if spec is None:
        return [f"unknown kind {found!r}: no layout is registered for it, so it cannot be validated"]
    if spec.variants:
        value = _attr_str(f, spec.variant_attr)
        if value not in spec.variants:
            return [f"kind {found!r}: {spec.variant_attr} {value!r} unknown (known: {sorted(spec.variants)})"]
        if want_variant is not None and value != want_variant:
            return [f"wrong {spec.variant_attr}: expected {want_variant!r} ({kind!r}), found {value!r}"]
        found, spec = spec.variants[value].name, spec.variants[value]
    problems = []
    for name, ndim in spec.datasets.items():
        if name not in f:
            problems.append(f"dataset {name!r} missing")
        elif not isinstance(f[name], h5py.Dataset):
            problems.append(f"{name!r} is not a dataset")
        elif ndim is not None and f[name].ndim != ndim:
            problems.append(f"dataset {name!r} has {f[name].ndim} dimensions, expected {ndim}")
    for g in spec.groups:
        if g not in f or not isinstance(f[g], h5py.Group):
            problems.append(f"group {g!r} missing")
    for a in spec.attrs:
        if a not in f.attrs:
            problems.append(f"attribute {a!r} missing")
    if not problems:
        for check in _CHECKS.get(found, {}).values():
            try:
                problems.extend(check(f))
            except (KeyError, ValueError, TypeError) as exc:  # a malformed file, never a bare KeyError
                problems.append(f"layout check failed: {type(exc).__name__}: {exc}")
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


def validate_many(paths: Sequence[str | os.PathLike], kind: str | None = None, siblings: bool = True) -> None:
    """Validate every file; raise one :class:`OutputError` listing every bad file.

    With ``siblings`` (the default) the files read together must also agree: files written by the
    same rule must share their ``job_shared`` parameters, and files of one kind its
    ``sibling_attrs`` (a simulation's model, dt, duration, monitors, config ...). Each file that
    differs from the majority is named with the keys that differ.
    """
    bad = []
    for p in paths:
        try:
            validate_h5(p, kind)
        except OutputError as exc:
            bad.append(str(exc))
    if not bad and siblings:
        bad = sibling_mismatches(paths)
    if bad:
        raise OutputError(f"{len(bad)} of {len(paths)} inputs rejected:\n  " + "\n  ".join(bad))


def _attr_value(v):
    v = v.decode() if isinstance(v, bytes) else v
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except json.JSONDecodeError:
            return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def sibling_mismatches(paths: Sequence[str | os.PathLike]) -> list[str]:
    """Problems (one per file, naming it) where valid files read together disagree."""
    by_rule: dict[str, dict[str, dict]] = {}
    by_kind: dict[str, dict[str, dict]] = {}
    for p in paths:
        with h5py.File(p, "r") as f:
            kind = _attr_str(f, "encephagen_kind")
            if "job_rule" in f.attrs and "job_shared" in f.attrs:
                by_rule.setdefault(_attr_str(f, "job_rule"), {})[str(p)] = {
                    "parameters": _attr_value(f.attrs["job_shared"])}
            spec = _KINDS.get(kind)
            if spec is not None and spec.variants:
                spec = spec.variants.get(_attr_str(f, spec.variant_attr))
                kind = f"{kind}:{_attr_str(f, _KINDS[kind].variant_attr)}"
            if spec is not None and spec.sibling_attrs and _attr_str(f, "status", "ok") != "skipped":
                by_kind.setdefault(kind, {})[str(p)] = {a: _attr_value(f.attrs[a])
                                                        for a in spec.sibling_attrs if a in f.attrs}
    problems = []
    for group in list(by_rule.values()) + list(by_kind.values()):
        problems += sibling_problems(group)
    seen, out = set(), []
    for prob in problems:  # one line per file
        f = prob.split(": ", 1)[0]
        if f not in seen:
            seen.add(f)
            out.append(prob)
    return out


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


def _dims_of(kind: Kind, path: str, ndim: int) -> tuple | None:
    for pattern, dims in kind.variables.items():
        if fnmatch.fnmatchcase(path, pattern):
            dims = dims.get(ndim) if isinstance(dims, Mapping) else dims
            return tuple(dims) if dims is not None and len(dims) == ndim else None
    return None


def coordinate_values(f: h5py.File, path: str) -> np.ndarray | None:
    """The values of dataset ``path`` (strings decoded), None when it is absent."""
    if path not in f:
        return None
    ds = f[path]
    return np.array(read_strings(ds), dtype=str) if ds.dtype.kind in "OS" else ds[()]


def label_dimensions(f: h5py.File, kind: Kind | str) -> None:
    """Make ``kind``'s dimension scales and attach them to the datasets its ``variables`` name;
    write its ``units`` attributes (kept where the writer set one). A dataset whose length on an
    axis differs from its dimension's is a programming error (ValueError naming both)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    if not (kind.dims or kind.variables or kind.units):
        return
    paths: list[str] = []
    f.visititems(lambda name, obj: paths.append(name) if isinstance(obj, h5py.Dataset) else None)
    wanted = {d for p in paths for d in (_dims_of(kind, p, f[p].ndim) or ())}
    for dim in reversed(kind.dims):   # a wanted copy of another dimension needs that one too
        if dim.name in wanted and getattr(dim.values, "source", None):
            wanted.add(dim.values.source)
    scales: dict[str, h5py.Dataset] = {}
    for dim in kind.dims:
        if dim.name in f and isinstance(f[dim.name], h5py.Dataset):
            ds = f[dim.name]
        elif dim.name in wanted and dim.values is not None:
            vals = dim.values(f)
            if vals is None:
                continue
            ds = write_array(f, dim.name, np.asarray(vals), compress=False)
        else:
            continue
        if not ds.is_scale:
            ds.make_scale(dim.name)
        if dim.units is not None and "units" not in ds.attrs:
            ds.attrs["units"] = dim.units
        scales[dim.name] = ds
    for p in paths:
        ds = f[p]
        dims = _dims_of(kind, p, ds.ndim)
        if dims and not ds.is_scale:
            for axis, name in enumerate(dims):
                scale = scales.get(name)
                if scale is None:
                    raise ValueError(f"{kind.name}: dimension {name!r} of dataset {p!r} has no coordinate")
                if scale.shape[0] != ds.shape[axis]:
                    raise ValueError(f"{kind.name}: dataset {p!r} has {ds.shape[axis]} entries on axis {axis} "
                                     f"({name!r}), the coordinate {name!r} has {scale.shape[0]}")
                if not ds.dims[axis]:
                    ds.dims[axis].attach_scale(scale)
        for pattern, units in kind.units.items():
            if fnmatch.fnmatchcase(p, pattern):
                if "units" not in ds.attrs:
                    ds.attrs["units"] = units
                break


def read_strings(ds: h5py.Dataset) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in ds[()]]


def _json_attr(f: h5py.File, name: str):
    raw = f.attrs[name]
    return json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))


def _attr_str(f: h5py.File, name: str, default: str = "") -> str:
    v = f.attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else str(v)
