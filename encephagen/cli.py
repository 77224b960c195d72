"""Command line: ``encephagen <command> ...``; each subsystem registers its own subcommand.

Every subcommand works without Snakemake (the workflow's scripts call the same library
functions). Modules listed in ``_SUBCOMMANDS`` expose ``register(subparsers)`` which adds
a parser whose ``func(args) -> int`` runs it.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

_SUBCOMMANDS = (
    "encephagen.data.cli",
    "encephagen.nulls.cli",
    "encephagen.sim.cli",
    "encephagen.hopf.cli",
    "encephagen.spiking.cli",
    "encephagen.workflow_cli",
)


def build_parser() -> argparse.ArgumentParser:
    from encephagen import __version__

    p = argparse.ArgumentParser(prog="encephagen", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"encephagen {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for modname in _SUBCOMMANDS:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name and modname.startswith(exc.name):  # subsystem not present in this build
                continue
            raise
        mod.register(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
