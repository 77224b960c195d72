"""The cuBNM-shaped workload: rWW with analytic FIC, 100 nodes, 60 s, dt 0.1 ms, BOLD, FC, FCD, batch 1..32768.

cuBNM's published scaling figure (amnsbr/cubnm_paper, data/scaling.csv; docs/simulation.md "GPU"):
on an A100 about 100 simulations per second at batch 32,768 (about 2 s per batch, flat up to 64); one
CPU core about 10.2 s per simulation. Its benchmark configuration (cubnm.sim.base, SimGroup's test
set-up): Schaefer-100 HCP group SC ('strength', divided by 100 x its mean), duration 60 s, TR 1 s,
BOLD integrated at 1 ms, the first 30 s of BOLD removed, FC of the remaining 30 volumes, FCD windows 10
volumes, step 2, no delays, rWW with analytic feedback inhibition control.

Here the same workload through the library's user path, :func:`encephagen.fit.simulated.rww_fic_model`
(FIC per candidate, one batched :func:`encephagen.sim.runner.simulate`, BOLD by the Balloon-Windkessel
monitor at the 1 ms tick, FC and FCD of each run), every candidate its own G (uniform in --g-range) and
seed. What is timed per batch: the whole call (FIC + simulation + FC + FCD), after a short warm-up run of
the same batch shape (torch.compile's first compilation is reported apart). The SC is cuBNM's own file
(the cubnm package's data, read by path; ``--sc`` for another (n, n) .npy/.npz).

    .venv/bin/python benchmarks/bench_cubnm.py --device cpu --batches 1 16 --duration-ms 60000
    python benchmarks/bench_cubnm.py --device cuda --batches 1 64 1024 8192 32768
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

SC_REL = "cubnm/data/hcp/sc/group-train706/ctx_parc-schaefer-100_desc-strength.npz"


def load_sc(path: str | None) -> np.ndarray:
    """cuBNM's Schaefer-100 SC ('strength'), normalised as cubnm.datasets.load_sc does (/ (mean x 100))."""
    cands = [Path(path)] if path else [Path(os.environ.get("ENCEPHAGEN_RESOURCES", "resources")) / "raw/cubnm" / SC_REL]
    if not path:
        try:
            import importlib.util
            spec = importlib.util.find_spec("cubnm")
            if spec and spec.submodule_search_locations:
                cands.append(Path(spec.submodule_search_locations[0]).parent / SC_REL)
        except (ImportError, ValueError):
            pass
    for p in cands:
        if p.exists():
            m = np.load(p)
            W = np.asarray(m["arr_0"] if hasattr(m, "files") else m, dtype=float)
            return W / (W.mean() * 100) if not path else W
    raise SystemExit(f"bench_cubnm: no SC found (tried {', '.join(map(str, cands))}); pass --sc")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--duration-ms", type=float, default=60_000.0)
    ap.add_argument("--bold-remove-ms", type=float, default=30_000.0)
    ap.add_argument("--tr-ms", type=float, default=1000.0)
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--fcd-window", type=int, default=10)
    ap.add_argument("--fcd-step", type=int, default=2)
    ap.add_argument("--g-range", type=float, nargs=2, default=[0.5, 3.0])
    ap.add_argument("--noise", type=float, default=1e-3)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--compile", default="true", choices=["true", "false"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--sc", default=None)
    ap.add_argument("--zero-lag", default="auto", choices=["auto", "matmul", "gather"],
                    help="the no-delay coupling: matrix product (auto: on CUDA) or the gather")
    ap.add_argument("--ticks-per-call", type=int, default=None,
                    help="monitor ticks (10 steps each here) per compiled call (runner.MAX_TICKS_PER_CALL; default "
                         "1): fewer calls, less host time per simulated step, a larger graph to compile")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="skip the remaining (larger) batches once the elapsed time passes this")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args(argv)

    import torch

    from encephagen.fit.simulated import CandidateFailed, rww_fic_model
    from encephagen.sim import coupling

    if args.zero_lag != "auto":
        coupling.ZERO_LAG_MATMUL = args.zero_lag == "matmul"
    if args.ticks_per_call:
        from encephagen.sim import runner

        runner.MAX_TICKS_PER_CALL = int(args.ticks_per_call)

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore", CandidateFailed)
    W = load_sc(args.sc)
    n = W.shape[0]
    compile_ = args.compile == "true"
    dev = torch.device(args.device)
    info = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu x {torch.get_num_threads()}",
            "torch": torch.__version__, "n": n, "duration_ms": args.duration_ms, "dt": args.dt,
            "compile": compile_, "dtype": args.dtype, "zero_lag": args.zero_lag,
            "ticks_per_call": args.ticks_per_call or 1}
    print(json.dumps(info), flush=True)

    def model(duration, remove, min_samples):
        return rww_fic_model(W, duration_ms=duration, transient_ms=0.0, dt=args.dt, noise=args.noise,
                             tr_ms=args.tr_ms, bold_warmup_ms=remove, min_bold_samples=min_samples,
                             device=args.device, dtype=args.dtype, fcd_window=args.fcd_window,
                             fcd_step=args.fcd_step, compile=compile_)

    full = model(args.duration_ms, args.bold_remove_ms,
                 int(round((args.duration_ms - args.bold_remove_ms) / args.tr_ms)))
    warm = model(3 * args.tr_ms, 0.0, 3)
    rows, t_all = [], time.perf_counter()
    for B in args.batches:
        if args.max_seconds and time.perf_counter() - t_all > args.max_seconds:
            print(f"batch {B}: skipped (--max-seconds {args.max_seconds} passed)", flush=True)
            continue
        G = np.random.default_rng(B).uniform(*args.g_range, B)
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(dev)
        t0 = time.perf_counter()
        warm(G, {}, seed=1000)
        t_warm = time.perf_counter() - t0
        c0, t0 = time.process_time(), time.perf_counter()
        out = full(G, {}, seed=0)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        ok = np.isfinite(out["fc"]).all(axis=(1, 2))
        fcd_n = int(np.median([np.size(v) for v in out["fcd"]]))
        r = {"batch": B, "wall_s": round(wall, 3), "cpu_s": round(cpu, 2), "sims_per_s": round(B / wall, 3),
             "s_per_sim": round(wall / B, 5), "warmup_s": round(t_warm, 2), "ok": int(ok.sum()),
             "bold_volumes": int(out["bold"].shape[-1]), "fcd_values": fcd_n,
             "mean_fc": float(np.nanmean([f[np.triu_indices(n, 1)].mean() for f in out["fc"][ok][:64]]))
             if ok.any() else float("nan")}
        if dev.type == "cuda":
            r["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated(dev) / 1e9, 2)
        rows.append(r)
        print(json.dumps(r), flush=True)
    print("\n| batch | wall s | sims/s | s/sim | first-compile warm-up s | runs ok |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['batch']} | {r['wall_s']} | {r['sims_per_s']} | {r['s_per_sim']} | {r['warmup_s']} | {r['ok']} |")
    res = {"info": info, "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main(sys.argv[1:])
