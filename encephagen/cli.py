"""Command line: encephagen <command> ...; each subsystem registers its own subcommand.

Every subcommand works without Snakemake (the workflow's scripts call the same library
functions). Modules listed in _SUBCOMMANDS expose register(subparsers), which adds a parser
whose func(args) -> int runs it. Help texts are shown as plain text: reStructuredText markup
written for the API docs (double backticks, :func: roles) is stripped for the terminal.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys

_SUBCOMMANDS = (
    "encephagen.data.cli",
    "encephagen.nulls.cli",
    "encephagen.sim.cli",
    "encephagen.hopf.cli",
    "encephagen.spiking.cli",
    "encephagen.demo.cli",
    "encephagen.learn.cli",
    "encephagen.workflow_cli",
    "encephagen.bodies.cli",
    "encephagen.analysis.cli",
)
# The top-level command(s) each module registers: a command line naming one imports that module only,
# so that `encephagen config validate` (and `encephagen data ...`) never import the engines (torch).
# Help, --version and unknown commands import them all. tests/test_cli_config.py keeps this in step.
COMMAND_MODULES = {
    "data": "encephagen.data.cli",
    "nulls": "encephagen.nulls.cli",
    "simulate": "encephagen.sim.cli",
    "hopf": "encephagen.hopf.cli",
    "spiking": "encephagen.spiking.cli",
    "demo": "encephagen.demo.cli",
    "learn": "encephagen.learn.cli",
    "config": "encephagen.workflow_cli",
    "summary": "encephagen.workflow_cli",
    "embody": "encephagen.bodies.cli",
    "claims": "encephagen.analysis.cli",
}

# Help for arguments whose subsystem registers them without one, keyed by (command path, dest).
# A test checks that every argument of every subcommand ends up with a help text.
_FALLBACK_HELP = {
    ("data list", "resources"): "resources root (default $ENCEPHAGEN_RESOURCES or ./resources)",
    ("data show", "resources"): "resources root (default $ENCEPHAGEN_RESOURCES or ./resources)",
    ("data show", "name"): "connectome name, e.g. hcp80 (see encephagen data list)",
    ("nulls show", "paths"): "null batch files (results/nulls/.../batch-XXXX.h5)",
    ("hopf fit", "atlas"): "atlas (connectome) name, e.g. hcp80",
    ("hopf sweep", "fc_train"): "training group FC file (resources/fc/<dataset>.h5)",
    ("hopf sweep", "fc_test"): "held-out group FC file (resources/fc/<dataset>.h5)",
    ("hopf sweep", "out"): "output hopf_sweep file (.h5)",
    ("hopf sweep", "atlas"): "atlas name recorded in the output (default: from the input file)",
    ("hopf summarise", "sweeps"): "every hopf_sweep file of one atlas (the real network's and each null batch's)",
    ("hopf summarise", "min_nulls"): "fewest nulls per family for a real-vs-nulls comparison (default: 10)",
    ("hopf heterogeneity", "atlas"): "atlas (connectome) name, e.g. hcp80",
    ("hopf heterogeneity", "train"): "training FC dataset, e.g. hcp80",
    ("hopf heterogeneity", "test"): "held-out FC dataset, e.g. gw80",
    ("hopf heterogeneity", "out"): "output stem: writes <out>.h5 and <out>.tsv",
    ("hopf heterogeneity", "master_seed"): "master seed from which the surrogate maps' seed is derived",
    ("spiking run", "master_seed"): "master seed (default: the config's master_seed)",
    ("spiking run", "seeds_per_network"): "noise seeds per network (default: the config's)",
    ("spiking run", "device"): "torch device (default: the config's; auto = cuda if available)",
    ("spiking brunel", "n_e"): "number of excitatory neurons (default: 4000)",
    ("spiking brunel", "n_i"): "number of inhibitory neurons (default: 1000)",
    ("spiking brunel", "c_e"): "excitatory inputs per neuron (default: 400)",
    ("spiking brunel", "c_i"): "inhibitory inputs per neuron (default: 100)",
    ("spiking brunel", "J"): "excitatory synaptic efficacy in mV (default: 0.1)",
    ("spiking brunel", "g"): "relative strength of inhibition (default: 5)",
    ("spiking brunel", "eta"): "external drive relative to threshold, nu_ext / nu_thr (default: 2)",
    ("spiking brunel", "tau_s"): "synaptic time constant in ms (default: 5)",
    ("spiking brunel", "seed"): "random seed of the network and the drive (default: 0)",
    ("spiking brunel", "device"): "torch device (default: cpu)",
    ("spiking brunel", "backend"): "simulation kernel: torch, numba or auto (default: auto)",
}

_RST = [(re.compile(r"::$", re.M), ":"), (re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"), (re.compile(r"``([^`]*)``"), r"\1"),
        (re.compile(r"`([^`]*)`"), r"\1")]


def plain(text: str | None) -> str | None:
    """reStructuredText inline markup removed (:func:`x` -> x, ``x`` -> x, `x` -> x)."""
    if not text:
        return text
    for pat, rep in _RST:
        text = pat.sub(rep, text)
    return text


def _tidy(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Plain-text descriptions and helps on every (sub)parser; fallback helps filled in."""
    parser.description = plain(parser.description)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = plain(choice.help)
            for name, sp in action.choices.items():
                _tidy(sp, f"{path} {name}".strip())
            continue
        if action.help is None:
            action.help = _FALLBACK_HELP.get((path, action.dest))
        action.help = plain(action.help) if action.help is not argparse.SUPPRESS else action.help


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser of every subcommand, or (``argv`` naming a command of COMMAND_MODULES) of that one."""
    from encephagen import __version__

    p = argparse.ArgumentParser(prog="encephagen", description=plain(__doc__.splitlines()[0]))
    p.add_argument("--version", action="version", version=f"encephagen {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    first = next((a for a in argv or () if not a.startswith("-")), None)
    for modname in (COMMAND_MODULES[first],) if first in COMMAND_MODULES else _SUBCOMMANDS:
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name and modname.startswith(exc.name):  # subsystem not present in this build
                continue
            raise
        mod.register(sub)
    _tidy(p)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
