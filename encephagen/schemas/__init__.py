"""The config schema, shipped as package data: the single source of defaults and validation.

``config.schema.yaml`` holds the top-level keys; ``fragments/<stage>.schema.yaml`` one section
per stage, merged in by :func:`encephagen.config.load_schema`. The workflow (rules/common.smk),
the CLI and an installed wheel (no checkout) all read these same files.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _schema() -> dict:
    from encephagen.config import load_schema

    return load_schema(SCHEMA_DIR)


def schema() -> dict:
    """The merged schema (a copy: callers may not change the cached one)."""
    return copy.deepcopy(_schema())


def section_schema(keypath: str) -> dict:
    """The schema of one config section, by dotted key path (``"simulate"``, ``"simulate.monitors"``)."""
    node: Any = _schema()
    for part in keypath.split("."):
        props = node.get("properties", {}) if isinstance(node, dict) else {}
        if part not in props:
            raise KeyError(f"config key '{keypath}' is not in the schema ({SCHEMA_DIR})")
        node = props[part]
    return copy.deepcopy(node)


def section_defaults(keypath: str) -> dict:
    """Every default of one section, nested as the validator fills them into an empty mapping."""
    from encephagen.config import _DefaultValidator

    out: dict = {}
    for _ in _DefaultValidator(section_schema(keypath)).iter_errors(out):
        pass
    return out
