"""The ``embody`` stage, file level (paths in, read, call the bodies engine, write) and its command line.

``encephagen embody run --controller NAME --real REAL.h5 [--nulls NULL.h5 ...] --out episodes.tsv``
runs one control on the configured seeds; ``encephagen embody report --episodes *.tsv --real
REAL.h5 --out-dir DIR`` writes ``summary.tsv`` (per controller and metric: n, mean, sd, 95 % CI),
``brain_vs_null.tsv`` (the real connectome network against its nulls, the network as unit, BH-FDR
over the metrics), ``brain_effect.tsv`` (full_loop - brain_ablated, paired by seed), ``figure.png``
(motor-neuron raster, joint angles, phase, dx per control) and ``video/`` (walk.gif, or
SKIPPED.txt naming why rendering was not possible). The workflow's scripts call :func:`run_file`
and :func:`report_files`.

Seeds: body, CPG and random control use the body seed s; the brain network of (family, null
index) is built from ``derive_seed(master_seed, atlas, family, null_index, "embody_build")`` and
its Poisson drive per episode from ``derive_seed(build seed, s, "lif")``. All recorded.
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
    from encephagen.schemas import section_defaults

    out = section_defaults("embody")
    for k, v in (section or {}).items():
        if k not in out:
            raise ValueError(f"embody.{k}: unknown key; known: {sorted(out)}")
        if isinstance(v, dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
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


def load_networks(real_path, null_paths, family: str, n_nulls: int) -> list[dict]:
    """[{family, null_index, weights, lengths}] : the real network, then the first n_nulls nulls."""
    from encephagen.nulls import read_nulls

    real = read_nulls(real_path)
    out = [{"family": "real", "null_index": int(real.null_index[0]), "weights": real.weights[0],
            "lengths": real.lengths[0]}]
    for p in null_paths or []:
        b = read_nulls(p)
        if b.family != family:
            continue
        for k in range(len(b)):
            out.append({"family": family, "null_index": int(b.null_index[k]), "weights": b.weights[k],
                        "lengths": b.lengths[k]})
    nulls = sorted(out[1:], key=lambda d: d["null_index"])[:n_nulls]
    if null_paths is not None and len(nulls) < n_nulls:
        raise ValueError(f"embody.n_nulls = {n_nulls}: only {len(nulls)} nulls of family {family!r} in {null_paths}")
    return out[:1] + nulls


def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for k in ("mujoco", "gymnasium", "cma", "numpy"):
        try:
            out[k] = md.version(k)
        except md.PackageNotFoundError:
            out[k] = ""
    return out


def make_brain(net: dict, cfg: dict, atlas: str, master_seed: int):
    from encephagen.bodies.loop import BrainNetwork
    from encephagen.seeds import derive_seed

    sens, mot = brain_regions(atlas)
    b = cfg["brain"]
    seed = derive_seed(master_seed, atlas, net["family"], net["null_index"], "embody_build")
    return BrainNetwork(net["weights"], net["lengths"], sens, mot, seed=seed, n_e=b["n_e"], n_i=b["n_i"], dt=b["dt"],
                        gain_in=b["gain_in"], gain_out=b["gain_out"], max_drive=b["max_drive"],
                        name=f"{atlas}-{net['family']}-{net['null_index']}")


def run_controller(controller: str, cfg: dict, master_seed: int, atlas: str, networks=None) -> list[dict]:
    """Rows (one per network x seed) of one control."""
    from encephagen.bodies.loop import make_controller, run_loop_episode
    from encephagen.bodies.walker2d import Walker2dBody

    seeds = range(cfg["seed_start"], cfg["seed_start"] + cfg["n_seeds"])
    if controller == "full_loop":
        nets = networks[:1]
    elif controller == "brain_null":
        nets = networks[1:]
    else:
        nets = [None]
    body = Walker2dBody(max_steps=cfg["max_steps"])
    rows = []
    try:
        for net in nets:
            brain = make_brain(net, cfg, atlas, master_seed) if net is not None else None
            ctl = make_controller(controller, brain=brain)
            for s in seeds:
                t = time.process_time()
                r = run_loop_episode(body, ctl, s, max_steps=cfg["max_steps"])
                rows.append({"controller": controller, "family": net["family"] if net else "",
                             "null_index": net["null_index"] if net else -1,
                             "network_seed": brain.seed if brain else -1, "seed": s, "steps": r["steps"],
                             "dx": r["dx"], "velocity": r["velocity"], "return": r["return"],
                             "terminated": int(r["terminated"]), "truncated": int(r["truncated"]),
                             "cpu_s": time.process_time() - t})
            log.info("embody %s %s: %d seeds, mean steps %.1f, dx %.2f m", controller,
                     net["family"] + str(net["null_index"]) if net else "", len(seeds),
                     np.mean([x["steps"] for x in rows[-len(seeds):]]), np.mean([x["dx"] for x in rows[-len(seeds):]]))
    finally:
        body.close()
    return rows


def _write_tsv(path, rows, header=None):
    header = header or list(rows[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, header, delimiter="\t", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return write_text(path, buf.getvalue())


def _read_tsv(path) -> list[dict]:
    with open(path) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for r in rows:
        for k in ("seed", "steps", "null_index", "terminated", "truncated", "network_seed"):
            r[k] = int(r[k])
        for k in ("dx", "velocity", "return", "cpu_s"):
            r[k] = float(r[k])
    return rows


def run_file(controller: str, section: dict, master_seed: int, atlas: str | None, real_path, null_paths, out) -> Path:
    cfg = resolve(section)
    atlas = atlas or cfg["atlas"]
    nets = None
    if controller in BRAIN_CONTROLLERS:
        nets = load_networks(real_path, null_paths, cfg["null_family"], cfg["n_nulls"])
    rows = run_controller(controller, cfg, master_seed, atlas, nets)
    out = _write_tsv(out, rows)
    meta = {"controller": controller, "atlas": atlas, "master_seed": master_seed, "config": cfg,
            "versions": _versions(), "gait": "encephagen/bodies/assets/walker2d_gait.json"}
    write_text(Path(str(out) + ".json"), json.dumps(meta, indent=1, default=str))
    return out


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
    mean over seeds against the null networks' means; two-sided empirical p = (1 + #nulls at
    least as far from the null mean) / (n_nulls + 1); z; BH-FDR over the metrics (statsmodels)."""
    from statsmodels.stats.multitest import multipletests

    real = [r for r in rows if r["controller"] == "full_loop"]
    nulls = [r for r in rows if r["controller"] == "brain_null"]
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
def record_episode(cfg: dict, master_seed: int, atlas: str, real_path):
    """One full_loop episode (first seed, the real network) with traces."""
    from encephagen.bodies.loop import make_controller, run_loop_episode
    from encephagen.bodies.walker2d import Walker2dBody

    nets = load_networks(real_path, None, cfg["null_family"], 0)
    brain = make_brain(nets[0], cfg, atlas, master_seed)
    body = Walker2dBody(max_steps=cfg["max_steps"])
    try:
        return run_loop_episode(body, make_controller("full_loop", brain=brain), cfg["seed_start"],
                                max_steps=cfg["max_steps"], record=True)
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

        nets = load_networks(real_path, None, cfg["null_family"], 0)
        brain = make_brain(nets[0], cfg, atlas, master_seed)
        body = Walker2dBody(max_steps=cfg["max_steps"], render_mode="rgb_array", width=320, height=240)
        ctl = make_controller("full_loop", brain=brain)
        obs = body.reset(cfg["seed_start"])
        ctl.reset(cfg["seed_start"])
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
    rows = [r for p in episodes for r in _read_tsv(p)]
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
    r = sub.add_parser("run", help="run one control on the configured seeds -> episodes TSV")
    r.add_argument("--controller", required=True, help="one of zero, random, pd_stand, cpg_only, reflexes_only, "
                   "spinal, full_loop, brain_ablated, brain_null")
    r.add_argument("--config", help="config YAML with an embody section (default: schema defaults)")
    r.add_argument("--real", help="the real network's null-real batch file (brain controls)")
    r.add_argument("--nulls", nargs="*", default=None, help="null batch files (brain_null)")
    r.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    r.add_argument("--out", required=True, help="output episodes TSV")
    r.set_defaults(func=_cmd_run)
    q = sub.add_parser("report", help="summary, brain vs null, figure and video from episodes TSVs")
    q.add_argument("--episodes", nargs="+", required=True, help="episodes TSVs of embody run")
    q.add_argument("--config", help="config YAML with an embody section")
    q.add_argument("--real", required=True, help="the real network's null-real batch file")
    q.add_argument("--master-seed", type=int, default=None, help="master seed (default: the config's)")
    q.add_argument("--out-dir", required=True, help="output directory")
    q.set_defaults(func=_cmd_report)


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
