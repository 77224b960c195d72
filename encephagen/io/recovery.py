"""Recovery helpers: which expected outputs are missing or bad, stray temporaries,
Snakemake leftovers after a dead controller, and content comparison that ignores provenance.

These sit beside the output contract in :mod:`encephagen.io.h5` and never import snakemake.

Typical use in a consumer (aggregation)::

    survey = survey_outputs({f"net-{i}": p for i, p in enumerate(paths)}, kind="simulation")
    survey.require()                 # refuse: OutputError naming every missing/bad file
    # or, under an explicit allow-missing policy, record exactly what is absent:
    f.attrs.update(survey.as_attrs())

After a controller was killed (see docs/reliability.md)::

    leftovers = snakemake_leftovers(".")   # {'locks': [...], 'incomplete': [...]}
    # then: snakemake --unlock ; snakemake --rerun-incomplete ...
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import h5py
import numpy as np

from encephagen.io.h5 import TMP_MARK, OutputError, validate_h5

# provenance records when/where a file was written: never part of its scientific contents
DEFAULT_IGNORED_ATTRS = ("provenance", "job_started")  # when, not what


@dataclass(frozen=True)
class OutputSurvey:
    """The state of a set of expected outputs, each identified by a label (e.g. a run id).

    ``valid``/``missing`` are label tuples in the order given; ``invalid`` maps a label to
    the validator's message (which names the file). Nothing here is ever silently dropped:
    a consumer either calls :meth:`require` or records :meth:`as_attrs` in its output.
    """

    paths: Mapping[str, Path]
    valid: tuple[str, ...]
    missing: tuple[str, ...]
    invalid: Mapping[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.invalid

    @property
    def absent(self) -> tuple[str, ...]:
        """Labels that cannot be used (missing or invalid), in the order given."""
        bad = set(self.missing) | set(self.invalid)
        return tuple(k for k in self.paths if k in bad)

    def report(self) -> str:
        lines = [f"{len(self.valid)} of {len(self.paths)} expected outputs usable"]
        for k in self.missing:
            lines.append(f"missing  {k}: {self.paths[k]}")
        for k, msg in self.invalid.items():
            lines.append(f"invalid  {k}: {msg}")
        return "\n  ".join(lines)

    def require(self, what: str = "inputs") -> list[Path]:
        """The valid paths if every expected output is usable; else :class:`OutputError`
        listing every missing or bad file (never a silent subset)."""
        if not self.complete:
            raise OutputError(f"{what} incomplete: {len(self.absent)} of {len(self.paths)} "
                              f"unusable, refusing to aggregate a subset\n  {self.report()}")
        return [self.paths[k] for k in self.valid]

    def as_attrs(self) -> dict:
        """HDF5 attributes recording exactly what was used and what was absent."""
        return {
            "n_expected": len(self.paths),
            "n_used": len(self.valid),
            "used": json.dumps(list(self.valid)),
            "missing": json.dumps(list(self.missing)),
            "invalid": json.dumps(dict(self.invalid)),
        }


def survey_outputs(paths: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike],
                   kind: str | None = None) -> OutputSurvey:
    """Validate every expected output; sort them into valid, missing and invalid.

    ``paths`` is a mapping label -> path (labels are what gets reported, e.g. ``"run-3"``)
    or a sequence of paths (labels are the paths).
    """
    if not isinstance(paths, Mapping):
        paths = {str(p): p for p in paths}
    paths = {str(k): Path(v) for k, v in paths.items()}
    valid, missing, invalid = [], [], {}
    for label, p in paths.items():
        if not p.exists():
            missing.append(label)
            continue
        try:
            validate_h5(p, kind)
        except OutputError as exc:
            invalid[label] = str(exc)
        else:
            valid.append(label)
    return OutputSurvey(paths=paths, valid=tuple(valid), missing=tuple(missing), invalid=invalid)


def require_outputs(paths: Mapping[str, str | os.PathLike] | Sequence[str | os.PathLike],
                    kind: str | None = None, what: str = "inputs") -> list[Path]:
    """Shorthand: :func:`survey_outputs` then :meth:`OutputSurvey.require`."""
    return survey_outputs(paths, kind).require(what)


def find_temporaries(directory: str | os.PathLike, older_than_s: float | None = None) -> list[Path]:
    """Temporaries of :func:`encephagen.io.atomic_h5` below ``directory`` (never read as outputs).

    With ``older_than_s``, only those not modified for that long: a writer that is still
    running (possibly on another node) keeps touching its temporary, so a cleanup during a
    live run should pass a generous age rather than delete everything.
    """
    now = time.time()
    out = []
    for p in sorted(Path(directory).rglob(f"*{TMP_MARK}*")):
        if not p.is_file():
            continue
        if older_than_s is not None:
            try:
                if now - p.stat().st_mtime < older_than_s:
                    continue
            except FileNotFoundError:
                continue
        out.append(p)
    return out


def snakemake_leftovers(workdir: str | os.PathLike = ".") -> dict[str, list[str]]:
    """What a killed Snakemake controller left in ``workdir/.snakemake``.

    ``locks``: lock files (a plain rerun is refused until ``snakemake --unlock``);
    ``incomplete``: output paths marked incomplete (jobs that were running; a plain rerun
    stops with IncompleteFilesException for those that exist, ``--rerun-incomplete``
    regenerates them). Reads Snakemake's on-disk layout (urlsafe-base64 file names).
    """
    meta = Path(workdir) / ".snakemake"
    locks = sorted(str(p) for p in (meta / "locks").glob("*")) if (meta / "locks").is_dir() else []
    incomplete = []
    inc_dir = meta / "incomplete"
    if inc_dir.is_dir():
        for root, _dirs, files in os.walk(inc_dir):
            rel = Path(root).relative_to(inc_dir)
            for name in files:
                if name == "migration_underway":
                    continue
                # long names are split into '@'-prefixed directory parts
                parts = [s.lstrip("@") for s in rel.parts] + [name]
                try:
                    incomplete.append(base64.urlsafe_b64decode("".join(parts).encode()).decode())
                except (ValueError, UnicodeDecodeError):
                    incomplete.append(str(Path(root) / name))
    return {"locks": locks, "incomplete": sorted(incomplete)}


def content_digest(path: str | os.PathLike,
                   ignore_attrs: Iterable[str] = DEFAULT_IGNORED_ATTRS) -> dict[str, str]:
    """sha256 of every dataset (dtype, shape, bytes) and every attribute of an HDF5 file,
    keyed by HDF5 path (attributes as ``path@name``), skipping ``ignore_attrs``.

    Two runs with the same config and seeds must give equal digests; provenance (time,
    host) is ignored by default. Compression and chunking do not matter, values do.
    """
    ignore = set(ignore_attrs)
    out: dict[str, str] = {}

    def _deref(x, f):
        """Object references (dimension scales' DIMENSION_LIST / REFERENCE_LIST) by the NAME of
        what they point to: the raw reference is a Python object whose bytes are a memory address."""
        if isinstance(x, h5py.Reference):
            return f[x].name if x else "<null reference>"
        if isinstance(x, np.void) or (isinstance(x, np.ndarray) and x.dtype.names):
            return [_deref(x[n], f) for n in x.dtype.names] if not isinstance(x, np.ndarray) or x.ndim == 0 \
                else [_deref(e, f) for e in x]
        if isinstance(x, np.ndarray) and x.dtype.kind == "O":
            return [_deref(e, f) for e in x.ravel()]
        if isinstance(x, (list, tuple)):
            return [_deref(e, f) for e in x]
        if isinstance(x, bytes):
            return x.decode(errors="replace")
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
        return x

    def _h(value, f) -> str:
        a = np.asarray(value)
        if a.dtype.kind == "O" or a.dtype.names:
            h = hashlib.sha256(f"{a.dtype.kind}|{a.shape}|".encode())
            h.update(json.dumps(_deref(a, f), default=str).encode())
            return h.hexdigest()
        h = hashlib.sha256(f"{a.dtype.str}|{a.shape}|".encode())
        if a.dtype.kind == "U":
            h.update("\x00".join(a.ravel().tolist()).encode())
        else:
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    with h5py.File(path, "r") as f:
        def _attrs(name, obj):
            for k in sorted(obj.attrs):
                if k not in ignore:
                    out[f"{name}@{k}"] = _h(obj.attrs[k], f)

        _attrs("/", f)

        def visit(name, obj):
            _attrs(name, obj)
            if isinstance(obj, h5py.Dataset):
                out[name] = _h(obj[()], f)

        f.visititems(visit)
    return out


def compare_contents(a: str | os.PathLike, b: str | os.PathLike,
                     ignore_attrs: Iterable[str] = DEFAULT_IGNORED_ATTRS) -> list[str]:
    """Names of datasets/attributes that differ between two HDF5 files ([] if identical)."""
    da, db = content_digest(a, ignore_attrs), content_digest(b, ignore_attrs)
    return sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
