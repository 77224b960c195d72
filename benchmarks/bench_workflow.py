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

A closer estimate replays the run's DAG on idle cores (``--replay``): a list schedule in which a job
of T threads holds T cores for its CPU seconds / T, and freed cores go, as in Snakemake, to the ready
job of the highest priority that fits in them (ties: the most CPU still ahead of it), so a 2-thread job
on 2 cores waits until both are free. Jobs, their
inputs, outputs, benchmark files and priorities are read from the run's own log (the newest
``.snakemake/log/*.snakemake.log`` that names benchmark files), so replay a complete run.

``--cpu-log DIR`` replaces the sampled ``cpu_time`` by exact per-process figures where a run recorded
them (one ``<pid>.tsv`` per Python process: pid, ppid, own CPU s, reaped children's CPU s, wall s,
start time, argv, ...; written at exit by ``benchmarks/cpu_hook/sitecustomize.py`` on ``PYTHONPATH`` with
``ENCEPHAGEN_CPU_LOG=DIR``, see that file): a job's CPU is
then its script process's own plus its reaped children's.
"""
from __future__ import annotations

import argparse
import csv
import heapq
import json
import re
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


def read_run_log(workdir: Path) -> dict:
    """The run's jobs from its newest Snakemake log that names benchmark files: {jobid: {rule, input,
    output, benchmark, priority}} (inputs and outputs as printed, so dependencies follow from them)."""
    logs = sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    for log in reversed(logs):
        jobs = {}
        for block in re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule \w+:)", log.read_text()):
            m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
            jid = re.search(r"\n\s+jobid: (\d+)", block)
            if not m or not jid:
                continue

            def field(name):
                f = re.search(rf"\n\s+{name}: (.*)", block)
                return f.group(1) if f else ""

            jobs[jid.group(1)] = {"rule": m.group(1), "input": set(filter(None, field("input").split(", "))),
                                  "output": set(filter(None, field("output").split(", "))),
                                  "benchmark": field("benchmark"), "priority": int(field("priority") or 0),
                                  "threads": int(field("threads") or 1)}
        if any(j["benchmark"] for j in jobs.values()):
            return jobs
    raise SystemExit(f"{workdir}/.snakemake/log: no Snakemake log of a run with benchmark files")


def read_cpu_log(cpu_dir: Path) -> list[dict]:
    """Job script processes (``.snakemake/scripts/tmp*.<script>.py``): script name, start, end, exact CPU s."""
    out = []
    for p in cpu_dir.glob("*.tsv"):
        for line in p.read_text().splitlines():
            f = line.split("\t")
            if len(f) >= 7 and "/.snakemake/scripts/" in f[6]:
                out.append({"script": f[6].split(".")[-2], "start": float(f[5]), "end": float(f[5]) + float(f[4]),
                            "cpu": float(f[2]) + float(f[3])})
    return out


def schedule(jobs: list[dict], workdir: Path, cores: int, set_threads: dict | None = None) -> dict:
    """Replay the run's DAG on ``cores`` idle cores with the measured CPU s per job (module docstring)."""
    log = read_run_log(workdir)
    by_bench = {f"benchmarks/rules/{j['job']}.tsv": j for j in jobs}
    cost, prio, missing = {}, {}, []
    for jid, lj in log.items():
        j = by_bench.get(lj["benchmark"])
        if j is None and lj["benchmark"]:
            missing.append(lj["benchmark"])
        cost[jid] = j["cpu"] if j is not None and j["cpu"] == j["cpu"] else 0.0
        prio[jid] = lj["priority"]
    producer = {f: jid for jid, lj in log.items() for f in lj["output"]}
    succ = {n: set() for n in log}
    npred = {n: 0 for n in log}
    for jid, lj in log.items():
        for f in lj["input"]:
            if f in producer and jid not in succ[producer[f]]:
                succ[producer[f]].add(jid)
                npred[jid] += 1
    ahead = {}

    def tail(n):  # CPU on the longest path from n to the end, n included
        if n not in ahead:
            ahead[n] = cost[n] + max((tail(s) for s in succ[n]), default=0.0)
        return ahead[n]

    for n in log:
        tail(n)
    # a job of T threads holds min(T, cores) cores for CPU / T seconds; like Snakemake, a freed core goes
    # to the highest-priority ready job that fits in the free cores (a 2-thread job waits for 2 free cores)
    need = {n: min(max(1, (set_threads or {}).get(log[n]["rule"], log[n]["threads"])), cores) for n in log}
    ready = sorted(((-prio[n], -ahead[n], n) for n in log if npred[n] == 0))
    running, t, free = [], 0.0, cores
    while ready or running:
        for item in list(ready):
            n = item[2]
            if need[n] <= free:
                ready.remove(item)
                heapq.heappush(running, (t + cost[n] / need[n], n))
                free -= need[n]
        t, n = heapq.heappop(running)
        free += need[n]
        for s in succ[n]:
            npred[s] -= 1
            if npred[s] == 0:
                ready.append((-prio[s], -ahead[s], s))
        ready.sort()
    path, n = [], max(ahead, key=ahead.get)
    while n is not None:
        b = log[n]["benchmark"]
        path.append(b[len("benchmarks/rules/"):-len(".tsv")] if b else log[n]["rule"])
        n = max(succ[n], key=ahead.get, default=None)
    return {"schedule_wall_s": round(t, 1), "critical_path_cpu_s": round(max(ahead.values()), 1),
            "critical_path": path, "dag_jobs": len(log), "unmatched_jobs": missing}


def summarise(workdir: Path, cores: int = 2, replay: bool = False, cpu_log: Path | None = None,
              set_threads: dict | None = None) -> dict:
    jobs = read_jobs(workdir)
    if cpu_log is not None:  # exact per-process CPU where recorded: the script process that started in the job's span
        procs, used = read_cpu_log(cpu_log), set()
        for j in sorted(jobs, key=lambda j: j["end"]):
            # the job's script process: started within the job's span, ended with it (the benchmark file is
            # written just after; under load seconds later); same-named script first, then the closest end
            hits = [p for p in procs if j["start"] - 3 <= p["start"] <= j["end"] and abs(p["end"] - j["end"]) < 15
                    and id(p) not in used]
            hits.sort(key=lambda p: (p["script"] != j["rule"], abs(p["end"] - j["end"])))
            if hits:
                used.add(id(hits[0]))
                j["cpu"], j["cpu_source"] = hits[0]["cpu"], "cpu-log"
    per = defaultdict(lambda: {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
    for j in jobs:
        r = per[j["rule"]]
        r["jobs"] += 1
        r["wall_s"] += j["s"]
        r["cpu_s"] += j["cpu"]
        r["max_rss_mb"] = max(r["max_rss_mb"], j["rss_mb"])
    chain = critical_chain(jobs)
    sched = schedule(jobs, workdir, cores, set_threads) if replay else None
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
        "cpu_log_jobs": sum(1 for j in jobs if j.get("cpu_source") == "cpu-log"),
        "schedule": sched,
        "rules": {k: {kk: round(vv, 1) if isinstance(vv, float) else vv for kk, vv in v.items()}
                  for k, v in sorted(per.items(), key=lambda kv: -kv[1]["cpu_s"])},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", nargs="?", default=".", help="the run's working directory (default: .)")
    ap.add_argument("--cores", type=int, default=2, help="cores of the machine to estimate the idle wall for")
    ap.add_argument("--json", help="also write the summary as JSON to this file")
    ap.add_argument("--replay", action="store_true", help="replay the run's DAG (from its .snakemake/log) on --cores "
                                                          "idle cores with the measured CPU s per job")
    ap.add_argument("--set-threads", nargs="*", default=[], metavar="RULE=N",
                    help="replay as if RULE had N threads (what-if, like snakemake --set-threads)")
    ap.add_argument("--cpu-log", type=Path, help="folder of per-process CPU records (module docstring)")
    a = ap.parse_args(argv)
    if a.cores < 1:
        ap.error("--cores must be >= 1")
    out = summarise(Path(a.workdir), a.cores, a.replay, a.cpu_log,
                    {k: int(v) for k, v in (x.split("=", 1) for x in a.set_threads)})
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
    if out["cpu_log_jobs"]:
        print(f"({out['cpu_log_jobs']} of {out['jobs']} jobs' CPU from the per-process log)")
    if out["schedule"]:
        sc = out["schedule"]
        print(f"list schedule of the DAG ({sc['dag_jobs']} jobs) on {a.cores} idle cores, Snakemake's priorities: "
              f"{sc['schedule_wall_s']:.0f} s; longest CPU path {sc['critical_path_cpu_s']:.0f} s:")
        print("  " + " ->\n  ".join(sc["critical_path"]))
        if sc["unmatched_jobs"]:
            print(f"  {len(sc['unmatched_jobs'])} DAG jobs without a benchmark file (counted as 0 s): "
                  + "; ".join(sc["unmatched_jobs"][:8]))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
