"""The per-network-delay kernel (encephagen.sim.delay_kernel, issue 20 item 1) is an implementation of
the same delayed sum as the torch path: the same bits as torch's eager sum (its cascade order) and as
a plain running sum (inductor's order), on random networks with zero weights, replicas, two coupled
variables, float32 and float64, and more than 16 sources (where the two orders differ)."""
import numpy as np
import pytest
import torch

from encephagen.sim import coupling
from encephagen.sim import delay_kernel as dk
from encephagen.sim.coupling import DelayedCoupling


def _batch(n, U, R, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random((U, n, n)) * (rng.random((U, n, n)) < 0.7)
    w[:, np.arange(n), np.arange(n)] = 0.0
    lags = rng.integers(0, 12, size=(U, n, n))
    return np.repeat(w, R, axis=0), np.repeat(lags, R, axis=0)


def _drive(cpl, series, V, read_compiled_style=False):
    """Write the series into the history step by step; the delayed sums after each write."""
    ints, tens = cpl.positions(1), cpl.positions(1, tensors=True)
    out, p0 = [], 0
    for t in range(series.shape[0]):
        pk = ints[p0][0]
        cpl.write(cpl.history, pk, [series[t, v] for v in range(V)])
        key = tens[p0][0] if read_compiled_style else pk
        out.append(torch.stack(cpl.sums_at(cpl.history, cpl.read_source, cpl.wt, key)))
        p0 = pk
    return torch.stack(out)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n,U,R,V", [(40, 3, 4, 1), (37, 4, 1, 2), (7, 5, 2, 1)])
def test_kernel_gives_the_bits_of_the_torch_path(dtype, n, U, R, V):
    w, lags = _batch(n, U, R)
    kern = DelayedCoupling(w, lags, V, "cpu", dtype)
    ref = DelayedCoupling(w, lags, V, "cpu", dtype, own_kernel=False)
    assert kern.kernel and not kern.shared and not ref.kernel
    assert kern._kR == R
    B, L = w.shape[0], kern.L
    g = torch.Generator().manual_seed(1)
    series = torch.rand((2 * L + 5, V, n, B), generator=g, dtype=dtype) - 0.3
    a = _drive(kern, series, V)
    b = _drive(ref, series, V)
    assert torch.equal(a, b)                         # eager: torch's cascade order, bit for bit
    # compiled-style reads (a slot tensor): inductor's order, one running sum of rounded products
    c = _drive(DelayedCoupling(w, lags, V, "cpu", dtype), series, V, read_compiled_style=True)
    hist = series.numpy()
    t = 2 * L + 4                                    # the last step, every lag inside the written series
    seq = np.zeros((V, n, B), dtype=hist.dtype)
    for j in range(n):                               # sources in order, product rounded before the add
        h = hist[t - lags[:, :, j].T, :, j, np.arange(B)[None, :]]          # (n targets, B, V)
        seq = seq + (w[:, :, j].T.astype(hist.dtype)[..., None] * h).transpose(2, 0, 1)
    assert np.array_equal(c[t].numpy(), seq)
    if n > 16:                                       # the test can see an order: the two differ somewhere
        assert not torch.equal(a, c)
    np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-5 if dtype == torch.float32 else 1e-12, atol=1e-6)


def test_kernel_only_for_per_network_lags_on_cpu(monkeypatch):
    w, lags = _batch(20, 2, 2)
    assert DelayedCoupling(w, lags, 1, "cpu", torch.float32).kernel
    dense = w + 0.5 * (w == 0)                        # every edge used by every network, the same lags
    shared = DelayedCoupling(dense, np.repeat(lags[:1], 4, axis=0), 1, "cpu", torch.float32)
    assert shared.shared and not shared.kernel        # shared lags keep the index_select path
    monkeypatch.setattr(coupling, "OWN_KERNEL", False)
    assert not DelayedCoupling(w, lags, 1, "cpu", torch.float32).kernel


def test_level_power_is_atens():
    assert [dk.level_power(n) for n in (1, 2, 3, 16, 80, 1000, 2 ** 16, 2 ** 20 + 1)] == [4, 4, 4, 4, 4, 4, 4, 5]


@pytest.mark.parametrize("order", [dk.CASCADE, dk.SEQUENTIAL])
@pytest.mark.parametrize("team", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_parallel_kernel_gives_the_serial_bits(monkeypatch, order, team, dtype):
    """Several kernel threads -- networks split over numba's threads, or taken in turn by the threads of
    torch's OpenMP team (dk.KERNEL_TEAM, GOMP_parallel) -- give the one-thread kernel's bits: a
    network's sums never depend on the thread that computes them or on the thread count; the path
    named is really taken."""
    monkeypatch.setattr(dk, "KERNEL_TEAM", team)
    if team and dk._team(dtype) is None:
        pytest.skip("torch's OpenMP runtime is not GNU libgomp here")
    w, lags = _batch(40, 5, 4, seed=3)
    cpl = DelayedCoupling(w, lags, 1, "cpu", dtype)
    g = torch.Generator().manual_seed(2)
    cpl.history.copy_(torch.rand(cpl.history.shape, generator=g, dtype=dtype) - 0.3)
    monkeypatch.setattr(dk, "KERNEL_THREADS", 1)
    one = dk.own_sums(cpl.history, 3, *cpl.read_source, order)
    used = []
    name = "_team" if team else "_own_sums"
    real = getattr(dk, name)
    monkeypatch.setattr(dk, name, lambda *a: used.append(name) or real(*a))
    for threads in (2, 3):
        monkeypatch.setattr(dk, "KERNEL_THREADS", threads)
        assert torch.equal(one, dk.own_sums(cpl.history, 3, *cpl.read_source, order)), threads
    assert used == [name, name]
    assert not torch.equal(one[:, :, 0], one[:, :, 4])         # networks differ: a mix-up would show
    monkeypatch.setattr(dk, "_own_sums", lambda *a: (_ for _ in ()).throw(AssertionError("parallel kernel used")))
    monkeypatch.setattr(dk, "_team", lambda *a: (_ for _ in ()).throw(AssertionError("team used")))
    monkeypatch.setattr(dk, "KERNEL_THREADS", 1)
    dk.own_sums(cpl.history, 3, *cpl.read_source, order)       # one thread: the serial kernel, no launch


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_replica_outer_shared_lags_give_the_full_weights_bits(dtype):
    """Shared lags with a short replica axis (U networks x R seeds, R not a multiple of the compiled
    batch multiple, U one): the history's columns in (replica, network) order and the weights broadcast
    over the outer axis (n x n x U values, not n x n x B) give the bits of the full-weights layout, in
    the caller's batch order, for the eager and the compiled-style reads; the layout is really taken."""
    n, U, R, V = 30, 4, 3, 2
    rng = np.random.default_rng(3)
    w = rng.random((U, n, n)) + 0.1          # every edge used (by every network: shared lags)
    w[:, np.arange(n), np.arange(n)] = 0.0
    lags = np.broadcast_to(rng.integers(0, 12, size=(1, n, n)), (U * R, n, n))
    w = np.repeat(w, R, axis=0)
    layouts = {"inner": 1, "outer": 4, "full": 5}   # replica_multiple: R = 3 a multiple / U = 4 one / neither
    cpl = {k: DelayedCoupling(w, lags, V, "cpu", dtype, replica_multiple=m) for k, m in layouts.items()}
    assert all(c.shared for c in cpl.values()) and cpl["outer"].outer and cpl["outer"].R == R
    assert tuple(cpl["outer"].wt.shape[3:]) == (1, U) and tuple(cpl["inner"].wt.shape[3:]) == (U, 1)
    assert not cpl["full"].outer and cpl["full"].R == 1 and tuple(cpl["full"].wt.shape[3:]) == (U * R, 1)
    g = torch.Generator().manual_seed(2)
    series = torch.rand((2 * cpl["full"].L + 5, V, n, U * R), generator=g, dtype=dtype) - 0.3
    for compiled_style in (False, True):
        out = {k: _drive(DelayedCoupling(w, lags, V, "cpu", dtype, replica_multiple=m), series, V, compiled_style)
               for k, m in layouts.items()}
        assert torch.equal(out["outer"], out["full"]) and torch.equal(out["inner"], out["full"]), compiled_style
    a = out["outer"]
    # the columns differ between elements (a permutation error would mix networks or seeds)
    assert not torch.equal(a[-1, :, :, 0], a[-1, :, :, 1]) and not torch.equal(a[-1, :, :, 0], a[-1, :, :, R])
