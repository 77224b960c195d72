"""The batch planner: a batch fits the memory it is given, saturates the device, is at least 1."""
from __future__ import annotations

import pytest

from encephagen.sim.planner import RunShape, bytes_per_run, plan_batch_size, shared_bytes

HCP80 = RunShape(n_nodes=80, max_lag_steps=124)


@pytest.mark.parametrize("free", [10**6, 10**7, 10**8, 10**9, 10**11])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_batch_fits_the_memory_limit_or_is_one(free, device):
    b = plan_batch_size(HCP80, n_runs=100_000, device=device, free_bytes=free)
    assert b >= 1
    assert b == 1 or shared_bytes(HCP80) + b * bytes_per_run(HCP80) <= 0.5 * free


def test_at_least_one_when_nothing_fits():
    big = RunShape(n_nodes=20_000, max_lag_steps=1000)
    assert plan_batch_size(big, n_runs=50, free_bytes=1000) == 1


def test_capped_by_runs_and_by_saturation():
    assert plan_batch_size(HCP80, n_runs=3, free_bytes=10**12) == 3
    cpu = plan_batch_size(HCP80, n_runs=10**6, device="cpu", free_bytes=10**12)
    gpu = plan_batch_size(HCP80, n_runs=10**6, device="cuda", free_bytes=10**12)
    assert 1 < cpu < gpu < 10**6


def test_own_delays_cost_more_than_shared():
    own = RunShape(n_nodes=400, max_lag_steps=200, own_delays=True)
    shared = RunShape(n_nodes=400, max_lag_steps=200, own_delays=False)
    assert bytes_per_run(own) > bytes_per_run(shared)
    free = 50 * bytes_per_run(own)
    assert plan_batch_size(own, 10**6, "cuda", free) <= plan_batch_size(shared, 10**6, "cuda", free)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n_runs"):
        plan_batch_size(HCP80, n_runs=0, free_bytes=10**9)
    with pytest.raises(ValueError, match="memory_fraction"):
        plan_batch_size(HCP80, n_runs=5, free_bytes=10**9, memory_fraction=0)


def test_reads_the_machine_when_not_told():
    assert plan_batch_size(HCP80, n_runs=4) >= 1
