# Input functions and targets of rules/embody.smk (kept apart from the rules, as snakemake --lint asks).


def embody_atlas():
    a = config["embody"]["atlas"]
    if a not in ATLASES:
        raise WorkflowError(f"embody.atlas = {a!r} is not in atlases {ATLASES}")
    return a


def embody_null_batches(atlas):
    """Batch ids of null_family holding the null indices 0 .. n_nulls - 1 (the brain_null control
    runs one job per batch; nulls beyond n_nulls, e.g. those kept for the coupling calibration,
    are never in the test)."""
    fam = config["embody"]["null_family"]
    if fam not in config["nulls"]["families"]:
        raise WorkflowError(f"embody.null_family = {fam!r} is not in nulls.families {config['nulls']['families']}")
    n = config["embody"]["n_nulls"]
    if n > config["nulls"]["n_per_family"]:
        raise WorkflowError(f"embody.n_nulls = {n} exceeds nulls.n_per_family = {config['nulls']['n_per_family']}")
    size = config["nulls"]["batch_size"]
    return [b for f, b in network_batches(atlas) if f == fam and int(b) * size < n]


def embody_episode_files(wildcards):
    out = []
    for c in config["embody"]["controllers"]:
        if c == "brain_null":
            out += [
                f"results/embody/atlas-{wildcards.atlas}/episodes/brain_null/batch-{b}.h5"
                for b in embody_null_batches(wildcards.atlas)
            ]
        else:
            out.append(f"results/embody/atlas-{wildcards.atlas}/episodes/{c}.h5")
    return out


@stage_targets("embody")
def embody_targets():
    a = embody_atlas()
    return [f"results/embody/atlas-{a}/summary.tsv", f"results/embody/atlas-{a}/figure.png"]
