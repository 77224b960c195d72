"""``encephagen demo``: the interactive brain (see docs/demo.md)."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("demo", help="interactive spiking brain: look, sound, touch, teach, test, memory, walk",
                       description="An interactive session on a spiking connectome network (docs/demo.md).")
    p.add_argument("--atlas", default="tvb96", help="connectome (tvb96 or hcp80; default tvb96)")
    p.add_argument("--neurons", type=int, default=200, help="neurons per region (default 200; tests use 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network, its noise and the decoder (default 0)")
    p.add_argument("--script", default=None, help="run the commands of this file (one a line) instead of a prompt")
    p.add_argument("--out", default="demo_out", help="folder for pictures and session.md (default demo_out)")
    p.add_argument("--resources", default=None, help="resources root (default $ENCEPHAGEN_RESOURCES or ./resources)")
    p.add_argument("--history", default="~/.encephagen_demo_history",
                   help="readline history file of interactive sessions ('' for none)")
    p.add_argument("--no-nmda", action="store_true", help="no NMDA current in prefrontal regions")
    p.add_argument("--backend", default="auto", choices=("auto", "numba", "torch"), help="spiking kernel (default auto)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import logging
    import os
    import sys

    from encephagen.demo.brain import BrainConfig, build_brain
    from encephagen.demo.repl import DemoShell, interactive, run_script
    from encephagen.steps.data import ensure_connectome

    if args.neurons < 5:
        print(f"error: --neurons {args.neurons}: need at least 5 neurons per region", file=sys.stderr)
        return 2
    logging.getLogger("encephagen.spiking.network").setLevel(logging.ERROR)
    cfg = BrainConfig(atlas=args.atlas, n_per_region=args.neurons, seed=args.seed, nmda=not args.no_nmda)
    try:
        ensure_connectome(cfg.atlas, args.resources)   # built from the packages when missing
        brain = build_brain(cfg, args.resources, backend=args.backend)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shell = DemoShell(brain, args.out)
    try:
        if args.script:
            print(shell.intro)
            return run_script(shell, args.script)
        hist = os.path.expanduser(args.history) if args.history else None
        return interactive(shell, hist)
    finally:
        shell.close()
