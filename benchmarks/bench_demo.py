"""Wall and CPU time of each `encephagen demo` command on the default network (tvb96, 200 neurons
per region, 19,200 neurons) -- the interactive-speed target is <= 2 s wall on 2 cores.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_demo.py [--neurons 200] [--threads 1]
                                                                    [--resources DIR] [--json FILE]

Prints one line per command: wall s, CPU s (user + sys of this process). On a shared machine the
wall time is 'loaded'; the CPU time of a single-thread run (``--threads 1``, the default: numba's
kernels on one thread) is the work, and a command whose single-thread CPU time is <= 2 s answers
within 2 s wall on 2 idle cores (the kernels run in parallel there, so it is an upper bound).
Start-up (building the network; the background warm-up of the pictures' imports and the brain
map's glass brain, which the benchmark waits for) is reported apart: it is not a command.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import sys
import tempfile
import time

COMMANDS = ("rest", "look A", "look A", "sound 440", "touch left", "status", "status --live", "teach A", "test",
            "memory A", "memory --control", "walk 1", "walk 0.5", "save {d}/s.h5", "load {d}/s.h5",
            "look A --plot", "look B --plot", "status --plot")
TARGET_S = 2.0


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--resources", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="numba threads (default 1: the fair CPU figure)")
    ap.add_argument("--json", default=None, help="also write the rows as JSON lines to this file")
    a = ap.parse_args(argv)
    if "numba" in sys.modules:
        raise SystemExit("bench_demo: set the thread count before numba is imported")
    os.environ["NUMBA_NUM_THREADS"] = str(a.threads)
    logging.getLogger("encephagen.spiking.network").setLevel(logging.ERROR)
    from encephagen.demo.brain import BrainConfig, build_brain
    from encephagen.demo.repl import DemoShell

    rows = []

    def row(name, wall, c, **extra):
        ok = c <= TARGET_S
        rows.append({"command": name, "wall_s": round(wall, 3), "cpu_s": round(c, 3), "threads": a.threads,
                     "cpu_within_2s": ok, **extra})
        print(f"{name:<24s} {wall:7.2f} s wall {c:7.2f} s CPU  {'' if ok else '(over 2 s CPU)'}"
              + (f"  {extra}" if extra else ""), flush=True)

    from encephagen.steps.data import ensure_connectome

    ensure_connectome(BrainConfig().atlas, a.resources)   # built from the packages when missing
    t, c = time.perf_counter(), cpu()
    brain = build_brain(BrainConfig(n_per_region=a.neurons, seed=a.seed), a.resources)
    row("start-up: build", time.perf_counter() - t, cpu() - c, neurons=brain.n, synapses=int(brain.net.nnz))
    with tempfile.TemporaryDirectory() as d:
        t, c = time.perf_counter(), cpu()
        sh = DemoShell(brain, d, stdout=io.StringIO())
        sh.ready()
        row("start-up: warm-up", time.perf_counter() - t, cpu() - c)
        for line in COMMANDS:
            line = line.format(d=d)
            t, c = time.perf_counter(), cpu()
            sh.onecmd(line)
            row(line.replace(d, "DIR"), time.perf_counter() - t, cpu() - c)
        sh.close()
    if a.json:
        with open(a.json, "w") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    over = [r["command"] for r in rows if not r["cpu_within_2s"] and not r["command"].startswith("start-up")]
    print(f"commands over 2 s CPU ({a.threads} thread(s)): {', '.join(over) or 'none'}")


if __name__ == "__main__":
    main()
