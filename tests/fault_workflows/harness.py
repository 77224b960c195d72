"""Helpers for the fault-injection tests: run / start / kill Snakemake controllers,
wait for files, compare every output of two working directories."""
from __future__ import annotations

import concurrent.futures
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

from encephagen.io.recovery import content_digest

from . import toyjobs as _toyjobs  # noqa: F401 - registers the toy file kinds (an unknown kind is an error)

HERE = Path(__file__).resolve().parent
TOY_SNAKEFILE = HERE / "toy" / "Snakefile"
TOYJOBS = HERE / "toyjobs.py"
TOY_RUNS = 4


def _config_args(config: dict | None) -> list[str]:
    if not config:
        return []
    out = ["--config"]
    for k, v in config.items():
        if isinstance(v, bool):
            v = str(v).lower()
        elif isinstance(v, (list, tuple)):
            v = "[" + ",".join(str(x) for x in v) + "]"
        out.append(f"{k}={v}")
    return out


def snakemake_cmd(workdir: Path, *args: str, config: dict | None = None,
                  snakefile: Path | None = TOY_SNAKEFILE, cores: int = 2) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--directory", str(workdir)]
    if snakefile is not None:
        cmd += ["--snakefile", str(snakefile)]
    return cmd + list(args) + _config_args(config)


def run_snakemake(workdir: Path, *args: str, timeout: float = 300, cwd: Path | None = None,
                  **kw) -> subprocess.CompletedProcess:
    """Run a controller to the end; stdout and stderr together in ``.stdout``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(snakemake_cmd(workdir, *args, **kw), cwd=cwd or workdir, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


_n = itertools.count()


def start_snakemake(workdir: Path, *args: str, cwd: Path | None = None, **kw) -> subprocess.Popen:
    """Start a controller in its own session (process group = its pid), output to a log file
    beside the working directory; ``proc.log_path`` says where."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir.parent / f"{workdir.name}.controller-{next(_n)}.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(snakemake_cmd(workdir, *args, **kw), cwd=cwd or workdir,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = log
    return proc


def _live_members(pgid: int) -> list[int]:
    """Pids of non-zombie processes in process group ``pgid``."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d.name))
    return out


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 10) -> None:
    """Kill a controller's whole process group (controller + every job it started) and wait
    until no member is left alive."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(timeout=timeout)
    wait_for(lambda: not _live_members(proc.pid), timeout, what=f"process group {proc.pid} to die")


def wait_for(pred: Callable[[], object], timeout: float = 120, interval: float = 0.02, what: str = "") -> object:
    t0 = time.monotonic()
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"gave up waiting for {what or pred}")
        time.sleep(interval)


def outputs(workdir: Path, pattern: str = "results/**/*.h5") -> list[Path]:
    return sorted(workdir.glob(pattern))


def digests(workdir: Path, pattern: str = "results/**/*.h5") -> dict[str, dict[str, str]]:
    """{relative path: content digest (provenance ignored)} of every final output."""
    return {str(p.relative_to(workdir)): content_digest(p) for p in outputs(workdir, pattern)}


def parallel(*calls: Callable[[], object]) -> list:
    """Run independent scenarios side by side (each mostly waits on a controller); re-raise
    the first failure."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as ex:
        futs = [ex.submit(c) for c in calls]
        return [f.result() for f in futs]


def toy_expected(workdir: Path, runs: Iterable[int] = range(TOY_RUNS)) -> dict[str, Path]:
    return {f"run-{r}": workdir / f"results/runs/run-{r}.h5" for r in runs}
