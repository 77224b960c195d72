"""The ``embody`` stage, file level (paths in, read, call the study engine ``embody``, write) and its command line.

``encephagen embody run --controller NAME --real REAL.h5 [--nulls NULL.h5 ...] --out episodes.h5``
runs one control on the configured seeds through :func:`encephagen.study.run_study` with the
engine :class:`encephagen.study.engines.embody.EmbodyEngine` (one HDF5 file, kind runs, layout embody);
``encephagen embody report --episodes *.h5 --real REAL.h5 --out-dir DIR`` writes ``summary.tsv``
(per controller and metric: n, mean, sd, 95 % CI), ``brain_vs_null.tsv`` (the real connectome
network against its nulls on the nulls' seeds, the network as unit, BH-FDR over the metrics),
``brain_effect.tsv`` (full_loop - brain_ablated, paired by seed), ``figure.png`` (motor-neuron
raster, joint angles, phase, dx per control) and ``video/`` (walk.gif, or SKIPPED.txt naming why
rendering was not possible). The workflow's scripts call :func:`run_file` and :func:`report_files`;
:func:`calibrate_coupling` chooses ``embody.brain.gain_out`` on training seeds.

Seeds (the engine's, recorded per run): the seed id is the body seed (body, CPG, random control);
the brain network is built from ``derive_seed(master_seed, atlas, family, null_index, seed_id,
"build")`` and driven by ``derive_seed(master_seed, atlas, family, null_index, seed_id)``.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from encephagen.io.tables import write_text, write_with

log = logging.getLogger(__name__)

METRICS = ("steps", "dx", "velocity", "return")
BRAIN_CONTROLLERS = ("full_loop", "brain_null")


def resolve(section: dict | None) -> dict:
    """The ``embody`` section with the schema's defaults filled in (validated by the schema)."""
    from encephagen.study.engines.embody import resolve as _resolve

    out = _resolve(section)
    out.pop("controller", None)
    return out


def brain_regions(atlas: str) -> tuple[dict, dict]:
    """Somatosensory (input) and motor (output) region indices per hemisphere, from the atlas's
    hand-reviewed region table (region_class)."""
    from encephagen.data import region_rows

    rows = region_rows(atlas)
    sel = {}
    for cls in ("somatosensory", "motor"):
        sel[cls] = {h: [i for i, r in enumerate(rows) if r.get("region_class") == cls and r.get("hemisphere") == h]
                    for h in ("L", "R")}
        if not all(sel[cls].values()):
            raise ValueError(f"embody.atlas = {atlas!r}: its region table has no {cls!r} regions in both "
                             f"hemispheres (got {sel[cls]}); use tvb96 or tvb76")
    return sel["somatosensory"], sel["motor"]


def load_networks(real_path, null_paths, family: str, n_nulls: int | None, first_null: int = 0) -> list:
    """[study.Network]: the real network (the nulls stage's null-real batch), then the first
    ``n_nulls`` nulls of ``family`` (None: all) with null index >= ``first_null`` (through
    :func:`encephagen.steps.networks.load_networks`)."""
    from encephagen.steps.networks import load_networks as _load

    nets, _labels = _load(nulls=[real_path, *(null_paths or [])])
    real = [n for n in nets if n.family == "real"]
    if len(real) != 1:
        raise ValueError(f"{real_path}: expected one real network (family 'real'), found {len(real)}")
    nulls = sorted((n for n in nets if n.family == family and n.null_index >= first_null), key=lambda n: n.null_index)
    if n_nulls is None:
        n_nulls = len(nulls)
    nulls = nulls[:n_nulls]
    if null_paths is not None and len(nulls) < n_nulls:
        raise ValueError(f"embody.n_nulls = {n_nulls}: only {len(nulls)} nulls of family {family!r} "
                         f"(from index {first_null}) in {null_paths}")
    return real + nulls


def networks_for(controller: str, nets: list) -> list:
    """The networks a control runs on: full_loop the real one, brain_null the nulls, the others
    the real one (recorded, not used)."""
    if controller == "brain_null":
        if len(nets) < 2:
            raise ValueError("controller 'brain_null' needs null networks (embody.n_nulls >= 1 and the nulls' files)")
        return nets[1:]
    return nets[:1]


def run_file(controller: str, section: dict, master_seed: int, atlas: str | None, real_path, null_paths, out,
             seed_ids=None) -> Path:
    """One control of the embody stage through the study layer's engine ``embody``
    (:class:`encephagen.study.engines.embody.EmbodyEngine`): networks x seed ids -> one HDF5 file (kind
    runs, layout embody). Seed ids default to ``seed_start .. seed_start + n_seeds - 1``."""
    from encephagen.study import run_study

    cfg = resolve(section)
    atlas = atlas or cfg["atlas"]
    nets = load_networks(real_path, null_paths if controller == "brain_null" else None, cfg["null_family"], None)
    # the test's nulls are indices 0 .. n_nulls - 1 (a job may hold one batch of them); later
    # indices (the coupling calibration's) never enter
    nets = nets[:1] + [n for n in nets[1:] if n.null_index < cfg["n_nulls"]]
    sens, mot = brain_regions(atlas)
    if seed_ids is None:
        n = cfg["n_seeds"] if controller != "brain_null" or cfg["null_seeds"] is None else min(cfg["null_seeds"],
                                                                                            cfg["n_seeds"])
        seed_ids = range(cfg["seed_start"], cfg["seed_start"] + n)
    sids = list(seed_ids)
    return run_study("embody", {**(section or {}), "controller": controller}, networks_for(controller, nets),
                     master_seed, out, seed_ids=sids, sensory=sens, motor=mot,
                     provenance={"real": str(real_path), "nulls": [str(p) for p in (null_paths or [])]})


def run_controller(controller: str, cfg: dict, master_seed: int, atlas: str, networks=None,
                   seed_ids=None) -> list[dict]:
    """Rows (one per network x seed) of one control, through the engine (an HDF5 file in a
    temporary directory); ``networks``: [study.Network or (atlas, family, null_index, W, L)]."""
    import tempfile

    from encephagen.study.engines.embody import episode_rows
    from encephagen.study import Network, run_study

    sens, mot = brain_regions(atlas)
    nets = [Network(*n) for n in networks] if networks is not None else None
    if nets is None:
        raise ValueError("run_controller needs the networks (the real one first)")
    sids = list(range(cfg["seed_start"], cfg["seed_start"] + cfg["n_seeds"])) if seed_ids is None else list(seed_ids)
    with tempfile.TemporaryDirectory() as d:
        p = run_study("embody", {**cfg, "controller": controller}, networks_for(controller, nets), master_seed,
                      Path(d) / f"{controller}.h5", seed_ids=sids, sensory=sens, motor=mot)
        return episode_rows(p)


def calibrate_coupling(section: dict, master_seed: int, atlas: str, real_path, null_paths, gains, seeds,
                       null_indices=(), out=None) -> dict:
    """Choose the brain -> CPG coupling ``embody.brain.gain_out`` on TRAINING seeds: for each gain,
    the full loop on the real network and on the null networks ``null_indices`` (kept out of the
    real-vs-null test: pass indices >= embody.n_nulls), per network the mean over ``seeds`` of the
    gait objective's stage 3, ``steps + 100 dx`` (dx capped at 6 m); the gain with the best mean
    over networks wins (the real connectome counts as one network of 1 + len(null_indices), so the
    choice is not the real network's alone). Writes the record (JSON) to ``out``."""
    import tempfile

    from encephagen.study.engines.embody import episode_rows, versions
    from encephagen.study import run_study

    cfg = resolve(section)
    nets = load_networks(real_path, null_paths, cfg["null_family"], None)
    keep = [nets[0]] + [n for n in nets[1:] if n.null_index in set(null_indices)]
    if len(keep) != 1 + len(set(null_indices)):
        raise ValueError(f"calibrate_coupling: null indices {sorted(null_indices)} not all in {null_paths}")
    sens, mot = brain_regions(atlas)
    t0 = time.process_time()
    table = []
    with tempfile.TemporaryDirectory() as d:
        for g in gains:
            sec = {**(section or {}), "brain": {**(section or {}).get("brain", {}), "gain_out": float(g)},
                   "controller": "full_loop"}
            per_net = []
            for net in keep:
                p = run_study("embody", sec, [net], master_seed, Path(d) / f"g{g}-{net.family}{net.null_index}.h5",
                              seed_ids=list(seeds), sensory=sens, motor=mot)
                rows = episode_rows(p)
                per_net.append({"family": net.family, "null_index": int(net.null_index),
                                "reached": int(sum(r["truncated"] for r in rows)),
                                "dx": float(np.mean([r["dx"] for r in rows])),
                                "score": float(np.mean([r["steps"] + 100.0 * min(r["dx"], 6.0) for r in rows]))})
            table.append({"gain_out": float(g), "score": float(np.mean([x["score"] for x in per_net])),
                          "networks": per_net})
            log.info("coupling gain_out %.3f: score %.1f %s", g, table[-1]["score"], per_net)
    best = max(table, key=lambda r: r["score"])
    rec = {"gain_out": best["gain_out"], "criterion": "max over gains of the mean over networks of the mean over "
           "training seeds of steps + 100 min(dx, 6 m) (the gait objective's stage 3), full loop",
           "train_seeds": list(map(int, seeds)), "networks": [f"{n.family}-{n.null_index}" for n in keep],
           "gains": list(map(float, gains)), "table": table, "master_seed": int(master_seed), "atlas": atlas,
           "episodes": len(gains) * len(keep) * len(seeds), "cpu_s": time.process_time() - t0,
           "config": {k: v for k, v in cfg.items() if k != "controllers"}, "versions": versions()}
    if out is not None:
        write_text(out, json.dumps(rec, indent=1, default=str))
    return rec


def _write_tsv(path, rows, header=None):
    header = header or list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, delimiter="\t", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return write_text(path, buf.getvalue())


# ------------------------------------------------------------------ statistics
def summarise(rows: list[dict]) -> list[dict]:
    """Per controller and metric: n, mean, sd, 95 % t confidence interval over seeds (brain_null:
    over networks' per-seed values pooled; the network-level test is :func:`brain_vs_null`)."""
    from scipy import stats

    out = []
    for c in dict.fromkeys(r["controller"] for r in rows):
        sub = [r for r in rows if r["controller"] == c]
        for m in METRICS:
            x = np.array([r[m] for r in sub], dtype=float)
            n = x.size
            sd = float(x.std(ddof=1)) if n > 1 else float("nan")
            h = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
            out.append({"controller": c, "metric": m, "n": n, "mean": float(x.mean()), "sd": sd,
                        "ci_low": float(x.mean()) - h, "ci_high": float(x.mean()) + h,
                        "reached_limit": int(sum(r["truncated"] for r in sub))})
    return out


def brain_vs_null(rows: list[dict], alpha: float = 0.05) -> list[dict]:
    """The real network against the nulls, the network as unit: per metric the real network's
    mean over the nulls' seeds (embody.null_seeds) against the null networks' means; two-sided
    empirical p = (1 + #nulls at least as far from the null mean) / (n_nulls + 1); z; BH-FDR over
    the metrics (statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    nulls = [r for r in rows if r["controller"] == "brain_null"]
    shared = {r["seed"] for r in nulls}
    real = [r for r in rows if r["controller"] == "full_loop" and r["seed"] in shared]   # the nulls' seeds
    if not real or not nulls:
        return []
    idx = sorted({r["null_index"] for r in nulls})
    out = []
    for m in METRICS:
        rv = float(np.mean([r[m] for r in real]))
        nv = np.array([np.mean([r[m] for r in nulls if r["null_index"] == i]) for i in idx])
        mu, sd = float(nv.mean()), float(nv.std(ddof=1)) if nv.size > 1 else float("nan")
        p = (1 + int(np.sum(np.abs(nv - mu) >= abs(rv - mu)))) / (nv.size + 1)
        out.append({"metric": m, "real": rv, "null_mean": mu, "null_sd": sd, "n_nulls": int(nv.size),
                    "n_seeds": len({r["seed"] for r in real}),
                    "z": (rv - mu) / sd if sd and np.isfinite(sd) and sd > 0 else float("nan"), "p": p})
    q = multipletests([r["p"] for r in out], alpha=alpha, method="fdr_bh")[1]
    for r, qq in zip(out, q):
        r["q"] = float(qq)
        r["significant"] = int(qq < alpha)
        r["min_attainable_p"] = 1.0 / (r["n_nulls"] + 1)
    return out


def brain_effect(rows: list[dict]) -> list[dict]:
    """full_loop - brain_ablated, paired by seed: mean difference and 95 % t CI per metric."""
    from scipy import stats

    a = {r["seed"]: r for r in rows if r["controller"] == "full_loop"}
    b = {r["seed"]: r for r in rows if r["controller"] == "brain_ablated"}
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        return []
    out = []
    for m in METRICS:
        d = np.array([a[s][m] - b[s][m] for s in seeds], dtype=float)
        sd = float(d.std(ddof=1))
        h = float(stats.t.ppf(0.975, d.size - 1) * sd / np.sqrt(d.size))
        out.append({"metric": m, "n": int(d.size), "mean_diff": float(d.mean()), "ci_low": float(d.mean()) - h,
                    "ci_high": float(d.mean()) + h})
    return out


# ------------------------------------------------------------------ figure and video
def first_brain(cfg: dict, master_seed: int, atlas: str, real_path):
    """(BrainNetwork, element) of the full loop's first element (the real network, seed id
    ``seed_start``), with exactly the engine's seeds (:func:`encephagen.study.expand`)."""
    from encephagen.study.engines.embody import EmbodyEngine
    from encephagen.study import expand

    eng = EmbodyEngine()
    c = eng.prepare({**cfg, "controller": "full_loop"})
    nets = load_networks(real_path, None, cfg["null_family"], 0)
    sens, mot = brain_regions(atlas)
    e = expand(nets[:1], eng.parameter_sets(c), [cfg["seed_start"]], master_seed, eng.streams)[0]
    st = eng.setup(c, nets[:1], master_seed=master_seed, seed_ids=[e.seed_id], n_elements=1, sensory=sens, motor=mot)
    return eng.brain(st, e), e


def record_episode(cfg: dict, master_seed: int, atlas: str, real_path):
    """One full_loop episode (first seed, the real network) with traces."""
    from encephagen.bodies.loop import make_controller, run_loop_episode
    from encephagen.bodies.walker2d import Walker2dBody

    brain, e = first_brain(cfg, master_seed, atlas, real_path)
    body = Walker2dBody(max_steps=cfg["max_steps"])
    try:
        return run_loop_episode(body, make_controller("full_loop", brain=brain), e.seed_id,
                                max_steps=cfg["max_steps"], record=True, brain_stream=e.seed)
    finally:
        body.close()


def plot_figure(ep: dict, summary: list[dict], path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from encephagen.bodies import cpg

    tr = ep["trace"]
    dt_body = 0.008
    fig, ax = plt.subplots(4, 1, figsize=(9, 11))
    sp = tr["spikes"]
    t_end = min(3.0, sp.shape[0] * 1e-3)
    k = int(t_end / 1e-3)
    rows, labels, y = [], [], 0
    for side in ("r", "l"):
        for c in ("MN_F", "MN_E"):
            for i in cpg.INDEX[(side, c)]:
                tt = np.flatnonzero(sp[:k, i]) * 1e-3
                ax[0].plot(tt, np.full(tt.size, y), "|", color="C0" if c == "MN_F" else "C3", ms=4)
                y += 1
            labels.append((y - 2, f"{side} {c}"))
    ax[0].set_yticks([a for a, _ in labels], [b for _, b in labels])
    ax[0].set_title("CPG motor neurons (full loop, first seed)")
    ax[0].set_xlim(0, t_end)
    obs = tr["obs"]
    t = np.arange(obs.shape[0]) * dt_body
    n = int(t_end / dt_body)
    for j, name in ((2, "r hip"), (3, "r knee"), (5, "l hip"), (6, "l knee")):
        ax[1].plot(t[:n], obs[:n, j], label=name)
    ax[1].plot(t[:n], obs[:n, 1], "k--", label="pitch")
    ax[1].set_ylabel("rad")
    ax[1].legend(ncol=5, fontsize=8)
    ax[1].set_title("joint angles")
    m = tr["motor"]
    ax[2].plot(t[:n], m[:n, 0] - m[:n, 1], label="right F - E")
    ax[2].plot(t[:n], m[:n, 2] - m[:n, 3], label="left F - E")
    ax[2].legend(fontsize=8)
    ax[2].set_title("phase: flexor - extensor motor activation per leg")
    ax[2].set_xlabel("time (s)")
    dxs = [r for r in summary if r["metric"] == "dx"]
    xs = np.arange(len(dxs))
    ax[3].bar(xs, [r["mean"] for r in dxs], yerr=[[r["mean"] - r["ci_low"] for r in dxs],
                                                 [r["ci_high"] - r["mean"] for r in dxs]], color="C2")
    ax[3].set_xticks(xs, [r["controller"] for r in dxs], rotation=30, fontsize=8)
    ax[3].set_ylabel("dx (m), mean and 95 % CI")
    ax[3].axhline(0, color="k", lw=0.5)
    fig.tight_layout()
    path = write_with(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
    return path


def render_video(cfg: dict, master_seed: int, atlas: str, real_path, out_dir, every: int = 4) -> Path:
    """walk.gif of one full_loop episode, or SKIPPED.txt naming why (no EGL, no imageio)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MUJOCO_GL", "egl")
    try:
        import imageio.v2 as imageio

        from encephagen.bodies.loop import make_controller
        from encephagen.bodies.walker2d import Walker2dBody

        brain, e = first_brain(cfg, master_seed, atlas, real_path)
        body = Walker2dBody(max_steps=cfg["max_steps"], render_mode="rgb_array", width=320, height=240)
        ctl = make_controller("full_loop", brain=brain)
        obs = body.reset(e.seed_id)
        ctl.reset(e.seed_id, e.seed)
        frames = [body.render()]
        for k in range(cfg["max_steps"]):
            obs, _r, term, trunc, _ = body.step(ctl(obs))
            if k % every == 0:
                frames.append(body.render())
            if term or trunc:
                break
        body.close()
        p = out_dir / "walk.gif"
        write_with(p, lambda tmp: imageio.mimwrite(tmp, frames, format="GIF", duration=1000 * 0.008 * every, loop=0))
        return p
    except Exception as exc:  # rendering needs EGL (MUJOCO_GL=egl) and imageio
        p = out_dir / "SKIPPED.txt"
        write_text(p, f"video not rendered: {type(exc).__name__}: {exc}\n(MUJOCO_GL={os.environ.get('MUJOCO_GL')})\n")
        log.warning("embody video skipped: %s", exc)
        return p


def report_files(episodes, section: dict, master_seed: int, atlas: str | None, real_path, out_dir,
                 alpha: float = 0.05) -> dict:
    cfg = resolve(section)
    atlas = atlas or cfg["atlas"]
    out_dir = Path(out_dir)
    from encephagen.study.engines.embody import episode_rows

    rows = [r for p in episodes for r in episode_rows(p)]
    got = sorted({r["null_index"] for r in rows if r["controller"] == "brain_null"})
    if got and got != list(range(cfg["n_nulls"])):
        raise ValueError(f"embody.n_nulls = {cfg['n_nulls']}: the brain_null episodes hold null indices {got}, "
                         f"expected 0 .. {cfg['n_nulls'] - 1}")
    summ = summarise(rows)
    _write_tsv(out_dir / "summary.tsv", summ)
    bvn = brain_vs_null(rows, alpha)
    _write_tsv(out_dir / "brain_vs_null.tsv", bvn or [{"metric": "", "note": "needs full_loop and brain_null"}])
    eff = brain_effect(rows)
    _write_tsv(out_dir / "brain_effect.tsv", eff or [{"metric": "", "note": "needs full_loop and brain_ablated"}])
    ep = record_episode(cfg, master_seed, atlas, real_path)
    plot_figure(ep, summ, out_dir / "figure.png")
    vid = render_video(cfg, master_seed, atlas, real_path, out_dir / "video") if cfg["video"] else None
    if vid is None:
        (out_dir / "video").mkdir(parents=True, exist_ok=True)
        write_text(out_dir / "video" / "SKIPPED.txt", "video not rendered: embody.video is false\n")
    return {"summary": summ, "brain_vs_null": bvn, "brain_effect": eff}


# ------------------------------------------------------------------ command line
def _load_cfg(path):
    import yaml

    if not path:
        return {}, None
    with open(path) as fh:
        c = yaml.safe_load(fh) or {}
    return c.get("embody", {}), c.get("master_seed")


def register(subparsers) -> None:
    p = subparsers.add_parser("embody", help="the embodied closed loop on Walker2d (docs/bodies.md)")
    sub = p.add_subparsers(dest="embody_cmd", required=True)
    r = sub.add_parser("run", help="run one control on the configured seeds -> episodes file (.h5)")
    r.add_argument("--controller", required=True, help="one of zero, random, pd_stand, cpg_only, reflexes_only, "
                   "spinal, full_loop, brain_ablated, brain_null")
    r.add_argument("--config", help="config YAML with an embody section (default: schema defaults)")
    r.add_argument("--real", help="the real network's null-real batch file (brain controls)")
    r.add_argument("--nulls", nargs="*", default=None, help="null batch files (brain_null)")
    r.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    r.add_argument("--out", required=True, help="output episodes file (HDF5, kind runs, layout embody)")
    r.set_defaults(func=_cmd_run)
    q = sub.add_parser("report", help="summary, brain vs null, figure and video from episodes files")
    q.add_argument("--episodes", nargs="+", required=True, help="episodes files (.h5) of embody run")
    q.add_argument("--config", help="config YAML with an embody section")
    q.add_argument("--real", required=True, help="the real network's null-real batch file")
    q.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    q.add_argument("--out-dir", required=True, help="output directory")
    q.set_defaults(func=_cmd_report)
    k = sub.add_parser("calibrate-coupling", help="choose embody.brain.gain_out on training seeds (JSON record)")
    k.add_argument("--config", help="config YAML with an embody section")
    k.add_argument("--real", required=True, help="the real network's null-real batch file")
    k.add_argument("--nulls", nargs="*", default=[], help="null batch files holding --null-indices")
    k.add_argument("--null-indices", nargs="*", type=int, default=[20],
                   help="null indices used (keep them out of the test: >= embody.n_nulls; default 20)")
    k.add_argument("--gains", nargs="+", type=float, default=[0.02, 0.05, 0.1],
                   help="brain -> CPG coupling gains (embody.brain.gain_out) to compare (default 0.02 0.05 0.1)")
    k.add_argument("--seeds", nargs="+", type=int, default=list(range(20, 26)),
                   help="training seeds (default 20-25; never the held-out seeds)")
    k.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    k.add_argument("--out", required=True, help="output JSON record")
    k.set_defaults(func=_cmd_calibrate)


def _cmd_run(args) -> int:
    sec, ms = _load_cfg(args.config)
    ms = args.master_seed if args.master_seed is not None else (ms if ms is not None else 0)
    run_file(args.controller, sec, ms, None, args.real, args.nulls, args.out)
    print(args.out)
    return 0


def _cmd_report(args) -> int:
    sec, ms = _load_cfg(args.config)
    ms = args.master_seed if args.master_seed is not None else (ms if ms is not None else 0)
    res = report_files(args.episodes, sec, ms, None, args.real, args.out_dir)
    for r in res["summary"]:
        if r["metric"] in ("steps", "dx"):
            print(f"{r['controller']:>14} {r['metric']:>6} {r['mean']:8.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] "
                  f"n={r['n']} at limit={r['reached_limit']}")
    return 0


def _cmd_calibrate(args) -> int:
    sec, ms = _load_cfg(args.config)
    ms = args.master_seed if args.master_seed is not None else (ms if ms is not None else 0)
    cfg = resolve(sec)
    held = set(range(cfg["seed_start"], cfg["seed_start"] + cfg["n_seeds"]))
    if held & set(args.seeds):
        raise SystemExit(f"--seeds {sorted(held & set(args.seeds))} are held-out seeds (embody.seed_start, n_seeds)")
    rec = calibrate_coupling(sec, ms, cfg["atlas"], args.real, args.nulls, args.gains, args.seeds,
                             null_indices=tuple(args.null_indices), out=args.out)
    print(f"gain_out {rec['gain_out']} ({rec['episodes']} episodes, {rec['cpu_s']:.0f} CPU s) -> {args.out}")
    return 0
