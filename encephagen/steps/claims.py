"""The claims page (issue 21): study results directories in, ``claims.md`` (+ ``claims.tsv`` and the
claim-4 operating-point figure) out. The rows are built by :mod:`encephagen.analysis.claims`.

A study is named ``NAME=DIR``: DIR is a workflow directory (holding ``results/``) or a results
directory itself. NAME says what it answers: ``claim1*`` (decomposition), ``claim2*`` (silencing),
``claim3*`` (LIF hierarchy), ``claim4*`` (operating-point sweep), ``claim6*`` (FC), ``claim7*`` (the
evoked tests, ``evoked_tests.tsv`` anywhere under DIR), ``learn*`` (claims 5 and 8), ``embody*``
(claim 5). The resolved config recorded by the run (``results/dataset_description.json``) says
what ran (model, atlas, nulls, seeds, G). Where DIR also holds ``time.txt`` (GNU ``time -v``) and
``snakemake.log``, the page lists the measured wall and CPU time and the job count.
"""
from __future__ import annotations

import json
import math
import logging
import os
import re
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from encephagen.analysis import claims as C
from encephagen.io.tables import read_tsv, write_table, write_text, write_with

log = logging.getLogger(__name__)

__all__ = ["results_root", "resolved_config", "study_rows", "run_sizes", "build_claims", "plot_operating_point",
           "measured_costs", "cluster_estimate", "sweep_from_real_runs", "claim1_profiles", "claim1_from_run",
           "plot_claim1", "STUDY_CONFIGS", "workflow_claims"]

# the study config that evaluates each claim (the workflow page's "not run in this configuration" rows)
# The models the predecessor's claims are about (claims 1, 2, 4: Wilson-Cowan; 3, 4: the spiking LIF
# network): the claims rules read these, they do not name an engine's model themselves.
CLAIM_MODELS = {"rate": "wilson_cowan", "spiking": "lif"}

STUDY_CONFIGS = {"1": "config/studies/claim1_decomposition.yaml", "2": "config/studies/claim2_silencing.yaml",
                 "3": "config/studies/claim3_spiking_hierarchy.yaml",
                 "4": "config/studies/claim4_opposite_hierarchies.yaml",
                 "5": "config/learn.yaml and config/embody.yaml (stages learn, embody)",
                 "6": "config/studies/claim6_fc.yaml (stage hopf with an FC pair)",
                 "7": "config/studies/claim7_dmri_wall.yaml (stage evoked)",
                 "8": "the cognition stage (stages: [cognition]; results/cognition/<atlas>/cognition_tests.tsv)"}


def results_root(d: str | os.PathLike) -> Path:
    d = Path(d)
    if (d / "results" / "dataset_description.json").is_file() or (d / "results").is_dir() and not (d / "stats").is_dir():
        return d / "results"
    return d


def resolved_config(root: Path) -> dict:
    p = root / "dataset_description.json"
    if not p.is_file():
        return {}
    return dict(json.loads(p.read_text()).get("config", {}))


def _one(root: Path, pattern: str, what: str, required: bool = True) -> Path | None:
    hits = sorted(root.glob(pattern))
    if not hits:
        if required:
            raise FileNotFoundError(f"{what}: no {pattern} under {root}")
        return None
    return hits[0]


def _rel(p: Path | None, base: Path) -> str:
    return "" if p is None or not Path(p).exists() else os.path.relpath(p, base)


def plot_operating_point(sweeps: Mapping[str, pd.DataFrame], path: str | os.PathLike) -> Path:
    """Claim 4's figure: rho(activity, T1w/T2w) of the real network against G per model (the
    spatial null's central 95 % shaded), and Kendall tau of the class-group order vs the predecessor's."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(sweeps), figsize=(4.2 * len(sweeps), 6), squeeze=False, sharey="row")
    for j, (model, sw) in enumerate(sweeps.items()):
        ax = axes[0, j]
        ax.fill_between(sw["G"], sw["ref_q025"], sw["ref_q975"], color="0.85", label="spatial null 95 %")
        ax.plot(sw["G"], sw["rho_t1t2"], "o-", color="C0" if j == 0 else "C3",
                label=f"real network ({sw['metric'].iloc[0]})")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_title(model)
        ax.set_ylabel("Spearman rho with T1w/T2w")
        ax.legend(fontsize=7, loc="best")
        ax = axes[1, j]
        ax.plot(sw["G"], sw["tau_predecessor_order"], "s-", color="0.3")
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_ylim(-1.05, 1.05)
        for a in axes[:, j]:
            a.set_xticks(list(sw["G"]), [f"{g:g}" for g in sw["G"]])
            a.minorticks_off()
        ax.set_xlabel("G (" + ("normalised coupling" if model != "lif" else "LIF long-range scale") + ")")
        ax.set_ylabel("Kendall tau vs predecessor order")
    fig.suptitle("Claim 4: sign of the regional hierarchy across operating points (tvb96)")
    fig.tight_layout()
    out = write_with(path, lambda p: fig.savefig(p, format="png", dpi=120))
    plt.close(fig)
    return out


def claim1_profiles(store: str | os.PathLike, sims: list | None = None, *, metrics=None,
                    censored: Mapping[str, str] | None = None) -> dict:
    """Claim 1's profiles of one (atlas, model): per regional-hierarchy metric the real network's
    (parameter sets x regions) and each null family's (N x parameter sets x regions) seed-mean
    regional profiles, from the aggregate store; with ``sims`` (the model's simulation files) also
    the FC pattern (upper triangle of the seed-mean FC of activity, or of BOLD). ``censored``
    (analysis.censored_metrics): NaN of those metrics becomes +inf (high) / -inf (low) before the
    seed mean (a time scale beyond the record ranks top, never dropped)."""
    import h5py

    from encephagen.io import open_validated, read_strings

    censored = dict({"acf_tau_ms": "high", "acf_timescale": "high"} if censored is None else censored)
    out: dict = {}
    with open_validated(store, "aggregate") as f:
        fam = np.array(read_strings(f["network_family"]))
        have = [m for m in f["regional"]]
        use = [m for m in (metrics or C.HIERARCHY_METRICS) if m in have]
        for m in use:
            x = f["regional"][m][()].astype(float)            # network, seed, param, region
            if m in censored:
                x = np.where(np.isnan(x), np.inf if censored[m] == "high" else -np.inf, x)
            with np.errstate(invalid="ignore"):
                mean = x.mean(axis=1)                          # seed mean: network, param, region
            real = mean[fam == "real"]
            if len(real) != 1:
                raise ValueError(f"{store}: {len(real)} real networks in the store")
            nulls = {str(g): mean[fam == g] for g in dict.fromkeys(fam) if g != "real" and (fam == g).sum() >= 2}
            if nulls:
                out[m] = (real[0], nulls)
    if sims:
        fcs: dict = {}
        for p in sims:
            with h5py.File(p, "r") as f:
                if f.attrs.get("status", "ok") == "skipped":
                    continue
                key = "fc_activity" if "fc_activity" in f else ("fc_bold" if "fc_bold" in f else None)
                if key is None:
                    continue
                family = np.array(read_strings(f["family"]))
                idx, G, fc = f["null_index"][()], f["G"][()], f[key]
                iu = np.triu_indices(fc.shape[1], 1)
                for i in range(fc.shape[0]):
                    fcs.setdefault((str(family[i]), int(idx[i]), float(G[i])), []).append(fc[i][iu].astype(float))
        if fcs:
            grid = sorted({k[2] for k in fcs})
            nets = sorted({k[:2] for k in fcs})
            arr = {n: np.stack([np.mean(fcs[(*n, g)], axis=0) if (*n, g) in fcs else
                                np.full(len(next(iter(fcs.values()))[0]), np.nan) for g in grid]) for n in nets}
            real = [v for k, v in arr.items() if k[0] == "real"]
            fams = {}
            for (family, _), v in arr.items():
                if family != "real":
                    fams.setdefault(family, []).append(v)
            fams = {k: np.stack(v) for k, v in fams.items() if len(v) >= 2}
            if len(real) == 1 and fams:
                out[C.FC_PROFILE] = (real[0], fams)
    return out


def claim1_from_run(store, sims, out_tests, *, n_boot: int = 1000, seed: int = 0, alpha: float = C.ALPHA,
                    censored: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Claim 1's tests table (:func:`encephagen.analysis.claims.claim1_tests`) of one run, written to
    ``out_tests`` (with the bootstrap seed)."""
    prof = claim1_profiles(store, sims, censored=censored)
    if not any(m != C.FC_PROFILE for m in prof):
        raise FileNotFoundError(f"claim 1: no regional-hierarchy metric with null networks in {store}")
    t = C.claim1_tests(prof, n_boot=n_boot, seed=seed, alpha=alpha)
    t["bootstrap_seed"] = int(seed)
    t["n_boot"] = int(n_boot)
    write_table(t, out_tests, float_format="%.6g")
    return t


def plot_claim1(tests: pd.DataFrame, path: str | os.PathLike, *, rho_min: float = 0.8) -> Path:
    """Claim 1's figure: per metric and null family, the agreement of the family's mean regional
    profile with the real network's (bootstrap 95 %), the equivalence bound, and the atypicality q."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = list(dict.fromkeys(tests["metric"]))
    fams = list(dict.fromkeys(tests["family"]))
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(metrics), 3.8))
    w = 0.8 / max(1, len(fams))
    for j, fam in enumerate(fams):
        t = tests[tests["family"] == fam].set_index("metric").reindex(metrics)
        x = np.arange(len(metrics)) + (j - (len(fams) - 1) / 2) * w
        a = t["agreement"].to_numpy(float)
        ax.errorbar(x, a, yerr=[a - t["ci_low"].to_numpy(float), t["ci_high"].to_numpy(float) - a], fmt="o",
                    color=f"C{j}", label=fam, capsize=2)
        for xi, ai, qi in zip(x, a, t["q_atypical"].to_numpy(float)):
            if np.isfinite(qi) and qi <= C.ALPHA:
                ax.text(xi, min(1.0, ai + 0.05) if np.isfinite(ai) else 0, "*", ha="center", color=f"C{j}")
    ax.axhline(rho_min, color="k", ls="--", lw=0.8, label=f"equivalence bound {rho_min:g}")
    ax.set_xticks(np.arange(len(metrics)), metrics, rotation=20)
    ax.set_ylabel("agreement with the real profile\n(Spearman, family mean)")
    ax.set_ylim(min(-0.1, float(np.nanmin(tests["ci_low"])) - 0.05) if len(tests) else -0.1, 1.08)
    ax.set_title("Claim 1: how much of the real regional profile each null family reproduces\n"
                 "(* real network atypical among the family, BH q <= 0.05)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    out = write_with(path, lambda p: fig.savefig(p, format="png", dpi=110))
    plt.close(fig)
    return out


def run_sizes(name: str, d: Path, root: Path) -> dict:
    """Measured time (GNU time -v: time.txt) and job count (snakemake.log) of one study run."""
    row = {"study": name, "jobs": "", "wall_s": "", "cpu_s": "", "max_rss_mb": "", "benchmarked_jobs": "",
           "benchmarked_cpu_s": "",
           "n_per_family": resolved_config(root).get("nulls", {}).get("n_per_family", "")}
    t = d / "time.txt"
    if t.is_file():
        txt = t.read_text()

        def get(key):
            m = re.search(rf"{re.escape(key)}:\s*([^\n]+)", txt)
            return m.group(1).strip() if m else None
        user, sys_ = get("User time (seconds)"), get("System time (seconds)")
        wall = get("Elapsed (wall clock) time (h:mm:ss or m:ss)")
        if user and sys_:
            row["cpu_s"] = round(float(user) + float(sys_))
        if wall:
            parts = [float(x) for x in wall.split(":")]
            row["wall_s"] = round(sum(v * 60 ** i for i, v in enumerate(reversed(parts))))
        rss = get("Maximum resident set size (kbytes)")
        if rss:
            row["max_rss_mb"] = round(float(rss) / 1024)
    bench = sorted((d / "benchmarks" / "rules").rglob("*.tsv"))
    if bench:   # per job, whether or not the run finished (Snakemake benchmarks; the controller excluded)
        cpu = [float(pd.to_numeric(read_tsv(f)["cpu_time"], errors="coerce").iloc[-1]) for f in bench]
        row["benchmarked_jobs"] = len(cpu)
        row["benchmarked_cpu_s"] = round(float(np.nansum(cpu)), 1)
    lg = d / "snakemake.log"
    if lg.is_file():
        m = re.findall(r"(\d+) of (\d+) steps \(100%\) done", lg.read_text())
        if m:
            row["jobs"] = int(m[-1][1])
    return row


def _claim_from_study(key, name, d, root, cfg, studies, got, page_dir, fig_dir) -> None:
    """The row of the claim that study ``name`` answers (``got[k]``), from its tables."""
    if key.startswith("claim1"):
        store = _one(root, "aggregate/atlas-tvb96/model-wilson_cowan/store.h5", "claim 1", False) or \
            _one(root, "aggregate/atlas-*/model-wilson_cowan/store.h5", "claim 1")
        sims = sorted(store.parent.parent.parent.glob(f"sims/{store.parent.parent.name}/model-wilson_cowan/null-*/batch-*.h5"))
        an = cfg.get("analysis", {})
        t = claim1_from_run(store, sims, fig_dir / "claim1_tests.tsv", n_boot=int(cfg.get("claims", {}).get("n_bootstrap", 1000)),
                            seed=0, alpha=float(an.get("fdr_alpha", C.ALPHA)), censored=an.get("censored_metrics"))
        rho_min = float(an.get("profile_rho_min", 0.8))
        fig = plot_claim1(t, fig_dir / "claim1_profiles.png", rho_min=rho_min)
        got["1"] = C.claim1_decomposition(t, cfg=cfg, rho_min=rho_min, figure=_rel(fig, page_dir))
    elif key.startswith("claim2"):
        s = _one(root, "stats/atlas-*/model-wilson_cowan", "claim 2", False)
        fig = _one(root, "figures/atlas-*/model-wilson_cowan/silencing.png", "claim 2", False)
        if s is not None and (s / "silencing.tsv").is_file():
            got["2"] = C.claim2_silencing(read_tsv(s / "silencing.tsv"), cfg=cfg, figure=_rel(fig, page_dir))
        else:
            sw = sweep_from_real_runs(d, fig_dir, model="wilson_cowan", metric="mean")
            got["2"] = C.claim2_silencing(sw.attrs["silencing"], cfg=cfg, figure=_rel(fig, page_dir))
            got["2"].note += " (the real network's runs alone: the study's null-network runs had not finished)"
    elif key.startswith("claim3"):
        s = _one(root, "stats/atlas-*/model-lif", "claim 3", False)
        fig = _one(root, "figures/atlas-*/model-lif/t1t2.png", "claim 3", False)
        if s is not None and (s / "t1t2.tsv").is_file():
            t1t2 = read_tsv(s / "t1t2.tsv")
            sw = C.hierarchy_sweep(t1t2, read_tsv(s / "class_summary.tsv"), metric="rate", model="lif")
            got["3"] = C.claim3_spiking(sw, t1t2, cfg=cfg, figure=_rel(fig, page_dir))
        else:
            sw = sweep_from_real_runs(d, fig_dir, model="lif", metric="rate")
            got["3"] = C.claim3_spiking(sw, sw.attrs["t1t2"], cfg=cfg, figure=_rel(fig, page_dir))
            got["3"].note += " (the real network's runs alone: the study's null-network runs had not finished)"
    elif key.startswith("claim4"):
        sweeps = {}
        partial = []
        for model, metric in (("wilson_cowan", "mean"), ("lif", "rate")):
            s = _one(root, f"stats/atlas-*/model-{model}", "claim 4", False)
            if s is not None and (s / "t1t2.tsv").is_file() and (s / "class_summary.tsv").is_file():
                sweeps[model] = C.hierarchy_sweep(read_tsv(s / "t1t2.tsv"), read_tsv(s / "class_summary.tsv"),
                                                  metric=metric, model=model)
            else:   # the study's null runs not finished: the real network's runs alone
                sweeps[model] = sweep_from_real_runs(d, fig_dir, model=model, metric=metric)
                partial.append(model)
        fig = plot_operating_point(sweeps, fig_dir / "claim4_operating_point.png")
        write_table(pd.concat(sweeps.values(), ignore_index=True), fig_dir / "claim4_operating_point.tsv",
                    float_format="%.6g")
        got["4"] = C.claim4_opposite(sweeps, cfg=cfg, figure=_rel(fig, page_dir))
        if partial:
            got["4"].note += (f" (computed from the real network's runs alone for {', '.join(partial)}: the study's "
                              "null-network runs had not finished; the map's spatial null is unaffected)")
    elif key.startswith("claim6"):
        h = _one(root, "hopf/atlas-*/heldout_vs_nulls.tsv", "claim 6")
        fig = _one(root, "figures/atlas-*/model-hopf_linear/hopf_heldout.png", "claim 6", False)
        base = None
        b = root / "baselines" / "sc_fc.tsv"
        if b.is_file():
            bt = read_tsv(b)
            col = next((c for c in ("r_log_sc", "r_sc", "r") if c in bt.columns), None)
            base = float(pd.to_numeric(bt[col], errors="coerce").max()) if col else None
        got["6"] = C.claim6_fc(read_tsv(h), baseline_r=base, cfg=cfg, figure=_rel(fig, page_dir))
    elif key.startswith("claim8"):
        ts = sorted(Path(studies[name]).rglob("cognition_tests.tsv"))
        if not ts:
            raise FileNotFoundError(f"claim 8: no cognition_tests.tsv under {studies[name]}")
        got["8"] = C.claim8_cognitive(tests=pd.concat([read_tsv(t) for t in ts], ignore_index=True))
    elif key.startswith("claim7"):
        t = next(iter(sorted(Path(studies[name]).rglob("evoked_tests.tsv"))), None)
        if t is None:
            raise FileNotFoundError(f"claim 7: no evoked_tests.tsv under {studies[name]}")
        fig = next(iter(sorted(t.parent.glob("*.png"))), None)
        got["7"] = C.claim7_evoked(read_tsv(t), figure=_rel(fig, page_dir))


def study_rows(studies: Mapping[str, str | os.PathLike], page_dir: Path, fig_dir: Path) -> tuple[list, pd.DataFrame]:
    """One claim row per claim (1-8) from the given studies; pending rows for the rest."""
    got: dict[str, C.ClaimRow] = {}
    sizes = []
    learn = embody = None
    roots = {k: results_root(v) for k, v in studies.items()}
    for name, root in roots.items():
        d = Path(studies[name])
        cfg = resolved_config(root)
        if all(Path(studies[k]).resolve() != d.resolve() for k in list(roots)[:list(roots).index(name)]):
            sizes.append(run_sizes(name, d, root))
        key = name.lower()
        try:
            _claim_from_study(key, name, d, root, cfg, studies, got, page_dir, fig_dir)
        except FileNotFoundError as exc:   # a run that did not get that far: say so, never a verdict
            k = key[5] if key.startswith("claim") and len(key) > 5 else None
            if k is None:
                raise
            got[k] = C.pending_row(k, f"pending: the {name} run has not produced its tables ({exc})")
        if key.startswith("learn"):
            learn = root
        elif key.startswith("embody"):
            embody = root
        elif not key.startswith("claim"):
            raise ValueError(f"claims: unknown study name {name!r} (claim1..claim8, learn, embody)")
    for k, row in got.items():   # say which run a row was read from (a claim may be read from another claim's study)
        src = next(Path(v) for n, v in studies.items() if n.lower().startswith(f"claim{k}"))
        row.note = f"[run: {src.name}] " + row.note
    eff = vs = bvn = None
    fig5 = None
    if learn is not None:
        eff = pd.concat([read_tsv(p) for p in sorted(learn.glob("learn/atlas-*/protocol-*/effects.tsv"))] or [pd.DataFrame()])
        vs = pd.concat([read_tsv(p) for p in sorted(learn.glob("learn/atlas-*/protocol-*/vs_nulls.tsv"))] or [pd.DataFrame()])
        fig5 = _one(learn, "learn/atlas-*/protocol-conditioning/summary.png", "learn", False)
    if embody is not None:
        p = _one(embody, "embody/atlas-*/brain_vs_null.tsv", "embody")
        bvn = read_tsv(p)
    if learn is not None or embody is not None:
        got["5"] = C.claim5_learning(eff if eff is not None and len(eff) else None,
                                     vs if vs is not None and len(vs) else None, bvn, figure=_rel(fig5, page_dir))
    got.setdefault("5", C.pending_row("5", "pending: run config/learn.yaml and config/embody.yaml; pass learn=DIR embody=DIR"))
    got.setdefault("8", C.claim8_cognitive(vs if vs is not None and len(vs) else None))
    pend = {"1": "config/studies/claim1_decomposition.yaml", "2": "config/studies/claim2_silencing.yaml",
            "3": "config/studies/claim3_spiking_hierarchy.yaml", "4": "config/studies/claim4_opposite_hierarchies.yaml",
            "6": "config/studies/claim6_fc.yaml", "7": "config/studies/claim7_dmri_wall.yaml"}
    for k, cfgfile in pend.items():
        got.setdefault(k, C.pending_row(k, f"pending: run {cfgfile}"))
    return [got[k] for k in sorted(got)], pd.DataFrame(sizes)


def build_claims(studies: Mapping[str, str | os.PathLike], out_md: str | os.PathLike, *,
                 header: str = "") -> dict[str, Path]:
    """Write ``out_md`` (the page), ``<stem>.tsv`` (the rows) and the claim-4 figure beside it
    (``<stem>_figures/``)."""
    out_md = Path(out_md)
    fig_dir = out_md.parent / f"{out_md.stem}_figures"
    rows, sizes = study_rows(studies, out_md.parent, fig_dir)
    written = {"page": write_text(out_md, C.claims_markdown(rows, header=header, sizes=sizes)),
               "table": write_table(C.rows_table(rows), out_md.with_suffix(".tsv"), float_format="%.6g")}
    return written


def measured_costs(d: str | os.PathLike) -> dict:
    """CPU costs measured by a study run's Snakemake benchmarks (``benchmarks/rules/``, column
    cpu_time), with the run's resolved config: per model the marginal CPU s per simulated second of
    one run (a line through the simulate jobs' (runs x simulated s, CPU s); one job: its CPU over its
    run-seconds, an upper bound) and the mean CPU s of every other job (the fixed cost of a job)."""
    d = Path(d)
    root = results_root(d)
    cfg = resolved_config(root)
    if not cfg:
        raise FileNotFoundError(f"{root}/dataset_description.json: no resolved config (has the study run?)")
    bench = d / "benchmarks" / "rules"
    runs = C.simulation_runs(cfg)
    nb = int(cfg["nulls"].get("batch_size", cfg["nulls"]["n_per_family"]))
    per_model: dict[str, list[tuple[float, float]]] = {}
    other = []
    for f in sorted(bench.rglob("*.tsv")):
        cpu = float(pd.to_numeric(read_tsv(f)["cpu_time"], errors="coerce").iloc[-1])
        rel = f.relative_to(bench).parts
        if rel[0] == "simulate_batch":
            model = rel[2].removeprefix("model-")
            fam = rel[3].removeprefix("null-")
            r = runs.get(model)
            if r is None:
                continue
            n_net = 1 if fam == "real" else min(nb, int(cfg["nulls"]["n_per_family"]))
            per_model.setdefault(model, []).append((n_net * r["seeds"] * r["n_G"] * r["sim_s_per_run"], cpu))
        else:
            other.append(cpu)
    out = {"cpu_per_sim_s": {}, "sim_jobs_cpu_s": {}, "other_jobs": len(other),
           "cpu_per_job": float(np.mean(other)) if other else math.nan, "other_cpu_s": float(np.sum(other))}
    for m, pts in per_model.items():
        x, y = np.array(pts).T
        out["sim_jobs_cpu_s"][m] = float(y.sum())
        if len(set(x)) >= 2:
            b = float(np.polyfit(x, y, 1)[0])
            out["cpu_per_sim_s"][m] = b if b > 0 else float(y.sum() / x.sum())
        else:
            out["cpu_per_sim_s"][m] = float(y.sum() / x.sum())
    return out


def cluster_estimate(d: str | os.PathLike, cluster_cfg: Mapping, n_jobs: int, *, complete_graph: bool = False,
                     cpu_per_sim_s: Mapping[str, float] | None = None, cpu_per_job: float | None = None) -> dict:
    """Core-hours of the cluster-size design (its resolved config ``cluster_cfg``, ``n_jobs`` from
    ``snakemake -n``) from the costs a laptop run measured (:func:`measured_costs`)."""
    m = measured_costs(d)
    runs = C.simulation_runs(cluster_cfg, complete_graph=complete_graph)
    costs = {**m["cpu_per_sim_s"], **dict(cpu_per_sim_s or {})}
    est = C.core_hours(runs, costs, n_jobs=n_jobs,
                       cpu_per_job=m["cpu_per_job"] if cpu_per_job is None else float(cpu_per_job))
    return {**est, "runs": runs, "measured": m}


def sweep_from_real_runs(d: str | os.PathLike, out_dir: str | os.PathLike, *, model: str, metric: str) -> pd.DataFrame:
    """Claim 4's sweep for one model from the real network's simulation file alone (when the null
    networks' runs of a study have not finished; without it, the operating-point rule's
    ``presweep.h5``: the real network at the grid with the main run's settings): the aggregation, T1w/T2w correlation (the map's
    spatial surrogates, the run's seed rule and surrogate count) and class summary of the workflow,
    on the real network's runs only. Written under ``out_dir`` (never into the study's results)."""
    from encephagen.analysis.hierarchy import class_summary
    from encephagen.analysis.run import run_t1t2
    from encephagen.analysis.run import read_table
    from encephagen.seeds import derive_seed
    from encephagen.steps.aggregate import aggregate_files

    d = Path(d)
    root = results_root(d)
    cfg = resolved_config(root)
    atlas = cfg["atlases"][0]
    sim = root / "sims" / f"atlas-{atlas}" / f"model-{model}" / "null-real" / "batch-0000.h5"
    if not sim.is_file():   # the operating-point rule's run of the real network at the grid (same settings and seeds)
        pre = root / "operating_point" / f"atlas-{atlas}" / f"model-{model}" / "presweep.h5"
        sim = pre if pre.is_file() else sim
    con = d / "resources" / "connectomes" / f"{atlas}.h5"
    t1t2 = d / "resources" / "t1t2" / f"{atlas}.tsv"
    for p in (sim, con, t1t2):
        if not p.is_file():
            raise FileNotFoundError(f"claim 4 (real-network sweep): {p} missing")
    out = Path(out_dir) / f"real-{model}"
    aggregate_files([sim], con, out_store=out / "store.h5", out_network=out / "network.tsv.gz",
                    out_regional=out / "regional.tsv.gz", expected_nulls={}, allow_missing=True)
    an = cfg.get("analysis", {})
    t_out = run_t1t2(out / "regional.tsv.gz", t1t2, out=out / "t1t2.tsv", distances=con,
                     n_surrogates=int(an.get("n_spatial_surrogates", 500)),
                     seed=derive_seed(cfg["master_seed"], "t1t2", atlas), metrics=[metric],
                     censored_metrics=an.get("censored_metrics"), fdr_alpha=float(an.get("fdr_alpha", 0.05)))
    cs = class_summary(read_table(out / "regional.tsv.gz"))
    sw = C.hierarchy_sweep(read_tsv(t_out), cs, metric=metric, model=model)
    sw.attrs["t1t2"] = read_tsv(t_out)
    sil = an.get("silencing", {})
    if model != "lif" and sil:   # the silencing order of the real network (analysis.silencing's rule)
        from encephagen.analysis.run import run_silencing
        w = run_silencing(out / "regional.tsv.gz", metric=sil["metric"], threshold=float(sil["threshold"]),
                          below=bool(sil.get("below", False)), out={"summary": out / "silencing.tsv"})
        sw.attrs["silencing"] = read_tsv(w["summary"])
    return sw


def _first(x):
    if isinstance(x, (list, tuple)):
        return x[0] if x else None
    return x


def workflow_claims(inputs: Mapping[str, object], results_dir: str | os.PathLike, *, out_html, out_md, out_tsv,
                    fig_dir, cfg: Mapping, n_boot: int = 1000, seed: int = 0) -> dict:
    """The claims page of one workflow run, from the run's OWN outputs (``inputs``, named by the
    rule claims: ``c1_store`` + ``c1_sims``, ``c2_silencing``, ``c3_t1t2`` + ``c3_class``,
    ``c4_<model>_t1t2`` + ``c4_<model>_class``, ``c5_effects``/``c5_vs_nulls``/``c5_embody``,
    ``c6_heldout`` (+ ``c6_baseline``), ``c7_evoked``, ``c8_cognition``). Every claim whose inputs
    are present gets its verdict row; the others a row "not run in this configuration" naming the
    study config that evaluates it. Writes the page (HTML for the report, Markdown), the rows' TSV
    and ``fig_dir`` (claim 1's tests table and figure, claim 4's figure when they ran)."""
    import base64

    res = Path(results_dir)
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    an = cfg.get("analysis", {})
    alpha = float(an.get("fdr_alpha", C.ALPHA))
    rel = lambda p: _rel(Path(p), res) if p else ""
    figs = lambda pat: next(iter(sorted(res.glob(pat))), None)
    got: dict[str, C.ClaimRow] = {}
    shown: dict[str, str] = {}
    i = dict(inputs)
    if i.get("c1_store"):
        t = claim1_from_run(_first(i["c1_store"]), list(i.get("c1_sims") or []), fig_dir / "claim1_tests.tsv",
                            n_boot=n_boot, seed=seed, alpha=alpha, censored=an.get("censored_metrics"))
        rho_min = float(an.get("profile_rho_min", 0.8))
        f1 = plot_claim1(t, fig_dir / "claim1_profiles.png", rho_min=rho_min)
        shown["Claim 1"] = str(f1)
        try:
            got["1"] = C.claim1_decomposition(t, cfg=cfg, alpha=alpha, rho_min=rho_min, figure=rel(f1))
        except ValueError as exc:   # e.g. no degree family on this atlas
            got["1"] = C.not_run_row("1", f"{exc}; run {STUDY_CONFIGS['1']}")
    if i.get("c2_silencing"):
        p = Path(_first(i["c2_silencing"]))
        got["2"] = C.claim2_silencing(read_tsv(p), cfg=cfg, alpha=alpha,
                                      figure=rel(figs(f"figures/{p.parent.parent.name}/{p.parent.name}/silencing.png")))
    if i.get("c3_t1t2"):
        t1t2 = read_tsv(_first(i["c3_t1t2"]))
        sw = C.hierarchy_sweep(t1t2, read_tsv(_first(i["c3_class"])), metric="rate", model="lif")
        got["3"] = C.claim3_spiking(sw, t1t2, cfg=cfg, alpha=alpha, figure=rel(figs("figures/atlas-*/model-lif/t1t2.png")))
    if i.get("c4_wilson_cowan_t1t2") and i.get("c4_lif_t1t2"):
        sweeps = {m: C.hierarchy_sweep(read_tsv(_first(i[f"c4_{m}_t1t2"])), read_tsv(_first(i[f"c4_{m}_class"])),
                                       metric=met, model=m) for m, met in (("wilson_cowan", "mean"), ("lif", "rate"))}
        f4 = plot_operating_point(sweeps, fig_dir / "claim4_operating_point.png")
        shown["Claim 4"] = str(f4)
        got["4"] = C.claim4_opposite(sweeps, cfg=cfg, figure=rel(f4))
    cat = lambda key: pd.concat([read_tsv(p) for p in (i.get(key) or [])]) if i.get(key) else None
    eff, vs, bvn = cat("c5_effects"), cat("c5_vs_nulls"), cat("c5_embody")
    if eff is not None or vs is not None or bvn is not None:
        got["5"] = C.claim5_learning(eff, vs, bvn, alpha=alpha,
                                     figure=rel(figs("learn/atlas-*/protocol-conditioning/summary.png")))
    if i.get("c6_heldout"):
        base = None
        if i.get("c6_baseline"):
            bt = read_tsv(_first(i["c6_baseline"]))
            col = next((c for c in ("r_log_sc", "r_sc", "r") if c in bt.columns), None)
            base = float(pd.to_numeric(bt[col], errors="coerce").max()) if col else None
        got["6"] = C.claim6_fc(read_tsv(_first(i["c6_heldout"])), baseline_r=base, cfg=cfg, alpha=alpha,
                               figure=rel(figs("figures/atlas-*/model-hopf_linear/hopf_heldout.png")))
    if i.get("c7_evoked"):
        p = Path(_first(i["c7_evoked"]))
        got["7"] = C.claim7_evoked(read_tsv(p), alpha=alpha, figure=rel(next(iter(sorted(p.parent.glob("*.png"))), None)))
    if i.get("c8_cognition"):
        got["8"] = C.claim8_cognitive(tests=cat("c8_cognition"), alpha=alpha)
    for k, what in STUDY_CONFIGS.items():
        got.setdefault(k, C.not_run_row(k, f"run {what}"))
    rows = [got[k] for k in sorted(got)]
    header = (f"Built by the workflow from this run's own outputs (stages {', '.join(cfg.get('stages', []))}; "
              f"atlases {', '.join(cfg.get('atlases', []))}; {cfg.get('nulls', {}).get('n_per_family')} nulls per family).")
    uris = {}
    for name, p in shown.items():
        uris[name] = "data:image/png;base64," + base64.b64encode(Path(p).read_bytes()).decode()
    written = {"html": write_text(out_html, C.claims_html(rows, header=header, figures=uris)),
               "md": write_text(out_md, C.claims_markdown(rows, header=header)),
               "tsv": write_table(C.rows_table(rows), out_tsv, float_format="%.6g")}
    return written
