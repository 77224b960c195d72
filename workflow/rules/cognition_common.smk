# Input functions and targets of rules/cognition.smk (kept apart from the rules, as snakemake --lint asks).
def cognition_batches(atlas):
    """(family, batch) of the real network and of the batches holding the first cognition.n_nulls
    nulls of each family of cognition.families (which must be null families of the nulls stage)."""
    cc, nc = config["cognition"], config["nulls"]
    unknown = [f for f in cc["families"] if f not in nc["families"]]
    if unknown:
        raise WorkflowError(f"cognition.families: {unknown} not in nulls.families {nc['families']}")
    if cc["families"] and cc["n_nulls"] > nc["n_per_family"]:
        raise WorkflowError(f"cognition.n_nulls = {cc['n_nulls']} exceeds nulls.n_per_family = {nc['n_per_family']}")
    out = [("real", "0000")]
    for family in cc["families"]:
        out += [(family, f"{b:04d}") for b in range(n_batches(cc["n_nulls"], nc["batch_size"]))]
    return out


def cognition_runs(wildcards):
    return [
        f"results/cognition/atlas-{wildcards.atlas}/null-{f}/batch-{b}.h5"
        for f, b in cognition_batches(wildcards.atlas)
    ]


@stage_targets("cognition")
def cognition_targets():
    return [
        f"results/cognition/{atlas}/{name}"
        for atlas in ATLASES
        for name in ("cognition_tests.tsv", "runs.tsv", "cognition.png")
    ]
