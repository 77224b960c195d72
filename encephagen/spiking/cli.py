"""``encephagen spiking``: LIF networks on connectomes (``run``) and the Brunel benchmark network
(``brunel``), usable without Snakemake; the workflow calls the same
:func:`encephagen.study.engines.lif.run_lif_networks`."""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("spiking", help="spiking (LIF) networks: simulate connectomes / nulls, Brunel check",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="spiking_command", metavar="SUBCOMMAND")
    r = sub.add_parser("run", help="simulate connectome and/or null networks x seeds x G, write a 'spiking' HDF5")
    r.add_argument("--config", type=Path, default=None,
                   help="YAML with a 'spiking' section (and 'master_seed'), or the section itself")
    r.add_argument("--connectome", action="append", default=[], type=Path, metavar="H5",
                   help="connectome file (kind 'connectome'), family 'real', null_index 0; repeatable")
    r.add_argument("--nulls", action="append", default=[], type=Path, metavar="H5", help="null batch file; repeatable")
    r.add_argument("--t1t2", type=Path, default=None, help="T1w/T2w table (resources/t1t2/<atlas>.tsv) for tau_m")
    r.add_argument("--out", required=True, type=Path, help="output HDF5 (kind 'runs', engine lif)")
    r.add_argument("--master-seed", type=int, default=None)
    r.add_argument("--seeds-per-network", type=int, default=None)
    r.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)
    r.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="override a spiking key, e.g. --set duration=500 --set params.G=0.3")
    r.set_defaults(func=_run)
    b = sub.add_parser("brunel", help="simulate Brunel's network and compare its rate with the diffusion approximation")
    b.add_argument("--n-e", type=int, default=4000)
    b.add_argument("--n-i", type=int, default=1000)
    b.add_argument("--c-e", type=int, default=400)
    b.add_argument("--c-i", type=int, default=100)
    b.add_argument("--J", type=float, default=0.1)
    b.add_argument("--g", type=float, default=5.0)
    b.add_argument("--eta", type=float, default=2.0)
    b.add_argument("--tau-s", type=float, default=5.0)
    b.add_argument("--duration", type=float, default=1000.0, help="ms (after a 200 ms transient)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--device", default="cpu")
    b.add_argument("--backend", default="auto", choices=("auto", "torch", "numba"))
    b.set_defaults(func=_brunel)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def load_config_file(path) -> dict:
    """A YAML config file as a dict ({} for no file); a missing file stops with its name."""
    import yaml

    if path is None:
        return {}
    if not path.exists():
        raise SystemExit(f"config file not found: {path}")
    return yaml.safe_load(path.read_text()) or {}


def _set(section: dict, item: str) -> None:
    if "=" not in item:
        raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
    key, val = item.split("=", 1)
    try:
        val = json.loads(val)
    except json.JSONDecodeError:
        pass
    parts = key.split(".")
    d = section
    for k in parts[:-1]:
        d = d.setdefault(k, {})
    d[parts[-1]] = val


def _run(args) -> int:
    import numpy as np

    from encephagen.study.engines.lif import run_lif_networks
    from encephagen.steps.networks import load_networks

    raw = load_config_file(args.config)
    section = dict(raw.get("spiking", raw if "master_seed" not in raw else {}))
    for item in args.set:
        _set(section, item)
    master = args.master_seed if args.master_seed is not None else raw.get("master_seed")
    if master is None:
        raise SystemExit("no master seed: pass --master-seed or set master_seed in the config")
    nets, labels = load_networks(args.connectome, args.nulls)
    t1t2 = None
    if args.t1t2 is not None:
        from encephagen.data.parcellate import read_t1t2

        rows = read_t1t2(args.t1t2)
        by_label = {r["label"]: r["t1t2"] for r in rows}
        missing = [lab for lab in labels if lab not in by_label]
        if missing:
            raise SystemExit(f"{args.t1t2}: no row for region label(s) {missing[:5]}")
        t1t2 = np.array([by_label[lab] for lab in labels])
    out = run_lif_networks(section, nets, args.seeds_per_network, int(master), args.out, device=args.device,
                           region_labels=labels, t1t2=t1t2)
    print(out)
    return 0


def _brunel(args) -> int:
    import numpy as np

    from encephagen.spiking.monitors import SpikeMonitorConfig
    from encephagen.spiking.network import brunel_network
    from encephagen.spiking.run import simulate
    from encephagen.spiking.theory import brunel_rate

    net = brunel_network(args.n_e, args.n_i, args.c_e, args.c_i, J=args.J, g=args.g, eta=args.eta, seed=args.seed,
                         tau_s=args.tau_s)
    res = simulate([net], [args.seed], args.duration, 200.0, SpikeMonitorConfig(bold=False), device=args.device,
                   backend=args.backend)
    pred = brunel_rate(args.J, args.g, args.c_e, args.c_i, args.eta, tau_s=args.tau_s)
    sim_rate = float(res["rate"][0, 0])
    print(json.dumps({"simulated_hz": sim_rate, "siegert_hz": pred, "relative_error": sim_rate / pred - 1,
                      "cv_isi": float(res["cv_isi"][0, 0]), "synchrony": float(res["synchrony"][0, 0]),
                      "run_s": res["run_s"], "setup_s": res["setup_s"], "backend": res["backend"]}, indent=1))
    return 0 if np.isfinite(sim_rate) else 1
