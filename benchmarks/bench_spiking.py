"""Spiking engine vs Brian2 cpp_standalone, side by side in one run, on the issue's network.

Network (Brunel 2000 with exponential current synapses): 19,200 LIF neurons (15,360 E +
3,840 I), fixed in-degree 320 E + 80 I, J = 0.1 mV (each E spike adds J tau_m / tau_s =
0.4 mV to the target's synaptic current), g = 5, tau_s 5 ms, tau_m 20 ms, threshold 20 mV,
reset 0, refractory 2 ms, delay 1.5 ms, Poisson drive eta = 1.1 (C_ext = 320 inputs at
eta * nu_thr), dt 0.1 ms. Brian2 simulates the EXACT same synapse list (written to an npz)
and the same initial potentials; its Poisson drive is PoissonInput (binomial per step).

Brian2 2.9 needs numpy < 2.4, so it runs as a subprocess in a separate venv:
    python -m venv .venv-bench && .venv-bench/bin/pip install 'brian2==2.9.*' 'numpy<2.4'

Usage: python benchmarks/bench_spiking.py [--duration 2] [--threads 2 1] [--brian-threads 1 2]
       [--torch-duration 0.2] [--batch 0] [--device cpu|cuda]
       python benchmarks/bench_spiking.py --plastic 2k [19k] --duration 1 --threads 1 --out ...
       (plastic E->E synapses: static vs STDP vs STDP + scaling, CPU ms per step)
       python benchmarks/bench_spiking.py --phases --threads 1 2 --duration 1 --out ...
       (CPU time of the numba path's update, spike collection and delivery per simulated s, and of
       the fused blocks: per partition, serial, critical path)
       python benchmarks/bench_spiking.py --plastic-brian --duration 1 --bench-python /tmp/venv/bin/python
       (the 19,200-neuron network, one thread: encephagen static / STDP and Brian2 static / STDP with
       the same additive rule on the same synapses, in one run)
       python benchmarks/bench_spiking.py --eprop-task full|readout|frozen --trials 60 --out ...
       (the 3-way stimulus-action task with in-network reward-based e-prop, 4 networks of 500 neurons)
Brian2's cpu-s/sim-s is an upper bound (CPU time of the whole binary, synapse creation
included). Figures are printed side by side and written to benchmarks/results/bench_spiking.json.
Only ratios from one run mean something on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def run_encephagen(net, duration_s, backend, device, batch=1, seed=123, threads=None):
    import numba
    import torch

    if threads:
        torch.set_num_threads(threads)
        numba.set_num_threads(threads)

    from encephagen.spiking.engine import LIFBatch

    t, c = time.perf_counter(), time.process_time()
    sim = LIFBatch([net] * batch, [seed + b for b in range(batch)], device=device, backend=backend)
    sim.v.copy_(torch.as_tensor(np.tile(net.meta["v0"], batch), device=sim.device))
    setup = time.perf_counter() - t
    sim.step_block()  # first call (numba: loads the on-disk cache or compiles): counted as set-up
    if device != "cpu":
        torch.cuda.synchronize()
    first = time.perf_counter() - t - setup
    setup_cpu = time.process_time() - c
    steps = int(round(duration_s * 1000 / net.dt))
    nspk = 0
    t = time.perf_counter()
    c = time.process_time()
    while sim.t < steps + sim.K:
        nspk += sim.step_block().i.numel()
    if device != "cpu":
        torch.cuda.synchronize()
    el = time.perf_counter() - t
    cpu = time.process_time() - c
    sim_s = (sim.t - sim.K) * net.dt / 1000
    return {"backend": backend, "device": str(device), "batch": batch, "threads": threads, "duration_s": sim_s,
            "run_s": el, "s_per_sim_s": el / sim_s / 1.0, "s_per_sim_s_per_network": el / sim_s / batch,
            "setup_s": setup + first, "batch_setup_s": setup, "first_block_s": first, "setup_cpu_s": setup_cpu,
            "cpu_s_per_sim_s": cpu / sim_s, "rate_hz": nspk / (net.n * batch) / sim_s,
            "throughput_network_sim_s_per_wall_s": batch * sim_s / el}


def run_phases(net, duration_s, seed=123, threads=1):
    """CPU time per simulated second of each part of a numba block (neuron update ``lif_block``,
    spike collection, delivery), the synaptic events delivered and the CPU ns per event."""
    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    from encephagen.spiking.engine import LIFBatch

    sim = LIFBatch([net], [seed], backend="numba")
    sim.v.copy_(torch.as_tensor(net.meta["v0"]))
    sim.step_block()  # builds the kernels' argument views
    sim.flush()       # its spikes delivered (blocks are fused by default; the phases run them apart)
    nk, out_deg = sim._nk, np.diff(net.indptr)
    steps = int(round(duration_s * 1000 / net.dt))
    cpu = {"lif_block": 0.0, "collect": 0.0, "deliver": 0.0}
    events = spikes = 0
    pt = time.process_time
    while sim.t < steps + sim.K:
        t0, K = sim.t, sim.K
        c = pt()
        nk.lif_block(t0, K, sim.S, *sim._args)
        c1 = pt()
        m = nk.collect(sim._spk, K, sim._out_k, sim._out_i)
        c2 = pt()
        nk.deliver(t0, sim._out_k, sim._out_i, m, sim.S, *sim._dargs)
        c3 = pt()
        cpu["lif_block"] += c1 - c
        cpu["collect"] += c2 - c1
        cpu["deliver"] += c3 - c2
        spikes += m
        events += int(out_deg[sim._out_i[:m]].sum())
        sim.t = t0 + K
    sim_s = (sim.t - sim.K) * net.dt / 1000
    out = {f"cpu_s_per_sim_s_{k}": v / sim_s for k, v in cpu.items()}
    out.update(cpu_s_per_sim_s=sum(cpu.values()) / sim_s, events_per_sim_s=events / sim_s,
               rate_hz=spikes / net.n / sim_s, threads=threads,
               deliver_ns_per_event=1e9 * cpu["deliver"] / max(events, 1),
               update_ns_per_neuron_step=1e9 * cpu["lif_block"] / (net.n * (sim.t - sim.K)))
    return out


def run_fused(net, duration_s, seed=123, threads=1):
    """The default numba path (fused blocks, :class:`encephagen.spiking.engine.LIFBatch`): CPU per
    simulated second of the whole process, of each partition's compiled call (its thread's CPU time)
    and of the calling thread outside its partition (merging the lists, Python, waking and waiting for
    the helpers); the critical path = per block the slowest partition, summed, plus that serial part:
    the wall time a loaded machine cannot show, less the helpers' wake-up latency."""
    import types

    import numba
    import torch

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    from encephagen.spiking.engine import LIFBatch

    sim = LIFBatch([net], [seed], backend="numba")
    sim.v.copy_(torch.as_tensor(net.meta["v0"]))
    sim.step_block()
    nk = sim._nk
    part_cpu = [[] for _ in range(sim.nparts)]

    def timed(p, *args):
        c = time.thread_time()
        nk.block_part(p, *args)
        part_cpu[p].append(time.thread_time() - c)

    sim._nk = types.SimpleNamespace(**{**vars(nk), "block_part": timed})
    steps = int(round(duration_s * 1000 / net.dt))
    t0 = sim.t
    cm, c, w = time.thread_time(), time.process_time(), time.perf_counter()
    while sim.t < t0 + steps:
        sim.step_block()
    main, cpu, wall = time.thread_time() - cm, time.process_time() - c, time.perf_counter() - w
    sim._nk = nk
    sim_s = (sim.t - t0) * net.dt / 1000
    T = np.array(part_cpu)
    serial = main - T[0].sum()
    return {"threads": threads, "partitions": np.diff(sim.bounds).tolist(), "uniform_rows": sim._rows,
            "cpu_s_per_sim_s": cpu / sim_s, "wall_s_per_sim_s": wall / sim_s,
            "partition_cpu_s_per_sim_s": (T.sum(axis=1) / sim_s).tolist(), "serial_cpu_s_per_sim_s": serial / sim_s,
            "imbalance_s_per_sim_s": (T.max(axis=0).sum() - T.mean(axis=0).sum()) / sim_s,
            "critical_path_s_per_sim_s": (T.max(axis=0).sum() + serial) / sim_s}


def run_plastic(net, duration_s, stdp=None, scaling=None, seed=123, threads=None, rstdp=None, lazy=True, rows=True,
                fuse=True, deliver=True):
    """CPU time per step of the numba path with the E->E synapses static or plastic (STDP, scaling);
    ``lazy=False``: STDP's potentiation per event instead of on demand (same weights), R-STDP's
    eligibility decayed every step instead of at events (equal to rounding); ``rows=False``: the
    on-demand STDP kernel of session 9 (``stdp_lazy``) instead of ``stdp_lazy_rows`` (same weights);
    ``fuse=False``: the engine's unfused blocks (what it runs under plasticity) for a static network;
    ``deliver=False``: the engine delivers every synapse (the STDP kernel does not deliver its own)."""
    import numba
    import torch

    if threads:
        torch.set_num_threads(threads)
        numba.set_num_threads(threads)
    from encephagen.spiking.engine import LIFBatch

    sim = LIFBatch([net], [seed], backend="numba")
    sim.FUSE_BLOCKS = fuse
    sim.v.copy_(torch.as_tensor(net.meta["v0"]))
    from encephagen.spiking.plastic import enable

    from encephagen.spiking.plastic import PlasticSynapses

    lazy0 = PlasticSynapses.LAZY, PlasticSynapses.LAZY_ELIGIBILITY, PlasticSynapses.LAZY_ROWS, PlasticSynapses.DELIVER
    PlasticSynapses.LAZY = PlasticSynapses.LAZY_ELIGIBILITY = lazy
    PlasticSynapses.LAZY_ROWS = rows
    PlasticSynapses.DELIVER = deliver
    try:
        pl = enable(sim, stdp=stdp, scaling=scaling, rstdp=rstdp) if (stdp or scaling) else None
        for _ in range(20):   # warm-up: every kernel called (and loaded from numba's cache) before the clock
            sim.step_block()
        t_start = sim.t
        load0 = os.getloadavg()
        steps = int(round(duration_s * 1000 / net.dt))
        nspk = 0
        t, c = time.perf_counter(), time.process_time()
        while sim.t < steps + t_start:
            nspk += sim.step_block().i.numel()
        el, cpu = time.perf_counter() - t, time.process_time() - c
    finally:
        (PlasticSynapses.LAZY, PlasticSynapses.LAZY_ELIGIBILITY, PlasticSynapses.LAZY_ROWS,
         PlasticSynapses.DELIVER) = lazy0
    n_steps = sim.t - t_start
    out = {"wall_ms_per_step": 1e3 * el / n_steps, "cpu_ms_per_step": 1e3 * cpu / n_steps,
           "rate_hz": nspk / net.n / (n_steps * net.dt / 1000), "steps": n_steps,
           "load_avg_start": load0[0], "load_avg_end": os.getloadavg()[0]}
    if pl is not None:
        w = pl.weights(0)   # first: brings the numba path's on-demand potentiation up to date (events counted)
        out.update(plastic_synapses=pl.P, events_per_step=pl.n_events / (sim.t / 1.0))
        out["mean_weight_change"] = float(np.mean(w["final"] - w["initial"]))
    return out


def plastic_network(name: str):
    """The --plastic network ``name`` ("2k" or "19k"; initial potentials in ``meta["v0"]``) and its
    additive STDP parameters (also profiled by benchmarks/profile_numba.py)."""
    from encephagen.plasticity import STDPParams
    from encephagen.spiking.network import brunel_network

    sizes = {"2k": dict(n_e=1600, n_i=400, c_e=80, c_i=20), "19k": dict(n_e=15360, n_i=3840, c_e=320, c_i=80)}
    net = brunel_network(J=0.1 if name == "19k" else 0.2, g=5.0, eta=1.1 if name == "19k" else 1.4,
                         delay_ms=1.5, dt=0.1, seed=1, **sizes[name])
    net.meta["v0"] = np.random.default_rng(7).uniform(0, 20, net.n).astype(np.float32)
    w_e = float(net.weight[net.channel == 0].max())
    return net, STDPParams(lam=0.005, alpha=1.05, w_max=3 * w_e)


def plastic_main(a):
    """--plastic: static vs STDP vs STDP + scaling on one network (CPU, numba path)."""
    from encephagen.plasticity import RSTDPParams, ScalingParams

    res = {}
    for name in a.plastic:
        net, stdp = plastic_network(name)
        scaling = ScalingParams(tau=1000.0, target_rate=10.0, beta=0.01, interval=100)
        rows = {"static": run_plastic(net, a.duration, threads=a.threads[0]),
                # the engine's unfused blocks, as it runs them under plasticity (same spikes)
                "static_unfused": run_plastic(net, a.duration, threads=a.threads[0], fuse=False),
                "stdp": run_plastic(net, a.duration, stdp=stdp, threads=a.threads[0]),
                # the same with the engine delivering every synapse (session 10's split of the work)
                "stdp_engine_delivers": run_plastic(net, a.duration, stdp=stdp, threads=a.threads[0], deliver=False),
                # the same with session 9's on-demand kernel (stdp_lazy; same weights)
                "stdp_lazy_v9": run_plastic(net, a.duration, stdp=stdp, threads=a.threads[0], rows=False),
                # the same STDP with potentiation applied per event as it arrives (the pre-session-9 kernel)
                "stdp_per_event": run_plastic(net, a.duration, stdp=stdp, threads=a.threads[0], lazy=False),
                "stdp+scaling": run_plastic(net, a.duration, stdp=stdp, scaling=scaling, threads=a.threads[0]),
                # reward-modulated STDP: eligibility of every plastic synapse decayed every step (no reward given)
                "rstdp": run_plastic(net, a.duration, stdp=stdp, rstdp=RSTDPParams(tau_c=200.0), threads=a.threads[0]),
                # the same with every eligibility decayed every step (the pre-session-9 kernel)
                "rstdp_per_step": run_plastic(net, a.duration, stdp=stdp, rstdp=RSTDPParams(tau_c=200.0),
                                              threads=a.threads[0], lazy=False)}
        res[name] = {"n": net.n, "nnz": net.nnz, **rows}
        print(f"\n{name}: {net.n} neurons, {net.nnz:,} synapses, {a.duration} s simulated, {a.threads[0]} thread(s)")
        for k, r in rows.items():
            extra = f" events/step {r['events_per_step']:.0f}" if "events_per_step" in r else ""
            print(f"  {k:14s} cpu {r['cpu_ms_per_step']:.4f} ms/step  wall {r['wall_ms_per_step']:.4f} ms/step  "
                  f"rate {r['rate_hz']:.2f} Hz  "
                  f"x static {r['cpu_ms_per_step'] / rows['static']['cpu_ms_per_step']:.2f}{extra}  load "
                  f"{r['load_avg_start']:.1f}-{r['load_avg_end']:.1f}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(f"written {a.out}")


def phases_main(a):
    """--phases: where a numba block's CPU time goes, on the issue's network."""
    from encephagen.spiking.network import brunel_network

    net = brunel_network(n_e=15360, n_i=3840, c_e=320, c_i=80, J=0.1, g=5.0, eta=1.1, delay_ms=1.5, dt=0.1, seed=1)
    net.meta["v0"] = np.random.default_rng(7).uniform(0, 20, net.n).astype(np.float32)
    res = {"network": {"n": net.n, "nnz": net.nnz}, "phases": {}, "fused": {}}
    for th in a.threads:
        load0 = os.getloadavg()
        r = run_phases(net, a.duration, threads=th)
        f = run_fused(net, a.duration, threads=th)
        r.update(load_avg_start=load0, load_avg_end=os.getloadavg())
        res["phases"][th], res["fused"][th] = r, f
        print(f"{net.n} neurons, {net.nnz:,} synapses, {a.duration} s simulated, {th} thread(s), "
              f"{r['rate_hz']:.2f} Hz, {r['events_per_sim_s'] / 1e6:.1f} M events per simulated s; load avg "
              f"{load0[0]:.1f} -> {r['load_avg_end'][0]:.1f} (CPU s are the measure)")
        print("  separate launches (lif_block, collect, deliver: session 9's path, per-synapse weights):")
        for k in ("lif_block", "collect", "deliver"):
            print(f"    {k:10s} {r[f'cpu_s_per_sim_s_{k}']:.3f} CPU s per simulated s")
        print(f"    total      {r['cpu_s_per_sim_s']:.3f}   (update {r['update_ns_per_neuron_step']:.2f} ns per neuron-step, "
              f"delivery {r['deliver_ns_per_event']:.2f} ns per event)")
        print(f"  fused blocks (the default; uniform rows {f['uniform_rows']}, partitions {f['partitions']}):")
        print(f"    process    {f['cpu_s_per_sim_s']:.3f} CPU s per simulated s; partitions "
              + ", ".join(f"{x:.3f}" for x in f["partition_cpu_s_per_sim_s"])
              + f"; serial {f['serial_cpu_s_per_sim_s']:.3f}; imbalance {f['imbalance_s_per_sim_s']:.3f}")
        print(f"    critical path {f['critical_path_s_per_sim_s']:.3f} s per simulated s (slowest partition per block "
              f"+ serial; wall {f['wall_s_per_sim_s']:.3f} under this load)")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(f"written {a.out}")


def _brian_npz(net, path, stdp=None):
    """The network for the Brian2 subprocess (exact synapses, initial potentials); with ``stdp``
    the E->E synapses are plastic with its parameters (additive form only)."""
    src = net.source
    is_e = net.channel == 0
    p = net.params
    extra = {}
    if stdp is not None:
        if stdp.mu_plus or stdp.mu_minus or stdp.pairing != "all_to_all":
            raise ValueError("the Brian2 plastic benchmark implements additive all-to-all STDP only")
        extra = {"is_ee": net.is_exc[net.target[is_e]], "stdp_lam": stdp.lam, "stdp_alpha": stdp.alpha,
                 "stdp_w_max": stdp.w_max, "stdp_tau_plus": stdp.tau_plus, "stdp_tau_minus": stdp.tau_minus}
    np.savez(path, n=net.n, dt=net.dt, tau_m=p.tau_m, tau_s=p.tau_e, theta=p.theta, t_ref=p.t_ref,
             w_e=float(p.J * p.tau_m / p.tau_e), w_i=float(-p.g * p.J * p.tau_m / p.tau_e),
             delay=p.delay_local, c_ext=net.meta["c_e"],
             nu_ext_hz=float(net.ext_rate[0] / net.meta["c_e"]), v0=net.meta["v0"],
             src_e=src[is_e], tgt_e=net.target[is_e], src_i=src[~is_e], tgt_i=net.target[~is_e], **extra)


def _run_brian(a, npz, threads, out):
    cmd = [a.bench_python, str(REPO / "benchmarks" / "_brian2_brunel.py"), str(npz), str(a.duration), str(threads), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        return None
    return json.loads(Path(out).read_text())


def plastic_brian_main(a):
    """--plastic-brian: the 19,200-neuron network with the E->E synapses static or with additive
    STDP (the --plastic parameters), encephagen (numba, 1 thread) and Brian2 cpp_standalone
    (1 thread), all in one run. CPU s per simulated s (Brian2: CPU of its binary, synapse
    creation included: an upper bound) and the ratios of this run."""
    from encephagen.plasticity import STDPParams
    from encephagen.spiking.network import brunel_network

    if not Path(a.bench_python).exists():
        raise SystemExit(f"Brian2 venv not found at {a.bench_python}; see the module docstring")
    net = brunel_network(J=0.1, g=5.0, eta=1.1, delay_ms=1.5, dt=0.1, seed=1, n_e=15360, n_i=3840, c_e=320, c_i=80)
    net.meta["v0"] = np.random.default_rng(7).uniform(0, 20, net.n).astype(np.float32)
    w_e = float(net.weight[net.channel == 0].max())
    stdp = STDPParams(lam=0.005, alpha=1.05, w_max=3 * w_e)
    load0 = os.getloadavg()
    rows = {}
    for name, kw in (("encephagen static", {}), ("encephagen stdp", {"stdp": stdp})):
        r = run_plastic(net, a.duration, threads=1, **kw)
        r["cpu_s_per_sim_s"] = r["cpu_ms_per_step"] * 1e-3 * 1000 / net.dt
        r["wall_s_per_sim_s"] = r["wall_ms_per_step"] * 1e-3 * 1000 / net.dt
        rows[name] = r
    with tempfile.TemporaryDirectory() as tmp:
        for name, sp in (("Brian2 static", None), ("Brian2 stdp", stdp)):
            npz = Path(tmp) / f"{name.split()[1]}.npz"
            _brian_npz(net, npz, sp)
            r = _run_brian(a, npz, 1, Path(tmp) / f"{name.split()[1]}.json")
            if r is not None:
                r["cpu_s_per_sim_s"] = r["cpu_s_per_sim_s_upper"]
                r["wall_s_per_sim_s"] = r["s_per_sim_s"]
                rows[name] = r
    res = {"network": {"n": net.n, "nnz": net.nnz}, "duration_s": a.duration, "stdp": stdp.to_dict(),
           "load_avg_start": load0, "load_avg_end": os.getloadavg(), "rows": rows}
    print(f"\n19k network, {net.nnz:,} synapses, {a.duration} s simulated, 1 thread; load avg "
          f"{load0[0]:.1f} -> {res['load_avg_end'][0]:.1f} (shared machine: CPU s are the measure)")
    print(f"{'run':22s} {'cpu-s/sim-s':>12s} {'wall-s/sim-s':>13s} {'rate Hz':>8s}")
    for k, r in rows.items():
        print(f"{k:22s} {r['cpu_s_per_sim_s']:12.2f} {r['wall_s_per_sim_s']:13.2f} {r['rate_hz']:8.2f}")
    ratios = {}
    c = {k: r["cpu_s_per_sim_s"] for k, r in rows.items()}
    for num, den in (("encephagen stdp", "encephagen static"), ("Brian2 stdp", "Brian2 static"),
                     ("Brian2 stdp", "encephagen stdp"), ("Brian2 static", "encephagen static")):
        if num in c and den in c:
            ratios[f"{num} / {den}"] = c[num] / c[den]
            print(f"  cpu {num} / {den}: {c[num] / c[den]:.2f}")
    res["cpu_ratios"] = ratios
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    print(f"written {a.out}")


def eprop_task_main(a):
    """--eprop-task VARIANT: the 3-way stimulus-action task with in-network reward-based e-prop
    (encephagen.learn.eprop) on 4 Brunel networks of 500 neurons (seeds 0-3), ``--trials`` trials
    (60 ms stimulus = 10 mV on one of three groups of 40 E neurons, action at its end, reward 1 for
    the stimulus's index, 40 ms pause). Variants: full (eta_rec 0.005), readout (network weights
    frozen), frozen (nothing learns). Exploratory: the learn stage's protocol is not wired yet."""
    import torch  # noqa: F401

    from encephagen.learn import protocols as P
    from encephagen.learn.eprop import attach
    from encephagen.plasticity import EPropRLParams
    from encephagen.spiking.engine import LIFBatch
    from encephagen.spiking.network import brunel_network

    B = 4
    nets = [brunel_network(n_e=400, n_i=100, c_e=40, c_i=10, J=0.2, g=5.0, eta=1.2, delay_ms=1.5, dt=0.1, seed=s)
            for s in range(B)]
    sim = LIFBatch(nets, [100 + b for b in range(B)], backend="numba")
    sim.random_initial_state()
    P.run_for(sim, 2000)
    w_e = float(nets[0].weight[nets[0].channel == 0].max())
    eta = {"full": (0.005, 1e-2, 1e-6), "readout": (0.0, 1e-2, 1e-6), "frozen": (0.0, 0.0, 0.0)}[a.eprop_task]
    rule = attach(sim, EPropRLParams(eta_rec=eta[0], eta_out=eta[1], eta_value=eta[2], c_e=0.01), 3,
                  seeds=[200 + b for b in range(B)], w_max=3 * w_e)
    rng = np.random.default_rng(5)
    [[rng.permutation(400) for _ in range(3)] for _ in range(B)]   # draws of the recorded runs (kept: same groups)
    pats = [[np.sort(rng.choice(400, 40, replace=False)) for _ in range(3)] for _ in range(B)]
    stim = rng.integers(0, 3, (B, a.trials))
    c0 = time.process_time()
    out = P.stimulus_action(sim, rule, pats, stim, 60.0, 40.0, 10.0)
    c = out["correct"]
    w, w0 = rule.w.numpy(), rule.w0.numpy()
    res = {"variant": a.eprop_task, "trials": a.trials, "cpu_s": time.process_time() - c0,
           "acc_blocks": [float(c[:, i:i + 10].mean()) for i in range(0, a.trials, 10)],
           "p_correct_blocks": [float(out["p_correct"][:, i:i + 10].mean()) for i in range(0, a.trials, 10)],
           "w_mean_change": float((w - w0).mean()), "w_abs_change": float(np.abs(w - w0).mean()),
           "w0_mean": float(w0.mean())}
    print(json.dumps(res))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1))


def stability_main(a):
    """--stability: the 19,200-neuron network with STDP + scaling (the --plastic parameters) for
    ``--duration`` simulated seconds; per simulated second one JSON line (appended and flushed, so an
    unfinished run still leaves its record): rate, CV of the ISI (neurons with >= 3 spikes in the
    second), population Fano factor (1-ms bins; ~1 asynchronous), weight statistics, CPU time."""
    import numba
    import torch

    from encephagen.plasticity import ScalingParams, STDPParams
    from encephagen.spiking.engine import LIFBatch
    from encephagen.spiking.network import brunel_network

    torch.set_num_threads(a.threads[0])
    numba.set_num_threads(a.threads[0])
    net = brunel_network(J=0.1, g=5.0, eta=1.1, delay_ms=1.5, dt=0.1, seed=1, n_e=15360, n_i=3840, c_e=320, c_i=80)
    w_e = float(net.weight[net.channel == 0].max())
    stdp = STDPParams(lam=0.005, alpha=1.05, w_max=3 * w_e)
    scaling = ScalingParams(tau=1000.0, target_rate=10.0, beta=0.01, interval=100)
    sim = LIFBatch([net], [123], backend="numba")
    sim.v.copy_(torch.as_tensor(np.random.default_rng(7).uniform(0, 20, net.n).astype(np.float32)))
    pl = sim.enable_plasticity(stdp=stdp, scaling=scaling)
    per_s = int(round(1000 / net.dt))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        fh.write(json.dumps({"n": net.n, "nnz": net.nnz, "plastic_synapses": pl.P, "stdp": stdp.to_dict(),
                             "scaling": scaling.to_dict(), "w_e": w_e, "duration_s": a.duration}) + "\n")
        fh.flush()
        for sec in range(int(a.duration)):
            c0, t0 = time.process_time(), time.perf_counter()
            ks, ii = [], []
            end = (sec + 1) * per_s
            while sim.t < end:
                b = sim.step_block(min(sim.K, end - sim.t))
                ks.append((b.k + b.t0).numpy())
                ii.append(b.i.numpy())
            k, i = np.concatenate(ks), np.concatenate(ii)
            o = np.lexsort((k, i))
            k, i = k[o], i[o]
            same = i[1:] == i[:-1]
            isi = np.diff(k)[same].astype(float)
            who = i[1:][same]
            cnt = np.bincount(who, minlength=net.n)
            ok = cnt >= 2
            s1 = np.bincount(who, isi, net.n)
            s2 = np.bincount(who, isi * isi, net.n)
            mu = s1[ok] / cnt[ok]
            cv = np.sqrt(np.maximum(s2[ok] / cnt[ok] - mu * mu, 0)) / mu
            pop = np.bincount(k // 10 - sec * per_s // 10, minlength=per_s // 10)
            w = pl.w.numpy()
            rec = {"second": sec + 1, "rate_hz": i.size / net.n,
                   "rate_e_hz": float(np.sum(net.is_exc[i])) / max(int(net.is_exc.sum()), 1), "cv_isi": float(np.mean(cv)) if cv.size else None,
                   "n_cv": int(cv.size), "pop_fano_1ms": float(pop.var() / max(pop.mean(), 1e-12)),
                   "w_mean": float(w.mean()), "w_sd": float(w.std()), "w_min": float(w.min()), "w_max": float(w.max()),
                   "frac_w_zero": float(np.mean(w <= 0)), "frac_w_max": float(np.mean(w >= stdp.w_max)),
                   "sensor_mean_hz": float(pl.sensor_rate.mean()), "cpu_s": time.process_time() - c0,
                   "wall_s": time.perf_counter() - t0}
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(rec, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=2.0, help="simulated seconds (both tools)")
    ap.add_argument("--threads", type=int, nargs="*", default=[2, 1], help="encephagen thread counts to run (numba/torch)")
    ap.add_argument("--brian-threads", type=int, nargs="*", default=[1, 2],
                    help="Brian2 OpenMP thread counts to run (1 = Brian2's default)")
    ap.add_argument("--torch-duration", type=float, default=0.2, help="simulated s for the torch CPU path (0: skip)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, nargs="*", default=[], help="also run batched throughput with these batch sizes")
    ap.add_argument("--bench-python", default=str(REPO / ".venv-bench" / "bin" / "python"))
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bench_spiking.json"))
    ap.add_argument("--phases", action="store_true",
                    help="instead: CPU time of the numba path's parts (update, collection, delivery) per "
                         "simulated second on the issue's network, and of the fused blocks (per partition, "
                         "serial, critical path), for each --threads value; no Brian2")
    ap.add_argument("--stability", action="store_true",
                    help="19,200 neurons with STDP + scaling for --duration s; one JSON line per second to --out")
    ap.add_argument("--plastic", nargs="*", default=None, choices=["2k", "19k"],
                    help="instead: static vs STDP vs STDP + scaling on these networks (2k: 2,000 neurons x 200k "
                         "synapses; 19k: the 19,200-neuron network)")
    ap.add_argument("--plastic-brian", action="store_true",
                    help="instead: 19,200 neurons, E->E static vs additive STDP, encephagen vs Brian2 (1 thread)")
    ap.add_argument("--eprop-task", choices=["full", "readout", "frozen"], default=None,
                    help="instead: the 3-way stimulus-action task with in-network reward-based e-prop")
    ap.add_argument("--trials", type=int, default=60, help="trials of --eprop-task")
    a = ap.parse_args(argv)
    if a.phases:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(max(a.threads)))
        return phases_main(a)
    if a.eprop_task:
        return eprop_task_main(a)
    if a.plastic_brian:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")
        return plastic_brian_main(a)
    if a.stability:
        return stability_main(a)
    if a.plastic:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(max(a.threads)))
        return plastic_main(a)

    os.environ.setdefault("NUMBA_NUM_THREADS", str(max(a.threads)))
    import torch

    torch.set_flush_denormal(True)
    from encephagen.spiking.network import brunel_network

    t, c = time.perf_counter(), time.process_time()
    net = brunel_network(n_e=15360, n_i=3840, c_e=320, c_i=80, J=0.1, g=5.0, eta=1.1, delay_ms=1.5, dt=0.1, seed=1)
    build_s, build_cpu = time.perf_counter() - t, time.process_time() - c
    net.meta["v0"] = np.random.default_rng(7).uniform(0, 20, net.n).astype(np.float32)
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "load_avg_start": os.getloadavg()}, "network": {"n": net.n, "nnz": net.nnz},
               "network_build_s": build_s, "network_build_cpu_s": build_cpu}
    rows = []
    backend = "numba" if a.device == "cpu" else "torch"
    for th in a.threads:
        r = run_encephagen(net, a.duration, backend, a.device, threads=th)
        r["setup_s_total"] = build_s + r["setup_s"]   # network build + batch + first block (cache load)
        r["setup_cpu_s_total"] = build_cpu + r["setup_cpu_s"]
        rows.append((f"encephagen {backend} {th} thread(s)", r))
    if a.torch_duration > 0 and a.device == "cpu":
        rows.append((f"encephagen torch {a.threads[0]} thread(s)",
                     run_encephagen(net, a.torch_duration, "torch", "cpu", threads=a.threads[0])))
    for b in a.batch:
        rows.append((f"encephagen batch {b}", run_encephagen(net, a.duration, backend, a.device, batch=b,
                                                             threads=a.threads[0])))
    # Brian2 on the exact same synapses
    src = net.source
    is_e = net.channel == 0
    p = net.params
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "net.npz"
        np.savez(npz, n=net.n, dt=net.dt, tau_m=p.tau_m, tau_s=p.tau_e, theta=p.theta, t_ref=p.t_ref,
                 w_e=float(p.J * p.tau_m / p.tau_e), w_i=float(-p.g * p.J * p.tau_m / p.tau_e),
                 delay=p.delay_local, c_ext=net.meta["c_e"],
                 nu_ext_hz=float(net.ext_rate[0] / net.meta["c_e"]), v0=net.meta["v0"],
                 src_e=src[is_e], tgt_e=net.target[is_e], src_i=src[~is_e], tgt_i=net.target[~is_e])
        for th in a.brian_threads:
            out = Path(tmp) / f"brian{th}.json"
            if not Path(a.bench_python).exists():
                print(f"Brian2 venv not found at {a.bench_python}; see the module docstring", file=sys.stderr)
                break
            cmd = [a.bench_python, str(REPO / "benchmarks" / "_brian2_brunel.py"), str(npz), str(a.duration), str(th), str(out)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                continue
            rows.append((f"Brian2 cpp_standalone {th} thread(s)", json.loads(out.read_text())))
    results["load_avg_end"] = os.getloadavg()
    results["rows"] = {k: v for k, v in rows}
    ours = rows[0][1]["s_per_sim_s"]
    brian_rows = [(k, v) for k, v in rows if k.startswith("Brian2")]
    print(f"\nnetwork: {net.n} neurons, {net.nnz:,} synapses; encephagen network build {build_s:.2f} s "
          f"({build_cpu:.2f} CPU s); set-up = build + batch + first block (numba cache load); "
          f"load avg {results['machine']['load_avg_start'][0]:.1f} -> {results['load_avg_end'][0]:.1f}")
    print(f"{'tool':42s} {'s/sim-s':>9s} {'cpu-s/sim-s':>11s} {'set-up s':>9s} {'rate Hz':>8s} {'x first row':>12s}")
    for name, r in rows:
        setup = r.get("setup_s_total", r.get("setup_s", r.get("setup_and_compile_s", float("nan"))))
        ratio = r["s_per_sim_s"] / ours
        cpu = r.get("cpu_s_per_sim_s", r.get("cpu_s_per_sim_s_upper", float("nan")))
        print(f"{name:42s} {r['s_per_sim_s']:9.3f} {cpu:11.3f} {setup:9.2f} {r['rate_hz']:8.2f} {ratio:12.2f}")
    print("speed-ups (Brian2 s/sim-s / encephagen s/sim-s, same run):")
    for bn, br in brian_rows:
        for en, er in rows:
            if en.startswith("encephagen") and er.get("batch", 1) == 1:
                x = br["s_per_sim_s"] / er["s_per_sim_s"]
                results.setdefault("speedup", {})[f"{en} vs {bn}"] = x
                print(f"  {en} vs {bn}: {x:.2f}x")
    for name, r in rows:
        if r.get("batch", 1) > 1:
            print(f"{name}: {r['throughput_network_sim_s_per_wall_s']:.3f} network-sim-s per wall-s")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=1, default=float))
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
