"""The runner's parts (issue 14 item 5, issue 20 items 1-2): coupling pre/post with G in one place,
one monitor interface for both engines, the per-network-delay read paths, padding without recursion."""
import ast
import inspect
import math

import numpy as np
import pytest
import torch

from encephagen.sim import runner
from encephagen.sim.coupling import DelayedCoupling
from encephagen.sim.models import MODELS
from encephagen.sim.monitors import ActivityStats, Bold, Monitor, Record


@pytest.mark.parametrize("name", ["wilson_cowan", "hopf", "kuramoto"])
def test_g_lives_only_in_the_coupling_post(name):
    """dfun must not read G (a NaN G leaves it finite); post with G = 0 gives no coupling."""
    m = MODELS[name]
    assert m.coupling is not None, f"{name} has no pre/post coupling"
    g = torch.Generator().manual_seed(0)
    state = [torch.rand((5, 3), generator=g) for _ in m.state_vars]
    p = {k: v["default"] for k, v in m.params_cls.spec().items()}
    sums = [torch.rand((5, 3), generator=g) for _ in m.pre(state)]
    strength = torch.rand((5, 3), generator=g)
    c = m.coupling.post(sums, strength, state, 0.7)
    d = m.dfun(state, c, {**p, "G": math.nan})
    assert all(torch.isfinite(x).all() for x in d), "dfun reads G"
    zero = m.coupling.post(sums, strength, state, 0.0)
    assert all(float(z.abs().max()) == 0.0 for z in zero)


def test_one_monitor_interface_for_both_engines():
    from encephagen.spiking.monitors import SpikeMonitors

    for cls in (ActivityStats, Record, Bold, SpikeMonitors):
        assert issubclass(cls, Monitor), f"{cls.__name__} lacks init/step/sample"


def test_simulate_pads_without_calling_itself():
    tree = ast.parse(inspect.getsource(runner.simulate))
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "simulate" not in calls
    assert "pad_plan" in calls


def _own_lag_coupling(own_kernel):
    rng = np.random.default_rng(3)
    B, n = 6, 7
    w = rng.random((B, n, n)) * (rng.random((B, n, n)) < 0.6)
    lags = rng.integers(0, 9, size=(B, n, n))
    return DelayedCoupling(w, lags, 1, "cpu", torch.float64, own_kernel=own_kernel), w, np.where(w != 0, lags, 0)


@pytest.mark.parametrize("own_kernel", [True, False])
def test_per_network_delays_read_the_right_slots(own_kernel):
    """Eager (torch: a view of the slots and a constant index; kernel: the slot offset) and
    compiled-style (slot tensor) reads give the same bits (n < 16: torch's eager and inductor's
    summation orders coincide), and both equal the delayed sum written out by hand."""
    coup, w, lags = _own_lag_coupling(own_kernel)
    assert not coup.shared and coup.kernel == own_kernel
    B, n, L = coup.B, coup.n, coup.L
    hist = coup.history
    g = torch.Generator().manual_seed(1)
    series = torch.rand((3 * L, n, B), generator=g, dtype=torch.float64)
    ints, tens = coup.positions(1), coup.positions(1, tensors=True)
    p0 = 0
    for t in range(3 * L):
        pk = ints[p0][0]
        coup.write(hist, pk, [series[t]])
        a = coup.sums_at(hist, coup.read_source, coup.wt, pk)[0]
        b = coup.sums_at(hist, coup.read_source, coup.wt, tens[p0][0])[0]
        assert torch.equal(a, b)
        if t >= L:
            ref = np.einsum("bij,bij->ib", w, series.numpy()[t - lags, np.arange(n)[None, None, :],
                                                           np.arange(B)[:, None, None]])
            np.testing.assert_allclose(a.numpy(), ref, rtol=1e-12, atol=1e-12)
        p0 = pk
