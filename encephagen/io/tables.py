"""The one atomic writer for text, tables and other non-HDF5 files.

Every file is written under ``<name>.tmp-<pid>-<random>`` in the same directory (the marker that
:func:`encephagen.io.clean_stale_temporaries` and ``find_temporaries`` know), fsync'ed and
``os.replace``'d onto its final path: the final path holds the old file or the new one, never
a partial one. ``.gz`` files are written with gzip header mtime 0 and no file name, so that the
same table gives the same bytes in every run (byte-reproducible outputs).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import secrets
from pathlib import Path
from typing import Callable, Iterator

from encephagen.io.h5 import TMP_MARK


def tmp_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is fsync'ed and renamed onto ``path``,
    on any exception it is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with a fixed header (mtime 0, no file name): same input, same bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` atomically; gzip-compressed (reproducibly) when the name ends in ``.gz``."""
    path = Path(path)
    if path.name.endswith(".gz"):
        data = gzip_bytes(data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_table(df, path: str | os.PathLike, **to_csv) -> Path:
    """A pandas DataFrame as TSV (``index=False`` unless given), atomically; ``.gz`` reproducibly."""
    to_csv.setdefault("sep", "\t")
    to_csv.setdefault("index", False)
    return write_text(path, df.to_csv(**to_csv))


def write_with(path: str | os.PathLike, writer: Callable[[Path], object]) -> Path:
    """Atomic write through a callable that writes a given path (e.g. ``fig.savefig`` with
    an explicit ``format``: the temporary name has no usable suffix)."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


class TableReadError(ValueError):
    """A table file is missing, empty or unreadable; the message names the file."""


def read_tsv(path: str | os.PathLike, **read_csv):
    """A tab-separated table (gzip by its bytes), every error naming the file: missing,
    zero-length (``pandas`` would say only "No columns to parse from file"), unreadable."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise TableReadError(f"{path}: missing")
    if path.stat().st_size == 0:
        raise TableReadError(f"{path}: zero-length file (a writer died or the table was emptied)")
    read_csv.setdefault("sep", "\t")
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    try:
        return pd.read_csv(path, compression="gzip" if gz else None, **read_csv)
    except Exception as exc:  # noqa: BLE001 - any parser error, named
        raise TableReadError(f"{path}: cannot be read as a table: {type(exc).__name__}: {exc}") from None
