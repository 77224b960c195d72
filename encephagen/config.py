"""Workflow configuration: one JSON schema as the source of truth, defaults, clear errors.

The schema is ``workflow/schemas/config.schema.yaml`` (top-level keys) merged with one
fragment per stage, ``workflow/schemas/fragments/<stage>.schema.yaml`` (a mapping
``{section: schema}``). Precedence: schema defaults < config/config.yaml < --configfile
< --config. :func:`validate_config` fills defaults and raises :class:`ConfigError` naming
the key path of the first problem (all problems are listed), before any job is submitted.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml
from jsonschema import Draft202012Validator, validators


class ConfigError(ValueError):
    """The config is invalid; the message names each offending key path."""


def load_schema(schema_dir: str | Path) -> dict:
    """The merged schema: the main file plus every fragment's sections."""
    schema_dir = Path(schema_dir)
    main = schema_dir / "config.schema.yaml"
    if not main.exists():
        raise FileNotFoundError(f"config schema not found: {main}")
    schema = yaml.safe_load(main.read_text())
    props = schema.setdefault("properties", {})
    for frag in sorted((schema_dir / "fragments").glob("*.schema.yaml")):
        sections = yaml.safe_load(frag.read_text()) or {}
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


def _path(err) -> str:
    parts = []
    for p in err.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." if parts else "") + str(p))
    return "".join(parts) or "<top level>"


def _message(err) -> str:
    if err.validator == "additionalProperties":
        return f"{err.message} (unknown key: check the spelling against config/README.md)"
    return err.message


def iter_errors(cfg: Mapping, schema: Mapping) -> Iterator[str]:
    for err in sorted(Draft202012Validator(schema).iter_errors(cfg), key=lambda e: list(map(str, e.absolute_path))):
        yield f"config key '{_path(err)}': {_message(err)}"


def validate_config(cfg: Mapping[str, Any], schema: Mapping | str | Path) -> dict:
    """Return a copy of ``cfg`` with defaults filled in; raise ConfigError naming key paths."""
    if not isinstance(schema, Mapping):
        schema = load_schema(schema)
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, Mapping):
        raise ConfigError(f"config must be a mapping, got {type(cfg).__name__}")
    out = copy.deepcopy(dict(cfg))
    # fill defaults first (tolerating errors), then validate the filled config strictly
    for _ in _DefaultValidator(schema).iter_errors(out):
        pass
    problems = list(iter_errors(out, schema))
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return out


def canonical_config(cfg: Any) -> Any:
    """The same config with every mapping's keys sorted (lists keep their order), so that a
    reordered YAML file gives identical rule parameters and triggers no rerun."""
    if isinstance(cfg, Mapping):
        return {k: canonical_config(cfg[k]) for k in sorted(cfg)}
    if isinstance(cfg, list):
        return [canonical_config(v) for v in cfg]
    return cfg


def load_config(path: str | Path, schema_dir: str | Path, overrides: Mapping | None = None) -> dict:
    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    cfg = deep_update(cfg, overrides or {})
    try:
        return validate_config(cfg, schema_dir)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def deep_update(base: Mapping, upd: Mapping) -> dict:
    out = copy.deepcopy(dict(base))
    for k, v in upd.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_update(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def schema_markdown(schema: Mapping) -> str:
    """Config documentation generated from the schema (config/README.md is this, checked in CI)."""
    lines = ["# Configuration reference", "",
             "Generated from `workflow/schemas/config.schema.yaml` and `workflow/schemas/fragments/` by "
             "`encephagen config docs`; a test fails if this file is stale. Precedence: schema defaults "
             "< `config/config.yaml` < `--configfile` < `--config`.", "",
             "| key | type | default | allowed | description |", "|---|---|---|---|---|"]

    def fmt(v):
        return "`" + yaml.safe_dump(v, default_flow_style=True).strip().replace("\n", " ").removesuffix("...").strip() + "`"

    def walk(node: Mapping, prefix: str):
        for key, sub in (node.get("properties") or {}).items():
            path = f"{prefix}{key}"
            typ = sub.get("type", "")
            typ = "/".join(typ) if isinstance(typ, list) else typ
            allowed = []
            if "enum" in sub:
                allowed.append("one of " + ", ".join(map(str, sub["enum"])))
            items = sub.get("items") or {}
            if "enum" in items:
                allowed.append("items: " + ", ".join(map(str, items["enum"])))
            for b, sym in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                           ("exclusiveMaximum", "<")):
                if b in sub:
                    allowed.append(f"{sym} {sub[b]}")
                if b in items:
                    allowed.append(f"items {sym} {items[b]}")
            default = fmt(sub["default"]) if "default" in sub and typ != "object" else ""
            desc = " ".join(str(sub.get("description", "")).split())
            lines.append(f"| `{path}` | {typ} | {default} | {'; '.join(allowed)} | {desc} |")
            if typ == "object" and "properties" in sub:
                walk(sub, path + ".")

    walk(schema, "")
    return "\n".join(lines) + "\n"
