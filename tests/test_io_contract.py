"""The HDF5 output contract: atomic writes, completion attribute, validation naming the file."""
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from encephagen.io import (Kind, OutputError, atomic_h5, clean_stale_temporaries, open_validated,
                           read_provenance, register_kind, validate_h5, validate_many)

register_kind(Kind("testkind", datasets={"x": 1}))


def test_atomic_write_roundtrip(tmp_path):
    p = tmp_path / "a.h5"
    with atomic_h5(p, "testkind", provenance={"seeds": [0, 7]}) as f:
        f["x"] = np.arange(5)
    validate_h5(p, "testkind")
    with open_validated(p, "testkind") as f:
        assert f["x"][()].tolist() == [0, 1, 2, 3, 4]
        prov = read_provenance(f)
    assert prov["seeds"] == [0, 7] and "numpy" in prov["packages"]
    assert not list(tmp_path.glob("*.tmp-*"))


def test_exception_leaves_nothing_and_keeps_old_file(tmp_path):
    p = tmp_path / "a.h5"
    with pytest.raises(RuntimeError):
        with atomic_h5(p, "testkind") as f:
            f["x"] = np.arange(3)
            raise RuntimeError("boom")
    assert not p.exists() and not list(tmp_path.iterdir())
    with atomic_h5(p, "testkind") as f:
        f["x"] = np.arange(3)
    with pytest.raises(RuntimeError):
        with atomic_h5(p, "testkind") as f:
            f["x"] = np.arange(9)
            raise RuntimeError("boom")
    with open_validated(p) as f:
        assert f["x"].shape == (3,)


def test_validator_names_each_problem(tmp_path):
    missing = tmp_path / "missing.h5"
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all" * 10)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1]
    partial = tmp_path / "partial.h5"
    with h5py.File(partial, "w") as f:
        f.attrs["encephagen_kind"] = "testkind"
        f.attrs["encephagen_schema"] = 1
        f["x"] = [1]
    wrongshape = tmp_path / "wrongshape.h5"
    with atomic_h5(wrongshape, "testkind") as f:
        f["x"] = np.zeros((2, 2))
    expect = {missing: "missing", empty: "zero-length", garbage: "not a readable HDF5",
              foreign: "foreign", partial: "incomplete", wrongshape: "dimensions"}
    for path, word in expect.items():
        with pytest.raises(OutputError, match=word) as ei:
            validate_h5(path, "testkind")
        assert str(path) in str(ei.value)
    with pytest.raises(OutputError) as ei:
        validate_many(list(expect), "testkind")
    for path in expect:
        assert str(path) in str(ei.value)


def test_sigkill_mid_write_leaves_no_output(tmp_path):
    p = tmp_path / "killed.h5"
    code = textwrap.dedent(f"""
        import os, signal, numpy as np
        from encephagen.io import atomic_h5, register_kind, Kind
        register_kind(Kind("testkind", datasets={{"x": 1}}))
        with atomic_h5({str(p)!r}, "testkind") as f:
            d = f.create_dataset("x", shape=(1000000,), chunks=(1000,), dtype="f8")
            d[:500000] = 1.0
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == -9
    assert not p.exists()
    stray = list(tmp_path.glob("*.tmp-*"))
    assert stray, "the killed writer should have left its temporary"
    assert clean_stale_temporaries(tmp_path) == stray
    assert not list(tmp_path.iterdir())


def test_sigterm_aborts_write_cleanly(tmp_path):
    p = tmp_path / "term.h5"
    code = textwrap.dedent(f"""
        import os, signal, numpy as np
        from encephagen.io import atomic_h5, register_kind, Kind
        register_kind(Kind("testkind", datasets={{"x": 1}}))
        with atomic_h5({str(p)!r}, "testkind") as f:
            f["x"] = np.arange(10)
            os.kill(os.getpid(), signal.SIGTERM)
            f["y"] = np.arange(10)
    """)
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == 143
    assert not p.exists() and not list(tmp_path.iterdir())


# ------------------------------------------------------ every kind declared in one module (issue 14)

def test_every_kind_is_declared_by_io_alone():
    """A fresh process that imports only encephagen.io knows every kind encephagen writes, with its
    layout checks (aggregation's up-front validation used to skip the simulation checks when the
    simulation module had not been imported)."""
    import subprocess
    import sys

    code = ("import sys, encephagen.io as io\n"
            "from encephagen.io import h5\n"
            "names = sorted(h5._KINDS) + sorted(h5._LAYOUTS)\n"
            "assert not any(m.startswith(('encephagen.sim', 'encephagen.spiking', 'encephagen.hopf', "
            "'encephagen.steps', 'encephagen.nulls', 'encephagen.data')) for m in sys.modules), 'io imported a writer'\n"
            "print(names, sorted(h5._CHECKS))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for k in ("runs", "simulation", "spiking", "aggregate", "nulls", "hopf_sweep", "hopf_heterogeneity",
              "connectome", "connectome_subjects", "empirical_fc"):
        assert f"'{k}'" in out.split("]")[0], k
    for k in ("simulation", "spiking", "nulls", "connectome"):
        assert f"'{k}'" in out.split("]")[1], k


def test_unknown_kind_is_an_error_at_write_and_validation(tmp_path):
    from encephagen.io import get_kind

    with pytest.raises(KeyError, match="unknown HDF5 file kind 'no_such_kind'"):
        with atomic_h5(tmp_path / "x.h5", kind="no_such_kind"):
            pass
    assert not list(tmp_path.iterdir())
    p = tmp_path / "ok.h5"
    with atomic_h5(p, kind="testkind") as f:
        f["x"] = np.arange(3)
    with pytest.raises(KeyError, match="unknown HDF5 file kind"):
        validate_h5(p, "no_such_kind")
    with h5py.File(p, "r+") as f:  # a file claiming a kind nobody declared
        f.attrs["encephagen_kind"] = "no_such_kind"
    with pytest.raises(OutputError, match="unknown kind 'no_such_kind'"):
        validate_h5(p)
    with pytest.raises(KeyError):
        get_kind("no_such_kind")


def test_declared_kind_cannot_be_redeclared_elsewhere():
    from encephagen.io import kinds

    same = Kind("nulls", datasets={"weights": 3}, attrs=("family",))
    assert register_kind(same) is kinds.NULLS          # nothing new: the declaration stands
    with pytest.raises(ValueError, match="declared in encephagen/io/kinds.py"):
        register_kind(Kind("nulls", datasets={"extra_dataset": 1}))
    assert "extra_dataset" not in kinds.NULLS.datasets


def test_layout_constants_match_the_engines():
    """The dataset names the file layout requires are the ones the engines write."""
    from encephagen.io import kinds
    from encephagen.sim.regime import REGIMES
    from encephagen.sim.runner import METRICS
    from encephagen.study.engines.lif import METRICS as SPIKING

    assert kinds.SIMULATION_METRICS == tuple(METRICS)
    assert kinds.SPIKING_METRICS == tuple(SPIKING)
    assert kinds.REGIMES == tuple(REGIMES)


# ------------------------------------------------------ one file kind for runs (issue 14 item 1)

def test_runs_are_one_kind_with_an_engine_attribute(tmp_path):
    """Every engine writes kind 'runs' with its ``engine``; the layout names validate as that kind
    and engine; a layout's file read as another engine's, an unknown engine, and a file written
    before as kind 'simulation' are each refused, naming the file."""
    from encephagen.io import validate_h5

    p = tmp_path / "r.h5"
    with atomic_h5(p, kind="runs", attrs={"engine": "hopf_linear"}) as f:
        for k, v in {"G": [0.1, 0.2], "null_index": [0], "seed": [1], "best_index": [0], "best_G": [0.1]}.items():
            f[k] = np.asarray(v)
        for k in ("r_train_pearson", "r_train_spearman", "r_test_pearson", "r_test_spearman"):
            f[k] = np.zeros((1, 2))
        f["fc_best"] = np.zeros((1, 3, 3))
        f.attrs.update(dict(atlas="a", family="real", train="x", test="y", fit_metric="pearson", params="{}"))
    with h5py.File(p, "r") as f:
        assert f.attrs["encephagen_kind"] == "runs" and f.attrs["engine"] == "hopf_linear"
    validate_h5(p, "runs")
    validate_h5(p, "hopf_sweep")
    with pytest.raises(OutputError, match=r"r\.h5: wrong engine: expected 'neural_mass'"):
        validate_h5(p, "simulation")
    with pytest.raises(KeyError, match="needs the attribute 'engine'"):
        with atomic_h5(tmp_path / "x.h5", kind="runs"):
            pass
    with h5py.File(p, "r+") as f:
        f.attrs["engine"] = "no_such_engine"
    with pytest.raises(OutputError, match="engine 'no_such_engine' unknown"):
        validate_h5(p)
    with h5py.File(p, "r+") as f:
        f.attrs["engine"] = "hopf_linear"
        f.attrs["encephagen_kind"] = "hopf_sweep"    # as written before one kind for runs
    with pytest.raises(OutputError, match=r"r\.h5: written by an older encephagen as kind 'hopf_sweep'.*re-run"):
        validate_h5(p, "hopf_sweep")
