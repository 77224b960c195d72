"""Reference weight trajectories from NEST's ``stdp_synapse`` for encephagen.plasticity.STDP.

Each case: independent (pre, post) pairs of parrot neurons, each driven by its own
spike_generator (pre: Poisson; post: a mix of Poisson spikes and pre spikes shifted by a
random lag of -15..+15 ms, so that LTP and LTD both occur), for ``stdp_synapse`` (all-to-all)
and ``stdp_nn_symm_synapse`` (nearest neighbour); the pre parrot projects to the post
parrot with the plastic synapse on receptor 1 (parrot_neuron does not repeat spikes arriving
there, so the post train stays exactly the generator's). A weight_recorder gives the weight
after every presynaptic spike. Needs only numpy and NEST (no torch, no encephagen):

    .venv-nest/bin/python benchmarks/nest_stdp_reference.py   # writes tests/data/nest_stdp_reference.json

(.venv-nest: ``python -m venv .venv-nest && .venv-nest/bin/pip install nest-simulator==3.10.0 numpy``)
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

DT = 0.1            # ms, NEST resolution = encephagen step
T_SIM = 1200.0      # ms
N_PAIRS = 6
GEN_DELAY = 1.0     # ms, generator -> parrot

CASES = [
    # name, synapse model, synapse params, dendritic delay (ms), initial weights
    dict(name="additive", model="stdp_synapse", delay=0.1,
         syn=dict(tau_plus=20.0, **{"lambda": 0.02}, alpha=1.05, mu_plus=0.0, mu_minus=0.0, Wmax=10.0),
         tau_minus=20.0, w0=[5.0, 1.0, 9.5, 0.2, 5.0, 3.0], seed=1),
    dict(name="multiplicative", model="stdp_synapse", delay=0.1,
         syn=dict(tau_plus=17.0, **{"lambda": 0.05}, alpha=1.2, mu_plus=1.0, mu_minus=1.0, Wmax=10.0),
         tau_minus=34.0, w0=[5.0, 1.0, 9.5, 0.2, 5.0, 3.0], seed=2),
    dict(name="additive_delay", model="stdp_synapse", delay=5.0,
         syn=dict(tau_plus=20.0, **{"lambda": 0.02}, alpha=1.05, mu_plus=0.0, mu_minus=0.0, Wmax=10.0),
         tau_minus=20.0, w0=[5.0, 1.0, 9.5, 0.2, 5.0, 3.0], seed=3),
    dict(name="multiplicative_delay", model="stdp_synapse", delay=7.3,
         syn=dict(tau_plus=17.0, **{"lambda": 0.05}, alpha=1.2, mu_plus=1.0, mu_minus=1.0, Wmax=10.0),
         tau_minus=34.0, w0=[5.0, 1.0, 9.5, 0.2, 5.0, 3.0], seed=4),
    dict(name="guetig_delay", model="stdp_synapse", delay=2.0,
         syn=dict(tau_plus=20.0, **{"lambda": 0.03}, alpha=1.1, mu_plus=0.4, mu_minus=0.4, Wmax=10.0),
         tau_minus=20.0, w0=[5.0, 1.0, 9.5, 0.2, 5.0, 3.0], seed=5),
]

# nearest-neighbour pairing: the same cases with NEST's stdp_nn_symm_synapse (symmetric
# nearest-neighbour; same parameters). NEST initialises its t_lastspike_ to 0, which then acts
# as a presynaptic spike at t = 0 for potentiation (stdp_synapse is unaffected: its Kplus starts at 0).
CASES += [dict(c, name=c["name"] + "_nn", model="stdp_nn_symm_synapse") for c in CASES]


def make_trains(seed: int, n_pairs: int = N_PAIRS, rate_pre: float = 25.0, rate_post: float = 10.0):
    """Generator spike times in ms (on the DT grid, strictly positive, unique, sorted)."""
    rng = np.random.default_rng(seed)
    pre, post = [], []
    n_steps = int(round((T_SIM - 50.0) / DT))
    for _ in range(n_pairs):
        a = np.unique(rng.integers(10, n_steps, rng.poisson(rate_pre * T_SIM / 1000)))
        lag = rng.integers(-150, 151, a.size)
        keep = rng.random(a.size) < 0.6
        b = np.concatenate([a[keep] + lag[keep], rng.integers(10, n_steps, rng.poisson(rate_post * T_SIM / 1000))])
        b = np.unique(b[b >= 10])
        pre.append((a * DT).round(1).tolist())
        post.append((b * DT).round(1).tolist())
    return pre, post


def run_nest(case: dict) -> dict:
    import nest

    nest.ResetKernel()
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:
        nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus({"resolution": DT, "print_time": False})
    pre_t, post_t = make_trains(case["seed"])
    n = len(pre_t)
    gp = nest.Create("spike_generator", n, params=[{"spike_times": s} for s in pre_t])
    gq = nest.Create("spike_generator", n, params=[{"spike_times": s} for s in post_t])
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create("parrot_neuron", n, params={"tau_minus": case["tau_minus"]})
    nest.Connect(gp, pre, "one_to_one", {"delay": GEN_DELAY})
    nest.Connect(gq, post, "one_to_one", {"delay": GEN_DELAY})
    wr = nest.Create("weight_recorder")
    nest.CopyModel(case["model"], "stdp_rec", {"weight_recorder": wr})
    for i in range(n):
        nest.Connect(pre[i], post[i], "one_to_one",
                     dict(synapse_model="stdp_rec", receptor_type=1, delay=case["delay"],
                          weight=case["w0"][i], **case["syn"]))
    sr = nest.Create("spike_recorder")
    nest.Connect(pre + post, sr)
    nest.Simulate(T_SIM + 20.0)
    ev = sr.get("events")
    wev = wr.get("events")
    pre_ids, post_ids = pre.tolist(), post.tolist()
    out = dict(name=case["name"], model=case["model"], dt=DT, delay=case["delay"], syn=case["syn"],
               tau_minus=case["tau_minus"], w0=case["w0"], nest_version=nest.__version__, pairs=[])
    for i in range(n):
        ps = np.sort(ev["times"][ev["senders"] == pre_ids[i]])
        qs = np.sort(ev["times"][ev["senders"] == post_ids[i]])
        m = wev["senders"] == pre_ids[i]
        order = np.argsort(wev["times"][m], kind="stable")
        out["pairs"].append(dict(pre_spikes_ms=ps.tolist(), post_spikes_ms=qs.tolist(),
                                 w_times_ms=wev["times"][m][order].tolist(),
                                 w=wev["weights"][m][order].tolist(),
                                 w_final=float(nest.GetConnections(pre[i], post[i]).get("weight"))))
    return out


def main(path: str | None = None):
    path = Path(path or Path(__file__).resolve().parents[1] / "tests" / "data" / "nest_stdp_reference.json")
    data = [run_nest(c) for c in CASES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(generator="benchmarks/nest_stdp_reference.py", cases=data), indent=0))
    print(f"wrote {path}: {[(c['name'], sum(len(p['w']) for p in c['pairs'])) for c in data]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
