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


@stage_targets("figures")
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
    for atlas in hopf_pairs():
        out.append(f"results/figures/atlas-{atlas}/model-hopf_linear/hopf_fit.png")
        if config["hopf"]["heterogeneity"]["enabled"]:
            out.append(f"results/figures/atlas-{atlas}/model-hopf_linear/hopf_heterogeneity.png")
    return out + [SUMMARY_PAGE]  # the page last: its links complete


SUMMARY_PAGE = "results/summary/summary.html"


def summary_inputs():
    """Every table the summary page reads: the tables among the other stages' targets, and every figure."""
    names = []
    for stage in ("data", "nulls", "hopf", "aggregate"):
        names += [t for t in targets_of(stage) if t.endswith((".tsv", ".tsv.gz"))]
    for atlas in sim_atlases():
        names.append(f"{agg_dir(atlas)}/network.tsv.gz")
    names += [f for f in figure_targets() if f != SUMMARY_PAGE]
    return list(dict.fromkeys(names))
