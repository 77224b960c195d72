"""Workflow configuration: one JSON schema as the source of truth, defaults, clear errors.

The schema is ``workflow/schemas/config.schema.yaml`` (top-level keys) merged with one
fragment per stage, ``workflow/schemas/fragments/<stage>.schema.yaml`` (a mapping
``{section: schema}``). Precedence: schema defaults < config/config.yaml < --configfile
< --config. :func:`validate_config` fills defaults and raises :class:`ConfigError` naming
the key path of the first problem (all problems are listed), before any job is submitted.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

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
    problems += atlas_name_problems(out) if not problems else []  # own connectomes (docs/own_connectome.md)
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


# ----------------------------------------------------------------------------- layered configs
# How Snakemake (9.x) builds ``config``, which the functions below reproduce so that
# ``encephagen config validate`` checks exactly what a run would use:
#   1. every ``--configfile`` is loaded (JSON, else YAML; it must be a mapping) and deep-merged in order,
#      then ``--config`` on top: this is Snakemake's "overwrite config";
#   2. the Snakefile's ``configfile: "config/config.yaml"`` is loaded and the overwrite config is merged
#      on top of it again (a missing config/config.yaml is allowed only when --configfile is given);
#   3. rules/common.smk fills the schema defaults under everything and validates.
# Deep merge = snakemake.utils.update_config: mappings merge key by key, anything else (lists
# included) replaces. ``--config KEY=VALUE``: KEY must be a plain identifier (no dots: Snakemake
# refuses ``simulate.seeds_per_network=5``); VALUE is tried as int, float, True/False, then YAML
# with every scalar left a string, then a string. So ``--config simulate='{seeds_per_network: 5}'``
# arrives as {'simulate': {'seeds_per_network': '5'}}; :func:`coerce_cli_strings` turns such strings
# into the type the schema asks for, in the workflow and here alike.

_CLI_KEY = re.compile(r"[a-zA-Z_][\w-]*\w$")  # snakemake.cli.parse_config's check, verbatim


def read_config_file(path: str | Path) -> dict:
    """One config file as Snakemake loads it (JSON or YAML), refusing with the file's name a missing,
    unparsable, empty or non-mapping file (Snakemake refuses those too)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML or JSON: {exc}") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty; it must be a mapping of config keys "
                          "(e.g. 'atlases: [hcp80]'); Snakemake refuses an empty config file too")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level is a {type(data).__name__}, not a mapping of config keys "
                          f"(key: value lines such as 'atlases: [hcp80]')")
    return dict(data)


def _cli_value(val: str):
    def _bool(v):
        if v == "True":
            return True
        if v == "False":
            return False
        raise ValueError(v)

    for parser in (int, float, _bool, lambda s: yaml.load(s, Loader=yaml.BaseLoader), str):
        try:
            v = parser(val)
        except Exception:  # noqa: BLE001 (the next parser is tried, as Snakemake does)
            continue
        if not callable(v):
            return v
    return val


def parse_config_args(entries: Sequence[str] | None) -> dict:
    """``--config KEY=VALUE ...`` parsed as Snakemake's command line parses them (see above)."""
    out: dict = {}
    for entry in entries or ():
        key, sep, val = str(entry).partition("=")
        if not sep:
            raise ConfigError(f"--config {entry!r}: expected KEY=VALUE")
        if not _CLI_KEY.match(key):
            hint = ""
            if "." in key:
                head, _, rest = key.partition(".")
                hint = (f"; Snakemake refuses dotted keys: write the section as YAML, e.g. "
                        f"--config {head}='{{{rest.replace('.', ': {')}: {val}{'}' * rest.count('.')}}}'")
            raise ConfigError(f"--config {entry!r}: {key!r} is not a valid config key (a plain identifier "
                              f"of at least two characters){hint}")
        out = deep_update(out, {key: None if val == "" else _cli_value(val)})
    return out


def _schema_types(schema: Mapping) -> set[str]:
    types: set[str] = set()
    t = schema.get("type")
    if isinstance(t, str):
        types.add(t)
    elif isinstance(t, list):
        types.update(t)
    for k in ("anyOf", "oneOf"):
        for sub in schema.get(k) or ():
            types |= _schema_types(sub)
    if "enum" in schema:
        types |= {"string" if isinstance(e, str) else "enum-other" for e in schema["enum"]}
    return types


def _coerce(value, schema: Mapping):
    if isinstance(value, Mapping):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties") if isinstance(schema.get("additionalProperties"), Mapping) else {}
        return {k: _coerce(v, props.get(k, extra)) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items") if isinstance(schema.get("items"), Mapping) else {}
        return [_coerce(v, items) for v in value]
    if not isinstance(value, str):
        return value
    types = _schema_types(schema)
    if not types or "string" in types:
        return value
    try:
        v = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    ok = {"integer": isinstance(v, int) and not isinstance(v, bool),
          "number": isinstance(v, (int, float)) and not isinstance(v, bool),
          "boolean": isinstance(v, bool), "null": v is None,
          "array": isinstance(v, list), "object": isinstance(v, dict), "enum-other": not isinstance(v, str)}
    return v if any(ok.get(t, False) for t in types) else value


def coerce_cli_strings(cfg: Mapping, schema: Mapping | str | Path, cli: Mapping | None) -> dict:
    """``cfg`` with the string values that came from ``--config`` (``cli``: the parsed --config mapping)
    converted to the type the schema asks for where YAML reads them so ('5' -> 5, 'false' -> False,
    'null' -> None). Values from config files are never touched: a quoted number in a file stays an error."""
    if not isinstance(schema, Mapping):
        schema = load_schema(schema)
    out = copy.deepcopy(dict(cfg))

    def walk(node: dict, over: Mapping, sch: Mapping):
        props = sch.get("properties") or {}
        for k, v in over.items():
            sub = props.get(k) or (sch.get("additionalProperties") if isinstance(sch.get("additionalProperties"),
                                                                                Mapping) else {})
            if isinstance(v, Mapping) and isinstance(node.get(k), dict):
                walk(node[k], v, sub)
            elif k in node:
                node[k] = _coerce(node[k], sub)

    walk(out, cli or {}, schema)
    return out


def workflow_config(cfg: Mapping, schema_dir: str | Path, cli: Mapping | None = None) -> dict:
    """What rules/common.smk does with Snakemake's layered ``config``: --config strings coerced
    (:func:`coerce_cli_strings`), schema defaults filled, validated, keys sorted."""
    schema = load_schema(schema_dir)
    return canonical_config(validate_config(coerce_cli_strings(cfg, schema, cli), schema))


def atlas_name_problems(cfg: Mapping) -> list[str]:
    """Every atlas named in ``atlases`` / ``nulls.atlases`` is built in or declared under ``connectomes``
    (your own, docs/own_connectome.md); a declared name may not shadow a built-in one."""
    from encephagen.data.connectomes import CONNECTOMES

    own = dict(cfg.get("connectomes") or {})
    clash = sorted(set(own) & set(CONNECTOMES))
    problems = [f"config key 'connectomes.{n}': {n!r} is a built-in connectome; give yours another name"
                for n in clash]
    for key, names in (("atlases", cfg.get("atlases")), ("nulls.atlases", (cfg.get("nulls") or {}).get("atlases"))):
        for i, n in enumerate(names or ()):
            if n not in CONNECTOMES and n not in own:
                problems.append(f"config key '{key}[{i}]': unknown connectome {n!r}: built-in ones are "
                                f"{', '.join(CONNECTOMES)}; declare your own under 'connectomes' "
                                "(docs/own_connectome.md)")
    return problems


def layered_config(workdir: str | Path = ".", configfiles: Sequence[str | Path] = (),
                   config_args: Sequence[str] | Mapping | None = None, schema_dir: str | Path | None = None,
                   base: str | Path | None = "config/config.yaml") -> dict:
    """The config a ``snakemake --configfile F1 F2 --config K=V`` run in ``workdir`` would use:
    schema defaults < ``base`` (the Snakefile's configfile) < each configfile < ``--config``.

    ``config_args``: the --config entries (strings, parsed as Snakemake does) or a mapping already
    parsed. Errors name the file (or --config) that set each offending key."""
    workdir = Path(workdir)
    schema_dir = Path(schema_dir) if schema_dir else workdir / "workflow" / "schemas"
    cli = dict(config_args) if isinstance(config_args, Mapping) else parse_config_args(config_args)
    layers: list[tuple[str, dict]] = []
    if base is not None:
        bp = Path(base) if Path(base).is_absolute() else workdir / base
        if bp.is_file() or not configfiles:  # Snakemake allows a missing base only with --configfile
            layers.append((str(base), read_config_file(bp)))
    for f in configfiles:
        layers.append((str(f), read_config_file(f)))
    if cli:
        layers.append(("--config", cli))
    merged: dict = {}
    for _, layer in layers:
        merged = deep_update(merged, layer)
    try:
        return workflow_config(merged, schema_dir, cli)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        out = []
        for ln in lines:
            m = re.search(r"config key '([^']*)'", ln)
            src = _origin(m.group(1), layers) if m else None
            out.append(ln + (f" (set in {src})" if src else ""))
        order = " < ".join(["schema defaults"] + [name for name, _ in layers])
        raise ConfigError("\n".join(out) + f"\n  layers (later wins): {order}") from None


def _origin(keypath: str, layers: Sequence[tuple[str, Mapping]]) -> str | None:
    parts = [p for p in re.split(r"\.|\[(\d+)\]", keypath) if p]
    found = None
    for name, layer in layers:
        node: Any = layer
        ok = True
        for p in parts:
            if isinstance(node, Mapping) and p in node:
                node = node[p]
            elif isinstance(node, list) and p.isdigit() and int(p) < len(node):
                node = node[int(p)]
            else:
                ok = False
                break
        if ok:
            found = name
    return found
