"""``encephagen learn``: the learning protocols without Snakemake (``run``: one nulls-stage batch ->
one 'plastic' file; ``summarize``: those files -> tables and figure); the workflow's `learn`
stage calls the same :mod:`encephagen.learn.run`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

# the engine's PROTOCOLS (not imported here: the engine imports torch; tests/test_learn.py checks they agree)
PROTOCOLS = ("habituation", "conditioning", "three_way_eprop", "three_way_rstdp")


def register(subparsers) -> None:
    p = subparsers.add_parser("learn", help="plasticity protocols (habituation, conditioning, three_way_*) on LIF networks",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="learn_command", metavar="SUBCOMMAND")
    r = sub.add_parser("run", help="run one protocol on the networks of one null batch file, write a 'plastic' HDF5")
    r.add_argument("--networks", required=True, type=Path,
                   help="nulls-stage batch file (results/nulls/atlas-*/null-*/batch-*.h5; family 'real' too)")
    r.add_argument("--protocol", required=True, choices=PROTOCOLS, help="the protocol")
    r.add_argument("--config", type=Path, default=None,
                   help="YAML with a 'learn' section (and 'master_seed'), e.g. config/learn.yaml")
    r.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    r.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="override a learn key, e.g. --set seeds_per_network=4 --set habituation.n_repeats=5")
    r.add_argument("--out", required=True, type=Path, help="output HDF5 (kind 'plastic')")
    r.set_defaults(func=_run)
    s = sub.add_parser("summarize", help="tables (runs, effects, vs_nulls) and a figure from 'plastic' files")
    s.add_argument("files", nargs="+", type=Path, help="'plastic' files of one atlas and protocol")
    s.add_argument("--out-dir", required=True, type=Path, help="directory for runs.tsv, effects.tsv, vs_nulls.tsv, "
                                                              "summary.png")
    s.add_argument("--n-permutations", type=int, default=100_000, help="sign flips beyond 20 seeds (default 100000)")
    s.add_argument("--fdr-alpha", type=float, default=0.05, help="BH false discovery rate (default 0.05)")
    s.set_defaults(func=_summarize)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _run(args) -> int:
    from encephagen.learn.run import learn_network_file
    from encephagen.spiking.cli import _set, load_config_file

    raw = load_config_file(args.config)
    section = dict(raw.get("learn") or {})
    for item in args.set:
        _set(section, item)
    master = args.master_seed if args.master_seed is not None else raw.get("master_seed")
    if master is None:
        raise SystemExit("no master seed: pass --master-seed or set master_seed in the config")
    print(learn_network_file(args.networks, args.out, section, args.protocol, master_seed=int(master)))
    return 0


def _summarize(args) -> int:
    from encephagen.learn.run import summarize

    d = args.out_dir
    res = summarize(args.files, d / "runs.tsv", d / "effects.tsv", d / "vs_nulls.tsv", d / "summary.png",
                    n_permutations=args.n_permutations, fdr_alpha=args.fdr_alpha)
    print(json.dumps(res, indent=1, default=str))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="encephagen")
    register(ap.add_subparsers(dest="command"))
    a = ap.parse_args(argv)
    return a.func(a)
