"""Analytic Hopf FC: 1000 null connectomes x 50 G values, side by side with the reference solvers.

Run by hand (not in CI)::

    .venv/bin/python benchmarks/bench_hopf.py                      # hcp80, 1000 nulls x 50 G
    .venv/bin/python benchmarks/bench_hopf.py --atlas schaefer100 --threads 2

Networks: the real connectome (``encephagen.data.load_connectome``; resources built on demand)
and ``--n-nulls`` weight-permutation nulls (upper-triangle weights shuffled symmetrically, made
here so the figure measures the FC computation only). What is timed, in one run:

* encephagen.hopf.fit.sweep: eigendecomposition once per network, FC for every G as one batched
  product, Pearson and Spearman r against the training and held-out FC (float64 and float32);
* the same without the Spearman ranking (FC + Pearson only);
* peers, per FC, extrapolated to the whole sweep: scipy.linalg.solve_continuous_lyapunov on the
  real 2n x 2n Jacobian (the reference), and numpy's closed form (one np.linalg.inv per FC).
Agreement of the fast path with the scipy reference is printed (max |FC difference|).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def weight_permutation_nulls(W: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = W.shape[0]
    iu = np.triu_indices(n, 1)
    w = W[iu]
    out = np.zeros((k, n, n))
    for i in range(k):
        out[i][iu] = rng.permutation(w)
    return out + np.swapaxes(out, 1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--atlas", default="hcp80")
    ap.add_argument("--train", default=None)
    ap.add_argument("--test", default=None)
    ap.add_argument("--n-nulls", type=int, default=1000)
    ap.add_argument("--n-g", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device of the sweep (cpu, cuda)")
    ap.add_argument("--resources", default=os.environ.get("ENCEPHAGEN_RESOURCES", "resources"))
    ap.add_argument("--peer-samples", type=int, default=20, help="FCs timed with scipy's solver")
    args = ap.parse_args()

    import scipy.linalg as sl
    import torch

    from encephagen.data import load_connectome
    from encephagen.steps.data import prepare_resources
    from encephagen.hopf import fit as hf
    from encephagen.hopf import linear as hl
    from encephagen.steps.hopf import read_group_fc

    torch.set_num_threads(args.threads)
    pairs = {"hcp80": ("hcp80", "gw80"), "schaefer100": ("schaefer100-train706", "schaefer100-test303")}
    train, test = args.train or pairs[args.atlas][0], args.test or pairs[args.atlas][1]
    prepare_resources(args.resources, [args.atlas] + (["gw80"] if args.atlas == "hcp80" else
                                                       ["schaefer100-test303"] if args.atlas == "schaefer100" else []))
    c = load_connectome(args.atlas, args.resources)
    W = (c.weights + c.weights.T) / 2
    Ftr, _ = read_group_fc(f"{args.resources}/fc/{train}.h5")
    Fte, _ = read_group_fc(f"{args.resources}/fc/{test}.h5")
    nets = np.concatenate([W[None], weight_permutation_nulls(W, args.n_nulls, seed=1)])
    C = hf.normalise_sc(nets)
    G = hf.g_grid(0.001, 10.0, args.n_g)
    a = -0.02
    n_fc = C.shape[0] * G.size
    emp = {"train": Ftr, "test": Fte}
    print(f"{args.atlas}: n = {c.n}, {C.shape[0]} networks (real + {args.n_nulls} weight-permutation nulls) "
          f"x {G.size} G = {n_fc} FCs; torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"cpu count {os.cpu_count()}, device {args.device}")

    rows = []
    hf.sweep(C[:4], G, emp, a, device=args.device)  # warm-up
    for label, kw in (("encephagen sweep float64 (FC + Pearson + Spearman, 2 targets)", dict()),
                      ("encephagen sweep float64 (FC + Pearson, 2 targets)", dict(metrics=("pearson",))),
                      ("encephagen sweep float32 (FC + Pearson + Spearman, 2 targets)", dict(dtype=torch.float32)),
                      ("encephagen sweep float32 (FC + Pearson, 2 targets)",
                       dict(dtype=torch.float32, metrics=("pearson",)))):
        t0, c0 = time.perf_counter(), time.process_time()
        res = hf.sweep(C, G, emp, a, device=args.device, **kw)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        rows.append((label, dt / n_fc, dt, n_fc, dc))
        if label.startswith("encephagen sweep float64 (FC + Pearson + S"):
            best = res.best("train")
    # peers on a sample
    rng = np.random.default_rng(0)
    sample = [(int(rng.integers(C.shape[0])), int(rng.integers(G.size))) for _ in range(args.peer_samples)]
    t0, c0 = time.perf_counter(), time.process_time()
    ref = []
    for b, g in sample:
        J, Q = hl.jacobian(C[b], G[g], a, 2 * np.pi * 0.05), hl.noise_matrix(c.n, 0.02)
        P = sl.solve_continuous_lyapunov(J, -Q)[: c.n, : c.n]
        d = np.sqrt(np.diag(P))
        ref.append(P / np.outer(d, d))
    t_sc = (time.perf_counter() - t0) / len(sample)
    c_sc = (time.process_time() - c0) / len(sample)
    rows.append(("peer: scipy solve_continuous_lyapunov (2n x 2n), per FC", t_sc, t_sc * n_fc, len(sample),
                 c_sc * n_fc))
    t0, c0 = time.perf_counter(), time.process_time()
    m = 10 * len(sample)
    for i in range(m):
        b, g = sample[i % len(sample)]
        L = np.diag(C[b].sum(1)) - C[b]
        P = np.linalg.inv(G[g] * L - a * np.eye(c.n))
        d = np.sqrt(np.diag(P))
        _ = P / np.outer(d, d)
    t_np = (time.perf_counter() - t0) / m
    c_np = (time.process_time() - c0) / m
    rows.append(("peer: numpy closed form (np.linalg.inv), per FC", t_np, t_np * n_fc, m, c_np * n_fc))

    fast = np.stack([hl.fc_sweep(C[b], G[g:g + 1], a)[0, 0].numpy() for b, g in sample])
    err = np.abs(fast - np.stack(ref)).max()
    w = max(len(r[0]) for r in rows)
    print(f"\n{'method':{w}s}  {'per FC':>10s}  {'total wall':>10s}  {'total CPU':>10s}  {'FCs timed':>9s}")
    for label, per, tot, k, cpu in rows:
        tag = "" if label.startswith("encephagen") else "  (extrapolated to the sweep)"
        print(f"{label:{w}s}  {per * 1e6:8.1f} us  {tot:9.2f}s  {cpu:9.2f}s  {k:9d}{tag}")
    print("(CPU = process CPU time summed over threads: on a busy shared machine wall time is inflated, "
          "CPU time is not)")
    print(f"\nmax |FC(encephagen) - FC(scipy Lyapunov)| over {len(sample)} sampled (network, G): {err:.2e}")
    print(f"real network: best G {G[best[0][0]]:.4g}, r_train {best[1][0]:.3f}, "
          f"r_test at that G {res.r['pearson']['test'][0, best[0][0]]:.3f} (float32 run)")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
