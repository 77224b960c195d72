"""Networks per simulation batch from memory and device saturation (``simulate.batch_size: auto``).

:func:`plan_batch_size` picks how many runs (networks x seeds x parameters) one tensor batch of
the neural-mass core holds: as many as fit in ``memory_fraction`` of the device's free memory
(an explicit per-run byte model, :func:`bytes_per_run`), no more than saturate the device
(:data:`SATURATING_NODES`: node-runs per step beyond which a larger batch no longer raises the
throughput per run), no more than there are runs, and never fewer than one. The current fixed
``simulate.batch_size`` (64) stays the default; the config value ``auto`` calls this per job (see
docs/simulation.md, "Batch planner").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

# node-runs per step that keep the device busy: on a CPU core the batch-innermost delayed gather
# reached its best per-network cost between batch 64 and 256 of hcp80 (5k-20k node-runs, the
# PERFORMANCE notes: 0.029 -> 0.017 s/sim-s per network). On a GPU the compiled step's host time per
# call (~0.6 ms) bounds small batches: on an H200 the 100-node rWW workload took the same 33-40 s for
# 1 to 1,024 runs and 149 s for 32,768 (31 -> 220 runs per s; docs/simulation.md "GPU"), so a CUDA batch
# aims at millions of node-runs, memory permitting.
SATURATING_NODES = {"cpu": 16_384, "cuda": 1 << 22}


@dataclass(frozen=True)
class RunShape:
    """What one run of a batch holds in memory."""

    n_nodes: int
    max_lag_steps: int          # longest delay in steps (ring length - 1)
    own_delays: bool = True     # each network its own (n, n) lag matrix (nulls), else one shared
    n_state: int = 2            # state variables per node
    itemsize: int = 4           # float32 (8: float64)
    noise_chunk: int = 1000     # steps of noise drawn at once
    bold: bool = True
    fc: bool = True             # FC accumulators (float64, n x n)
    n_trace_samples: int = 0    # recorded samples per node kept in memory (e.g. BOLD or rate traces)


def bytes_per_run(s: RunShape) -> int:
    """Bytes one run adds to a batch (a deliberate over-estimate: tensors plus one copy of the
    per-step temporaries)."""
    n, it = int(s.n_nodes), int(s.itemsize)
    weights = n * n * it
    lags = n * n * 8 if s.own_delays else 0
    gather = n * n * it                                   # the delayed inputs of one step
    history = (int(s.max_lag_steps) + 1) * s.n_state * n * it
    state = s.n_state * n * it * 4                        # state, increments, integrator stages
    noise = int(s.noise_chunk) * s.n_state * n * it
    monitors = (4 * n * 8 if s.bold else 0) + (2 * n * n * 8 if s.fc else 0) + int(s.n_trace_samples) * n * 4
    return int(weights + lags + gather + history + state + noise + monitors)


def shared_bytes(s: RunShape) -> int:
    """Bytes a batch holds once, whatever its size (the shared lag matrix)."""
    return 0 if s.own_delays else int(s.n_nodes) ** 2 * 8


def available_bytes(device: str = "cpu") -> int:
    """Free memory of ``device``: CUDA's free memory, else /proc/meminfo's MemAvailable."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo: pass free_bytes")


def plan_batch_size(shape: RunShape, n_runs: int, device: str = "cpu", free_bytes: int | None = None,
                    memory_fraction: float = 0.5) -> int:
    """Runs per batch: min(what fits in ``memory_fraction`` of ``free_bytes``, what saturates the
    device, ``n_runs``), at least 1. ``free_bytes`` None: read from the device (CUDA free memory,
    else /proc/meminfo's MemAvailable)."""
    if n_runs < 1:
        raise ValueError(f"plan_batch_size: n_runs must be >= 1, got {n_runs}")
    if not 0 < memory_fraction <= 1:
        raise ValueError(f"plan_batch_size: memory_fraction must be in (0, 1], got {memory_fraction}")
    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    if free_bytes is None:
        free_bytes = available_bytes(device)
    budget = memory_fraction * float(free_bytes) - shared_bytes(shape)
    fit = int(budget // bytes_per_run(shape)) if budget > 0 else 0
    saturate = max(1, math.ceil(SATURATING_NODES[kind] / max(1, int(shape.n_nodes))))
    return max(1, min(fit, saturate, int(n_runs)))
