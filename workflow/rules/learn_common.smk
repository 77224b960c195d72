# Input functions and targets of rules/learn.smk (kept apart from the rules, as snakemake --lint asks).
def learn_batches(atlas):
    """(family, batch) of the real network and of the batches holding the first learn.n_nulls nulls
    of each family of learn.families (which must be null families of the nulls stage)."""
    lc, nc = config["learn"], config["nulls"]
    unknown = [f for f in lc["families"] if f not in nc["families"]]
    if unknown:
        raise WorkflowError(f"learn.families: {unknown} not in nulls.families {nc['families']}")
    if lc["families"] and lc["n_nulls"] > nc["n_per_family"]:
        raise WorkflowError(f"learn.n_nulls = {lc['n_nulls']} exceeds nulls.n_per_family = {nc['n_per_family']}")
    out = [("real", "0000")]
    for family in lc["families"]:
        out += [(family, f"{b:04d}") for b in range(n_batches(lc["n_nulls"], nc["batch_size"]))]
    return out


def learn_runs(wildcards):
    return [
        f"results/learn/atlas-{wildcards.atlas}/protocol-{wildcards.protocol}/null-{f}/batch-{b}.h5"
        for f, b in learn_batches(wildcards.atlas)
    ]


@stage_targets("learn")
def learn_targets():
    return [
        f"results/learn/atlas-{atlas}/protocol-{protocol}/{name}"
        for atlas in ATLASES
        for protocol in config["learn"]["protocols"]
        for name in ("runs.tsv", "effects.tsv", "vs_nulls.tsv", "summary.png")
    ]
