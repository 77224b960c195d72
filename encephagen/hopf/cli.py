"""``encephagen hopf {fit,sweep,summarise,heterogeneity}``: analytic FC of the linearised Hopf model.

Examples::

    encephagen hopf fit --atlas hcp80 --train hcp80 --test gw80 --resources resources
    encephagen hopf sweep results/nulls/atlas-hcp80/null-degree/batch-0000.h5 \\
        resources/fc/hcp80.h5 resources/fc/gw80.h5 results/hopf/atlas-hcp80/null-degree/batch-0000.h5
    encephagen hopf summarise results/hopf/atlas-hcp80/null-*/batch-*.h5 --out results/hopf/atlas-hcp80
    encephagen hopf heterogeneity --atlas hcp80 --train hcp80 --test gw80 --resources resources \\
        --real-sweep results/hopf/atlas-hcp80/null-real/batch-0000.h5 --out results/hopf/atlas-hcp80 --n-null 100

Model parameters come from ``--config`` (a YAML file holding the workflow's ``hopf`` section, or
the whole workflow config) with the schema's defaults for anything not given.
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _params(args) -> dict:
    import yaml

    cfg = {}
    if getattr(args, "config", None):
        data = yaml.safe_load(Path(args.config).read_text()) or {}
        cfg = dict(data.get("hopf", data))
    if getattr(args, "n_null", None) is not None:
        cfg.setdefault("heterogeneity", {})["n_null"] = args.n_null
    return cfg


def _fc_path(resources, dataset) -> Path:
    from encephagen.data import resources_root

    return resources_root(resources) / "fc" / f"{dataset}.h5"


def _fit(args) -> int:
    """The real network only: best G on training, r on held-out, beside the SC-only baselines."""
    import numpy as np

    from encephagen.analysis.fc import sc_fc_baselines
    from encephagen.steps.data import load_connectome
    from encephagen.hopf.study import sweep_networks
    from encephagen.steps.hopf import read_group_fc

    c = load_connectome(args.atlas, args.resources)
    Ftr, _ = read_group_fc(_fc_path(args.resources, args.train))
    Fte, _ = read_group_fc(_fc_path(args.resources, args.test))
    arr = sweep_networks(c.weights[None], Ftr, Fte, _params(args))
    k = int(arr["best_index"][0])
    print(f"{args.atlas}: best G = {arr['best_G'][0]:.4g} (grid {arr['G'][0]:.3g}..{arr['G'][-1]:.3g}, "
          f"{arr['G'].size} values{', AT THE EDGE' if arr['at_edge'][0] else ''})")
    for role, ds, F in (("train (in-sample)", args.train, Ftr), ("held-out", args.test, Fte)):
        key = "train" if role.startswith("train") else "test"
        b = sc_fc_baselines(c.weights, F)
        print(f"  {role:18s} {ds:24s} Pearson {arr[f'r_{key}_pearson'][0, k]:.3f}  Spearman "
              f"{arr[f'r_{key}_spearman'][0, k]:.3f}   SC-only: raw {b['raw_pearson']:.3f}, log {b['log_pearson']:.3f}")
    if args.out:
        from encephagen.io.tables import write_with

        def save(tmp, fc=arr["fc_best"][0]):
            with open(tmp, "wb") as fh:
                np.save(fh, fc)

        write_with(args.out, save)   # atomic
        print(f"  model FC at the best G -> {args.out}")
    return 0


def _sweep(args) -> int:
    from encephagen.steps.hopf import sweep_file

    out = sweep_file(args.networks, args.fc_train, args.fc_test, args.out, params=_params(args),
                     train=args.train, test=args.test, atlas=args.atlas)
    print(out)
    return 0


def _summarise(args) -> int:
    from encephagen.steps.hopf import summarise

    o = Path(args.out)
    summarise(args.sweeps, o / "sweep.tsv.gz", o / "networks.tsv", o / "heldout_vs_nulls.tsv",
              o / "insample_vs_nulls.tsv", min_nulls=args.min_nulls)
    print(o / "heldout_vs_nulls.tsv")
    return 0


def _heterogeneity(args) -> int:
    from encephagen.data import resources_root
    from encephagen.steps.hopf import heterogeneity_file

    root = resources_root(args.resources)
    o = Path(args.out)
    heterogeneity_file(root / "connectomes" / f"{args.atlas}.h5", root / "t1t2" / f"{args.atlas}.tsv",
                       _fc_path(args.resources, args.train), _fc_path(args.resources, args.test), args.real_sweep,
                       o / "heterogeneity.h5", o / "heterogeneity.tsv", params=_params(args),
                       master_seed=args.master_seed, atlas=args.atlas)
    print((o / "heterogeneity.tsv").read_text())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("hopf", help="analytic FC of the linearised Hopf model (fits, sweeps over nulls)",
                              description=__doc__, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="hopf_command", metavar="SUBCOMMAND", required=True)

    def common(q, resources=True):
        q.add_argument("--config", help="YAML with a 'hopf' section (or the section itself); schema defaults otherwise")
        if resources:
            q.add_argument("--resources", default=None, help="resources root (default $ENCEPHAGEN_RESOURCES or ./resources)")

    q = sub.add_parser("fit", help="the real network: best G on the training FC, r on the held-out FC")
    q.add_argument("--atlas", required=True)
    q.add_argument("--train", required=True, help="training FC dataset, e.g. hcp80 or schaefer100-train706")
    q.add_argument("--test", required=True, help="held-out FC dataset, e.g. gw80 or schaefer100-test303")
    q.add_argument("--out", help="save the model FC at the best G (.npy)")
    common(q)
    q.set_defaults(func=_fit)

    q = sub.add_parser("sweep", help="one null batch (or connectome file) -> one hopf_sweep file")
    q.add_argument("networks", help="results/nulls/.../batch-XXXX.h5 (kind nulls) or a connectome .h5")
    q.add_argument("fc_train")
    q.add_argument("fc_test")
    q.add_argument("out")
    q.add_argument("--train", help="training dataset name (default: the file stem)")
    q.add_argument("--test", help="held-out dataset name (default: the file stem)")
    q.add_argument("--atlas")
    common(q, resources=False)
    q.set_defaults(func=_sweep)

    q = sub.add_parser("summarise", help="sweep files of one atlas -> tables (held-out and in-sample vs nulls)")
    q.add_argument("sweeps", nargs="+")
    q.add_argument("--out", required=True, help="output folder")
    q.add_argument("--min-nulls", type=int, default=10)
    q.set_defaults(func=_summarise)

    q = sub.add_parser("heterogeneity", help="a_j = bias + scale * T1w/T2w: fit on training, judge on held-out")
    q.add_argument("--atlas", required=True)
    q.add_argument("--train", required=True)
    q.add_argument("--test", required=True)
    q.add_argument("--real-sweep", required=True, help="the real network's hopf_sweep file (gives the best G)")
    q.add_argument("--out", required=True)
    q.add_argument("--n-null", type=int, default=None, help="number of surrogate maps (default: config)")
    q.add_argument("--master-seed", type=int, required=True)
    common(q)
    q.set_defaults(func=_heterogeneity)
