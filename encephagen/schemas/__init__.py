"""The config schema, shipped as package data: the single source of defaults and validation.

``config.schema.yaml`` holds the top-level keys; ``fragments/<stage>.schema.yaml`` one section
per stage, merged by :func:`load_schema`. The workflow (rules/common.smk),
the CLI and an installed wheel (no checkout) all read these same files.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml
from jsonschema import Draft202012Validator, validators

SCHEMA_DIR = Path(__file__).resolve().parent

# The schema files (package data, trusted) are read with libyaml where PyYAML has it: every parse of
# the Snakefile (each SLURM job) reads them, and the pure-Python loader takes about a second.
_SCHEMA_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_schema(schema_dir: str | Path) -> dict:
    """The merged schema: the main file plus every fragment's sections."""
    schema_dir = Path(schema_dir)
    main = schema_dir / "config.schema.yaml"
    if not main.exists():
        raise FileNotFoundError(f"config schema not found: {main}")
    schema = yaml.load(main.read_text(), Loader=_SCHEMA_LOADER)
    props = schema.setdefault("properties", {})
    for frag in sorted((schema_dir / "fragments").glob("*.schema.yaml")):
        sections = yaml.load(frag.read_text(), Loader=_SCHEMA_LOADER) or {}
        for key, sub in sections.items():
            if key in props:
                raise ValueError(f"schema fragment {frag.name} redefines top-level key {key!r}")
            props[key] = sub
    return schema


def _extend_with_default(validator_class):
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, subschema in properties.items():
                if "default" in subschema and prop not in instance:
                    instance[prop] = copy.deepcopy(subschema["default"])
                elif prop not in instance and subschema.get("type") == "object" and "properties" in subschema:
                    # an object section omitted entirely: build it from its own defaults
                    instance[prop] = {}
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_DefaultValidator = _extend_with_default(Draft202012Validator)


@lru_cache(maxsize=None)
def _schema() -> dict:
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


def error_path(err, prefix: str = "") -> str:
    """The config key path of a validation error (``simulate.monitors.bold``, ``atlases[0]``)."""
    parts = [prefix] if prefix else []
    for p in err.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "<top level>"


def error_message(err, prefix: str = "") -> str:
    """The validator's message; an unknown key is named by its full path."""
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        known = set((err.schema or {}).get("properties", {}))
        base = error_path(err, prefix)
        extra = [f"{base}.{k}" if base != "<top level>" else str(k) for k in sorted(set(err.instance) - known)]
        return (f"{err.message} (unknown key {', '.join(extra)}: check the spelling against config/README.md)"
                if extra else f"{err.message} (unknown key: check the spelling against config/README.md)")
    return err.message


def iter_errors(cfg: Any, schema: Mapping, prefix: str = "") -> Iterator[str]:
    """Every problem of ``cfg`` against ``schema``, each naming its config key path (under ``prefix``)."""
    for err in sorted(Draft202012Validator(schema).iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        yield f"config key '{error_path(err, prefix)}': {error_message(err, prefix)}"


@lru_cache(maxsize=None)
def _section_schema(keypath: str) -> dict:
    return section_schema(keypath)


def section_problems(keypath: str, value: Any, prefix: str | None = None) -> list[str]:
    """Every problem of one config section's ``value`` (defaults already filled) against its schema
    (``section_schema(keypath)``): unknown keys, types, ranges, enumerations, each naming the full
    key (``config key 'simulate.normalize': ...``; under ``prefix`` instead of ``keypath`` when the
    value sits elsewhere, e.g. ``simulate.per_model.hopf``). The checks between keys that a schema
    cannot express stay with the section's resolver."""
    return list(iter_errors(value, _section_schema(keypath), prefix=keypath if prefix is None else prefix))


def section_defaults(keypath: str) -> dict:
    """Every default of one section, nested as the validator fills them into an empty mapping."""
    out: dict = {}
    for _ in _DefaultValidator(section_schema(keypath)).iter_errors(out):
        pass
    return out
