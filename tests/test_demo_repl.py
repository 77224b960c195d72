"""`encephagen demo` driven through a pseudo-terminal (pexpect): every command, bad commands and
arguments (a clear message, the session goes on), save / load, and a scripted session end to end.
A small network (10 neurons per region) keeps them quick."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")
REPO = Path(__file__).resolve().parents[1]
PROMPT = "brain> "


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    env.pop("MUJOCO_GL", None)
    return env


def _args(resources_dir, out):
    return ["-m", "encephagen", "demo", "--neurons", "10", "--seed", "3", "--out", str(out),
            "--resources", str(resources_dir), "--history", ""]


@pytest.fixture()
def shell(resources_dir, tmp_path):
    child = pexpect.spawn(sys.executable, _args(resources_dir, tmp_path / "out"), env=_env(), encoding="utf-8",
                          timeout=120, cwd=str(tmp_path), dimensions=(50, 200))
    child.expect("Type help.")
    child.expect_exact(PROMPT)
    yield child
    if child.isalive():
        child.sendline("quit")
        child.expect(pexpect.EOF)


def cmd(child, line, *expect):
    child.sendline(line)
    text = ""
    for e in expect:
        child.expect(e)
        text += child.before + child.after
    child.expect_exact(PROMPT)
    return text + child.before


def test_every_command_through_a_terminal(shell, tmp_path):
    """Defect: a command that crashes the session, prints nothing useful, or a bad command/argument
    that ends the session instead of a clear message."""
    out = cmd(shell, "help")
    for c in ("look", "sound", "touch", "teach", "test", "memory", "walk", "status", "rest", "save", "load", "quit"):
        assert f"  {c}" in out
    cmd(shell, "look A", r"primary visual \d+\.\d Hz")
    cmd(shell, "sound 440", r"most active best frequency ~\d+ Hz")
    cmd(shell, "touch right", r"somatosensory RM-S1_R")
    cmd(shell, "rest 50", r"mean rate")
    cmd(shell, "status", r"visual +\d+\.\d Hz \|#*")
    cmd(shell, "status --live", r"live 1/6", r"live 6/6", r"t = ")
    cmd(shell, "test", r"error: nothing taught yet")
    cmd(shell, "teach A 2", r"teach A: 2 rewarded trials")
    cmd(shell, "test", r"A +taught", r"X +novel", r"taught - novel motor response")
    cmd(shell, "memory --control", r"error: no memory run to control yet")
    cmd(shell, "memory A", r"NMDA +shown", r"persistence [-+]\d", r"memory --control")
    cmd(shell, "memory --control", r"NMDA +shown", r"persistence [-+]\d", r"no NMDA +shown", r"persistence [-+]\d",
        r"NMDA - no NMDA persistence: [-+]\d")
    cmd(shell, "walk 1", r"walk speed 1: CPG drive", r"wrote .*walk")
    # bad commands and arguments: a message naming the problem, and the prompt comes back
    cmd(shell, "frobnicate", r"error: unknown command 'frobnicate'")
    cmd(shell, "look", r"error: usage: look")
    cmd(shell, "look QQ", r"error: unknown pattern 'QQ'")
    cmd(shell, "look A --nope", r"error: unknown option\(s\) --nope")
    cmd(shell, "sound loud", r"error: frequency 'loud' is not a number")
    cmd(shell, "sound 5", r"error: tone frequency 5.0 Hz")
    cmd(shell, "touch up", r"error: touch side 'up'")
    cmd(shell, "rest -3", r"error: duration -3 ms")
    cmd(shell, "walk 9", r"error: speed 9")
    cmd(shell, "teach A many", r"error: trials 'many'")
    cmd(shell, "load /nonexistent.h5", r"error: cannot read demo state")
    cmd(shell, "look A", r"primary visual")      # still alive and working
    shell.sendline("quit")
    shell.expect("bye")
    shell.expect(pexpect.EOF)


def test_save_load_round_trip_through_a_terminal(shell, tmp_path):
    """Defect: load does not restore the saved state (the same probe after load must print the
    same numbers as right after save)."""
    cmd(shell, "teach B 1", "teach B")
    cmd(shell, f"save {tmp_path / 'st.h5'}", "saved state at t = ")
    first = cmd(shell, "look C 50", r"motor pools.*Hz")
    cmd(shell, "rest 30")
    cmd(shell, f"load {tmp_path / 'st.h5'}", "loaded")
    second = cmd(shell, "look C 50", r"motor pools.*Hz")
    line = lambda s: [x for x in s.splitlines() if "look C" in x][-1]  # noqa: E731
    assert line(first) == line(second)


def test_tab_completion(shell):
    """Defect: no readline completion of command names."""
    shell.send("sta\t")
    shell.expect("status")
    shell.sendline("")
    shell.expect("region-class|t = ")
    shell.expect_exact(PROMPT)


@pytest.mark.slow
def test_scripted_session_end_to_end(resources_dir, tmp_path):
    """Defect: --script not reproducible (same seed, same numbers), no session report with the
    pictures, or errors in a script not reflected in the exit status."""
    script = tmp_path / "s.txt"
    script.write_text("# a session\nlook A --plot\nteach A 1\ntest\nstatus --plot\nquit\n")
    outs = []
    for k in range(2):
        r = subprocess.run([sys.executable, *_args(resources_dir, tmp_path / f"o{k}"), "--script", str(script)],
                           env=_env(), capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
        assert r.returncode == 0, r.stdout + r.stderr
        outs.append([ln for ln in r.stdout.splitlines() if not ln.startswith("wrote")])
    assert outs[0] == outs[1]
    md = (tmp_path / "o0" / "session.md").read_text()
    assert "brain> look A --plot" in md and "_brain.png)" in md and "_raster.png)" in md
    assert any(p.name.endswith("_brain.png") for p in (tmp_path / "o0").iterdir())
    bad = tmp_path / "bad.txt"
    bad.write_text("look nothing_here\nrest 20\n")
    r = subprocess.run([sys.executable, *_args(resources_dir, tmp_path / "o2"), "--script", str(bad)],
                       env=_env(), capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert r.returncode == 1 and "error: unknown pattern" in r.stdout and "rest 20 ms" in r.stdout
