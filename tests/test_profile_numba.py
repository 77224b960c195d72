"""benchmarks/profile_numba.py (the perf-based kernel profile, run by hand): its address map, which
perf's samples are attributed through, names each compiled kernel at the address its machine code
starts (no perf needed for this part)."""
import ctypes
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _profile_module():
    sys.path.insert(0, str(BENCH))
    try:
        import profile_numba
    finally:
        sys.path.remove(str(BENCH))
    return profile_numba


def test_kernel_addresses_name_each_compiled_kernel_at_its_code():
    from encephagen.spiking import _plastic_kernels as pk

    wsync = np.zeros(3, np.uint8)
    w = np.array([0.5, 1.5, 2.5])
    weight = np.zeros(3, np.float32)
    assert pk.sync_weights(wsync, w, weight, np.arange(3, dtype=np.int32), np.array([0, 1, 2, 3])) == 3
    assert np.array_equal(weight, w.astype(np.float32))       # the kernel ran: it is compiled (or loaded)
    addrs = _profile_module().kernel_addresses()
    (cres,) = pk.sync_weights.overloads.values()
    entry = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
    assert addrs[entry] == "_plastic_kernels.sync_weights#0"
    assert len(ctypes.string_at(entry, 16)) == 16                 # machine code is readable there (--annotate)


def test_missing_perf_is_named_before_anything_runs(monkeypatch):
    mod = _profile_module()
    which = shutil.which
    monkeypatch.setattr(mod.shutil, "which", lambda name: None if name == "perf" else which(name))
    with pytest.raises(SystemExit, match="perf not found"):
        mod.main(["--plastic", "2k", "--seconds", "1"])
