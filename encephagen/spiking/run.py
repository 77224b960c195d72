"""Simulate a batch of LIF networks (:class:`encephagen.spiking.engine.LIFBatch` + online
monitors): networks and seeds in, monitor results (arrays) out.

The study layer's adapter (networks x seed ids x G -> one file of kind 'runs', engine 'lif') is
:class:`encephagen.study.engines.lif.LIFEngine`; it calls :func:`simulate` once per chunk.
"""
from __future__ import annotations

import time
from typing import Sequence

from encephagen.sim.regime import spiking_regimes
from encephagen.spiking.engine import LIFBatch
from encephagen.spiking.monitors import SpikeMonitorConfig, SpikeMonitors, flag_regimes
from encephagen.spiking.network import LIFNetwork


def simulate(networks: Sequence[LIFNetwork], seeds: Sequence[int], duration: float, transient: float,
             monitors: SpikeMonitorConfig | None = None, device="cpu", backend: str = "auto",
             names: Sequence[str] | None = None, memory_limit_bytes: int | None = None,
             progress=None) -> dict:
    """Simulate a batch (same n, R, dt) for ``transient + duration`` ms; return monitor results.

    Initial potentials are uniform in [v_reset, theta) from each network's seed.
    """
    monitors = monitors or SpikeMonitorConfig()
    monitors.check_bold_samples(duration)     # too few BOLD samples: refused before building anything
    dt = networks[0].dt
    n_steps = int(round(duration / dt))
    n_trans = int(round(transient / dt))
    n_bins = n_steps // max(1, int(round(monitors.rate_bin / dt)))
    names = list(names or [f"network{b}" for b in range(len(networks))])
    t_all = time.perf_counter()
    sim = LIFBatch(list(networks), list(seeds), device=device, backend=backend, names=names,
                   memory_limit_bytes=memory_limit_bytes, n_bins_hint=n_bins)
    sim.random_initial_state()
    mon = SpikeMonitors(sim, monitors, start_step=n_trans, n_steps=n_steps).init()
    total = n_trans + n_steps
    t_run = time.perf_counter()
    while sim.t < total:
        blk = sim.step_block(min(sim.K, total - sim.t))
        mon.step(sim.t, blk)
        if progress is not None:
            progress(sim.t, total)
    run_s = time.perf_counter() - t_run
    res = mon.sample()
    res["flags"] = flag_regimes(res["rate"], names, monitors.runaway_hz, monitors.silent_hz)
    p0 = networks[0].params
    res["regime"] = spiking_regimes(res["rate"], res["synchrony"], monitors.silent_hz, p0.t_ref, sim.n // sim.R)
    res.update(wall_s=time.perf_counter() - t_all, run_s=run_s, setup_s=sim.setup_seconds,
               backend=sim.backend, device=str(sim.device), memory_estimate_bytes=sim.memory_estimate,
               block_steps=sim.K, ring_slots=sim.S, n_synapses=[net.nnz for net in networks])
    return res
