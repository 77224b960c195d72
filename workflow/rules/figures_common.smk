# Input functions and targets of rules/figures.smk (kept apart from the rules, as snakemake --lint asks).
def figure_grid(wildcards):
    """The operating-point table of the (atlas, model): figures show the middle of its chosen G."""
    return [] if engine_cfg(wildcards.model) is not None else opoint_file(wildcards.atlas, wildcards.model)


def figure_engine_G(wildcards):
    """The middle G of the model's own engine section (e.g. spiking.G for lif: no operating-point
    table); None for neural masses (their G: the operating-point table's, figure_grid)."""
    own = engine_cfg(wildcards.model)
    return None if own is None else float(own["G"][len(own["G"]) // 2])


def fig(atlas, name, model=SIM_MODEL):
    return f"results/figures/atlas-{atlas}/model-{model}/{name}"


@stage_targets("figures")
def figure_targets():
    out = []
    for atlas, model in sim_pairs():
        out += [fig(atlas, "metric_distributions.png", model), fig(atlas, "brain_maps.png", model)]
        if engine_cfg(model) is None:  # neural masses; an engine with its own section has its own checks
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
