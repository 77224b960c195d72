"""Stale writers cannot win, consumers see parameter mismatches, and the validator accepts only
files that hold everything their consumers read (issue 15, items 2 and 3).

- An orphaned job (its controller was killed; the user changed a parameter and reran) finishing
  AFTER the rerun's job must not replace the newer file (StaleWriterError, the newer file stays).
- Files read together that were made with different parameters (the real network at one noise
  level, the nulls at another) are refused by the consumer, naming the odd file and the key.
- A file with ``complete = True`` but without a dataset/attribute that its consumer reads is
  rejected by the validator, naming it; an unknown kind is an error; the layout of a kind is
  loaded on demand (validation never depends on what the consumer imported before).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from encephagen.io import Kind, OutputError, StaleWriterError, atomic_h5, register_kind, validate_h5, validate_many
from encephagen.io.identity import declare_job, forget_jobs

register_kind(Kind("stale_test", datasets={"x": 1}))


@pytest.fixture(autouse=True)
def _no_declared_jobs():
    forget_jobs()
    yield
    forget_jobs()


def _write(path, noise, started, x=0.0):
    declare_job([path], rule="simulate_batch", shared={"simulate": {"noise": noise, "dt": 0.1}},
                wildcards={"family": "real"}, started=started)
    with atomic_h5(path, kind="stale_test") as f:
        f["x"] = np.full(3, x)
    forget_jobs()


def test_orphan_finishing_late_does_not_replace_the_newer_file(tmp_path):
    p = tmp_path / "batch-0000.h5"
    t_orphan = time.time() - 100  # started before the controller was killed
    t_rerun = t_orphan + 50       # the rerun with the changed noise started later
    _write(p, noise=0.02, started=t_rerun, x=2.0)
    with pytest.raises(StaleWriterError, match=r"batch-0000\.h5: not replaced: it was made by a job started later"):
        _write(p, noise=0.01, started=t_orphan, x=1.0)
    with h5py.File(p) as f:
        assert f["x"][0] == 2.0 and '"noise":0.02' in f.attrs["job_shared"]
    assert not list(tmp_path.glob("*.tmp-*")), "the stale writer's temporary is removed"


def test_same_identity_or_newer_writer_replaces(tmp_path):
    p = tmp_path / "b.h5"
    t = time.time()
    _write(p, noise=0.01, started=t, x=1.0)
    _write(p, noise=0.01, started=t - 10, x=3.0)  # an orphan with the SAME parameters: harmless
    _write(p, noise=0.02, started=t + 10, x=4.0)  # a newer job with new parameters: replaces
    with h5py.File(p) as f:
        assert f["x"][0] == 4.0


def test_consumer_refuses_siblings_made_with_other_parameters(tmp_path):
    t = time.time()
    paths = [tmp_path / f"batch-{i}.h5" for i in range(3)]
    for p in paths[1:]:
        _write(p, noise=0.02, started=t)
    _write(paths[0], noise=0.01, started=t)  # the odd one: real network at another noise level
    with pytest.raises(OutputError) as exc:
        validate_many(paths, "stale_test")
    msg = str(exc.value)
    assert f"{paths[0]}: made with different parameters" in msg and "simulate.noise=0.01" in msg
    assert str(paths[1]) + ":" not in msg  # the majority is not blamed
    validate_many(paths[1:], "stale_test")  # siblings that agree pass


# ---------------------------------------------------------------- real simulation files
CFG = {"model": "wilson_cowan", "G": [0.5], "duration": 200.0, "transient": 10.0, "velocity": 10.0,
       "noise": 0.01, "dtype": "float32", "device": "cpu",
       "monitors": {"bold": True, "bold_period": 10.0, "record_samples": 64,
                    "bold_warmup": 0.0, "min_bold_samples": 3}}   # a tiny file-contract fixture, not a BOLD study


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    from encephagen.study.engines.neural_mass import run_networks

    rng = np.random.default_rng(0)
    n = 6
    w = rng.random((n, n))
    np.fill_diagonal(w, 0)
    ln = rng.uniform(10, 50, (n, n))
    d = tmp_path_factory.mktemp("simfiles")
    out = {}
    for fam, idx, noise in (("real", 0, 0.01), ("degree", 0, 0.01), ("degree", 1, 0.01), ("degree", 2, 0.02)):
        p = d / f"{fam}-{idx}-{noise}.h5"
        run_networks({**CFG, "noise": noise}, [("toy", fam, idx, w, ln)], 1, 7, p)
        out[(fam, idx, noise)] = p
    return out


def _damaged(src, dst, fn):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        fn(f)
    return dst


@pytest.mark.parametrize("what", ["params", "metrics", "attr:monitor", "attr:velocity", "attr:config", "fc_bold"])
def test_simulation_file_without_what_consumers_read_is_rejected(sim_files, tmp_path, what):
    src = sim_files[("real", 0, 0.01)]
    validate_h5(src, "simulation")

    def drop(f):
        if what.startswith("attr:"):
            del f.attrs[what[5:]]
        else:
            del f[what]

    bad = _damaged(src, tmp_path / "bad.h5", drop)
    name = what[5:] if what.startswith("attr:") else what
    with pytest.raises(OutputError, match=rf"bad\.h5: .*{name}.* missing"):
        validate_h5(bad, "simulation")


def test_aggregate_store_without_fc_real_is_rejected(sim_files, tmp_path):
    from encephagen.steps.aggregate import aggregate
    from encephagen.connectome import Connectome

    paths = [sim_files[k] for k in (("real", 0, 0.01), ("degree", 0, 0.01), ("degree", 1, 0.01))]
    n = 6
    con = Connectome(name="toy", weights=np.ones((n, n)) - np.eye(n), lengths=np.ones((n, n)) * 10,
                     labels=tuple(f"r{i}" for i in range(n)), hemisphere=("L",) * n, cortical=(True,) * n,
                     region_class=("x",) * n, directed=False, weight_kind="test", lengths_source="test",
                     licence="-", citation="-")
    store = tmp_path / "store.h5"
    aggregate(paths, connectome=con, out_store=store, out_network=tmp_path / "n.tsv.gz",
              out_regional=tmp_path / "r.tsv.gz")
    validate_h5(store, "aggregate")
    bad = _damaged(store, tmp_path / "store-bad.h5", lambda f: f.__delitem__("fc_real"))
    with pytest.raises(OutputError, match=r"store-bad\.h5: dataset 'fc_real' missing"):
        validate_h5(bad, "aggregate")


def test_aggregate_refuses_a_network_simulated_at_another_noise_level(sim_files, tmp_path):
    """The issue's orphan outcome: real network and nulls at different noise -> refused, named."""
    from encephagen.io import sibling_mismatches

    paths = [sim_files[k] for k in (("real", 0, 0.01), ("degree", 0, 0.01), ("degree", 1, 0.01),
                                    ("degree", 2, 0.02))]
    probs = sibling_mismatches(paths)
    assert len(probs) == 1 and probs[0].startswith(f"{paths[3]}: made with different config")
    assert "noise=0.02" in probs[0]
    with pytest.raises(OutputError, match=r"degree-2-0\.02\.h5: made with different config"):
        validate_many(paths)


def test_unknown_kind_is_an_error(tmp_path):
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f.attrs.update({"encephagen_kind": "no_such_kind", "encephagen_schema": 1, "complete": True})
    with pytest.raises(OutputError, match=r"x\.h5: unknown kind 'no_such_kind'"):
        validate_h5(p)


def test_kind_layout_is_loaded_on_demand(sim_files, tmp_path):
    """A fresh process that imported only encephagen.io still applies the simulation module's
    checks (metrics shapes): validation never depends on earlier imports."""
    src = sim_files[("real", 0, 0.01)]

    def bad_metric(f):
        del f["metrics/mean"]
        f["metrics/mean"] = np.zeros((5, 5))

    bad = _damaged(src, tmp_path / "bad.h5", bad_metric)
    code = ("import sys; from encephagen.io import validate_h5, OutputError\n"
            "assert 'encephagen.study.engines.neural_mass_io' not in sys.modules\n"
            f"try:\n    validate_h5({str(bad)!r})\nexcept OutputError as e:\n    print(e); sys.exit(3)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "metrics/mean" in r.stdout
