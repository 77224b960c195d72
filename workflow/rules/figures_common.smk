# Input functions and targets of rules/figures.smk (kept apart from the rules, as snakemake --lint asks).
def figure_grid(wildcards):
    """The operating-point table of the (atlas, model): figures show the middle of its chosen G."""
    return [] if wildcards.model == "lif" else opoint_file(wildcards.atlas, wildcards.model)


def figure_lif_G(wildcards):
    """The spiking section's middle G (lif has no operating-point table); None for neural masses."""
    g = config["spiking"]["G"]
    return float(g[len(g) // 2]) if wildcards.model == "lif" else None


def fig(atlas, name, model=SIM_MODEL):
    return f"results/figures/atlas-{atlas}/model-{model}/{name}"


def figure_targets():
    out = []
    for atlas, model in sim_pairs():
        out += [fig(atlas, "metric_distributions.png", model), fig(atlas, "brain_maps.png", model)]
        if model != "lif":  # the spiking engine has its own checks (docs/spiking.md)
            out.append(fig(atlas, "timeseries_check.png", model))
        if atlas_has_t1t2(atlas):
            out.append(fig(atlas, "t1t2.png", model))
        if n_G(model) > 1:
            out.append(fig(atlas, "silencing.png", model))
            if fc_pair(atlas) is not None:
                out.append(fig(atlas, "fc_fit.png", model))
    return out


FIGURE_TARGETS = figure_targets()
for _atlas in globals().get("hopf_pairs", dict)():
    FIGURE_TARGETS.append(f"results/figures/atlas-{_atlas}/model-hopf_linear/hopf_fit.png")
    if config["hopf"]["heterogeneity"]["enabled"]:
        FIGURE_TARGETS.append(f"results/figures/atlas-{_atlas}/model-hopf_linear/hopf_heterogeneity.png")


def summary_inputs():
    """Every table the summary page reads: the tables among the other stages' targets."""
    names = []
    for name in ("DATA_TARGETS", "NULLS_TARGETS", "HOPF_TARGETS", "AGG_TARGETS"):
        names += [t for t in globals().get(name, []) if t.endswith((".tsv", ".tsv.gz"))]
    for atlas in sim_atlases():
        names.append(f"{agg_dir(atlas)}/network.tsv.gz")
    names += [f for f in FIGURE_TARGETS if not f.startswith("results/summary/")]  # page last: its links complete
    return list(dict.fromkeys(names))


FIGURE_TARGETS.append("results/summary/summary.html")
