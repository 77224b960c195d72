"""Where the time of a running spiking network goes, per compiled numba kernel (Linux ``perf``).

numba's JIT code has no symbols, so ``perf report`` shows it as anonymous addresses. This script
runs the 19,200-neuron (or 2,000-neuron) network of ``bench_spiking.py --plastic`` in-process,
records it with ``perf record -e cpu-clock`` (a software clock: works in VMs without hardware
counters), and maps every sample to the kernel whose compiled code holds it (each dispatcher's
``overloads[sig].library.get_pointer_to_function``; numba's reference counting, ``NRT_incref`` /
``NRT_decref``, is its own small library and shows as "unnamed JIT"). ``--annotate NAME`` disassembles
that kernel's machine code (``objdump``) and prints its hottest instructions and 256-byte regions,
enough to tell its loops apart (session 13 found the plastic kernel's wrap-around tests and reference
counting this way: docs/spiking.md).

Usage: python benchmarks/profile_numba.py [--plastic 19k] [--static] [--seconds 8]
                                          [--annotate stdp_lazy_rows] [--threads 1]
Needs ``perf`` (linux-tools; ``perf_event_paranoid`` <= 2 for one's own process) and, for
``--annotate``, ``objdump`` (binutils). A profile, not a benchmark: the figures of record are
``bench_spiking.py``'s.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def kernel_addresses() -> dict[int, str]:
    """Entry address -> name of every compiled overload (and its Python wrapper) of the loaded
    encephagen modules."""
    out = {}
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("encephagen") or mod is None:
            continue
        for name, disp in list(vars(mod).items()):
            if not (hasattr(disp, "py_func") and isinstance(getattr(disp, "overloads", None), dict)):
                continue            # numba dispatchers only
            for k, cres in enumerate(disp.overloads.values()):
                for attr in ("llvm_func_name", "llvm_cpython_wrapper_name"):   # the wrapper: the same name
                    try:
                        addr = cres.library.get_pointer_to_function(getattr(cres.fndesc, attr))
                    except Exception:   # noqa: BLE001 - a library without that symbol
                        continue
                    if addr:
                        out[addr] = f"{modname.rsplit('.', 1)[-1]}.{name}#{k}"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plastic", choices=["2k", "19k"], default="19k")
    ap.add_argument("--static", action="store_true", help="no plasticity (the static network)")
    ap.add_argument("--seconds", type=float, default=8.0, help="wall seconds recorded")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--annotate", default=None, help="a kernel's name (e.g. stdp_lazy_rows): its hot code")
    ap.add_argument("--top", type=int, default=12)
    a = ap.parse_args(argv)
    if shutil.which("perf") is None:
        raise SystemExit("perf not found (install linux-tools / the 'perf' package)")
    if a.annotate and shutil.which("objdump") is None:
        raise SystemExit("--annotate needs objdump (binutils)")

    import numba
    import torch

    torch.set_num_threads(a.threads)
    numba.set_num_threads(a.threads)
    from encephagen.spiking.engine import LIFBatch
    from encephagen.spiking.plastic import enable

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_spiking import plastic_network

    net, stdp = plastic_network(a.plastic)
    sim = LIFBatch([net], [123], backend="numba")
    sim.v.copy_(torch.as_tensor(net.meta["v0"]))
    if not a.static:
        enable(sim, stdp=stdp)
    for _ in range(int(1100 / sim.K) + 1):   # every kernel compiled or loaded (a flush included)
        sim.step_block()
    addrs = kernel_addresses()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-p", str(os.getpid()),
                                 "-o", str(data), "--", "sleep", str(a.seconds)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t0, c0, s0 = time.perf_counter(), time.process_time(), sim.t
        while perf.poll() is None:
            sim.step_block()
        steps, cpu = sim.t - s0, time.process_time() - c0
        err = perf.stderr.read().decode()
        if perf.returncode != 0 or not data.exists():
            raise SystemExit(f"perf record failed ({perf.returncode}): {err.strip()[:300]}")
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,sym,dso"], capture_output=True,
                                text=True).stdout
    starts = sorted(addrs)
    share = collections.Counter()
    offs = collections.Counter()
    total = 0
    for line in script.splitlines():
        parts = line.split(None, 1)
        if not parts:
            continue
        ip = int(parts[0], 16)
        rest = parts[1] if len(parts) > 1 else ""
        total += 1
        if "[unknown]" in rest or "JIT" in rest or "perf-" in rest:
            i = bisect.bisect_right(starts, ip) - 1
            if i >= 0 and ip - starts[i] < 1 << 18:
                name = addrs[starts[i]]
                share[name] += 1
                if a.annotate and name.split(".", 1)[-1].startswith(a.annotate + "#"):
                    offs[(starts[i], ip - starts[i])] += 1
                continue
            share["unnamed JIT (numba's NRT_incref/decref, other libraries)"] += 1
        else:
            share[re.sub(r"\s+", " ", rest)[:70]] += 1
    print(f"{'static' if a.static else 'STDP'} {a.plastic}, {a.threads} thread(s): {steps} steps, "
          f"{1e3 * cpu / max(steps, 1):.4f} CPU ms per step (under perf), {total} samples")
    for name, n in share.most_common(a.top):
        print(f"  {100 * n / total:6.2f} %  {name}")
    if a.annotate:
        if not offs:
            raise SystemExit(f"no samples in a kernel named {a.annotate!r}")
        base = max({b for b, _ in offs}, key=lambda b: sum(v for (bb, _), v in offs.items() if bb == b))
        hot = {o: v for (b, o), v in offs.items() if b == base}
        n = sum(hot.values())
        size = max(hot) + 64
        with tempfile.TemporaryDirectory() as tmp:
            binf = Path(tmp) / "code.bin"
            binf.write_bytes(ctypes.string_at(base, size))
            asm = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", str(binf)], capture_output=True,
                                 text=True).stdout
        text = {}
        for ln in asm.splitlines():
            m = re.match(r"\s*([0-9a-f]+):\s*(?:[0-9a-f]{2} )+\s*(.*)", ln)
            if m:
                text[int(m.group(1), 16)] = m.group(2).strip()
        regions = collections.Counter()
        for o, v in hot.items():
            regions[o // 256 * 256] += v
        print(f"\n{a.annotate}: {n} samples; 256-byte regions over 1 % (offset: share of the kernel)")
        print("  " + "  ".join(f"{r:#06x}: {100 * v / n:.1f}%" for r, v in sorted(regions.items()) if v / n > 0.01))
        print("hottest instructions (a sample lands on the instruction after the one it waited for):")
        for o, v in sorted(hot.items(), key=lambda x: -x[1])[:a.top * 2]:
            print(f"  {100 * v / n:5.2f} %  {o:#06x}  {text.get(o, '?')}")


if __name__ == "__main__":
    main()
