# Input functions and targets of rules/hopf.smk (kept apart from the rules, as snakemake --lint asks).
def hopf_pairs():
    """analysis.fc_pairs restricted to atlases that run here (and have nulls)."""
    if not config["hopf"]["enabled"]:
        return {}
    have = set(config["nulls"]["atlases"] or config["atlases"]) & set(config["atlases"])
    return {p["atlas"]: p for p in config["analysis"]["fc_pairs"] if p["atlas"] in have}


def hopf_pair(atlas):
    try:
        return hopf_pairs()[atlas]
    except KeyError:
        raise WorkflowError(f"hopf: atlas {atlas!r} has no entry in analysis.fc_pairs (or is not in atlases)")


def hopf_fc_train(wildcards):
    return f"resources/fc/{hopf_pair(wildcards.atlas)['train']}.h5"


def hopf_fc_test(wildcards):
    return f"resources/fc/{hopf_pair(wildcards.atlas)['test']}.h5"


def hopf_train_name(wildcards):
    return hopf_pair(wildcards.atlas)["train"]


def hopf_test_name(wildcards):
    return hopf_pair(wildcards.atlas)["test"]


def hopf_sweep_files(wildcards):
    """The real network's sweep and every null batch's, for one atlas."""
    return hopf_batch_files(wildcards.atlas)


def hopf_batch_files(atlas):
    return stage_files("results/hopf/atlas-{atlas}/null-{family}/batch-{batch}.h5", atlas)


@stage_targets("hopf")
def hopf_targets():
    out = []
    for atlas in hopf_pairs():
        out += [
            f"results/hopf/atlas-{atlas}/{name}"
            for name in ("networks.tsv", "heldout_vs_nulls.tsv", "insample_vs_nulls.tsv")
        ]
        if config["hopf"]["heterogeneity"]["enabled"]:
            out.append(f"results/hopf/atlas-{atlas}/heterogeneity.tsv")
        out += hopf_batch_files(atlas)  # every batch a target: a deleted batch is rebuilt
    return out
