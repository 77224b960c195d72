"""The measurements reported in docs/demo.md (``python -m encephagen.demo.measure``): pattern
discrimination by a readout on held-out presentations, memory persistence with vs without NMDA,
and the grid world closed loop with learning vs frozen weights vs random moves. Seeds explicit;
numbers printed as JSON lines."""
from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

from encephagen.demo.brain import BrainConfig, build_brain
from encephagen.demo.encoders import pattern
from encephagen.demo.gridworld import GridWorld, RandomAgent, run_closed_loop


def discrimination(brain, patterns=("A", "B", "C", "D", "E"), n_train=8, n_test=4, ms=100.0, gap=50.0, seed=0):
    """Logistic-regression readout of region rates (a) outside the primary visual regions and (b) of
    the visual input neurons, trained on ``n_train`` and tested on ``n_test`` held-out presentations
    per pattern (presentation order shuffled with ``seed``). Chance = 1 / len(patterns)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    order = np.repeat(np.arange(len(patterns)), n_train + n_test)
    rng.shuffle(order)
    down, vis, lab = [], [], []
    keep = np.setdiff1d(np.arange(brain.R), brain.vis_regions)
    brain.run(200.0)
    for k in order:
        w = brain.present("look", pattern(patterns[k]), ms)
        down.append(w.region_rate[keep])
        vis.append(w.counts[brain.vis_idx])
        lab.append(k)
        brain.run(gap)
    lab = np.array(lab)
    test = np.zeros(lab.size, bool)
    for k in range(len(patterns)):
        test[np.flatnonzero(lab == k)[-n_test:]] = True   # the last presentations of each pattern are held out
    out = {}
    for name, X in (("downstream_regions", np.array(down)), ("visual_input_neurons", np.array(vis, float))):
        sc = StandardScaler().fit(X[~test])
        clf = LogisticRegression(max_iter=2000, C=1.0).fit(sc.transform(X[~test]), lab[~test])
        out[name] = float((clf.predict(sc.transform(X[test])) == lab[test]).mean())
    out["chance"] = 1.0 / len(patterns)
    out["n_test"] = int(test.sum())
    return out


def memory(brain, name="A", pre=200.0, stim=200.0, post=500.0, bin_ms=100.0):
    """Prefrontal rate after a pattern is removed, NMDA on vs off, each against the same run with a
    BLANK pattern (no stimulus): persistence = rate after ``name`` - rate after BLANK, same state
    and noise (a drift of the network itself cancels)."""
    snap = brain.snapshot()
    res = {}
    m = brain.nmda_mask
    for cond in ("nmda", "no_nmda"):
        for shown in (name, "BLANK"):
            brain.restore(snap)
            brain.set_nmda(cond == "nmda")
            w0 = brain.run(pre)
            w1 = brain.present("look", pattern(shown), stim)
            w2 = brain.run(post, bin_ms=bin_ms)
            res[f"{cond}_{shown}"] = {"before": float(w0.region_rate[m].mean()),
                                      "during": float(w1.region_rate[m].mean()),
                                      "after_bins": w2.bins[:, m].mean(axis=1).round(3).tolist()}
        a = np.array(res[f"{cond}_{name}"]["after_bins"]) - np.array(res[f"{cond}_BLANK"]["after_bins"])
        res[f"{cond}_persistence_bins"] = a.round(3).tolist()
        res[f"{cond}_persistence_mean"] = float(a.mean())
    brain.restore(snap)
    brain.set_nmda(True)
    return res


class BrainAgent:
    def __init__(self, brain, ms=100.0):
        self.brain, self.ms = brain, ms

    def act(self, obs):
        a, _ = self.brain.trial(obs, pattern(obs), self.ms)
        return a

    def reward(self, r):
        self.brain.reward(r)


def bandit(brain, trials=160, learn=True, seed=0, block=40):
    """The grid world's decision without the grid: one of the four direction patterns at random
    (seeded), one decision, reward +1 if the move matches it else -1. Fraction correct per block."""
    from encephagen.demo.gridworld import ACTIONS

    brain.learning = learn
    rng = np.random.default_rng(seed)
    brain.run(100.0)
    ok = []
    for _ in range(trials):
        obs = ACTIONS[rng.integers(len(ACTIONS))]
        a, _ = brain.trial(obs, pattern(obs), 100.0)
        r = 1.0 if ACTIONS[a] == obs else -1.0
        brain.reward(r)
        ok.append(r > 0)
    brain.learning = True
    ok = np.array(ok)
    w = brain.w_sm[0].numpy() / brain.sm_scale
    return {"learn": learn, "blocks": [float(ok[i:i + block].mean()) for i in range(0, trials, block)],
            "pathway_mean_mV": float(w.mean()), "pathway_sd_mV": float(w.std())}


def gridworld(brain, episodes=30, learn=True, seed=0, world_kw=None):
    world = GridWorld(**(world_kw or {}))
    brain.learning = learn
    res = run_closed_loop(world, BrainAgent(brain), episodes, learn=True)
    brain.learning = True
    rnd = run_closed_loop(GridWorld(**(world_kw or {})), RandomAgent(seed), episodes, learn=False)
    half = episodes // 2
    c = res["correct"]
    return {"learn": learn, "success_first_half": float(res["success"][:half].mean()),
            "success_second_half": float(res["success"][half:].mean()),
            "moves_second_half": float(res["moves"][half:].mean()),
            "correct_first_100": float(c[:100].mean()), "correct_last_100": float(c[-100:].mean()),
            "random_success": float(rnd["success"].mean()), "random_correct": float(rnd["correct"].mean()),
            "success": res["success"].astype(int).tolist()}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("discrimination", "memory", "gridworld", "bandit"))
    ap.add_argument("--eta", type=float, default=None, help="R-STDP learning rate (default: BrainConfig's)")
    ap.add_argument("--credit", choices=("all", "chosen"), default="all",
                    help="R-STDP credit: every pathway synapse, or only those onto the pool that acted")
    ap.add_argument("--center-tau", type=float, default=1000.0, help="decoder centring time constant (ms)")
    ap.add_argument("--frozen-only", action="store_true", help="gridworld/bandit: only the frozen-weights run")
    ap.add_argument("--learn-only", action="store_true", help="gridworld/bandit: only the learning run")
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--episodes", type=int, default=30)
    ap.add_argument("--resources", default=None)
    a = ap.parse_args(argv)
    logging.getLogger("encephagen.spiking.network").setLevel(logging.ERROR)
    for s in a.seeds:
        t0, c0 = time.time(), time.process_time()
        cfg = BrainConfig(n_per_region=a.neurons, seed=s, credit=a.credit, decoder_center_tau=a.center_tau)
        if a.eta is not None:
            cfg.eta_rstdp = a.eta
        if a.what in ("gridworld", "bandit"):
            for learn in [x for x in (True, False) if not (a.frozen_only and x) and not (a.learn_only and not x)]:
                b = build_brain(cfg, a.resources)
                r = gridworld(b, a.episodes, learn, seed=s) if a.what == "gridworld" else bandit(b, learn=learn, seed=s)
                print(json.dumps({"what": a.what, "seed": s, "neurons": a.neurons,
                                  "eta": cfg.eta_rstdp, "credit": cfg.credit,
                                  "center_tau": cfg.decoder_center_tau, **r, "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1)}),
                      flush=True)
            continue
        b = build_brain(cfg, a.resources)
        r = discrimination(b, seed=s) if a.what == "discrimination" else memory(b)
        print(json.dumps({"what": a.what, "seed": s, "neurons": a.neurons, **r,
                          "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1)}), flush=True)


if __name__ == "__main__":
    main()
