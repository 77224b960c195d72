# The embodied closed loop (encephagen.bodies; docs/bodies.md): every control on the same Walker2d
# seeds, the connectome network against its nulls (the nulls stage's files), a report with a figure
# and a video. Not in the default stages: add `embody` to config key `stages`.


include: "embody_common.smk"


rule embody_run:
    input:
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
        nulls=embody_null_files,
    output:
        "results/embody/atlas-{atlas}/episodes/{controller}.h5",
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
        episodes=expand(
            "results/embody/atlas-{{atlas}}/episodes/{controller}.h5", controller=config["embody"]["controllers"]
        ),
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
