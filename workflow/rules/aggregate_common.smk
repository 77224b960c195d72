# Input functions and targets of rules/aggregate.smk (kept apart from the rules, as snakemake --lint asks).
from encephagen.seeds import derive_seed
from encephagen.study.engine import silencing_rule as _silencing_rule


def silencing_rule(model):
    """metric, threshold, below of the silencing order of a model: analysis.silencing for neural
    masses, otherwise the engine's own criterion from the study layer's registry (for lif, the rate
    below spiking.monitors.silent_hz)."""
    return _silencing_rule(model, config)


def fc_pair(atlas):
    for p in config["analysis"]["fc_pairs"]:
        if p["atlas"] == atlas:
            return p
    return None


def agg_empirical(wildcards):
    """Empirical FCs the simulated FC is compared with: the atlas's train and test groups."""
    p = fc_pair(wildcards.atlas)
    return {} if p is None else {p["train"]: f"resources/fc/{p['train']}.h5", p["test"]: f"resources/fc/{p['test']}.h5"}


def agg_dir(atlas, model=SIM_MODEL):
    return f"results/aggregate/atlas-{atlas}/model-{model}"


def stats_dir(atlas, model=SIM_MODEL):
    return f"results/stats/atlas-{atlas}/model-{model}"


@stage_targets("aggregate")
def agg_targets():
    out = ["results/dataset_description.json", "results/methods.md"]
    for atlas, model in sim_pairs():
        s = stats_dir(atlas, model)
        out += [f"{s}/network_stats.tsv", f"{s}/decomposition.tsv", f"{s}/class_summary.tsv"]
        if atlas_has_t1t2(atlas):  # your own connectomes only with a declared map (data_common.smk)
            out.append(f"{s}/t1t2.tsv")
        if n_G(model) > 1:
            out.append(f"{s}/silencing.tsv")
            if fc_pair(atlas) is not None:
                out.append(f"{s}/fc_fit_summary.tsv")
    return out
