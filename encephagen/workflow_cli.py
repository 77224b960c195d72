"""``encephagen config validate|docs``: check a workflow config against the schema, or regenerate
config/README.md from it. Plain ``snakemake`` keeps working; this is a convenience."""
from __future__ import annotations

import sys
from pathlib import Path

from encephagen.config import ConfigError, deep_update, load_config, load_schema, schema_markdown


def _schema_dir(args) -> Path:
    return Path(args.schema_dir) if args.schema_dir else Path(args.workdir) / "workflow" / "schemas"


def _validate(args) -> int:
    cfg_path = Path(args.configfile or Path(args.workdir) / "config" / "config.yaml")
    try:
        cfg = load_config(cfg_path, _schema_dir(args))
        for extra in args.extra or []:
            import yaml

            cfg = load_config_from_dict(deep_update(cfg, yaml.safe_load(Path(extra).read_text()) or {}),
                                        _schema_dir(args), extra)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.print:
        import yaml

        print(yaml.safe_dump(cfg, sort_keys=False))
    else:
        print(f"{cfg_path}: valid")
    return 0


def load_config_from_dict(cfg, schema_dir, origin):
    from encephagen.config import validate_config

    try:
        return validate_config(cfg, schema_dir)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None


def _docs(args) -> int:
    text = schema_markdown(load_schema(_schema_dir(args)))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("config", help="validate a workflow config / regenerate its documentation")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    for name, func, hlp in (("validate", _validate, "validate config/config.yaml (+ --configfile)"),
                            ("docs", _docs, "write config/README.md from the schema")):
        q = csub.add_parser(name, help=hlp)
        q.add_argument("--workdir", default=".", help="workflow root (holds workflow/ and config/)")
        q.add_argument("--schema-dir", default=None, help="default: WORKDIR/workflow/schemas")
        if name == "validate":
            q.add_argument("--configfile", default=None, help="default: WORKDIR/config/config.yaml")
            q.add_argument("--extra", nargs="*", help="further config files layered on top, in order")
            q.add_argument("--print", action="store_true", help="print the resolved config")
        else:
            q.add_argument("-o", "--output", default="config/README.md")
        q.set_defaults(func=func)
