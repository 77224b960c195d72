"""Brian2 cpp_standalone side of benchmarks/bench_spiking.py (runs in .venv-bench: brian2 2.9 needs numpy<2.4).

Usage: python _brian2_brunel.py NETWORK.npz DURATION_S THREADS OUT.json
The network (sources/targets of the exact synapses encephagen simulates) comes from the npz.
With ``stdp_lam`` in the npz the E->E synapses are plastic: additive pair-based STDP (all-to-all
traces) in the form encephagen and NEST's ``stdp_synapse`` use, the whole delay dendritic: a
presynaptic spike depresses at emission with the postsynaptic trace of ``d`` earlier (the post
pathway is delayed by ``d``), a postsynaptic spike potentiates ``d`` later with the presynaptic
trace there; hard bounds [0, w_max]. (One detail differs: Brian2 transmits the weight at arrival,
encephagen the weight after the spike's own depression.) E->I synapses stay static.
"""
import json
import sys
import tempfile
import time

import numpy as np


def main():
    path, duration, threads, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    d = np.load(path)
    t_start = time.perf_counter()
    import brian2 as b2
    from brian2 import ms, mV

    workdir = tempfile.mkdtemp(prefix="brian2-bench-")
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = threads
    b2.defaultclock.dt = float(d["dt"]) * ms
    n = int(d["n"])
    tau_m = float(d["tau_m"]) * ms
    tau_s = float(d["tau_s"]) * ms
    theta = float(d["theta"]) * mV
    w_e = float(d["w_e"]) * mV
    w_i = float(d["w_i"]) * mV
    ns = {"tau_m": tau_m, "tau_s": tau_s, "theta": theta}
    eqs = """dv/dt = (-v + ie + ii) / tau_m : volt (unless refractory)
             die/dt = -ie / tau_s : volt
             dii/dt = -ii / tau_s : volt
             nspk : 1"""
    G = b2.NeuronGroup(n, eqs, threshold="v >= theta", reset="v = 0*mV; nspk += 1",
                       refractory=float(d["t_ref"]) * ms, method="exact", namespace=ns)
    G.v = np.asarray(d["v0"]) * mV
    plastic = "stdp_lam" in d.files
    if plastic:
        ee = np.asarray(d["is_ee"], bool)
        src_e, tgt_e = d["src_e"], d["tgt_e"]
        Se = b2.Synapses(G, G, on_pre="ie_post += w_e", delay=float(d["delay"]) * ms, namespace={"w_e": w_e})
        Se.connect(i=src_e[~ee], j=tgt_e[~ee])
        wmax = float(d["stdp_w_max"]) * mV
        sns = {"tau_plus": float(d["stdp_tau_plus"]) * ms, "tau_minus": float(d["stdp_tau_minus"]) * ms,
               "a_plus": float(d["stdp_lam"]) * wmax, "a_minus": float(d["stdp_alpha"] * d["stdp_lam"]) * wmax,
               "wmax": wmax}
        Sp = b2.Synapses(G, G, model="""w : volt
                                      dxpre/dt = -xpre / tau_plus : 1 (event-driven)
                                      dypost/dt = -ypost / tau_minus : 1 (event-driven)""",
                         on_pre={"pre": "ie_post += w",
                                 "plast": "w = clip(w - a_minus * ypost, 0*mV, wmax); xpre += 1"},
                         on_post="w = clip(w + a_plus * xpre, 0*mV, wmax); ypost += 1",
                         delay={"pre": float(d["delay"]) * ms, "plast": 0 * ms, "post": float(d["delay"]) * ms},
                         namespace=sns)
        Sp.connect(i=src_e[ee], j=tgt_e[ee])
        Sp.w = w_e
    else:
        Se = b2.Synapses(G, G, on_pre="ie_post += w_e", delay=float(d["delay"]) * ms, namespace={"w_e": w_e})
        Se.connect(i=d["src_e"], j=d["tgt_e"])
    Si = b2.Synapses(G, G, on_pre="ii_post += w_i", delay=float(d["delay"]) * ms, namespace={"w_i": w_i})
    Si.connect(i=d["src_i"], j=d["tgt_i"])
    P = b2.PoissonInput(G, "ie", N=int(d["c_ext"]), rate=float(d["nu_ext_hz"]) * b2.Hz, weight=w_e)  # noqa: F841
    b2.run(duration * b2.second)
    import resource

    t_build = time.perf_counter()
    b2.device.build(directory=workdir, compile=True, run=False, debug=False)
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t_run = time.perf_counter()
    b2.device.run(directory=workdir, with_output=False)
    t_end = time.perf_counter()
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    run_time = float(b2.device._last_run_time)
    # CPU seconds of the simulation binary (includes its set-up of synapses, not compile)
    run_cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    rate = float(np.asarray(G.nspk).sum()) / n / duration
    extra = {}
    if plastic:
        w = np.asarray(Sp.w / mV)
        extra = {"plastic": True, "plastic_synapses": int(w.size), "w_mean_final": float(w.mean()),
                 "w_sd_final": float(w.std()), "mean_weight_change": float(w.mean() - float(d["w_e"]))}
    json.dump({"threads": threads, "duration_s": duration, "run_s": run_time,
               "s_per_sim_s": run_time / duration, "setup_and_compile_s": (t_end - t_start) - run_time,
               "build_call_s": t_end - t_build, "binary_wall_s": t_end - t_run,
               "binary_cpu_s": run_cpu, "cpu_s_per_sim_s_upper": run_cpu / duration, "rate_hz": rate, "brian2": b2.__version__,
               "numpy": np.__version__, **extra}, open(out, "w"))


if __name__ == "__main__":
    main()
