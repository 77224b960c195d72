"""Per-process CPU record for ``bench_workflow.py --cpu-log`` (not part of the package).

Put this folder on ``PYTHONPATH`` and name an existing folder in ``ENCEPHAGEN_CPU_LOG``; every
Python process started with that environment (Snakemake, each job's script, their children) writes
at exit one line ``<pid>.tsv``: pid, ppid, own CPU s (user + sys), reaped children's CPU s, wall s,
start time (epoch s), argv (first two items), heavy modules it imported. E.g.::

    mkdir -p /tmp/cpu && ENCEPHAGEN_CPU_LOG=/tmp/cpu PYTHONPATH=benchmarks/cpu_hook \\
        snakemake --cores 2
    python benchmarks/bench_workflow.py . --replay --cpu-log /tmp/cpu

Without ``ENCEPHAGEN_CPU_LOG`` it does nothing; it never raises.
"""
import atexit
import os
import resource
import sys
import time

_T0 = time.time()


def _record() -> None:
    try:
        d = os.environ.get("ENCEPHAGEN_CPU_LOG")
        if not d:
            return
        s = resource.getrusage(resource.RUSAGE_SELF)
        c = resource.getrusage(resource.RUSAGE_CHILDREN)
        name = " ".join(a for a in sys.argv[:2])[-120:]
        mods = ",".join(m for m in ("torch", "matplotlib", "nilearn", "scipy.stats", "statsmodels", "pandas")
                        if m in sys.modules)
        with open(os.path.join(d, f"{os.getpid()}.tsv"), "w") as f:
            f.write(f"{os.getpid()}\t{os.getppid()}\t{s.ru_utime + s.ru_stime:.3f}\t{c.ru_utime + c.ru_stime:.3f}\t"
                    f"{time.time() - _T0:.2f}\t{_T0:.2f}\t{name}\t{mods}\n")
    except Exception:
        pass


atexit.register(_record)
