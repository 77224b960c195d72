"""The pipeline's real consumer (encephagen.steps.aggregate.aggregate) given bad or incomplete
simulation files: RELIABILITY.md plan cases 5 and 6 (and 3: a partial file is never used).

Real simulation files are made through the batch API (encephagen.study.engines.neural_mass.run_networks, one
file per network, tvb96 + two degree nulls, very short runs), then damaged: truncated, zero
length, garbage, an interrupted write (no 'complete' attribute), a foreign HDF5 file, or one
run simply missing. The aggregation must name every bad file, refuse a missing run (or, when
asked, record exactly which run is missing), and never average over fewer runs silently.
"""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

from encephagen.io import OutputError

MASTER = 20261123
CFG = {"model": "wilson_cowan", "G": [0.5], "duration": 30.0, "transient": 10.0, "velocity": 10.0,
       "noise": 0.01, "dtype": "float32", "device": "cpu", "monitors": {"bold": False, "record_samples": 64}}


@pytest.fixture(scope="module")
def sims(resources_dir, tmp_path_factory):
    from encephagen.data import load_connectome
    from encephagen.nulls import generate_batch, prepare_source
    from encephagen.study.engines.neural_mass import run_networks

    conn = load_connectome("tvb96", resources_dir)
    src = prepare_source(conn)
    nulls = generate_batch(src, "degree", [0, 1], MASTER, atlas="tvb96")
    nets = [("tvb96", "real", 0, src.weights, src.real_lengths())] + [
        ("tvb96", "degree", int(i), w, ln) for i, w, ln in zip(nulls.null_index, nulls.weights, nulls.lengths)]
    d = tmp_path_factory.mktemp("sims")
    paths = []
    for net in nets:
        p = d / f"{net[1]}-{net[2]}.h5"
        run_networks(CFG, [net], 1, MASTER, p)
        paths.append(p)
    return conn, paths


def _aggregate(conn, paths, out, **kw):
    from encephagen.steps.aggregate import aggregate

    return aggregate(paths, connectome=conn, out_store=out / "store.h5", out_network=out / "network.tsv.gz",
                     out_regional=out / "regional.tsv.gz", **kw)


def test_complete_inputs_aggregate(sims, tmp_path):
    conn, paths = sims
    res = _aggregate(conn, paths, tmp_path, expected_nulls={"degree": 2})
    assert res["runs"] == 3 and len(res["missing"]) == 0
    with h5py.File(tmp_path / "store.h5", "r") as f:
        assert f.attrs["n_networks"] == 3 and f.attrs["n_missing_runs"] == 0


def test_every_bad_file_named(sims, tmp_path):
    """Case 5 (+3): truncated, zero-length, garbage, interrupted and foreign files among the
    inputs -> one OutputError naming each file and what is wrong; no output written."""
    conn, paths = sims
    data = paths[1].read_bytes()
    bad = {}
    p = tmp_path / "truncated.h5"
    p.write_bytes(data[: len(data) // 2])
    bad[p] = "not a readable HDF5"
    p = tmp_path / "empty.h5"
    p.write_bytes(b"")
    bad[p] = "zero-length"
    p = tmp_path / "garbage.h5"
    p.write_bytes(np.random.default_rng(1).bytes(4096))
    bad[p] = "not a readable HDF5"
    p = tmp_path / "interrupted.h5"
    shutil.copy(paths[2], p)
    with h5py.File(p, "r+") as f:
        del f.attrs["complete"]
    bad[p] = "incomplete"
    p = tmp_path / "foreign.h5"
    with h5py.File(p, "w") as f:
        f["metrics"] = np.zeros(3)
    bad[p] = "foreign"
    out = tmp_path / "out"
    with pytest.raises(OutputError) as ei:
        _aggregate(conn, [paths[0], *bad], out)
    msg = str(ei.value)
    assert f"{len(bad)} of {len(bad) + 1} inputs rejected" in msg
    for path, why in bad.items():
        assert f"{path}: {why}" in msg, (path, msg)
    assert not out.exists() or not any(out.iterdir())


def test_missing_run_refused_or_recorded(sims, tmp_path):
    """Case 6: one null's simulation missing (its job failed under --keep-going) -> refused,
    naming the missing run; with allow_missing, the store records exactly which run is
    missing and averages only over what exists, saying so."""
    from encephagen.steps.aggregate import DesignError

    conn, paths = sims
    present = [paths[0], paths[1]]  # degree/1 missing
    with pytest.raises(DesignError, match=r"1 runs missing.*'family': 'degree', 'null_index': 1"):
        _aggregate(conn, present, tmp_path / "refused", expected_nulls={"degree": 2})
    assert not (tmp_path / "refused" / "store.h5").exists()
    res = _aggregate(conn, present, tmp_path, expected_nulls={"degree": 2}, allow_missing=True)
    assert res["runs"] == 2
    assert res["missing"][["family", "null_index"]].to_dict("records") == [{"family": "degree", "null_index": 1}]
    with h5py.File(tmp_path / "store.h5", "r") as f:
        assert f.attrs["n_missing_runs"] == 1 and f.attrs["n_networks"] == 2
        cols = f["missing_runs"].attrs["columns"].split(",")
        row = dict(zip(cols, [s.decode() if isinstance(s, bytes) else s for s in f["missing_runs"][0]]))
        assert row["family"] == "degree" and row["null_index"] == "1"
