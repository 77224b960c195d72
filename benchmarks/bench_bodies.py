"""CPG + body closed loop, speed vs real time on one core.

Run by hand (not in CI)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bodies.py             # Walker2d, 3 episodes x 8 s
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_bodies.py --body planar

Per control step: the CPG (encephagen.bodies.cpg.SpinalCPG, dt 1 ms) advances one body control
period (8 ms Walker2d, 5 ms planar), its motor activations go through the body's flexor/extensor
map into torques, and the body steps. Episodes run the full time limit regardless of falls (the
body keeps stepping; MuJoCo cost does not depend on posture much), so the figure is the cost of
simulated time. Reported: simulated s per wall s (x real time) for the loop, the CPG alone and the
body alone (zero action).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--body", choices=["walker2d", "planar"], default="walker2d")
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1000)
    args = ap.parse_args()
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

    for name, kw in [("CPG + body", {}), ("CPG only", {"use_body": False}), ("body only", {"use_cpg": False})]:
        wall = loop(**kw)
        print(f"{args.body:9s} {name:11s} {sim:6.1f} s simulated in {wall:6.2f} s wall: {sim / wall:6.1f}x real time "
              f"({wall / (args.episodes * args.steps) * 1e6:7.1f} us per control step)")


if __name__ == "__main__":
    main()
