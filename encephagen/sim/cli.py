"""``encephagen simulate``: run one batch from a YAML config and input files, write the HDF5.

Usable without Snakemake; the workflow's simulate step (:mod:`encephagen.steps.simulate`) runs the same
engine as :func:`encephagen.study.engines.neural_mass.run_networks`.
"""
from __future__ import annotations

import logging
from pathlib import Path

import yaml

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate", help="simulate networks (a connectome and/or null batches) x seeds x parameter grid",
        description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, type=Path,
                   help="YAML config: a file with a 'simulate' section (and 'master_seed'), or the section itself")
    p.add_argument("--connectome", action="append", default=[], type=Path, metavar="H5",
                   help="connectome file (kind 'connectome'); simulated as family 'real', null_index 0, after the "
                        "nulls stage's transform (the config's nulls.threshold.<atlas>, the length rule), exactly "
                        "as the workflow's real network; repeatable")
    p.add_argument("--model", default=None,
                   help="the model to run when simulate.model lists several (its simulate.per_model overrides apply)")
    p.add_argument("--nulls", action="append", default=[], type=Path, metavar="H5",
                   help="null batch file (kind 'nulls'); repeatable")
    p.add_argument("--out", required=True, type=Path, help="output HDF5 (kind 'runs', engine neural_mass)")
    p.add_argument("--master-seed", type=int, default=None, help="overrides the config's master_seed")
    p.add_argument("--seeds-per-network", type=int, default=None, help="overrides simulate.seeds_per_network")
    p.add_argument("--seed-ids", type=str, default=None,
                   help="explicit seed ids, e.g. '0-3' or '4,5,6' (default 0..seeds_per_network-1)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="overrides simulate.device")
    p.set_defaults(func=main)


def _seed_ids(text: str | None):
    if text is None:
        return None
    out = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    if not out:
        raise SystemExit(f"--seed-ids {text!r} lists no seed ids")
    return out


def main(args) -> int:
    from encephagen.study.engines.neural_mass import model_config, model_names, run_networks
    from encephagen.steps.networks import load_networks

    if not args.config.exists():
        raise SystemExit(f"config file not found: {args.config}")
    raw = yaml.safe_load(args.config.read_text()) or {}
    if not isinstance(raw, dict):
        raise SystemExit(f"{args.config}: expected a mapping at the top level")
    section = raw.get("simulate", raw if "simulate" not in raw and "master_seed" not in raw else {})
    master = args.master_seed if args.master_seed is not None else raw.get("master_seed")
    if master is None:
        raise SystemExit(f"{args.config}: 'master_seed' missing (or pass --master-seed); 0 is a valid seed")
    names = model_names(section)
    if args.model is None and len(names) > 1:
        raise SystemExit(f"{args.config}: simulate.model lists {names}; choose one with --model")
    section = model_config(section, args.model or names[0])
    thresholds = (raw.get("nulls") or {}).get("threshold") if isinstance(raw.get("nulls"), dict) else None
    nets, labels = load_networks(args.connectome, args.nulls, thresholds=thresholds)
    log.info("loaded %d networks from %d connectome and %d nulls files", len(nets), len(args.connectome),
             len(args.nulls))
    run_networks(section, nets, args.seeds_per_network, int(master), args.out, device=args.device,
                 seed_ids=_seed_ids(args.seed_ids), region_labels=labels,
                 provenance={"inputs": [str(p) for p in [*args.connectome, *args.nulls]],
                             "config_file": str(args.config)})
    return 0
