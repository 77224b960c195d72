"""benchmarks/bench_cubnm.py (the cuBNM-shaped workload, run by hand and by benchmarks/gpu_check.sh) on a
tiny size: it runs the library's user path end to end and reports what it simulated."""
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_bench_cubnm_runs_the_workload_and_reports_it(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import bench_cubnm
    finally:
        sys.path.remove(str(BENCH))
    W = np.random.default_rng(0).random((12, 12))
    np.fill_diagonal(W, 0)
    np.save(tmp_path / "sc.npy", W / W.sum(1).mean())
    res = bench_cubnm.main(["--sc", str(tmp_path / "sc.npy"), "--batches", "3", "--duration-ms", "6000",
                            "--bold-remove-ms", "1000", "--compile", "false", "--fcd-window", "3", "--fcd-step", "1",
                            "--g-range", "0.1", "0.5", "--json", str(tmp_path / "out.json")])
    (row,) = res["rows"]
    assert row["batch"] == 3 and row["ok"] == 3
    assert row["bold_volumes"] == 5 and row["fcd_values"] == 3          # 5 volumes: windows of 3 at 0, 1, 2
    assert -1 < row["mean_fc"] < 1 and row["sims_per_s"] > 0          # 5 volumes: any sign
    assert (tmp_path / "out.json").exists()


def test_bench_cubnm_names_a_missing_sc(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import bench_cubnm
    finally:
        sys.path.remove(str(BENCH))
    with pytest.raises(SystemExit, match="no SC found"):
        bench_cubnm.main(["--sc", str(tmp_path / "none.npy")])
