"""Wall and CPU time of each `encephagen demo` command on the default network (tvb96, 200 neurons
per region, 19,200 neurons) -- the interactive-speed target is <= 2 s wall on 2 cores.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_demo.py [--neurons 200] [--resources DIR]

Prints one line per command: wall s, CPU s (user + sys of this process; on a shared machine the
wall time is 'loaded', the CPU time is the work). The first command after start-up also pays
numba's cache load.
"""
from __future__ import annotations

import argparse
import io
import logging
import resource
import tempfile
import time


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neurons", type=int, default=200)
    ap.add_argument("--resources", default=None)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    logging.getLogger("encephagen.spiking.network").setLevel(logging.ERROR)
    from encephagen.demo.brain import BrainConfig, build_brain
    from encephagen.demo.repl import DemoShell

    t, c = time.perf_counter(), cpu()
    brain = build_brain(BrainConfig(n_per_region=a.neurons, seed=a.seed), a.resources)
    print(f"{'build':<22s} {time.perf_counter() - t:7.2f} s wall {cpu() - c:7.2f} s CPU  ({brain.n} neurons, "
          f"{brain.net.nnz:,} synapses)", flush=True)
    with tempfile.TemporaryDirectory() as d:
        sh = DemoShell(brain, d, stdout=io.StringIO())
        for line in ("rest", "look A", "look A", "sound 440", "touch left", "status", "teach A 3", "test",
                     "memory A", "walk 1", f"save {d}/s.h5", f"load {d}/s.h5", "look A --plot", "status --plot"):
            t, c = time.perf_counter(), cpu()
            sh.onecmd(line)
            print(f"{line.replace(d, 'DIR'):<22s} {time.perf_counter() - t:7.2f} s wall {cpu() - c:7.2f} s CPU", flush=True)
        sh.close()


if __name__ == "__main__":
    main()
