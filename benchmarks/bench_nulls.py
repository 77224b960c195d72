"""bctpy vs encephagen.nulls, side by side in one run, on tvb96 (and schaefer100).

    python benchmarks/bench_nulls.py [--resources DIR] [--n-bct 5] [--n-ours 200] [--itr 10]

Prints seconds per null for bctpy randmio_und (tvb96 symmetrised, as in docs/PERFORMANCE.md),
randmio_und_connected and null_model_und_sign against the compiled generators, the
throughput ratio, and the invariants of both (degree exact, strength r, achieved swaps).
The first compiled call (numba JIT / cache load) is timed apart and excluded.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def _time(fn, n):
    """(wall seconds per call, CPU seconds per call, outputs). On a shared machine the CPU
    time of this process is the fairer figure; both are printed."""
    out = []
    t, c = time.perf_counter(), time.process_time()
    for s in range(n):
        out.append(fn(s))
    return (time.perf_counter() - t) / n, (time.process_time() - c) / n, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", default=None)
    ap.add_argument("--n-bct", type=int, default=5, help="bctpy nulls per measurement")
    ap.add_argument("--n-ours", type=int, default=200, help="compiled nulls per measurement")
    ap.add_argument("--itr", type=float, default=10)
    ap.add_argument("--atlases", nargs="+", default=["tvb96", "schaefer100"])
    args = ap.parse_args(argv)

    import bct

    from encephagen.data import load_connectome
    from encephagen.nulls import fast
    from encephagen.nulls.families import generate_null, prepare_source

    warnings.simplefilter("ignore", RuntimeWarning)
    t = time.perf_counter()
    fast.rewire(np.ones((6, 6)) - np.eye(6), 1, 0, directed=False)
    fast.assign_strength_weights(np.ones((6, 6)) - np.eye(6), np.ones((6, 6)) - np.eye(6), 0, False)
    print(f"first compiled call (JIT or cache load): {time.perf_counter() - t:.2f} s (excluded)")

    rows = []
    for atlas in args.atlases:
        c = load_connectome(atlas, args.resources)
        W = np.maximum(c.weights, c.weights.T)  # undirected, as bctpy's und functions need
        k = int((np.triu(W, 1) != 0).sum())
        print(f"\n{atlas}: symmetrised, n={W.shape[0]}, {k} edges, density {k / (W.shape[0] * (W.shape[0] - 1) / 2):.3f}, "
              f"itr={args.itr}")
        pairs = [
            ("randmio_und", lambda s: bct.randmio_und(W, args.itr, seed=s),
             lambda s: (lambda r: (r["weights"], r["achieved"]))(fast.rewire(W, args.itr, s, directed=False))),
            ("randmio_und_connected", lambda s: bct.randmio_und_connected(W, args.itr, seed=s),
             lambda s: (lambda r: (r["weights"], r["achieved"]))(
                 fast.rewire(W, args.itr, s, directed=False, connected=True))),
            ("null_model_und_sign", lambda s: bct.null_model_und_sign(W, bin_swaps=5, seed=s),
             lambda s: (lambda A: (fast.assign_strength_weights(W, A, s, False), None))(
                 fast.rewire(W, 5, 10_000 + s, directed=False)["weights"])),
        ]
        for name, theirs, ours in pairs:
            tb, cb, outb = _time(theirs, args.n_bct)
            to, co, outo = _time(ours, args.n_ours)
            deg0 = (W != 0).sum(0)

            def summ(out):
                degs = all(np.array_equal((R != 0).sum(0), deg0) for R, _ in out)
                sr = np.mean([np.corrcoef(R.sum(0), W.sum(0))[0, 1] for R, _ in out])
                eff = [e for _, e in out if isinstance(e, (int, np.integer))]
                return degs, sr, (np.mean(eff) if eff else float("nan"))

            db, srb, effb = summ(outb)
            do, sro, effo = summ(outo)
            ratio, cratio = tb / to, cb / co
            rows.append((atlas, name, tb, to, ratio, cb, co, cratio))
            print(f"  {name:22s} bctpy {tb:8.4f} s/null (n={args.n_bct})   ours {to:8.5f} s/null (n={args.n_ours})   "
                  f"ratio {ratio:7.1f}x wall, {cratio:7.1f}x CPU ({cb:.4f} vs {co:.5f} CPU s)")
            print(f"  {'':22s} degree exact: bctpy {db} ours {do}; strength r: bctpy {srb:.4f} ours {sro:.4f}; "
                  f"achieved swaps: bctpy {effb:.0f} ours {effo:.0f}")
        src = prepare_source(c)
        print(f"  families on {atlas} as stored ({'directed' if c.directed else 'undirected'}), seconds per null:")
        for fam in ("degree", "degree_connected", "strength", "er", "weight_perm", "richclub", "geometry"):
            try:
                tf, cf, _ = _time(lambda s: generate_null(src, fam, s), max(5, args.n_ours // 10))
                print(f"    {fam:18s} {tf:.5f} wall, {cf:.5f} CPU")
            except Exception as exc:  # noqa: BLE001 - report refusals in the table
                print(f"    {fam:18s} refused: {exc}")
    print("\nsummary (seconds per null; ratio = bctpy / ours; wall | CPU of this process):")
    for atlas, name, tb, to, ratio, cb, co, cratio in rows:
        print(f"  {atlas:12s} {name:22s} wall {tb:9.4f} {to:9.5f} {ratio:8.1f}x | CPU {cb:9.4f} {co:9.5f} {cratio:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
