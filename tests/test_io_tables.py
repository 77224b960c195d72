"""Byte-reproducible, atomic tables; a comparison tool that compares values; bad tables and
per-region vectors named by file (issue 15, items 4 and 5)."""
from __future__ import annotations

import gzip
import os
import time

import h5py
import numpy as np
import pandas as pd
import pytest

from encephagen.io import OutputError, validate_h5
from encephagen.io.recovery import compare_contents
from encephagen.io.tables import TableReadError, read_tsv, write_table, write_text


def test_tsv_gz_is_byte_reproducible_and_atomic(tmp_path):
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    p1, p2 = tmp_path / "one" / "t.tsv.gz", tmp_path / "two" / "other-name.tsv.gz"
    write_table(df, p1)
    time.sleep(1.1)  # a gzip header with a timestamp would now differ
    write_table(df, p2)
    assert p1.read_bytes() == p2.read_bytes()
    assert gzip.decompress(p1.read_bytes()).decode().splitlines()[0] == "a\tb"
    pd.testing.assert_frame_equal(read_tsv(p1), df)
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "t.tsv"
    write_text(p, "old\n")

    class Boom:
        def to_csv(self, **kw):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_table(Boom(), p)
    assert p.read_text() == "old\n" and os.listdir(tmp_path) == ["t.tsv"]


def test_zero_length_or_garbage_table_named(tmp_path):
    p = tmp_path / "hcp80.tsv"
    p.write_bytes(b"")
    with pytest.raises(TableReadError, match=r"hcp80\.tsv: zero-length"):
        read_tsv(p)
    with pytest.raises(TableReadError, match=r"nope\.tsv: missing"):
        read_tsv(tmp_path / "nope.tsv")


def test_zero_length_t1t2_table_named_by_consumers(tmp_path):
    from encephagen.analysis.run import run_t1t2
    from encephagen.steps.simulate import t1t2_by_label

    p = tmp_path / "t1t2.tsv"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match=r"t1t2\.tsv: zero-length"):
        t1t2_by_label(p, ["a", "b"])
    reg = pd.DataFrame({"region": [0, 1], "metric": ["m", "m"], "value": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"t1t2\.tsv: zero-length"):
        run_t1t2(reg, p, out=tmp_path / "out.tsv", seed=1)


def test_compare_contents_compares_values_not_references(tmp_path):
    """Dimension scales store object references; the same file compared with itself (and an
    identical copy written again) must report no difference."""
    def make(p):
        with h5py.File(p, "w") as f:
            f["region"] = np.arange(4)
            f["region"].make_scale("region")
            d = f.create_dataset("x", data=np.ones((2, 4)))
            d.dims[1].attach_scale(f["region"])
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    make(a)
    make(b)
    assert compare_contents(a, a) == []
    assert compare_contents(a, b) == []
    with h5py.File(b, "r+") as f:
        f["x"][0, 0] = 2.0
    assert compare_contents(a, b) == ["x"]


def test_per_region_vector_of_wrong_length_named(tmp_path, resources_dir):
    src = resources_dir / "connectomes" / "tvb96.h5"
    validate_h5(src, "connectome")
    for name in ("region_class", "cortical", "hemisphere"):
        bad = tmp_path / f"{name}.h5"
        bad.write_bytes(src.read_bytes())
        with h5py.File(bad, "r+") as f:
            v = f[name][()]
            del f[name]
            f[name] = v[:-1]
        with pytest.raises(OutputError, match=rf"{name}\.h5: per-region dataset '{name}' has 95 entries for 96"):
            validate_h5(bad, "connectome")
