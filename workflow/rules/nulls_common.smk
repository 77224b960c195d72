# Input functions and targets of rules/nulls.smk (kept apart from the rules, as snakemake --lint asks).
def nulls_atlases():
    return list(config["nulls"]["atlases"] or config["atlases"])


def nulls_batches(atlas):
    """Every batch file of an atlas: the real network (family 'real', batch 0000) + each family's."""
    return stage_files("results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5", atlas)


def nulls_upto(wildcards):
    """Upper null index (exclusive) of this batch: only the last batch depends on n_per_family."""
    if wildcards.family == "real":
        return 1
    n, bs = config["nulls"]["n_per_family"], config["nulls"]["batch_size"]
    return min(n, (int(wildcards.batch) + 1) * bs)


def nulls_family_params(wildcards):
    from encephagen.nulls.pipeline import family_settings

    return family_settings(config["nulls"], wildcards.family)


def nulls_threshold(wildcards):
    from encephagen.nulls.pipeline import threshold_for

    return threshold_for(config["nulls"], wildcards.atlas)


@stage_targets("nulls")
def nulls_targets():
    out = [
        f"results/nulls/atlas-{atlas}/{name}"
        for atlas in nulls_atlases()
        for name in ("properties.tsv", "properties_summary.tsv", "properties.png", "properties.pdf")
    ]
    # every batch file is a target too: a deleted (or lost) batch is rebuilt, never treated as an
    # intermediate whose downstream is up to date (docs/reliability.md, "lost outputs")
    return out + [f for atlas in nulls_atlases() for f in nulls_batches(atlas)]
