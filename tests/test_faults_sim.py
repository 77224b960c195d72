"""A simulation alone, in a batch (any position, any neighbours, any batch size) and after a
retry in a fresh process gives bitwise identical results on CPU: RELIABILITY.md plan case 16.

Through the pipeline's batch API (encephagen.study.engines.neural_mass.run_networks -> one validated
'simulation' file per job), on real data: tvb96 and two of its degree-preserving nulls, with
conduction delays and noise. Seeds come from (master seed, atlas, family, null index, seed
id), never from batch position, so a retried job with another batch composition reproduces
exactly. (tests/test_sim_runner.py::test_alone_equals_in_batch_bitwise shows the same for the
in-memory engine.)
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from encephagen.io import validate_h5

MASTER = 20261123
CFG = {"model": "wilson_cowan", "G": [0.5], "duration": 30.0, "transient": 10.0, "velocity": 10.0,
       "noise": 0.01, "dtype": "float32", "device": "cpu",
       "monitors": {"bold": False, "record_samples": 64}}


@pytest.fixture(scope="module")
def networks(resources_dir):
    from encephagen.data import load_connectome
    from encephagen.nulls import generate_batch, prepare_source

    src = prepare_source(load_connectome("tvb96", resources_dir))
    nulls = generate_batch(src, "degree", [0, 1], MASTER, atlas="tvb96")
    return [("tvb96", "real", 0, src.weights, src.real_lengths())] + [
        ("tvb96", "degree", int(i), w, ln) for i, w, ln in zip(nulls.null_index, nulls.weights, nulls.lengths)]


def _rows(path) -> dict:
    """{(family, null_index, seed_id): {dataset: row}} of every element in a simulation file."""
    validate_h5(path, "simulation")
    out = {}
    with h5py.File(path, "r") as f:
        fam = [s.decode() if isinstance(s, bytes) else s for s in f["family"][()]]
        per = {}

        def visit(name, obj):
            # dimension scales (the 'run' coordinate 0..B-1: a position in the file) are labels, not results
            if isinstance(obj, h5py.Dataset) and obj.ndim >= 1 and obj.shape[0] == len(fam) and name not in (
                    "atlas", "family") and not obj.is_scale:
                per[name] = obj[()]

        f.visititems(visit)
        for b, key in enumerate(zip(fam, f["null_index"][()].tolist(), f["seed_id"][()].tolist())):
            out[key] = {name: arr[b] for name, arr in per.items()}
    return out


def _same(a: dict, b: dict, key):
    assert a.keys() == b.keys()
    for name in a:
        nan_ok = np.asarray(a[name]).dtype.kind in "fc"          # strings (network_regime) compare as they are
        assert np.array_equal(a[name], b[name], equal_nan=nan_ok), f"{key}: {name} differs"


def test_alone_in_batch_any_position_and_retry_identical(networks, tmp_path):
    from encephagen.study.engines.neural_mass import run_networks

    # one job: 3 networks x seed id 0, simulated in chunks of 2 (positions vary)
    run_networks({**CFG, "batch_size": 2}, networks, 1, MASTER, tmp_path / "batch.h5")
    # a network alone, seed ids 0 and 1
    run_networks({**CFG, "batch_size": 64}, networks[2:], 2, MASTER, tmp_path / "alone.h5")
    # a retry in a fresh process: other order, other batch size
    np.savez(tmp_path / "nets.npz", **{f"w{i}": n[3] for i, n in enumerate(networks)},
             **{f"l{i}": n[4] for i, n in enumerate(networks)})
    code = textwrap.dedent(f"""
        import numpy as np
        from encephagen.study.engines.neural_mass import run_networks
        d = np.load({str(tmp_path / 'nets.npz')!r})
        ids = {[n[:3] for n in networks]!r}
        nets = [(*ids[i], d[f"w{{i}}"], d[f"l{{i}}"]) for i in (2, 0)]
        run_networks({{**{CFG!r}, "batch_size": 1}}, nets, 1, {MASTER}, {str(tmp_path / 'retry.h5')!r})
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    rows = {name: _rows(tmp_path / f"{name}.h5") for name in ("batch", "alone", "retry")}
    assert len(rows["batch"]) == 3 and len(rows["alone"]) == 2 and len(rows["retry"]) == 2
    key = ("degree", 1, 0)
    _same(rows["batch"][key], rows["alone"][key], key)
    for key, row in rows["retry"].items():
        _same(rows["batch"][key], row, key)
    # the comparison can fail: seeds and networks matter
    b, a = rows["batch"], rows["alone"]
    assert not np.array_equal(a[("degree", 1, 0)]["metrics/var"], a[("degree", 1, 1)]["metrics/var"])
    assert not np.array_equal(b[("degree", 1, 0)]["metrics/var"], b[("degree", 0, 0)]["metrics/var"])
    assert a[("degree", 1, 0)]["seed"] != a[("degree", 1, 1)]["seed"]


def test_planned_batch_size_gives_the_same_runs(networks, tmp_path, monkeypatch):
    """simulate.batch_size 'auto' (the memory/throughput planner) only regroups runs: every run equals
    the fixed-size job's; with little free memory the planner's batch is smaller than the job."""
    import encephagen.sim.planner as planner
    from encephagen.study.engines.neural_mass import NeuralMassEngine, run_networks

    run_networks({**CFG, "batch_size": 64}, networks, 1, MASTER, tmp_path / "fixed.h5")
    calls = []
    real = planner.plan_batch_size

    def small_memory(shape, n_runs, device="cpu", free_bytes=None, memory_fraction=0.5):
        b = real(shape, n_runs, device=device, free_bytes=2 * (planner.shared_bytes(shape)
                                                                + planner.bytes_per_run(shape)))
        calls.append((shape, n_runs, b))
        return b

    monkeypatch.setattr(planner, "plan_batch_size", small_memory)
    run_networks({**CFG, "batch_size": "auto"}, networks, 1, MASTER, tmp_path / "auto.h5")
    (shape, n_runs, b), = calls
    assert n_runs == 3 and b == 1 and shape.own_delays and shape.max_lag_steps > 0 and shape.n_nodes == 96
    fixed, auto = _rows(tmp_path / "fixed.h5"), _rows(tmp_path / "auto.h5")
    for key in fixed:
        _same(fixed[key], auto[key], key)
    with pytest.raises(Exception, match="batch_size"):
        NeuralMassEngine().prepare({**CFG, "batch_size": "big"})
