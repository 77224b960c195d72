# Input functions and targets of rules/evoked.smk (kept apart from the rules, as snakemake --lint asks).
def evoked_batches(atlas):
    """(family, batch) of the real network and of the batches holding the first evoked.n_nulls nulls
    of each family of evoked.families (which must be null families of the nulls stage)."""
    ec, nc = config["evoked"], config["nulls"]
    unknown = [f for f in ec["families"] if f not in nc["families"]]
    if unknown:
        raise WorkflowError(f"evoked.families: {unknown} not in nulls.families {nc['families']}")
    if ec["families"] and ec["n_nulls"] > nc["n_per_family"]:
        raise WorkflowError(f"evoked.n_nulls = {ec['n_nulls']} exceeds nulls.n_per_family = {nc['n_per_family']}")
    out = [("real", "0000")]
    for family in ec["families"]:
        out += [(family, f"{b:04d}") for b in range(n_batches(ec["n_nulls"], nc["batch_size"]))]
    return out


def evoked_runs(wildcards):
    return [f"results/evoked/atlas-{wildcards.atlas}/null-{f}/batch-{b}.h5" for f, b in evoked_batches(wildcards.atlas)]


@stage_targets("evoked")
def evoked_targets():
    return [
        f"results/evoked/atlas-{atlas}/{name}"
        for atlas in ATLASES
        for name in ("evoked_tests.tsv", "regions.tsv", "runs.tsv", "evoked.png")
    ]
