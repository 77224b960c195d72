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
        out += [fig(atlas, "metric_distributions.png", model), fig(atlas, "t1t2.png", model)]
        if n_G(model) > 1:
            out.append(fig(atlas, "silencing.png", model))
            if fc_pair(atlas) is not None:
                out.append(fig(atlas, "fc_fit.png", model))
    return out


FIGURE_TARGETS = figure_targets()
