"""encephagen claims build: the claims page of issue 21 from study results directories.

    encephagen claims build --study claim1=results/studies/claim1_decomposition \
        --study claim4=results/studies/claim4_opposite_hierarchies learn=... -o results/claims.md

Each NAME=DIR names what a study answers (claim1 .. claim8, learn, embody; docs/claims.md) and its
workflow directory (holding results/) or results directory. Claims without a study get a
"pending" row. Writes the page, a TSV of the rows beside it and the claim-4 figure
(<stem>_figures/). The file handling is encephagen.steps.claims.build_claims.
"""
from __future__ import annotations


def _pairs(items) -> dict[str, str]:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"claims build: --study expects NAME=DIR, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _build(args) -> int:
    from encephagen.steps.claims import build_claims

    studies = _pairs(args.study)
    written = build_claims(studies, args.output, header=args.header or "")
    for k, p in written.items():
        print(f"wrote {k}: {p}")
    return 0


def _estimate(args) -> int:
    from encephagen.config import layered_config
    from encephagen.steps.claims import cluster_estimate

    cfg = layered_config(args.workdir, list(args.configfile))
    given = {k: float(v) for k, v in _pairs(args.cpu_per_sim_s).items()}
    est = cluster_estimate(args.study, cfg, int(args.jobs), complete_graph=args.complete_graph, cpu_per_sim_s=given,
                           cpu_per_job=args.cpu_per_job)
    m = est["measured"]
    print(f"measured in {args.study}: CPU s per simulated second of one run {m['cpu_per_sim_s']}; "
          f"mean fixed CPU s per other job {m['cpu_per_job']:.1f} over {m['other_jobs']} jobs")
    for model, r in est["runs"].items():
        print(f"  {model}: {r['networks']} networks x {r['seeds']} seeds x {r['n_G']} G = {r['runs']} runs "
              f"of {r['sim_s_per_run']:g} s")
    print(f"estimated core-hours: {est['core_h']:.2f} (simulation {est['sim_core_h']:.2f}, "
          f"{args.jobs} jobs x fixed cost {est['fixed_core_h']:.2f})"
          + (f"; no measured cost for {est['missing']}" if est["missing"] else ""))
    print(claim1_power_line(cfg, complete_graph=args.complete_graph))
    return 0


def claim1_power_line(cfg, *, complete_graph: bool = False) -> str:
    """Claim 1's power at a design: N nulls per family, a BH family of (4 Wilson-Cowan hierarchy
    metrics + the FC pattern) x families tests (encephagen.analysis.claims.claim1_resolution)."""
    from encephagen.analysis import claims as C

    fams = [f for f in cfg.get("nulls", {}).get("families", [])
            if not (complete_graph and f in ("degree", "geometry", "degree_connected", "richclub"))]
    n = int(cfg.get("nulls", {}).get("n_per_family", 0))
    if "degree" not in fams:
        return "claim 1 power: no degree family in this design (claim 1 cannot be evaluated)"
    res = C.claim1_resolution(n, len(C.CLAIM1_WC_METRICS) + 1, len(fams), float(cfg.get("analysis", {}).get("fdr_alpha", C.ALPHA)))
    return (f"claim 1 power: {n} nulls per family, {res.n_tests} tests ({len(C.CLAIM1_WC_METRICS)} hierarchy metrics + the FC "
            f"pattern) x {len(fams)} families: {res.reason()} -> "
            + ("can reach FDR significance" if res.powered else "underpowered for an isolated effect"))


def register(sub) -> None:
    p = sub.add_parser("claims", help="the predecessor's claims, one row each (issue 21)",
                       description="Build the claims page from study results directories (docs/claims.md).")
    csub = p.add_subparsers(dest="claims_command", metavar="ACTION")
    b = csub.add_parser("build", help="write the claims page (Markdown), its TSV and the claim-4 figure",
                        description="One row per claim: predecessor's evidence, our test (from the run's resolved "
                                    "config), effect with interval, FDR q, verdict, figure.")
    b.add_argument("--study", nargs="+", action="extend", default=[], metavar="NAME=DIR",
                   help="a study's name (claim1..claim8, learn, embody) and its workflow or results directory")
    b.add_argument("-o", "--output", default="results/claims.md", help="the page (default: results/claims.md)")
    b.add_argument("--header", default="", help="a paragraph printed under the title (e.g. the sizes that ran)")
    b.set_defaults(func=_build)
    e = csub.add_parser("estimate", help="core-hours of a cluster-size design from a laptop run's measured costs",
                        description="Scale the CPU time a laptop run measured (Snakemake benchmarks) to the design of "
                                    "the given config files: runs x simulated seconds x CPU s per simulated second, "
                                    "plus jobs x the mean fixed cost of a job.")
    e.add_argument("--study", required=True, help="the laptop run's workflow directory (holding benchmarks/ and results/)")
    e.add_argument("--configfile", nargs="+", required=True, metavar="FILE",
                   help="config files of the design, layered over config/config.yaml as snakemake --configfile")
    e.add_argument("--jobs", required=True, type=int, help="the design's job count (snakemake -n)")
    e.add_argument("--workdir", default=".", help="workflow root holding config/ (default: .)")
    e.add_argument("--complete-graph", action="store_true",
                   help="the atlas is a complete graph (hcp80): degree and geometry nulls are refused")
    e.add_argument("--cpu-per-sim-s", nargs="+", default=[], metavar="MODEL=S",
                   help="CPU s per simulated second of one run for a model, replacing what the study measured "
                        "(e.g. a model the study did not run, or a measurement from docs/simulation.md)")
    e.add_argument("--cpu-per-job", type=float, default=None,
                   help="fixed CPU s per job, replacing the study's measured mean (its benchmarks miss the job's "
                        "start-up in the Snakemake process: docs/simulation.md measures ~9 CPU s)")
    e.set_defaults(func=_estimate)
