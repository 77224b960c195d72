# Input functions and targets of rules/embody.smk (kept apart from the rules, as snakemake --lint asks).


def embody_atlas():
    a = config["embody"]["atlas"]
    if a not in ATLASES:
        raise WorkflowError(f"embody.atlas = {a!r} is not in atlases {ATLASES}")
    return a


def embody_null_files(wildcards):
    fam = config["embody"]["null_family"]
    if fam not in config["nulls"]["families"]:
        raise WorkflowError(f"embody.null_family = {fam!r} is not in nulls.families {config['nulls']['families']}")
    if config["embody"]["n_nulls"] > config["nulls"]["n_per_family"]:
        raise WorkflowError(
            f"embody.n_nulls = {config['embody']['n_nulls']} exceeds nulls.n_per_family "
            f"= {config['nulls']['n_per_family']}"
        )
    return [
        f"results/nulls/atlas-{wildcards.atlas}/null-{f}/batch-{b}.h5"
        for f, b in network_batches(wildcards.atlas)
        if f == fam
    ]


@stage_targets("embody")
def embody_targets():
    a = embody_atlas()
    return [f"results/embody/atlas-{a}/summary.tsv", f"results/embody/atlas-{a}/figure.png"]
