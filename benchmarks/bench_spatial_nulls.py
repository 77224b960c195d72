"""Variogram-matching surrogates: encephagen (vectorised numpy) vs brainsmash (Burt et al. 2020), side by side.

Run by hand (brainsmash is not a dependency; install it anywhere on PYTHONPATH, e.g.
``pip install --target /tmp/bspkgs --no-deps brainsmash scikit-learn joblib threadpoolctl`` then
``PYTHONPATH=/tmp/bspkgs python benchmarks/bench_spatial_nulls.py``).

On the real schaefer100 T1w/T2w map and region distances, for each tool: seconds for N surrogates,
the median relative error of the surrogates' mean smoothed variogram against the map's (both measured
with encephagen's variogram, same distance bins), and the SD of the Spearman rho between the surrogates
and a fixed second map (the cubnm myelin z-map): a surrogate null that keeps less spatial
autocorrelation gives a narrower rho distribution (too liberal p-values).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from encephagen.analysis.hierarchy import VariogramSurrogates, _spearman_rows, permutation_surrogates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resources", default=os.environ.get("ENCEPHAGEN_TEST_RESOURCES",
                                                          ".pytest_cache/encephagen-resources"))
    ap.add_argument("-n", type=int, default=500, help="surrogates per tool")
    ap.add_argument("--resample", action="store_true", help="rank-match surrogates to the map's values")
    args = ap.parse_args()
    from encephagen.data import load_connectome

    root = Path(args.resources)
    c = load_connectome("schaefer100", root)
    t = pd.read_csv(root / "t1t2" / "schaefer100.tsv", sep="\t", comment="#")
    ok = np.isfinite(t["t1t2"].to_numpy()) & np.isfinite(t["cubnm_myelin_z"].to_numpy())
    x = t["t1t2"].to_numpy()[ok]
    y = t["cubnm_myelin_z"].to_numpy()[ok]
    D = c.distances[np.ix_(ok, ok)]
    ref = VariogramSurrogates(x, D, resample=args.resample)
    rows = []

    def record(name, fn):
        t0 = time.perf_counter()
        S = fn()
        dt = time.perf_counter() - t0
        v = ref.variogram(S).mean(axis=0)
        err = float(np.median(np.abs(v - ref.target) / ref.target))
        rho = _spearman_rows(S, y)
        rows.append((name, dt, err, float(np.std(rho)), float(np.quantile(np.abs(rho), 0.95))))

    record("encephagen", lambda: VariogramSurrogates(x, D, resample=args.resample)(args.n, seed=1))
    try:
        from brainsmash.mapgen.base import Base

        record("brainsmash", lambda: Base(x, D, resample=args.resample, seed=1)(n=args.n))
    except ImportError:
        print("brainsmash not importable: only encephagen measured")
    record("permutation", lambda: permutation_surrogates(x, args.n, seed=1))
    print(f"schaefer100 T1w/T2w, {x.size} regions, {args.n} surrogates, resample={args.resample}")
    print(f"{'tool':<12} {'seconds':>8} {'variogram err':>14} {'SD rho':>8} {'95% |rho|':>10}")
    for name, dt, err, sd, q in rows:
        print(f"{name:<12} {dt:8.2f} {err:14.3f} {sd:8.3f} {q:10.3f}")
    if len(rows) == 3:
        print(f"speed ratio brainsmash/encephagen: {rows[1][1] / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
