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


def memory(brain, name="A", repeats=3, warm=300.0, gap=400.0, stim=100.0, post=150.0, bin_ms=50.0):
    """The REPL's ``memory`` measurement (:meth:`Brain.memory`: the pattern for ``stim`` ms, the
    prefrontal rate in ``bin_ms`` bins for ``post`` ms after its removal, minus the same run with
    a BLANK from the same state and noise, one batched run), with the NMDA current on and off from
    the same state, ``repeats`` times (``gap`` ms of rest between, after ``warm`` ms)."""
    img = pattern(name)
    brain.run(warm)
    out = {"nmda": [], "no_nmda": [], "nmda_during": [], "no_nmda_during": []}
    for _ in range(repeats):
        snap = brain.snapshot()
        for cond, on in (("no_nmda", False), ("nmda", True)):
            r = brain.memory(img, on, snap, stim_ms=stim, post_ms=post, bin_ms=bin_ms, go_on=on)
            out[cond].append(r["persistence"].round(3).tolist())
            out[cond + "_during"].append(round(float(r["during"][0] - r["during"][1]), 3))
        brain.run(gap)
    res = {"windows_ms": [stim, post, bin_ms], "repeats": repeats, **out}
    for cond in ("nmda", "no_nmda"):
        a = np.array(out[cond])
        res[f"{cond}_persistence_mean"] = float(a.mean())
        res[f"{cond}_first_bin"] = float(a[:, 0].mean())
    return res


def memory_summary(rows) -> dict:
    """Paired comparison over seeds: NMDA - no-NMDA persistence (mean of the bins, and first bin)."""
    from scipy import stats

    out = {"n_seeds": len(rows)}
    for key in ("persistence_mean", "first_bin"):
        a = np.array([r[f"nmda_{key}"] for r in rows])
        b = np.array([r[f"no_nmda_{key}"] for r in rows])
        d = a - b
        out[key] = {"nmda_mean": float(a.mean()), "no_nmda_mean": float(b.mean()), "diff_mean": float(d.mean()),
                    "diff_sd": float(d.std(ddof=1)), "paired_t_p": float(stats.ttest_rel(a, b).pvalue),
                    "wilcoxon_p": float(stats.wilcoxon(a, b).pvalue),
                    "nmda_vs_0_p": float(stats.ttest_1samp(a, 0.0).pvalue),
                    "no_nmda_vs_0_p": float(stats.ttest_1samp(b, 0.0).pvalue)}
    return out


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
    ap.add_argument("--credit", choices=("all", "chosen"), default=BrainConfig.credit,
                    help="R-STDP credit: every pathway synapse, or only those onto the pool that acted")
    ap.add_argument("--center-tau", type=float, default=BrainConfig.decoder_center_tau,
                    help="decoder centring time constant (ms)")
    ap.add_argument("--frozen-only", action="store_true", help="gridworld/bandit: only the frozen-weights run")
    ap.add_argument("--learn-only", action="store_true", help="gridworld/bandit: only the learning run")
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--episodes", type=int, default=30)
    ap.add_argument("--resources", default=None)
    a = ap.parse_args(argv)
    logging.getLogger("encephagen.spiking.network").setLevel(logging.ERROR)
    rows = []
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
        rows.append(r)
        print(json.dumps({"what": a.what, "seed": s, "neurons": a.neurons, **r,
                          "wall_s": round(time.time() - t0, 1), "cpu_s": round(time.process_time() - c0, 1)}), flush=True)
    if a.what == "memory" and len(rows) > 1:
        print(json.dumps({"what": "memory_summary", "seeds": a.seeds, **memory_summary(rows)}), flush=True)


if __name__ == "__main__":
    main()
