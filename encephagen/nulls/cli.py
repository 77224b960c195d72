"""``encephagen nulls {generate,properties,families,show}``: null connectomes from the command line.

Examples::

    encephagen nulls families
    encephagen nulls generate --atlas tvb96 --family degree --n 1000 --batch-size 500 \\
        --master-seed 20261123 --out results/nulls            # all batches, progress bar
    encephagen nulls generate --atlas hcp80 --family degree --n 10 --on-refusal skip --out /tmp/n
    encephagen nulls properties results/nulls/atlas-tvb96/null-*/batch-*.h5 --table p.tsv --figure p.png
    encephagen nulls show results/nulls/atlas-tvb96/null-degree/batch-0000.h5
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def batch_path(out: str | Path, atlas: str, family: str, batch: int) -> Path:
    """The workflow's layout: ``<out>/atlas-{atlas}/null-{family}/batch-{batch:04d}.h5``."""
    return Path(out) / f"atlas-{atlas}" / f"null-{family}" / f"batch-{int(batch):04d}.h5"


def _generate(args) -> int:
    from tqdm.auto import tqdm

    from encephagen.connectome import Connectome
    from encephagen.nulls.families import NullRefusal, get_family
    from encephagen.nulls.pipeline import n_batches
    from encephagen.steps.nulls import generate_nulls_file

    if args.connectome:
        conn = Connectome.load(args.connectome, isolated="allow")
        atlas = args.atlas or conn.name
    elif args.atlas:
        from encephagen.steps.data import load_connectome

        conn, atlas = load_connectome(args.atlas, args.resources), args.atlas
    else:
        raise SystemExit("error: give --atlas NAME (with --resources DIR) or --connectome FILE.h5")
    threshold = None
    if args.threshold_density is not None:
        threshold = {"method": "density", "value": args.threshold_density}
    elif args.threshold_absolute is not None:
        threshold = {"method": "absolute", "value": args.threshold_absolute}
    params = {}
    for fam in args.family:
        get_family(fam)  # unknown family: clear error before any work
    for key in ("itr", "min_swaps_per_edge"):
        v = getattr(args, key)
        if v is not None:
            params[key] = v
    jobs = []
    for fam in args.family:
        nb = 1 if fam == "real" else n_batches(args.n, args.batch_size)
        batches = range(nb) if args.batch is None else [args.batch]
        jobs += [(fam, b) for b in batches]
    n_total = sum(1 if fam == "real" else min(args.batch_size, args.n - b * args.batch_size) for fam, b in jobs)
    with tqdm(total=n_total, desc=f"{atlas} nulls", unit="null") as bar:
        for fam, b in jobs:
            out = batch_path(args.out, atlas, fam, b)
            fp = {k: v for k, v in params.items() if k in get_family(fam).defaults}
            try:
                generate_nulls_file(conn, out, atlas=atlas, family=fam, batch=b, batch_size=args.batch_size,
                                    n_per_family=args.n, master_seed=args.master_seed, params=fp,
                                    threshold=threshold, on_refusal=args.on_refusal)
            except NullRefusal as exc:
                log.error("%s (use --on-refusal skip to record a skip instead)", exc)
                return 1
            bar.update(1 if fam == "real" else min(args.batch_size, args.n - b * args.batch_size))
            bar.set_postfix_str(f"{fam} batch {b}")
            log.debug("wrote %s", out)
    return 0


def _properties(args) -> int:
    from encephagen.steps.nulls import properties_files

    out = properties_files(args.batches, args.table, args.figure, summary=args.summary, curves=args.curves,
                           max_per_family=args.max_per_family, rich_fraction=args.rich_fraction)
    for p in out:
        print(p)
    return 0


def _families(args) -> int:
    from encephagen.nulls.families import FAMILIES

    for f in FAMILIES.values():
        print(f"{f.name}: {f.summary}  [{f.reference}]")
        for k, v in f.invariants.items():
            print(f"    {k}: {v}")
        if f.defaults:
            print(f"    parameters: {dict(f.defaults)}")
    return 0


def _show(args) -> int:
    from encephagen.nulls.io import read_nulls

    for p in args.paths:
        b = read_nulls(p)
        line = f"{p}: {b.source} {b.family} status={b.status} k={len(b)} n={b.n} directed={b.directed}"
        if len(b):
            line += (f" null_index {int(b.null_index.min())}..{int(b.null_index.max())}"
                     f" swaps achieved/requested {int(b.swaps_achieved.sum())}/{int(b.swaps_requested.sum())}")
        if b.skipped:
            line += f" reason: {b.reason}"
        print(line)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("nulls", help="null connectomes: generate, property panel, list families",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="nulls_command", metavar="SUBCOMMAND")

    g = sub.add_parser("generate", help="generate null batches (HDF5, kind 'nulls')")
    src = g.add_argument_group("source")
    src.add_argument("--atlas", help="connectome name (tvb96, schaefer100, ...) via encephagen.data")
    src.add_argument("--resources", default=None, help="resources directory (default $ENCEPHAGEN_RESOURCES "
                                                        "or ./resources)")
    src.add_argument("--connectome", help="a connectome .h5 file instead of --atlas")
    g.add_argument("--family", action="append", required=True,
                   help="family name (repeatable); see `encephagen nulls families`")
    g.add_argument("--n", type=int, default=100, help="nulls per family (default 100)")
    g.add_argument("--batch-size", type=int, default=500, help="nulls per file (default 500)")
    g.add_argument("--batch", type=int, default=None, help="only this batch (default all)")
    g.add_argument("--master-seed", type=int, required=True, help="master seed (0 is a valid seed)")
    g.add_argument("--itr", type=float, default=None, help="swap iterations per edge (default 10)")
    g.add_argument("--min-swaps-per-edge", type=float, default=None,
                   help="refuse when fewer swaps per edge are achieved (default 0.5)")
    g.add_argument("--threshold-density", type=float, default=None, help="keep the strongest edges to this density")
    g.add_argument("--threshold-absolute", type=float, default=None, help="keep edges with weight >= this")
    g.add_argument("--on-refusal", choices=("error", "skip"), default="error",
                   help="a family that cannot act: fail, or write a batch recording the skip and reason")
    g.add_argument("--out", default="results/nulls", help="output root (default results/nulls)")
    g.set_defaults(func=_generate)

    q = sub.add_parser("properties", help="property panel of null batches of one atlas vs the real network")
    q.add_argument("batches", nargs="+", help="batch files (one atlas)")
    q.add_argument("--table", required=True, help="per-network TSV")
    q.add_argument("--figure", action="append", required=True, help="figure file(s): .png, .pdf")
    q.add_argument("--summary", default=None, help="per-family summary TSV")
    q.add_argument("--curves", default=None, help="rich-club curves TSV")
    q.add_argument("--max-per-family", type=int, default=None, help="at most this many nulls per family")
    q.add_argument("--rich-fraction", type=float, default=0.15, help="rich club = top fraction by degree")
    q.set_defaults(func=_properties)

    f = sub.add_parser("families", help="list the families and their invariants")
    f.set_defaults(func=_families)

    s = sub.add_parser("show", help="summarise batch files")
    s.add_argument("paths", nargs="+")
    s.set_defaults(func=_show)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
