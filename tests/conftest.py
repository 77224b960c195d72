"""Shared fixtures. The real packaged datasets are converted once per machine into a cache
(``ENCEPHAGEN_TEST_RESOURCES`` or ``.pytest_cache/encephagen-resources``) by the same library
function the workflow's fetch rules call; every file is validated before use."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def resources_dir() -> Path:
    from encephagen.data import prepare_resources

    root = Path(os.environ.get("ENCEPHAGEN_TEST_RESOURCES", REPO / ".pytest_cache" / "encephagen-resources"))
    prepare_resources(root)  # idempotent: validates what exists, builds what is missing
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
