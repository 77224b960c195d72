"""encephagen config validate|docs: check a workflow config exactly as a Snakemake run would see it,
or regenerate config/README.md from the schema; encephagen summary: (re)write a run's summary page
from its tables. Plain snakemake keeps working; these are conveniences."""
from __future__ import annotations

import sys
from pathlib import Path

from encephagen.config import ConfigError, layered_config, load_schema, schema_markdown


def _schema_dir(args) -> Path:
    if args.schema_dir:
        return Path(args.schema_dir)
    from encephagen.schemas import SCHEMA_DIR

    return SCHEMA_DIR


def _validate(args) -> int:
    files = list(args.configfile or []) + list(args.extra or [])
    try:
        cfg = layered_config(args.workdir, files, args.config, _schema_dir(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.print:
        import yaml

        print(yaml.safe_dump(cfg, sort_keys=False))
    else:
        layers = ["schema defaults"]
        base = Path(args.workdir) / "config" / "config.yaml"
        if base.is_file() or not files:
            layers.append(str(base))
        layers += files + (["--config " + " ".join(args.config)] if args.config else [])
        print("valid: " + " < ".join(layers))
    return 0


def _docs(args) -> int:
    text = schema_markdown(load_schema(_schema_dir(args)))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from encephagen.io.tables import write_text  # atomic: a failed run leaves the old file

        write_text(args.output, text)
        print(f"wrote {args.output}")
    return 0


def _summary(args) -> int:
    from encephagen.figures.summary import write_summary

    try:
        cfg = layered_config(args.workdir, list(args.configfile or []), args.config, _schema_dir(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    results = Path(args.results) if args.results else Path(args.workdir) / "results"
    out = Path(args.output) if args.output else results / "summary" / "summary.html"
    write_summary(results, out, cfg, out_tsv=out.with_name("headline.tsv"))
    print(f"wrote {out} and {out.with_name('headline.tsv')}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("config", help="validate a workflow config, or regenerate its documentation",
                       description="Validate a workflow config, or regenerate config/README.md from the schema.")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    q = csub.add_parser(
        "validate", help="check the config a snakemake run would use (same layering, same checks)",
        description="Check the config that 'snakemake --configfile ... --config ...' would use, layered as "
                    "Snakemake layers it: schema defaults < config/config.yaml < each --configfile in order < "
                    "--config. Exit status 1 and one line per problem, naming the key and the file that set it.")
    q.add_argument("--workdir", default=".", help="workflow root holding workflow/ and config/ (default: .)")
    q.add_argument("--schema-dir", default=None, help="config schema folder (default: the installed package's encephagen/schemas)")
    q.add_argument("--configfile", nargs="+", default=None, metavar="FILE",
                   help="config files layered over config/config.yaml, in order, as snakemake --configfile")
    q.add_argument("--config", nargs="+", default=None, metavar="KEY=VALUE",
                   help="overrides on top of every file, parsed as snakemake --config parses them; nested keys "
                        "as YAML, e.g. simulate='{seeds_per_network: 5}' (dotted keys are refused, as Snakemake "
                        "refuses them)")
    q.add_argument("--extra", nargs="+", default=None, metavar="FILE",
                   help="more config files after --configfile (kept for old scripts; same as listing them there)")
    q.add_argument("--print", action="store_true", help="print the resolved config (defaults filled) as YAML")
    q.set_defaults(func=_validate)
    d = csub.add_parser("docs", help="write config/README.md from the schema",
                        description="Write the config reference (Markdown) generated from the schema.")
    d.add_argument("--workdir", default=".", help="workflow root holding workflow/ (default: .)")
    d.add_argument("--schema-dir", default=None, help="config schema folder (default: the installed package's encephagen/schemas)")
    d.add_argument("-o", "--output", default="config/README.md", help="output file, or - for stdout "
                                                                      "(default: config/README.md)")
    d.set_defaults(func=_docs)

    r = sub.add_parser("summary", help="write a run's summary page (HTML) from its result tables",
                       description="Write the summary page of a run (the question, design, held-out FC against "
                                   "baselines and nulls, FDR counts, regime flags, links) from the tables under "
                                   "results/, with the config layered as the run used it.")
    r.add_argument("--workdir", default=".", help="workflow root holding workflow/ and config/ (default: .)")
    r.add_argument("--schema-dir", default=None, help="config schema folder (default: the installed package's encephagen/schemas)")
    r.add_argument("--results", default=None, help="the run's results folder (default: WORKDIR/results)")
    r.add_argument("--configfile", nargs="+", default=None, metavar="FILE",
                   help="the config files the run used, in order (as snakemake --configfile)")
    r.add_argument("--config", nargs="+", default=None, metavar="KEY=VALUE",
                   help="the --config overrides the run used (as snakemake --config)")
    r.add_argument("-o", "--output", default=None,
                   help="output HTML (default: RESULTS/summary/summary.html; headline.tsv is written beside it)")
    r.set_defaults(func=_summary)
