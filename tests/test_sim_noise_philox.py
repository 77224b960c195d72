"""The counter-based noise generator (encephagen.sim.noise, rng 'philox')."""
import numpy as np
import pytest
import torch
from scipy import stats

from encephagen.sim.models import ParameterError
from encephagen.sim.noise import NoiseSource, philox4x32, philox_normal, philox_uniform, seed_keys
from encephagen.sim.runner import simulate

# Random123's known-answer vectors (kat_vectors, philox4x32 with 10 rounds): counter, key, output
KAT = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
       ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
       ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]


@pytest.mark.parametrize("ctr,key,want", KAT)
def test_philox_matches_random123_known_answers(ctr, key, want):
    t = lambda v: torch.tensor(v, dtype=torch.int64)   # noqa: E731
    got = philox4x32(*map(t, ctr), *map(t, key))
    assert tuple(int(x) for x in got) == want


def test_philox_vectorised_equals_one_block_at_a_time():
    ctr = torch.tensor([[3, 0, 1, 0], [2**32 - 5, 7, 1, 0]], dtype=torch.int64)
    key = torch.tensor([[11, 0], [0xDEADBEEF, 42]], dtype=torch.int64)
    batch = philox4x32(*ctr.T, *key.T)
    for i in range(2):
        one = philox4x32(*ctr[i], *key[i])
        assert [int(w[i]) for w in batch] == [int(w) for w in one]


def test_philox_normals_are_standard_normal_and_independent_between_seeds():
    z = philox_normal(seed_keys([1, 2], "cpu"), 0, (4000, 2, 25), torch.float64).numpy()
    for b in range(2):
        assert stats.kstest(z[b].ravel(), "norm").pvalue > 1e-3
    assert abs(np.corrcoef(z[0].ravel(), z[1].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(z[0, 1:].ravel(), z[0, :-1].ravel())[0, 1]) < 0.02    # successive steps
    u = philox_uniform(seed_keys([3], "cpu"), 0, (2, 1000), torch.float32).numpy()
    assert u.min() >= 0 and u.max() < 1 and stats.kstest(u.ravel(), "uniform").pvalue > 1e-3


def test_philox_draws_do_not_depend_on_chunk_batch_or_compilation():
    seeds = np.array([5, 2**40 + 3, 0])
    a = NoiseSource(seeds, 2, 7, 1.0, 1.0, "cpu", torch.float32, 8, rng="philox")
    b = NoiseSource(seeds[1:2], 2, 7, 1.0, 1.0, "cpu", torch.float32, 3, rng="philox")
    whole = torch.cat([a.chunk(8), a.chunk(8)], dim=1)
    parts = torch.cat([b.chunk(3) for _ in range(5)] + [b.chunk(1)], dim=1)
    assert torch.equal(whole[1:2], parts)
    assert not torch.equal(whole[0], whole[2])
    c = NoiseSource(seeds, 2, 7, 1.0, 1.0, "cpu", torch.float32, 8, rng="philox", compile=True)
    torch.testing.assert_close(c.chunk(8), whole[:, :8], rtol=0, atol=1e-6)


def test_simulate_with_philox_noise_alone_equals_in_batch_and_is_recorded():
    W = np.random.default_rng(0).random((12, 12))
    np.fill_diagonal(W, 0)
    kw = dict(G=0.1, dt=0.1, duration=50.0, noise=0.02, monitors={"bold": False}, noise_rng="philox")
    alone = simulate("wc", W, seeds=[5], **kw)
    batch = simulate("wc", np.stack([W] * 3), seeds=[7, 5, 9], **kw)
    assert alone.noise_rng == "philox"
    np.testing.assert_array_equal(alone.record[0], batch.record[1])
    other = simulate("wc", W, seeds=[5], **{**kw, "noise_rng": "torch"})
    assert other.noise_rng == "torch" and not np.array_equal(other.record[0], alone.record[0])
    assert simulate("wc", W, seeds=[5], **{**kw, "noise_rng": "auto"}).noise_rng == "torch"   # on a CPU
    with pytest.raises(ParameterError, match="noise_rng"):
        simulate("wc", W, seeds=[5], **{**kw, "noise_rng": "mt"})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_philox_noise_is_the_same_on_cpu_and_cuda():
    keys = [5, 2**40 + 3]
    cpu = philox_normal(seed_keys(keys, "cpu"), 17, (50, 2, 30), torch.float64)
    gpu = philox_normal(seed_keys(keys, "cuda"), 17, (50, 2, 30), torch.float64).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=1e-12)
    W = np.random.default_rng(1).random((20, 20))
    kw = dict(G=0.1, dt=0.1, duration=100.0, noise=0.02, monitors={"bold": False}, noise_rng="philox",
              seeds=[3, 4], dtype="float64")
    a = simulate("wc", W, device="cpu", **kw)
    b = simulate("wc", W, device="cuda", **kw)
    np.testing.assert_allclose(b.record, a.record, rtol=0, atol=1e-9)


def test_philox_eager_groups_give_the_same_draws(monkeypatch):
    import encephagen.sim.noise as noise

    seeds = np.arange(5) * 7 + 1
    whole = NoiseSource(seeds, 2, 9, 0.5, 0.1, "cpu", torch.float64, 4, rng="philox").chunk(4)
    monkeypatch.setattr(noise, "_EAGER_BLOCKS", 16)          # 2 elements per group
    grouped = NoiseSource(seeds, 2, 9, 0.5, 0.1, "cpu", torch.float64, 4, rng="philox").chunk(4)
    assert torch.equal(whole, grouped)


@pytest.mark.parametrize("distinct", [1, 3])
@pytest.mark.parametrize("compile_", [False, True])
def test_zero_lag_matmul_sums_equal_the_gather(monkeypatch, distinct, compile_):
    """The no-delay coupling as a matrix product (CUDA's default) gives the gather's run to rounding."""
    import encephagen.sim.coupling as coupling

    rng = np.random.default_rng(distinct)
    Ws = rng.random((distinct, 10, 10)) * (rng.random((distinct, 10, 10)) < 0.5)
    W = np.repeat(Ws, 4 // distinct + 1, axis=0)[:6] if distinct > 1 else Ws[0]
    B = 6
    kw = dict(G=0.2, dt=0.1, duration=40.0, noise=0.01, seeds=np.arange(B), dtype="float64",
              monitors={"bold": False}, compile=compile_)
    monkeypatch.setattr(coupling, "ZERO_LAG_MATMUL", False)
    ref = simulate("wc", W, **kw)
    monkeypatch.setattr(coupling, "ZERO_LAG_MATMUL", True)
    got = simulate("wc", W, **kw)
    np.testing.assert_allclose(got.record, ref.record, rtol=0, atol=1e-12)
    assert np.abs(ref.record).max() > 0.01


def test_a_failing_philox_compilation_draws_eagerly(monkeypatch, caplog):
    """compile='auto' without a working compiler: the noise is drawn eagerly (with a warning), not lost."""
    src = NoiseSource(np.array([3, 4]), 2, 5, 1.0, 1.0, "cpu", torch.float64, 4, rng="philox", compile=True)

    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    src._normal = broken
    with caplog.at_level("WARNING"):
        got = src.chunk(4)
    assert "drawing eagerly" in caplog.text
    ref = NoiseSource(np.array([3, 4]), 2, 5, 1.0, 1.0, "cpu", torch.float64, 4, rng="philox").chunk(4)
    assert torch.equal(got, ref)
