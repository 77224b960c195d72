"""The command interpreter of ``encephagen demo`` (stdlib :mod:`cmd`: readline history and tab
completion where readline exists). Every command prints what it did and the numbers behind it;
a bad command or argument prints ``error: ...`` and the session goes on.

In a script (``--script FILE``) each line is echoed after the prompt and run; ``#`` starts a
comment. Every session writes ``session.md`` in the output folder: the commands, their output and
links to the pictures they made.
"""
from __future__ import annotations

import cmd
import shlex
import sys
import threading
import time
from pathlib import Path

import numpy as np

from encephagen.demo import plots
from encephagen.demo.encoders import PATTERNS, SIDES, load_image, pattern
from encephagen.demo.walk import walk
from encephagen.io.tables import write_text

COMMANDS = {
    "look": "look PATTERN|IMAGE [MS] [--plot]: show a pattern (or a small .png/.npy image) to the visual regions",
    "sound": "sound FREQ [MS]: play a tone of FREQ Hz (20-20000) to the auditory regions (tonotopic map)",
    "touch": "touch left|right|both [MS]: touch a body side (drives the contralateral somatosensory regions)",
    "teach": "teach PATTERN [TRIALS]: show PATTERN paired with reward; the visual->motor pathway learns (R-STDP)",
    "test": "test: motor response and pathway weight for taught patterns vs a novel one (numbers)",
    "memory": "memory PATTERN | memory --control: prefrontal activity after the pattern is removed (minus a blank run); --control: the same without NMDA",
    "walk": "walk [SPEED]: the spinal CPG drives Walker2d for 2 s, scaled by SPEED (0-2) and motor-cortex rate",
    "status": "status [--plot] [--live]: region-class rates as bars (--live: 6 x 100 ms, redrawn; --plot: brain map + raster)",
    "rest": "rest [MS]: run without stimulus (default 200 ms)",
    "save": "save FILE.h5: network state and learned weights to HDF5",
    "load": "load FILE.h5: restore a saved state (same network options)",
    "help": "help [COMMAND]: this list, or one command's usage",
    "quit": "quit: end the session (also exit, Ctrl-D)",
}
NOVEL_DEFAULT = ("X", "H", "SQUARE")


class UsageError(ValueError):
    pass


def _number(tok, default, lo, hi, what: str, cast=float, unit: str = ""):
    """A command argument as a number within lo..hi (``default`` when absent); otherwise a
    UsageError naming the argument, its value and the bounds."""
    if tok is None:
        return default
    try:
        v = cast(tok)
    except ValueError:
        kind = "whole number" if cast is int else "number"
        raise UsageError(f"{what} {tok!r} is not a {kind}" + (f" ({unit})" if unit else "")) from None
    u = f" {unit}" if unit else ""
    if not lo <= v <= hi:
        raise UsageError(f"{what} {v:g}{u}: must be within {lo:g}..{hi:g}{u}")
    return v


def _ms(tok: str, default: float, lo: float = 1.0, hi: float = 5000.0) -> float:
    return _number(tok, default, lo, hi, "duration", unit="ms")


class DemoShell(cmd.Cmd):
    prompt = "brain> "

    def __init__(self, brain, out_dir: Path, stdout=None, echo: bool = False, warm: bool = True):
        super().__init__(stdout=stdout or sys.stdout)
        self.brain = brain
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.echo = echo
        self.last = None          # last Window
        self.last_title = "rest"
        self.taught: dict[str, int] = {}
        self._memory = None       # (label, state before, result) of the last memory run, for --control
        self._memory_img = None
        self.errors = 0
        self.n_fig = 0
        self.log = _Journal(self.out / "session.md")
        self.log.write(f"# encephagen demo session ({time.strftime('%Y-%m-%d %H:%M:%S')})\n\n"
                       f"network: {brain.cfg.to_json()}\n\n")
        # the pictures' and the body's imports (matplotlib, nilearn, MuJoCo: ~4 s CPU) and the brain
        # map's glass-brain figure are made once, in the background, while the first commands are typed
        self._brainmap = None
        self._warm_error: Exception | None = None
        self._warm = threading.Thread(target=self._warm_up, name="demo-warm-up", daemon=True) if warm else None
        if self._warm is not None:
            self._warm.start()
        self.intro = (f"encephagen demo: {brain.cfg.atlas}, {brain.n} neurons ({brain.npr} per region), "
                      f"seed {brain.cfg.seed}. Type help.")

    # ---------------------------------------------------------------- plumbing
    def _warm_up(self) -> None:
        try:
            if self.brain.connectome.centres is not None:
                self._brainmap = plots.BrainMap(self.brain.connectome.centres)
            else:
                plots._mpl()
            import encephagen.bodies.gait  # noqa: F401  (MuJoCo, the gait's kernels)
            import encephagen.bodies.walker2d  # noqa: F401
        except Exception as exc:   # reported by the command that needs it
            self._warm_error = exc

    def ready(self) -> None:
        """Wait for the background warm-up (pictures, body) to finish."""
        if self._warm is not None:
            self._warm.join()
            self._warm = None

    def say(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
        self.log.write(text + "\n")

    def onecmd(self, line):
        line = line.strip()
        if not line or line.startswith("#"):
            return False
        self.log.write(f"\n```\nbrain> {line}\n")
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            stop = super().onecmd(line)
        except UsageError as exc:
            self.errors += 1
            self.say(f"error: {exc}")
            stop = False
        except (ValueError, OSError, RuntimeError) as exc:
            self.errors += 1
            self.say(f"error: {exc}")
            stop = False
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        self.log.write(f"```\n({wall:.2f} s wall, {cpu:.2f} s CPU)\n")
        self.log.flush()
        self.brain.history.append(line)
        return stop

    def emptyline(self):
        return False

    def default(self, line):
        name = line.split()[0]
        raise UsageError(f"unknown command {name!r}; commands: {', '.join(COMMANDS)} (help lists them)")

    def completenames(self, text, *ignored):
        return [c for c in list(COMMANDS) + ["exit"] if c.startswith(text)]

    def _complete_patterns(self, text, line, begidx, endidx):
        return [p for p in PATTERNS if p.lower().startswith(text.lower())] + \
               [p for p in ("--plot",) if p.startswith(text)]

    complete_look = complete_teach = _complete_patterns

    def complete_memory(self, text, *a):
        return [p for p in PATTERNS if p.lower().startswith(text.lower())] + \
               [p for p in ("--control",) if p.startswith(text)]

    def complete_touch(self, text, *a):
        return [s for s in SIDES if s.startswith(text)]

    def complete_status(self, text, *a):
        return [s for s in ("--plot",) if s.startswith(text)]

    def _args(self, arg: str, n_min: int, n_max: int, usage: str):
        try:
            toks = shlex.split(arg)
        except ValueError as exc:
            raise UsageError(f"{exc}; usage: {usage}") from None
        flags = {t for t in toks if t.startswith("--")}
        toks = [t for t in toks if not t.startswith("--")]
        if not n_min <= len(toks) <= n_max:
            raise UsageError(f"usage: {usage}")
        return toks + [None] * (n_max - len(toks)), flags

    def _flags(self, flags, allowed, usage):
        bad = sorted(flags - set(allowed))
        if bad:
            raise UsageError(f"unknown option(s) {', '.join(bad)}; usage: {usage}")

    def _image(self, name: str):
        if name is None:
            raise UsageError("name a pattern: " + ", ".join(PATTERNS))
        if Path(name).suffix.lower() in (".png", ".npy", ".jpg", ".jpeg"):
            return Path(name).name, load_image(name, self.brain.visual.size)
        return name.upper(), pattern(name, self.brain.visual.size)

    def _bars(self, rates: dict[str, float], width: int = 40, scale: float | None = None) -> None:
        top = scale or max(max(rates.values()), 1e-9)
        for k, v in sorted(rates.items(), key=lambda kv: -kv[1]):
            n = int(round(width * min(v / top, 1.0)))
            self.say(f"  {k:<16s} {v:6.1f} Hz |{'#' * n}{' ' * (width - n)}|")

    def _plots(self, title: str) -> None:
        w, b = self.last, self.brain
        self.ready()
        self.n_fig += 1
        stem = self.out / f"fig{self.n_fig:03d}_{title.replace(' ', '_')}"
        files = []
        if b.connectome.centres is not None:
            if self._brainmap is None:
                self._brainmap = plots.BrainMap(b.connectome.centres)
            files.append(self._brainmap.draw(f"{stem}_brain.png", w.region_rate, title=f"{title}: region rates (Hz)"))
        else:
            self.say("(no region centres in this connectome: no brain map)")
        if w.raster_t.size:
            files.append(plots.raster(f"{stem}_raster.png", w.raster_t, w.raster_i, b.net.region, b.region_class,
                                      w.duration_ms, title=title))
        for f in files:
            self.say(f"wrote {f}")
            self.log.write(f"\n![{title}]({Path(f).name})\n")

    def _window(self, w, title):
        self.last, self.last_title = w, title

    # ---------------------------------------------------------------- commands
    def do_help(self, arg):
        arg = arg.strip()
        if arg:
            if arg not in COMMANDS:
                raise UsageError(f"no command {arg!r}; commands: {', '.join(COMMANDS)}")
            self.say(COMMANDS[arg])
            return
        for k, v in COMMANDS.items():
            self.say(f"  {k:<7s} {v.split(': ', 1)[1]}")

    def do_look(self, arg):
        usage = COMMANDS["look"].split(":")[0]
        (name, ms), flags = self._args(arg, 1, 2, usage)
        self._flags(flags, ("--plot",), usage)
        label, img = self._image(name)
        ms = _ms(ms, 200.0)
        plot = "--plot" in flags
        w = self.brain.present("look", img, ms, raster=plot)
        self._window(w, f"look {label}")
        b = self.brain
        vis = w.region_rate[b.vis_regions].mean()
        pools = b.decoder.pool_rates(w.counts, ms)
        self.say(f"look {label} for {ms:g} ms: primary visual {vis:.1f} Hz, motor pools "
                 + ", ".join(f"{a} {r:.1f}" for a, r in zip(b.decoder.actions, pools)) + " Hz")
        for row in img:
            self.say("  " + "".join("#" if x > 0.5 else "." for x in row))
        if plot:
            self._plots(f"look {label}")

    def do_sound(self, arg):
        usage = COMMANDS["sound"].split(":")[0]
        (f, ms), flags = self._args(arg, 1, 2, usage)
        self._flags(flags, (), usage)
        try:
            freq = float(f)
        except ValueError:
            raise UsageError(f"frequency {f!r} is not a number (Hz); usage: {usage}") from None
        ms = _ms(ms, 200.0)
        w = self.brain.present("sound", freq, ms)
        self._window(w, f"sound {freq:g} Hz")
        b = self.brain
        bf = b.auditory.best_frequency()
        r = w.counts[b.aud_idx] * 1000.0 / ms
        peak = bf[np.argmax(np.convolve(r, np.ones(9) / 9, mode="same"))]
        self.say(f"sound {freq:g} Hz for {ms:g} ms: primary auditory {w.region_rate[b.aud_regions].mean():.1f} Hz; "
                 f"most active best frequency ~{peak:.0f} Hz")

    def do_touch(self, arg):
        usage = COMMANDS["touch"].split(":")[0]
        (side, ms), flags = self._args(arg, 1, 2, usage)
        self._flags(flags, (), usage)
        ms = _ms(ms, 200.0)
        w = self.brain.present("touch", side, ms)
        self._window(w, f"touch {side}")
        b = self.brain
        parts = [f"{b.labels[r]} {w.region_rate[r]:.1f}" for r in b.som_regions]
        self.say(f"touch {side} for {ms:g} ms: somatosensory " + ", ".join(parts) + " Hz")

    def do_rest(self, arg):
        usage = COMMANDS["rest"].split(":")[0]
        (ms,), flags = self._args(arg, 0, 1, usage)
        self._flags(flags, (), usage)
        ms = _ms(ms, 200.0)
        w = self.brain.run(ms)
        self._window(w, "rest")
        self.say(f"rest {ms:g} ms: mean rate {w.region_rate.mean():.1f} Hz")

    def do_status(self, arg):
        usage = COMMANDS["status"].split(":")[0]
        _, flags = self._args(arg, 0, 0, usage)
        self._flags(flags, ("--plot", "--live"), usage)
        b = self.brain
        if "--live" in flags:
            self._live()
        if self.last is None or ("--plot" in flags and self.last.raster_t.size == 0):
            self._window(b.run(200.0, raster=True), "rest")
        self.say(f"t = {b.sim.t * b.sim.dt:.0f} ms; last window: {self.last_title} ({self.last.duration_ms:g} ms); "
                 f"learning {'on' if b.learning else 'off'}; taught: {dict(self.taught) or 'nothing'}")
        self._bars(b.class_rates(self.last.region_rate))
        if "--plot" in flags:
            self._plots(f"status {self.last_title}")

    def _live(self, frames: int = 6, ms: float = 100.0) -> None:
        """Run ``frames`` windows, redrawing the bars in place on a terminal (ANSI cursor up)."""
        b = self.brain
        tty = hasattr(self.stdout, "isatty") and self.stdout.isatty()
        n = len(set(b.region_class)) + 1
        for k in range(frames):
            w = b.run(ms)
            if tty and k:
                self.stdout.write(f"\x1b[{n}A")
            rates = b.class_rates(w.region_rate)
            self.stdout.write(f"live {k + 1}/{frames}: t = {b.sim.t * b.sim.dt:.0f} ms\x1b[K\n")
            for c, v in sorted(rates.items()):
                bar = "#" * int(round(40 * min(v / 50.0, 1.0)))
                self.stdout.write(f"  {c:<16s} {v:6.1f} Hz |{bar:<40s}|\x1b[K\n")
            self.stdout.flush()
            self._window(w, "rest")
        self.log.write(f"(live: {frames} windows of {ms:g} ms)\n")

    def do_teach(self, arg):
        usage = COMMANDS["teach"].split(":")[0]
        (name, n), flags = self._args(arg, 1, 2, usage)
        self._flags(flags, (), usage)
        label, img = self._image(name)
        n = _number(n, 3, 1, 100, "trials", cast=int)
        b = self.brain
        before = self._pathway(img)
        deltas = []
        for _ in range(n):
            b.trial(label, img, 100.0)
            deltas.append(b.reward(1.0))
        after = self._pathway(img)
        self.taught[label] = self.taught.get(label, 0) + n
        self.say(f"teach {label}: {n} rewarded trials (R-STDP, reward 1, prediction errors "
                 f"{deltas[0]:.2f}..{deltas[-1]:.2f}); mean pathway efficacy from {label}'s neurons "
                 f"{before:.3f} -> {after:.3f} mV")

    def _pathway(self, img) -> float:
        """Drive-weighted mean efficacy (mV) of the plastic synapses leaving the image's neurons."""
        b = self.brain
        drive = b.visual.rates(img)
        w = b.w_sm[0].numpy() / b.sm_scale
        pre = b.sm_pre_of_syn
        d = drive[pre]
        return float((w * d).sum() / max(d.sum(), 1e-12))

    def do_test(self, arg):
        usage = "test"
        self._args(arg, 0, 0, usage)
        b = self.brain
        if not self.taught:
            raise UsageError("nothing taught yet: teach PATTERN first")
        novel = next((p for p in NOVEL_DEFAULT if p not in self.taught), None)
        names = list(self.taught) + ([novel] if novel else [])
        snap = b.snapshot()
        rows = []
        for nm in names:
            img = pattern(nm, b.visual.size)
            b.restore(snap)   # every probe from the same state and noise: a paired comparison
            w = b.present("look", img, 100.0)
            motor = b.decoder.pool_rates(w.counts, 100.0).mean()
            rows.append((nm, "taught" if nm in self.taught else "novel", motor, self._pathway(img)))
        self.say(f"{'pattern':<8s} {'kind':<7s} {'motor (Hz)':>10s} {'pathway (mV)':>13s}")
        for nm, kind, m, pw in rows:
            self.say(f"{nm:<8s} {kind:<7s} {m:10.1f} {pw:13.3f}")
        if novel:
            t = [r for r in rows if r[1] == "taught"]
            self.say(f"taught - novel motor response: {np.mean([r[2] for r in t]) - rows[-1][2]:+.1f} Hz "
                     f"(one presentation each, same state and noise; see docs/demo.md for the measured statistics)")

    def do_memory(self, arg):
        usage = COMMANDS["memory"].split(":")[0]
        (name,), flags = self._args(arg, 0, 1, usage)
        self._flags(flags, ("--control",), usage)
        b = self.brain
        if not b.nmda_mask.any():
            raise UsageError("this network has no NMDA regions (started with --no-nmda)")
        if "--control" in flags:
            if self._memory is None:
                raise UsageError("no memory run to control yet: memory PATTERN first, then memory --control")
            label, snap, res = self._memory
            if name is not None and self._image(name)[0] != label:
                raise UsageError(f"memory --control repeats the last memory run ({label}); "
                                 f"got {name!r}: memory {name} first")
            ctl = b.memory(self._memory_img, False, snap)
            self._memory_rows(label, [("NMDA", res), ("no NMDA", ctl)])
            d = res["persistence"].mean() - ctl["persistence"].mean()
            self.say(f"  NMDA - no NMDA persistence: {d:+.2f} Hz (one run each, same state and noise; "
                     f"docs/demo.md has the statistics over seeds)")
            return
        if name is None:
            raise UsageError(f"usage: {usage}")
        label, img = self._image(name)
        snap = b.snapshot()
        res = b.memory(img, True, snap, go_on=True)   # the session goes on from the pattern run
        self._memory, self._memory_img = (label, snap, res), img
        self._memory_rows(label, [("NMDA", res)])
        self.say("  memory --control: the same from the same state and noise without the NMDA current")

    def _memory_rows(self, label, rows):
        bm = rows[0][1]["bin_ms"]
        self.say(f"memory {label}: prefrontal rate (Hz) while shown (100 ms) and in {bm:g}-ms bins after its "
                 f"removal, beside the same run with a blank pattern (same state and noise, one batched run)")
        for cond, r in rows:
            self.say(f"  {cond:<8s} shown {r['during'][0]:5.1f} (blank {r['during'][1]:5.1f}) | after "
                     f"{' '.join(f'{x:5.1f}' for x in r['after'])} | blank {' '.join(f'{x:5.1f}' for x in r['blank'])}"
                     f" | persistence {r['persistence'].mean():+.2f} Hz")

    def do_walk(self, arg):
        usage = COMMANDS["walk"].split(":")[0]
        (sp,), flags = self._args(arg, 0, 1, usage)
        self._flags(flags, (), usage)
        speed = _number(sp, 1.0, 0, 2, "speed")
        b = self.brain
        motor = float(self.last.region_rate[b.mot_regions].mean()) if self.last is not None else None
        self.ready()
        self.n_fig += 1
        res = walk(speed, motor, self.out / f"fig{self.n_fig:03d}_walk", seed=b.cfg.seed)
        self.say(f"walk speed {speed:g}: CPG drive x{res['drive_scale']:.2f} (motor cortex "
                 f"{'n/a' if motor is None else f'{motor:.1f} Hz'}); {res['steps']} body steps, "
                 f"forward {res['distance']:.2f} m, fell: {res['fell']}")
        self.say(f"wrote {res['file']}")
        self.log.write(f"\n![walk]({Path(res['file']).name})\n")

    def do_save(self, arg):
        usage = COMMANDS["save"].split(":")[0]
        (path,), flags = self._args(arg, 1, 1, usage)
        self._flags(flags, (), usage)
        self.brain.save(path)
        self.say(f"saved state at t = {self.brain.sim.t * self.brain.sim.dt:.0f} ms to {path}")

    def do_load(self, arg):
        usage = COMMANDS["load"].split(":")[0]
        (path,), flags = self._args(arg, 1, 1, usage)
        self._flags(flags, (), usage)
        self.brain.load(path)
        self.last = None
        self._memory = self._memory_img = None   # a control belongs to the state it started from
        self.say(f"loaded {path}: t = {self.brain.sim.t * self.brain.sim.dt:.0f} ms")

    def do_quit(self, arg):
        self.say("bye")
        return True

    do_exit = do_quit

    def do_EOF(self, arg):
        self.stdout.write("\n")
        return self.do_quit(arg)

    def close(self):
        self.ready()
        if self._brainmap is not None:
            self._brainmap.close()
            self._brainmap = None
        self.log.close()


def run_script(shell: DemoShell, path) -> int:
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"demo script {str(path)!r} not found")
    for line in p.read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        shell.stdout.write(f"{shell.prompt}{s}\n")
        if shell.onecmd(s):
            break
    return 1 if shell.errors else 0


def interactive(shell: DemoShell, history: str | None) -> int:
    try:
        import readline
    except ImportError:   # pragma: no cover - no readline (Windows): no history, no completion
        readline = None
    if readline is not None and history:
        try:
            readline.read_history_file(history)
        except OSError:
            pass
    try:
        shell.cmdloop()
    except KeyboardInterrupt:
        shell.stdout.write("\n")
    finally:
        if readline is not None and history:
            try:
                readline.write_history_file(history)
            except OSError:
                pass
    return 0


class _Journal:
    """The session report (session.md), kept in memory and rewritten atomically at every flush
    (encephagen.io.tables), so an interrupted session leaves the last complete entry, never half of
    one; a report already in the folder is continued."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.parts = [self.path.read_text()] if self.path.exists() else []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def flush(self) -> None:
        write_text(self.path, "".join(self.parts))

    def close(self) -> None:
        self.flush()
