"""CPG + body closed loop, speed vs real time on one core.

Run by hand (not in CI)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bodies.py             # Walker2d, 3 episodes x 8 s
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bodies.py --body planar

Per control step: the CPG (encephagen.bodies.cpg.SpinalCPG, dt 1 ms) advances one body control
period (8 ms Walker2d, 5 ms planar), its motor activations go through the body's flexor/extensor
map into torques, and the body steps. Episodes run the full time limit regardless of falls (the
body keeps stepping; MuJoCo cost does not depend on posture much), so the figure is the cost of
simulated time. Reported: simulated s per wall s and per CPU s (x real time; the machine may be
shared, so CPU time is the figure to compare) for the loop, the CPG alone and the body alone (zero
action). ``--gait`` (Walker2d) also times the calibrated gait (CPG + posture, encephagen.bodies.gait),
the brain-ablated loop (gait + brainstem reflexes) and, with ``--brain``, the full loop with a
random 96-region network of the LIF engine (20 + 5 neurons per region, dt 0.25 ms) on real episodes.

Every line gives CPU us per control step (the figure to compare on a shared machine: wall time
there depends on the other processes) and x real time per CPU s and per wall s; the last line is
the issue's must-show, the CPG + body loop >= 10x real time on one core, judged per CPU s.
``--json PATH`` writes the numbers (with the load average, so a loaded run is visible as such).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--body", choices=["walker2d", "planar"], default="walker2d")
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--gait", action="store_true", help="also time the calibrated gait and the loops")
    ap.add_argument("--brain", action="store_true", help="with --gait: also the full loop with a brain network")
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args()
    results = {"body": args.body, "episodes": args.episodes, "steps": args.steps,
               "loadavg_start": os.getloadavg()[0], "rows": []}
    import torch

    torch.set_num_threads(1)
    from encephagen.bodies import cpg
    from encephagen.bodies.planar import PlanarWalkerBody
    from encephagen.bodies.walker2d import Walker2dBody

    if args.body == "walker2d":
        body, M = Walker2dBody(max_steps=10**6), cpg.WALKER2D_MOTOR_MAP
    else:
        body, M = PlanarWalkerBody(max_steps=10**6, z_range=(-1e9, 1e9), max_pitch=1e9), cpg.PLANAR_MOTOR_MAP
    net = cpg.SpinalCPG(seed=1)
    sim = args.episodes * args.steps * body.dt

    def loop(use_cpg=True, use_body=True):
        t = time.perf_counter()
        for ep in range(args.episodes):
            if use_body:
                body.reset(ep)
            net.reset(ep)
            a = np.zeros(body.act_dim)
            for _ in range(args.steps):
                if use_cpg:
                    a = cpg.motor_to_action(net.advance(body.dt), M)
                if use_body:
                    body.step(a)
        return time.perf_counter() - t

    def report(name, fn):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        results["rows"].append({"loop": name, "cpu_us_per_step": cpu / (args.episodes * args.steps) * 1e6,
                                "x_real_time_per_cpu_s": sim / cpu, "x_real_time_wall": sim / wall,
                                "cpu_s": cpu, "wall_s": wall, "simulated_s": sim})
        print(f"{args.body:9s} {name:15s} {sim:6.1f} s simulated: {sim / wall:6.1f}x real time (wall {wall:6.2f} s), "
              f"{sim / cpu:6.1f}x per CPU s ({cpu / (args.episodes * args.steps) * 1e6:7.1f} CPU us per control step)")

    for name, kw in [("CPG + body", {}), ("CPG only", {"use_body": False}), ("body only", {"use_cpg": False})]:
        report(name, lambda kw=kw: loop(**kw))
    if args.gait and args.body == "walker2d":
        from encephagen.bodies.loop import BrainNetwork, make_controller

        def episodes(ctl):
            for ep in range(args.episodes):
                obs = body.reset(ep)
                ctl.reset(ep)
                for _ in range(args.steps):
                    obs, *_ = body.step(ctl(obs))

        ctls = [("gait (spinal)", "spinal", None), ("gait + reflexes", "brain_ablated", None)]
        if args.brain:
            rng = np.random.default_rng(0)
            W = rng.random((96, 96)) * (rng.random((96, 96)) < 0.3)
            np.fill_diagonal(W, 0)
            brain = BrainNetwork(W, None, {"L": [0], "R": [1]}, {"L": [2], "R": [3]}, seed=1)
            brain.reset(0)  # compile outside the timing
            ctls.append(("full loop+brain", "full_loop", brain))
        for label, name, brain in ctls:
            ctl = make_controller(name, brain=brain)
            report(label, lambda ctl=ctl: episodes(ctl))
    results["loadavg_end"] = os.getloadavg()[0]
    cb = next(r for r in results["rows"] if r["loop"] == "CPG + body")
    results["must_show_cpg_body_10x_per_cpu_s"] = bool(cb["x_real_time_per_cpu_s"] >= 10)
    print(f"must-show (CPG + body >= 10x real time on one core, per CPU s): {cb['x_real_time_per_cpu_s']:.1f}x -> "
          f"{'met' if results['must_show_cpg_body_10x_per_cpu_s'] else 'NOT met'} (load average "
          f"{results['loadavg_start']:.1f} -> {results['loadavg_end']:.1f}; wall times are loaded if > 1)")
    if args.json:
        import json

        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
