"""``encephagen data ...``: prepare, list and show the offline datasets."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="offline brain data: connectomes, T1w/T2w, empirical FC")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")

    q = sub.add_parser("prepare", help="verify the packaged sources and build resources/ (idempotent)")
    q.add_argument("--resources", default=None, help="resources root (default $ENCEPHAGEN_RESOURCES or ./resources)")
    q.add_argument("--names", nargs="*", default=None, help="connectomes to prepare (default: all)")
    q.add_argument("--stages", nargs="*", default=None, help="connectomes t1t2 fc baselines (default: all)")
    q.add_argument("--force", action="store_true", help="rebuild even when current")
    q.set_defaults(func=_prepare)

    q = sub.add_parser("list", help="list connectomes and what is built")
    q.add_argument("--resources", default=None)
    q.set_defaults(func=_list)

    q = sub.add_parser("show", help="show one connectome's metadata")
    q.add_argument("name")
    q.add_argument("--resources", default=None)
    q.set_defaults(func=_show)

    q = sub.add_parser("verify", help="check every manifest file of the installed packages (sha256)")
    q.set_defaults(func=_verify)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _prepare(args: argparse.Namespace) -> int:
    from encephagen.data import resources_root
    from encephagen.steps.data import STAGES, prepare_resources

    built = prepare_resources(resources_root(args.resources), args.names, stages=args.stages or STAGES,
                              force=args.force)
    for stage, paths in built.items():
        print(f"{stage}: {len(paths)} built" + "".join(f"\n  {p}" for p in paths))
    return 0


def _list(args: argparse.Namespace) -> int:
    from encephagen.data import resources_root
    from encephagen.data.connectomes import SPECS, connectome_path

    root = resources_root(args.resources)
    for name, s in SPECS.items():
        state = "built" if connectome_path(root, name).exists() else "-"
        print(f"{name:22s} {state:6s} {s.description}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from encephagen.steps.data import load_connectome

    c = load_connectome(args.name, args.resources)
    info = {"name": c.name, "n": c.n, "directed": c.directed, "weight_kind": c.weight_kind,
            "lengths_source": c.lengths_source, "centres_space": c.centres_space, "licence": c.licence,
            "citation": c.citation, "n_edges": int((c.weights > 0).sum()),
            "region_classes": sorted(set(c.region_class)), "provenance": dict(c.provenance)}
    print(json.dumps(info, indent=2, default=str))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from encephagen.data.fetch import DataError, locate, read_manifest

    bad = 0
    for path, src in read_manifest().items():
        try:
            locate(path)
        except DataError as exc:
            bad += 1
            print(f"FAIL {exc}")
    print(f"{len(read_manifest()) - bad} ok, {bad} failed")
    return 1 if bad else 0
