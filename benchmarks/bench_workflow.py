"""Where a workflow run's time went, from the per-job benchmark files Snakemake wrote.

Every rule of the default stages has a ``benchmark:`` directive, so each job leaves
``benchmarks/rules/<rule>/<wildcards>.tsv`` in the working directory (columns ``s`` wall seconds,
``cpu_time`` CPU seconds user+system of the job's processes, ``max_rss`` MB, ...). This script sums
them per rule and in total and finds the chain of jobs the wall clock waited on:

    python benchmarks/bench_workflow.py                 # the run in the current directory
    python benchmarks/bench_workflow.py /tmp/run --cores 2 --json summary.json

The chain ("critical chain") is read from the timings, not the DAG: starting at the job that
finished last, it repeatedly steps to the job that finished last before the current one started
(end time = the benchmark file's modification time, start = end - s). Each step is either a
dependency or a job that held the core the next one needed; either way the wall waited on it.

The estimate of the wall time on ``--cores`` idle cores is ``max(total CPU / cores, CPU along the
chain)`` plus what no job file records (Snakemake's own DAG building and scheduling, and
``snakemake --report``). CPU seconds do not grow with machine load the way wall seconds do, which is
why they are the figures to compare between runs. ``cpu_time`` misses child processes that ended
between two of Snakemake's samples (e.g. short compiler calls), so it is a lower bound.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path


def read_jobs(workdir: Path) -> list[dict]:
    """One dict per benchmark file: rule, job (wildcards path), s, cpu, rss_mb, start, end."""
    root = workdir / "benchmarks" / "rules"
    if not root.is_dir():
        raise SystemExit(f"{root}: no benchmark files (run the workflow first; every default rule "
                         f"has a benchmark: directive)")
    jobs = []
    for p in sorted(root.rglob("*.tsv")):
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]  # a retried job appends; the last attempt is the one that produced the outputs

        def num(key: str) -> float:
            try:
                return float(row.get(key) or "nan")
            except ValueError:
                return float("nan")

        rel = p.relative_to(root)
        end = p.stat().st_mtime
        s = num("s")
        jobs.append({"rule": rel.parts[0], "job": str(rel.with_suffix("")), "s": s,
                     "cpu": num("cpu_time"), "rss_mb": num("max_rss"), "start": end - s, "end": end})
    if not jobs:
        raise SystemExit(f"{root}: benchmark folder holds no job files")
    return jobs


def critical_chain(jobs: list[dict], tolerance: float = 1.5) -> list[dict]:
    """The jobs the wall clock waited on, last first (see the module docstring)."""
    pending = sorted(jobs, key=lambda j: j["end"])
    cur = pending[-1]
    chain = [cur]
    while True:
        before = [j for j in pending if j is not cur and j["end"] <= cur["start"] + tolerance
                  and j["end"] < cur["end"]]
        if not before:
            break
        cur = max(before, key=lambda j: j["end"])
        chain.append(cur)
    return chain


def summarise(workdir: Path, cores: int = 2) -> dict:
    jobs = read_jobs(workdir)
    per = defaultdict(lambda: {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
    for j in jobs:
        r = per[j["rule"]]
        r["jobs"] += 1
        r["wall_s"] += j["s"]
        r["cpu_s"] += j["cpu"]
        r["max_rss_mb"] = max(r["max_rss_mb"], j["rss_mb"])
    chain = critical_chain(jobs)
    total_cpu = sum(j["cpu"] for j in jobs)
    chain_cpu = sum(j["cpu"] for j in chain)
    return {
        "jobs": len(jobs),
        "cpu_s": round(total_cpu, 1),
        "job_wall_s": round(sum(j["s"] for j in jobs), 1),
        "span_s": round(max(j["end"] for j in jobs) - min(j["start"] for j in jobs), 1),
        "cores": cores,
        "chain": [{"job": j["job"], "s": round(j["s"], 1), "cpu_s": round(j["cpu"], 1)} for j in reversed(chain)],
        "chain_wall_s": round(sum(j["s"] for j in chain), 1),
        "chain_cpu_s": round(chain_cpu, 1),
        "idle_wall_estimate_s": round(max(total_cpu / cores, chain_cpu), 1),
        "rules": {k: {kk: round(vv, 1) if isinstance(vv, float) else vv for kk, vv in v.items()}
                  for k, v in sorted(per.items(), key=lambda kv: -kv[1]["cpu_s"])},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default=".", help="the run's working directory (default: .)")
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine to estimate the idle wall for")
    ap.add_argument("--json", help="also write the summary as JSON to this file")
    a = ap.parse_args(argv)
    if a.cores < 1:
        ap.error("--cores must be >= 1")
    out = summarise(Path(a.workdir), a.cores)
    print(f"{'rule':<28} {'jobs':>4} {'cpu s':>8} {'wall s':>8} {'max rss MB':>10}")
    for rule, r in out["rules"].items():
        print(f"{rule:<28} {r['jobs']:>4} {r['cpu_s']:>8.1f} {r['wall_s']:>8.1f} {r['max_rss_mb']:>10.0f}")
    print(f"{'total':<28} {out['jobs']:>4} {out['cpu_s']:>8.1f} {out['job_wall_s']:>8.1f}")
    print(f"\nfirst start to last end: {out['span_s']:.0f} s wall")
    print(f"critical chain ({len(out['chain'])} jobs, {out['chain_wall_s']:.0f} s wall, "
          f"{out['chain_cpu_s']:.0f} s CPU):")
    for j in out["chain"]:
        print(f"  {j['s']:7.1f} s  {j['cpu_s']:7.1f} cpu-s  {j['job']}")
    print(f"\nidle wall on {a.cores} cores >= max(CPU / cores, chain CPU) = {out['idle_wall_estimate_s']:.0f} s "
          f"(plus Snakemake's own scheduling and the report, which no job file records)")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
