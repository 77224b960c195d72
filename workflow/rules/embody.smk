# The embodied closed loop (encephagen.bodies; docs/bodies.md): every control on the same Walker2d
# seeds, the connectome network against its nulls (the nulls stage's files), a report with a figure
# and a video. Not in the default stages: add `embody` to config key `stages`.


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
        raise WorkflowError(f"embody.n_nulls = {config['embody']['n_nulls']} exceeds nulls.n_per_family "
                            f"= {config['nulls']['n_per_family']}")
    return [f"results/nulls/atlas-{wildcards.atlas}/null-{f}/batch-{b}.h5"
            for f, b in network_batches(wildcards.atlas) if f == fam]


rule embody_run:
    input:
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
        nulls=embody_null_files,
    output:
        "results/embody/atlas-{atlas}/episodes/{controller}.tsv",
    log:
        "logs/embody_run/atlas-{atlas}/{controller}.log",
    benchmark:
        "benchmarks/rules/embody_run/atlas-{atlas}/{controller}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: config["embody"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        embody=config["embody"],
        master_seed=config["master_seed"],
    script:
        "../scripts/embody_run.py"


rule embody_report:
    input:
        episodes=expand("results/embody/atlas-{{atlas}}/episodes/{controller}.tsv",
                        controller=config["embody"]["controllers"]),
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
    output:
        summary="results/embody/atlas-{atlas}/summary.tsv",
        brain_vs_null="results/embody/atlas-{atlas}/brain_vs_null.tsv",
        brain_effect="results/embody/atlas-{atlas}/brain_effect.tsv",
        figure="results/embody/atlas-{atlas}/figure.png",
        video=directory("results/embody/atlas-{atlas}/video"),
    log:
        "logs/embody_report/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/embody_report/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        embody=config["embody"],
        master_seed=config["master_seed"],
        alpha=config["analysis"]["fdr_alpha"],
    script:
        "../scripts/embody_report.py"


@stage_targets("embody")
def embody_targets():
    a = embody_atlas()
    return [f"results/embody/atlas-{a}/summary.tsv", f"results/embody/atlas-{a}/figure.png"]
