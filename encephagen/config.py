"""Workflow configuration: one JSON schema as the source of truth, defaults, clear errors.

The schema is ``encephagen/schemas/config.schema.yaml`` (package data) (top-level keys) merged with one
fragment per stage, ``encephagen/schemas/fragments/<stage>.schema.yaml`` (a mapping
``{section: schema}``). Precedence: schema defaults < config/config.yaml < --configfile
< --config. :func:`validate_config` fills defaults and raises :class:`ConfigError` naming
the key path of the first problem (all problems are listed), before any job is submitted.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

# the schema files, their loader, the default-filling validator and the error messages live with the
# package data (the engines' section resolvers, encephagen.study.config, validate with the same)
from encephagen.schemas import _DefaultValidator, iter_errors, load_schema  # noqa: F401 (re-exported)


class ConfigError(ValueError):
    """The config is invalid; the message names each offending key path."""


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


def canonical_config(cfg: Any, schema: Mapping | None = None) -> Any:
    """The same config with every mapping's keys sorted (lists keep their order), so that a
    reordered YAML file gives identical rule parameters and triggers no rerun. With the
    ``schema``, numbers are canonical too: an integer given where the schema says ``number``
    becomes a float (``duration: 3000`` and ``3000.0`` are the same parameter and rerun nothing)."""
    if schema is not None:
        cfg = _numbers_as_schema(cfg, schema)
    if isinstance(cfg, Mapping):
        return {k: canonical_config(cfg[k]) for k in sorted(cfg)}
    if isinstance(cfg, list):
        return [canonical_config(v) for v in cfg]
    return cfg


def _types(node: Mapping) -> set:
    t = node.get("type", ())
    return {t} if isinstance(t, str) else set(t)


def _numbers_as_schema(value: Any, node: Any) -> Any:
    """Ints where the schema node allows ``number`` but not ``integer`` -> float (recursively)."""
    if not isinstance(node, Mapping):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        t = _types(node)
        return float(value) if "number" in t and "integer" not in t else value
    if isinstance(value, Mapping):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        out = {}
        for k, v in value.items():
            sub = props.get(k, extra if isinstance(extra, Mapping) else None)
            out[k] = _numbers_as_schema(v, sub)
        return out
    if isinstance(value, list):
        items = node.get("items")
        if isinstance(items, Mapping):
            return [_numbers_as_schema(v, items) for v in value]
        return value
    return value


# ------------------------------------------------------------ cross-key checks (parse time)
#: a tract this long (mm) bounds the delays before any connectome is loaded (human tracts < 250 mm)
MAX_TRACT_LENGTH_MM = 300.0
#: more delay steps than this would need a history buffer of (steps x regions x batch) values:
#: refused at parse time instead of an allocation of terabytes inside a job
MAX_DELAY_STEPS = 100_000
#: a velocity x dt step this coarse (mm) turns every tract shorter than half of it into a zero delay
ZERO_DELAY_WARN_MM = 4.0


def cross_key_problems(cfg: Mapping, lengths: Mapping[str, Any] | None = None,
                       isolated: Mapping[str, list] | None = None) -> tuple[list[str], list[str]]:
    """Rules between keys that the schema cannot express: ``(errors, warnings)``, each naming
    the key paths. ``lengths``: atlas -> tract-length matrix (mm) where one is known (optional),
    for the zero-delay count; ``isolated``: atlas -> labels of regions without any connection
    in an existing connectome file, judged by ``data.isolated_nodes``. Called by the workflow at
    parse time, before any job."""
    errors: list[str] = []
    warnings: list[str] = []
    policy = (cfg.get("data") or {}).get("isolated_nodes", "warn")
    for atlas, labels in (isolated or {}).items():
        if labels and policy != "allow":
            msg = (f"resources/connectomes/{atlas}.h5: {len(labels)} isolated region(s) (no connection): "
                   f"{', '.join(map(str, labels[:10]))} (config key 'data.isolated_nodes' is {policy!r})")
            (errors if policy == "error" else warnings).append(msg)
    sim = cfg.get("simulate") or {}
    model = sim.get("model")
    if model != "lif" and "duration" in sim and "transient" in sim:
        if float(sim["transient"]) >= float(sim["duration"]):
            errors.append(f"config key 'simulate.transient' ({sim['transient']} ms) must be below "
                          f"'simulate.duration' ({sim['duration']} ms, transient included): nothing would "
                          f"be left to measure")
    nulls, analysis = cfg.get("nulls") or {}, cfg.get("analysis") or {}
    if "n_per_family" in nulls and "min_nulls_per_family" in analysis and nulls.get("families"):
        if int(nulls["n_per_family"]) < int(analysis["min_nulls_per_family"]):
            errors.append(f"config key 'nulls.n_per_family' ({nulls['n_per_family']}) is below "
                          f"'analysis.min_nulls_per_family' ({analysis['min_nulls_per_family']}): the statistics "
                          f"would refuse every family after the nulls and simulations ran")
    v, dt = sim.get("velocity"), sim.get("dt")
    if model != "lif" and v is not None and dt:
        v, dt = float(v), float(dt)
        known = {a: m for a, m in (lengths or {}).items() if m is not None}
        import numpy as np

        longest = max([MAX_TRACT_LENGTH_MM] + [float(np.nanmax(np.asarray(m, float), initial=0.0))
                                               for m in known.values()])
        steps = longest / v / dt
        if steps > MAX_DELAY_STEPS:
            errors.append(f"config key 'simulate.velocity' ({v:g} mm/ms) with 'simulate.dt' ({dt:g} ms) gives "
                          f"{steps:.3g} delay steps for a {longest:g} mm tract (at most {MAX_DELAY_STEPS:,} "
                          f"allowed: the delay buffer would not fit in memory); velocities are in m/s = mm/ms")
        zero = []
        for atlas, m in known.items():
            m = np.asarray(m, float)
            pos = m[np.isfinite(m) & (m > 0)]
            k = int(np.count_nonzero(np.rint(pos / v / dt) == 0))
            if k:
                zero.append(f"{atlas}: {k} of {pos.size} tracts")
        if zero:
            warnings.append(f"config keys 'simulate.velocity' ({v:g}) and 'simulate.dt' ({dt:g}): tracts shorter "
                            f"than {v * dt / 2:g} mm get a ZERO delay ({'; '.join(zero)}); lower dt for delays "
                            f"that resolve them")
        elif not known and v * dt / 2 >= ZERO_DELAY_WARN_MM / 2:
            warnings.append(f"config keys 'simulate.velocity' ({v:g}) and 'simulate.dt' ({dt:g}): one step is "
                            f"{v * dt:g} mm of tract, every tract shorter than {v * dt / 2:g} mm gets a ZERO delay")
    return errors, warnings


def check_config(cfg: Mapping, lengths: Mapping[str, Any] | None = None,
                 isolated: Mapping[str, list] | None = None) -> list[str]:
    """Raise :class:`ConfigError` listing every cross-key error; return the warnings."""
    errors, warnings = cross_key_problems(cfg, lengths, isolated)
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(errors))
    return warnings


def connectome_facts(paths: Mapping[str, str | Path]) -> tuple[dict[str, Any], dict[str, list]]:
    """(lengths, isolated) of the connectome files that already exist: tract lengths of the EDGES
    (NaN where there is no connection; None where the file is absent or unreadable) and the labels
    of isolated regions. The parse-time checks use them where a previous run built the files."""
    lengths: dict[str, Any] = {}
    isolated: dict[str, list] = {}
    for atlas, p in paths.items():
        lengths[atlas] = None
        try:
            import h5py
            import numpy as np

            with h5py.File(p, "r") as f:
                if bool(f.attrs.get("complete", False)) and "lengths" in f and "weights" in f:
                    w, L = f["weights"][()], f["lengths"][()].astype(float)
                    lengths[atlas] = np.where(w > 0, L, np.nan)
                    deg = (w != 0).sum(0) + (w != 0).sum(1)
                    labels = [x.decode() if isinstance(x, bytes) else str(x) for x in f["labels"][()]] \
                        if "labels" in f and f["labels"].shape[0] == w.shape[0] else list(range(w.shape[0]))
                    isolated[atlas] = [labels[i] for i in np.flatnonzero(deg == 0)]
        except (OSError, ImportError, ValueError):
            pass
    return lengths, isolated


def connectome_lengths(paths: Mapping[str, str | Path]) -> dict[str, Any]:
    return connectome_facts(paths)[0]


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
             "Generated from `encephagen/schemas/config.schema.yaml` and `encephagen/schemas/fragments/` by "
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


def _branch(schema: Mapping, kind: str) -> Mapping:
    """The (sub)schema that describes a value of JSON type ``kind`` (the first matching anyOf/oneOf
    branch, e.g. the array branch of ``G: oneOf [array, 'auto']``)."""
    if kind in _schema_types({"type": schema.get("type")} if "type" in schema else {}):
        return schema
    for k in ("anyOf", "oneOf"):
        for sub in schema.get(k) or ():
            if isinstance(sub, Mapping) and kind in _schema_types(sub):
                return _branch(sub, kind)
    return schema


def _coerce(value, schema: Mapping):
    if isinstance(value, (Mapping, list)):
        schema = _branch(schema, "object" if isinstance(value, Mapping) else "array")
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


def workflow_config(cfg: Mapping, schema_dir: str | Path, cli: Mapping | None = None, *,
                    workdir: str | Path = ".", warnings: list | None = None) -> dict:
    """What rules/common.smk does with Snakemake's layered ``config``: --config strings coerced
    (:func:`coerce_cli_strings`), schema defaults filled, validated, the cross-key rules checked
    (:func:`check_config`, with the facts of connectome files a previous run built under
    ``workdir``; the BOLD sample count), keys sorted and numbers canonical. Warnings are appended
    to ``warnings`` when given."""
    schema = load_schema(schema_dir)
    validated = validate_config(coerce_cli_strings(cfg, schema, cli), schema)
    paths = {a: Path(workdir) / "resources" / "connectomes" / f"{a}.h5" for a in validated.get("atlases") or ()}
    found = check_config(validated, *connectome_facts(paths))
    if _bold_on(validated):
        try:   # lazy, and only with a BOLD monitor on: the check lives with the engines (imports torch)
            from encephagen.study.config import check_simulation_config

            check_simulation_config(validated)
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if warnings is not None:
        warnings.extend(found)
    return canonical_config(validated, schema)


def _bold_on(cfg: Mapping) -> bool:
    """Whether the config switches a BOLD monitor on (the only case the BOLD-sample check of
    ``encephagen.study.config.check_simulation_config`` has anything to check). Without one, validating
    a config (every parse of the Snakefile, every SLURM job) never imports the engines (torch)."""
    sim = dict(cfg.get("simulate") or {})
    sections = [sim, *dict(sim.get("per_model") or {}).values(), dict(cfg.get("spiking") or {})]
    return any(bool(dict(s.get("monitors") or {}).get("bold")) for s in sections if isinstance(s, Mapping))


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


def _package_schema_dir() -> Path:
    from encephagen.schemas import SCHEMA_DIR

    return SCHEMA_DIR


def layered_config(workdir: str | Path = ".", configfiles: Sequence[str | Path] = (),
                   config_args: Sequence[str] | Mapping | None = None, schema_dir: str | Path | None = None,
                   base: str | Path | None = "config/config.yaml") -> dict:
    """The config a ``snakemake --configfile F1 F2 --config K=V`` run in ``workdir`` would use:
    schema defaults < ``base`` (the Snakefile's configfile) < each configfile < ``--config``.

    ``config_args``: the --config entries (strings, parsed as Snakemake does) or a mapping already
    parsed. Errors name the file (or --config) that set each offending key."""
    workdir = Path(workdir)
    schema_dir = Path(schema_dir) if schema_dir else _package_schema_dir()
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
        return workflow_config(merged, schema_dir, cli, workdir=workdir)
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
