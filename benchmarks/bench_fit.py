"""Fitting the analytic Hopf model with CMA-ES (encephagen.fit): speed, held-out scores, real vs nulls.

Run by hand (not in CI)::

    .venv/bin/python benchmarks/bench_fit.py                          # one CMA-ES fit 128 x 120, Schaefer-100
    .venv/bin/python benchmarks/bench_fit.py --mode heldout           # spaces x {hcp80->gw80, train706->test303}
    .venv/bin/python benchmarks/bench_fit.py --mode nulls --atlas hcp80 --family weight_perm --n-nulls 20
    .venv/bin/python benchmarks/bench_fit.py --mode rww --popsize 8 --sim-seconds 10   # simulated rWW-FIC
    .venv/bin/python benchmarks/bench_fit.py --mode hopfsim --popsize 8 --generations 6  # simulated Hopf: FC + FCD
    .venv/bin/python benchmarks/bench_fit.py --mode rwwfit --popsize 16 --generations 20 --sim-seconds 60 \
        --compile --deadline 19:38 --json /tmp/rwwfit.json      # a full simulated rWW-FIC fit (1 - r + KS)
    .venv/bin/python benchmarks/bench_fit.py --mode fcd --runs 4     # FCD distance of analytic-Hopf optima (simulated)
    .venv/bin/python benchmarks/bench_fit.py --mode regime --atlas schaefer100 --max-rate-ratio 30 \
        --fastest-rates 1 2 4 8 --runs 8 --popsize 32 --generations 40   # constrained fit, SIMULATED, time scale chosen on train
    .venv/bin/python benchmarks/bench_fit.py --mode regime --atlas hcp80 --space 'a,sigma~t1t2+grad1-3' \
        --max-rate-ratio 300 --fastest-rates 1 2 4 --runs 64 --threads 1   # session 9: hcp80 -> gw80 SIMULATED 0.807

Data: the real connectome (``encephagen.data.load_connectome``; max-normalised x 0.2 as
:func:`encephagen.hopf.fit.normalise_sc`), training and held-out group FC (``resources/fc``), T1w/T2w
per region (``resources/t1t2``), the principal gradient(s) of the TRAINING FC
(:func:`encephagen.fit.fc_gradient`), Yeo-7 networks from the Schaefer labels. Every fit chooses its
parameters on the training FC only; the held-out r is the test FC's r at those parameters. The SC-only
baselines (raw and log10 SC vs FC, :func:`encephagen.analysis.fc.sc_fc_baselines`) are printed beside.
Wall time and CPU time (user + sys of this process) are both printed: on a shared machine the wall
time is loaded.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

PAIRS = {"hcp80": ("hcp80", "gw80"), "schaefer100": ("schaefer100-train706", "schaefer100-test303")}

# named parameter spaces (encephagen.fit.space_from_spec); 'grad1..3' are gradients of the TRAINING FC
SPACES = {
    "homogeneous": {"G": [1e-3, 1e3]},
    "a~t1t2": {"G": [1e-3, 1e3], "heterogeneity": [{"parameter": "a", "maps": ["t1t2"], "bounds": [-3, 3]}]},
    "a~t1t2+grad1": {"G": [1e-3, 1e3], "heterogeneity": [
        {"parameter": "a", "maps": ["t1t2", "grad1"], "bounds": [-3, 3]}]},
    "a~yeo7": {"G": [1e-3, 1e3], "heterogeneity": [{"parameter": "a", "networks": "yeo7", "bounds": [-3, 3]}]},
    "a,sigma~t1t2": {"G": [1e-3, 1e3], "heterogeneity": [
        {"parameter": "a", "maps": ["t1t2"], "bounds": [-3, 3]},
        {"parameter": "sigma", "maps": ["t1t2"], "bounds": [-3, 3]}]},
    "a,sigma~t1t2+grad1": {"G": [1e-3, 1e3], "heterogeneity": [
        {"parameter": "a", "maps": ["t1t2", "grad1"], "bounds": [-3, 3]},
        {"parameter": "sigma", "maps": ["t1t2", "grad1"], "bounds": [-3, 3]}]},
    "a,sigma~yeo7": {"G": [1e-3, 1e3], "heterogeneity": [
        {"parameter": "a", "networks": "yeo7", "bounds": [-3, 3]},
        {"parameter": "sigma", "networks": "yeo7", "bounds": [-3, 3]}]},
    "a,sigma~t1t2+grad1-3": {"G": [1e-3, 1e3], "heterogeneity": [
        {"parameter": "a", "maps": ["t1t2", "grad1", "grad2", "grad3"], "bounds": [-3, 3]},
        {"parameter": "sigma", "maps": ["t1t2", "grad1", "grad2", "grad3"], "bounds": [-3, 3]}]},
}
BENCH_SPACE = "a,sigma~t1t2+grad1"


def load(atlas: str, resources: str):
    """Arrays of one atlas: weights, coupling C, train/test FC, maps, networks."""
    from encephagen.data import load_connectome
    from encephagen.steps.data import prepare_resources
    from encephagen.data.empirical import read_fc
    from encephagen.data.parcellate import read_t1t2
    from encephagen.fit import fc_gradient, schaefer_networks
    from encephagen.hopf import fit as hf

    train, test = PAIRS[atlas]
    prepare_resources(resources, [atlas] + (["gw80"] if atlas == "hcp80" else ["schaefer100-test303"]))
    c = load_connectome(atlas, resources)
    W = (c.weights + c.weights.T) / 2
    Ftr, Fte = read_fc(f"{resources}/fc/{train}.h5"), read_fc(f"{resources}/fc/{test}.h5")
    t1t2 = np.array([r["t1t2"] for r in read_t1t2(f"{resources}/t1t2/{atlas}.tsv")], float)
    if not np.isfinite(t1t2).all():
        t1t2 = np.where(np.isfinite(t1t2), t1t2, np.nanmedian(t1t2))
    g = fc_gradient(Ftr["fc"], 3)
    maps = {"t1t2": t1t2, "grad1": g[0], "grad2": g[1], "grad3": g[2]}
    networks = {}
    try:
        networks["yeo7"] = schaefer_networks(c.labels)
    except ValueError:
        pass
    return dict(W=W, C=hf.normalise_sc(W), train=Ftr, test=Fte, maps=maps, networks=networks, labels=c.labels,
                connectome=c, names=(train, test))


def one_fit(d, space_name, *, popsize, generations, seed, W=None, objective_fcd=False, max_rate_ratio=None):
    import encephagen.fit as F
    from encephagen.hopf import fit as hf

    C = d["C"] if W is None else hf.normalise_sc(W)
    model = F.AnalyticHopf(C, max_rate_ratio=max_rate_ratio)
    spec = SPACES[space_name]
    space = F.space_from_spec(C.shape[0], spec, d["maps"], d["networks"], base=model.defaults)
    res = F.fit(model, space, F.Objective(F.Target(d["train"]["fc"], name="train")), seed=seed, popsize=popsize,
                generations=generations, test=F.Target(d["test"]["fc"], name="test"))
    return res, space


def cpu_now() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=("bench", "heldout", "nulls", "rww", "rwwfit", "hopfsim", "fcd", "regime"), default="bench")
    ap.add_argument("--sim-seconds", type=float, default=10.0, help="rww mode: simulated seconds per candidate")
    ap.add_argument("--device", default="cpu", help="rww mode: torch device of the simulation")
    ap.add_argument("--compile", action="store_true", help="rww/rwwfit: torch.compile the step (batches padded to 16)")
    ap.add_argument("--deadline", default=None, help="rwwfit: stop CMA-ES after the generation that ends past "
                                                     "this UTC time (HH:MM); the best so far is scored")
    ap.add_argument("--runs", type=int, default=4, help="fcd mode: simulated runs of 864 s per optimum")
    ap.add_argument("--score-seconds", type=float, default=300.0, help="rwwfit: simulated s of the final score")
    ap.add_argument("--max-rate-ratio", type=float, default=30.0, help="regime: the fit's constraint (fastest / "
                    "slowest relaxation rate); <= 0: unconstrained")
    ap.add_argument("--fastest-rates", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0],
                    help="regime: time scales tried (the fastest rate, 1/s); chosen on the TRAINING 1 - r + KS")
    ap.add_argument("--no-omega-dt", dest="omega_dt", action="store_false",
                    help="regime: dt from the fastest rate only (before session 9; biased for the slowest modes)")
    ap.add_argument("--linearity", type=float, default=0.05, help="regime: 4 max P_jj / slowest rate")
    ap.add_argument("--atlas", default="schaefer100", choices=sorted(PAIRS))
    ap.add_argument("--space", default=BENCH_SPACE, choices=sorted(SPACES))
    ap.add_argument("--spaces", nargs="*", default=None, help="heldout mode: the spaces (default all)")
    ap.add_argument("--popsize", type=int, default=128)
    ap.add_argument("--generations", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--family", default="degree")
    ap.add_argument("--n-nulls", type=int, default=10)
    ap.add_argument("--master-seed", type=int, default=20240611)
    ap.add_argument("--json", default=None, help="write the results here as JSON")
    ap.add_argument("--resources", default=os.environ.get("ENCEPHAGEN_RESOURCES", "resources"))
    args = ap.parse_args()

    import torch

    import encephagen.fit as F

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    out = {"mode": args.mode, "popsize": args.popsize, "generations": args.generations, "seed": args.seed,
           "threads": args.threads, "rows": []}

    if args.mode == "bench":
        d = load(args.atlas, args.resources)
        one_fit(d, args.space, popsize=8, generations=2, seed=args.seed)  # warm-up
        t0, c0 = time.perf_counter(), cpu_now()
        res, space = one_fit(d, args.space, popsize=args.popsize, generations=args.generations, seed=args.seed)
        wall, cpu = time.perf_counter() - t0, cpu_now() - c0
        row = dict(atlas=args.atlas, space=args.space, dim=space.dim, wall_s=wall, cpu_s=cpu,
                   per_generation_s=wall / args.generations, n_evaluations=res.optimiser.n_evaluations,
                   train_r=res.train["fc_r"], test_r=res.test["fc_r"], G=res.params["G"])
        out["rows"].append(row)
        print(f"{args.atlas} CMA-ES {args.popsize} x {args.generations} ({space.dim} parameters: {space.names}): "
              f"wall {wall:.1f} s, CPU {cpu:.1f} s, {1e3 * wall / args.generations:.0f} ms per generation; "
              f"train r {row['train_r']:.3f}, held-out r {row['test_r']:.3f} at G {row['G']:.3g}")

    elif args.mode == "heldout":
        for atlas in ("hcp80", "schaefer100"):
            d = load(atlas, args.resources)
            base = {role: F.sc_baselines(d["W"], d[role]["fc"]) for role in ("train", "test")}
            print(f"\n{atlas}: {d['names'][0]} -> {d['names'][1]}; SC-only baselines: train raw "
                  f"{base['train']['sc_raw_r']:.3f} log {base['train']['sc_log_r']:.3f}, held-out raw "
                  f"{base['test']['sc_raw_r']:.3f} log {base['test']['sc_log_r']:.3f}")
            for name in args.spaces or SPACES:
                if "yeo7" in name and "yeo7" not in d["networks"]:
                    continue
                t0, c0 = time.perf_counter(), cpu_now()
                res, space = one_fit(d, name, popsize=args.popsize, generations=args.generations, seed=args.seed)
                row = dict(atlas=atlas, train=d["names"][0], test=d["names"][1], space=name, dim=space.dim,
                           train_r=res.train["fc_r"], test_r=res.test["fc_r"], G=res.params["G"],
                           wall_s=time.perf_counter() - t0, cpu_s=cpu_now() - c0,
                           at_bound=[k for k, v in zip(space.names, res.theta) if v <= 1e-6 or v >= 1 - 1e-6],
                           values=res.values, **{f"{r}_{k}": v for r in base for k, v in base[r].items()})
                out["rows"].append(row)
                print(f"  {name:24s} dim {space.dim:2d}  train r {row['train_r']:.3f}  held-out r {row['test_r']:.3f}"
                      f"  G {row['G']:.3g}  {row['wall_s']:.0f} s wall / {row['cpu_s']:.0f} s CPU"
                      + (f"  at bound: {row['at_bound']}" if row["at_bound"] else ""), flush=True)

    elif args.mode == "rww":  # one population of the simulated rWW-FIC fit (BOLD, FC, FCD): time per generation
        from encephagen.fit.simulated import rww_fic_model

        d = load(args.atlas, args.resources)
        W = d["W"] / d["W"].sum(1).mean()
        m = rww_fic_model(W, duration_ms=args.sim_seconds * 1000, transient_ms=1000, bold_warmup_ms=1000,
                          min_bold_samples=10, device=args.device)
        obj = F.Objective(F.Target(d["train"]["fc"], fcd=d["train"].get("fcd_tril")), w_fc=1.0,
                          w_fcd=1.0 if "fcd_tril" in d["train"] else 0.0)
        G = np.linspace(0.1, 0.8, args.popsize)
        t0, c0 = time.perf_counter(), cpu_now()
        sc = obj.scores(m(G, {}, seed=args.seed))
        wall, cpu = time.perf_counter() - t0, cpu_now() - c0
        row = dict(atlas=args.atlas, popsize=args.popsize, sim_seconds=args.sim_seconds, wall_s=wall, cpu_s=cpu,
                   cpu_s_per_candidate_per_60s=cpu / args.popsize * 60 / args.sim_seconds, device=args.device,
                   fc_r=sc["fc_r"].tolist(), fcd_ks=sc["fcd_ks"].tolist())
        out["rows"].append(row)
        print(f"rWW-FIC {args.atlas}: one generation of {args.popsize} x {args.sim_seconds:.0f} s simulated "
              f"(dt 0.5 ms, float32, BOLD + FC + FCD) on {args.device}: wall {wall:.1f} s, CPU {cpu:.1f} s; "
              f"{row['cpu_s_per_candidate_per_60s']:.1f} CPU s per candidate per 60 s simulated "
              f"(cuBNM's published 1-core CPU figure: about 10 s per 60-s simulation of 100 nodes)")

    elif args.mode == "rwwfit":  # a full simulated rWW-FIC fit: CMA-ES, one batched simulation per generation
        import datetime
        import warnings

        from encephagen.fit.objectives import WORST
        from encephagen.fit.simulated import CandidateFailed, rww_fic_model

        d = load(args.atlas, args.resources)
        W = d["W"] / d["W"].sum(1).mean()          # mean in-strength 1 (FIC fixed point stable to G ~ 1.5)
        n = W.shape[0]
        spec = {"G": [0.05, 1.5], "heterogeneity": [
            {"parameter": "w_p", "maps": ["t1t2", "grad1"], "bounds": [-0.2, 0.2]}]}
        m = rww_fic_model(W, duration_ms=args.sim_seconds * 1000, device=args.device,
                          compile=bool(args.compile))
        space = F.space_from_spec(n, spec, d["maps"], d["networks"], base=m.defaults)
        tr = F.Target(d["train"]["fc"], fcd=d["train"]["fcd_tril"], name="train")
        te = F.Target(d["test"]["fc"], fcd=d["test"]["fcd_tril"], name="test")
        obj = F.Objective(tr, w_fc=1.0, w_fcd=1.0)       # 1 - r + KS (cuBNM maximises r - KS)
        gens, log = [], f"{args.json or '/tmp/rwwfit'}.progress.jsonl"
        stop_at = None
        if args.deadline:
            hh, mm = (int(x) for x in args.deadline.split(":"))
            now = datetime.datetime.now(datetime.timezone.utc)
            stop_at = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        t0, c0 = time.perf_counter(), cpu_now()
        n_failed = [0]

        def cb(g, X, c):
            row = dict(generation=g, wall_s=time.perf_counter() - t0, cpu_s=cpu_now() - c0,
                       best_cost=float(np.min(c)), best=space.describe(X[np.argmin(c)][None])[0],
                       n_worst=int((c >= WORST).sum()), load=os.getloadavg()[0])
            gens.append(row)
            with open(log, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(f"  generation {g}: best cost {row['best_cost']:.3f} at {row['best']}, {row['n_worst']} "
                  f"failed; {row['wall_s']:.0f} s wall, {row['cpu_s']:.0f} s CPU, load {row['load']:.1f}", flush=True)
            if stop_at is None:
                return False
            per_gen = row["wall_s"] / g
            return datetime.datetime.now(datetime.timezone.utc).timestamp() + per_gen > stop_at.timestamp()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CandidateFailed)
            s = F.fit(m, space, obj, seed=args.seed, popsize=args.popsize, generations=args.generations,
                      sigma0=0.25, callback=cb, test=F.Objective(te, w_fc=1.0, w_fcd=1.0))
        wall, cpu = time.perf_counter() - t0, cpu_now() - c0
        print(f"fitted: {s.values}; theta {s.theta.tolist()}; {args.sim_seconds:g}-s run: train {s.train}, "
              f"held out {s.test}", flush=True)
        # the optimum simulated once more, longer (the fit's seed): FC and FCD from more BOLD samples
        scores = {f"{args.sim_seconds:g}s": {"train": s.train, "test": s.test}}
        ms = rww_fic_model(W, duration_ms=args.score_seconds * 1000, device=args.device, compile=bool(args.compile))
        p = space.decode(s.theta[None])
        out1 = ms(p.pop("G"), p, seed=args.seed)
        scores[f"{args.score_seconds:g}s"] = {t.name: {k: float(v[0]) for k, v in F.Objective(t, 1.0, 1.0).scores(
            out1).items()} for t in (tr, te)}
        row = dict(atlas=args.atlas, popsize=args.popsize, generations=len(s.optimiser.history),
                   generations_asked=args.generations, sim_seconds=args.sim_seconds, space=spec, values=s.values,
                   fit_train=s.train, scores=scores, wall_s=wall, cpu_s=cpu,
                   cpu_s_per_generation=cpu / max(1, len(s.optimiser.history)), failed_candidates=len(caught),
                   compile=bool(args.compile), history=s.optimiser.history.tolist(), gens=gens)
        out["rows"].append(row)
        a, b = scores[f"{args.sim_seconds:g}s"], scores[f"{args.score_seconds:g}s"]
        print(f"rWW-FIC fit {args.atlas} CMA-ES {args.popsize} x {row['generations']} ({args.sim_seconds:g} s per "
              f"candidate, objective 1 - r + KS on train706): {s.values}; {args.sim_seconds:g}-s run: train r "
              f"{a['train']['fc_r']:.3f} KS {a['train']['fcd_ks']:.3f}, held-out r {a['test']['fc_r']:.3f} KS "
              f"{a['test']['fcd_ks']:.3f}; {args.score_seconds:g}-s run: held-out r {b['test']['fc_r']:.3f} KS "
              f"{b['test']['fcd_ks']:.3f}; {cpu:.0f} CPU s ({row['cpu_s_per_generation']:.0f} per generation), "
              f"{wall:.0f} s wall; {len(caught)} failed-candidate warnings", flush=True)

    elif args.mode == "fcd":  # FCD distance of analytic-Hopf optima: simulate them (Hopf at BOLD time scales)
        from encephagen.fit.simulated import hopf_bold_model, simulated_scores

        d = load(args.atlas, args.resources)
        tr = F.Target(d["train"]["fc"], fcd=d["train"]["fcd_tril"], name="train")
        te = F.Target(d["test"]["fc"], fcd=d["test"]["fcd_tril"], name="test")
        for name in (args.spaces or ["homogeneous", "a,sigma~t1t2", BENCH_SPACE]):
            c0 = cpu_now()
            res, space = one_fit(d, name, popsize=args.popsize, generations=args.generations, seed=args.seed)
            c_fit = cpu_now() - c0
            m = hopf_bold_model(d["C"])     # 1200 TRs of 0.72 s after 60 s, dt 90 ms; FCD windows 30, step 5
            c0 = cpu_now()
            sc = simulated_scores(m, res.params["G"], {k: v for k, v in res.params.items() if k != "G"}, [tr, te],
                                  runs=args.runs, seed=args.seed)
            row = dict(atlas=args.atlas, space=name, analytic_train_r=res.train["fc_r"],
                       analytic_test_r=res.test["fc_r"], values=res.values, sim=sc, fit_cpu_s=c_fit,
                       sim_cpu_s=cpu_now() - c0, runs=args.runs)
            out["rows"].append(row)
            print(f"{args.atlas} {name}: analytic train r {res.train['fc_r']:.3f}, held-out r {res.test['fc_r']:.3f}; "
                  f"simulated ({args.runs} x 864 s, TR 0.72 s): held-out FC r {sc['test']['fc_r']:.3f} (run-averaged; "
                  f"single runs {sc['test']['fc_r_single']:.3f}), FCD KS {sc['test']['fcd_ks']:.3f} (train r "
                  f"{sc['train']['fc_r']:.3f}, KS {sc['train']['fcd_ks']:.3f}); fit {c_fit:.0f} CPU s, simulation "
                  f"{row['sim_cpu_s']:.0f} CPU s; {res.values}", flush=True)

    elif args.mode == "regime":  # constrained analytic fit, moved to the linear regime and SIMULATED
        from encephagen.fit.simulated import dt_for_rate, hopf_bold_model, linear_regime, simulated_scores

        d = load(args.atlas, args.resources)
        fcd = lambda f: f["fcd_tril"] if "fcd_tril" in f else f["fcd"]     # noqa: E731
        tr = F.Target(d["train"]["fc"], fcd=fcd(d["train"]), name="train")
        te = F.Target(d["test"]["fc"], fcd=fcd(d["test"]), name="test")
        base = {role: F.sc_baselines(d["W"], d[role]["fc"]) for role in ("train", "test")}
        ratio = args.max_rate_ratio if args.max_rate_ratio > 0 else None
        c0 = cpu_now()
        res, space = one_fit(d, args.space, popsize=args.popsize, generations=args.generations, seed=args.seed,
                             max_rate_ratio=ratio)
        c_fit = cpu_now() - c0
        p = {k: v for k, v in res.params.items() if k != "G"}
        am = F.AnalyticHopf(d["C"])
        an = F.Target(am(np.array([res.params["G"]]), {k: v[None] for k, v in p.items()})["fc"][0].numpy(),
                      name="analytic")
        rr = float(am.rate_ratio(np.array([res.params["G"]]), {k: v[None] for k, v in p.items()})[0])
        print(f"{args.atlas} {args.space}, max rate ratio {ratio}: analytic train r {res.train['fc_r']:.3f}, held-out "
              f"r {res.test['fc_r']:.3f}, rate ratio {rr:.3g}; SC-only held-out raw {base['test']['sc_raw_r']:.3f} "
              f"log {base['test']['sc_log_r']:.3f}; fit {c_fit:.1f} CPU s; {res.values}", flush=True)
        sims = []
        for fr in args.fastest_rates:
            lr = linear_regime(d["C"], res.params["G"], p, fastest_rate=fr, linearity=args.linearity)
            dt = dt_for_rate(lr["fastest_rate"], 720.0, slowest_rate=lr["slowest_rate"] if args.omega_dt else None,
                             omega=2 * np.pi * 0.05 if args.omega_dt else 0.0)
            m = hopf_bold_model(d["C"], dt=dt, transient_ms=max(60_000.0, 5000.0 / lr["slowest_rate"]))
            c0 = cpu_now()
            sc = simulated_scores(m, lr["G"], {"a": lr["a"], "sigma": lr["sigma"]}, [tr, te, an], runs=args.runs,
                                  seed=args.seed, return_fc=True)
            fcs = sc.pop("fc")
            # the FC averaged over the first k runs (k = 8, 16, ..): how the scores converge with the runs
            by_runs = {int(k): {t.name: float(t.fc_r(fcs[:k].mean(0))[0]) for t in (tr, te, an)}
                       for k in sorted({*(2 ** np.arange(3, 12)), len(fcs)}) if k <= len(fcs)}
            cost = 1 - sc["train"]["fc_r"] + sc["train"]["fcd_ks"]
            sims.append(dict(fastest_rate=fr, slowest_rate=lr["slowest_rate"], dt_ms=dt, train_cost=cost,
                             sim=sc, cpu_s=cpu_now() - c0, G=lr["G"], noise_scale=lr["noise_scale"],
                             by_runs=by_runs))
            print("    run-averaged FC r by runs averaged (train / held-out / analytic): " + ", ".join(
                f"{k}: {v['train']:.3f} / {v['test']:.3f} / {v['analytic']:.3f}" for k, v in by_runs.items())
                + f"; split-half r {sc['split_half_r']:.4f}", flush=True)
            print(f"  fastest rate {fr:g}/s (slowest {lr['slowest_rate']:.4f}/s, dt {dt:.1f} ms, {args.runs} x 864 s): "
                  f"sim vs analytic FC r {sc['analytic']['fc_r']:.3f}; train r {sc['train']['fc_r']:.3f} KS "
                  f"{sc['train']['fcd_ks']:.3f} (cost {cost:.3f}); held-out r {sc['test']['fc_r']:.3f} (single runs "
                  f"{sc['test']['fc_r_single']:.3f}) KS {sc['test']['fcd_ks']:.3f}; {sims[-1]['cpu_s']:.0f} CPU s",
                  flush=True)
        best = min(sims, key=lambda r: r["train_cost"])
        print(f"chosen on train (1 - r + KS): fastest rate {best['fastest_rate']:g}/s: SIMULATED held-out FC r "
              f"{best['sim']['test']['fc_r']:.3f}, FCD KS {best['sim']['test']['fcd_ks']:.3f} (train r "
              f"{best['sim']['train']['fc_r']:.3f}, KS {best['sim']['train']['fcd_ks']:.3f})", flush=True)
        out["rows"].append(dict(atlas=args.atlas, space=args.space, max_rate_ratio=ratio, rate_ratio=rr,
                                analytic_train_r=res.train["fc_r"], analytic_test_r=res.test["fc_r"],
                                values=res.values, fit_cpu_s=c_fit, baselines=base, sims=sims, chosen=best,
                                runs=args.runs, linearity=args.linearity))

    elif args.mode == "hopfsim":  # simulated Hopf at BOLD time scales, FC + FCD, from the analytic optimum
        from encephagen.fit.simulated import hopf_bold_model

        d = load(args.atlas, args.resources)
        res, _ = one_fit(d, "homogeneous", popsize=128, generations=120, seed=args.seed)
        n = d["C"].shape[0]
        # G and a global a (a = -0.02 exp(s): a map of ones, not normalised); the analytic FC depends on G/|a|
        # only, the simulated FC and FCD on both (time scale 1/|a|)
        space = F.space_from_spec(n, {"G": [1e-2, 1e1], "heterogeneity": [
            {"parameter": "a", "maps": ["ones"], "normalise": "none", "bounds": [-3, 3]}]},
            {"ones": np.ones(n)}, base={"a": -0.02})
        x0 = np.array([space.to_unit([[np.log10(res.params["G"]), 0.0]])[0, 0], 0.5])
        m = hopf_bold_model(d["C"], duration_ms=args.sim_seconds * 1000, device=args.device)
        tr = F.Target(d["train"]["fc"], fcd=d["train"]["fcd_tril"], name="train")
        te = F.Objective(F.Target(d["test"]["fc"], fcd=d["test"]["fcd_tril"], name="test"), w_fc=1, w_fcd=1)
        at = F.evaluate(m, space, x0, te, seed=args.seed)
        t0, c0 = time.perf_counter(), cpu_now()
        s = F.fit(m, space, F.Objective(tr, w_fc=1, w_fcd=1), seed=args.seed, popsize=args.popsize,
                  generations=args.generations, sigma0=0.1, x0=x0, test=te)
        wall, cpu = time.perf_counter() - t0, cpu_now() - c0
        row = dict(atlas=args.atlas, popsize=args.popsize, generations=args.generations, sim_seconds=args.sim_seconds,
                   analytic_train_r=res.train["fc_r"], analytic_test_r=res.test["fc_r"], sim_at_analytic=at,
                   train=s.train, test=s.test, values=s.values, wall_s=wall, cpu_s=cpu,
                   cpu_s_per_generation=cpu / args.generations)
        out["rows"].append(row)
        print(f"simulated Hopf {args.atlas} ({args.sim_seconds:.0f} s per run, TR 0.72 s, FCD 30/5 TRs): analytic "
              f"optimum train r {res.train['fc_r']:.3f} held-out {res.test['fc_r']:.3f}; simulated there: held-out "
              f"FC r {at['fc_r']:.3f}, FCD KS {at['fcd_ks']:.3f}; CMA-ES {args.popsize} x {args.generations} on "
              f"1 - r + KS: train r {s.train['fc_r']:.3f} KS {s.train['fcd_ks']:.3f}, held-out r {s.test['fc_r']:.3f} "
              f"KS {s.test['fcd_ks']:.3f} at {s.values}; wall {wall:.0f} s, CPU {cpu:.0f} s", flush=True)

    else:  # nulls: the same fit for the real network and each null
        from encephagen.nulls import generate_batch, prepare_source

        d = load(args.atlas, args.resources)
        src = prepare_source(d["connectome"])
        nb = generate_batch(src, args.family, range(args.n_nulls), args.master_seed, atlas=args.atlas)
        nets = np.concatenate([d["W"][None], (nb.weights + np.swapaxes(nb.weights, 1, 2)) / 2])
        seeds = [args.seed] * len(nets)   # the same optimiser seed for every network: identical treatment
        from encephagen.hopf import fit as hf

        rows = F.fit_networks(
            nets, lambda w: F.AnalyticHopf(hf.normalise_sc(w)),
            F.space_from_spec(nets.shape[-1], SPACES[args.space], d["maps"], d["networks"],
                              base=F.AnalyticHopf(d["C"]).defaults),
            F.Objective(F.Target(d["train"]["fc"])), F.Target(d["test"]["fc"]), seeds=seeds,
            labels=["real"] + [f"{args.family}-{i}" for i in range(args.n_nulls)],
            popsize=args.popsize, generations=args.generations,
            progress=lambda i, k: print(f"  fitted {i} / {k}", flush=True))
        for key in ("train_fc_r", "test_fc_r"):
            cmp = F.topology_comparison(rows[0][key], [r[key] for r in rows[1:]])
            print(f"{args.atlas} {args.space}: fitted {key}: real {cmp['real']:.3f} vs {cmp['n_null']} "
                  f"{args.family} nulls mean {cmp['null_mean']:.3f} (sd {cmp['null_sd']:.3f}, 95% "
                  f"{cmp['null_q025']:.3f}-{cmp['null_q975']:.3f}), z {cmp['z']:.2f}, p {cmp['p']:.3g}")
            out[key] = cmp
        for r in rows:
            r.pop("values", None)
        out["rows"] = rows
        print(f"real SC-only baseline (held out): raw {rows[0]['test_sc_raw_r']:.3f}, log "
              f"{rows[0]['test_sc_log_r']:.3f}; nulls' log baseline mean "
              f"{np.mean([r['test_sc_log_r'] for r in rows[1:]]):.3f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))


if __name__ == "__main__":
    main()
