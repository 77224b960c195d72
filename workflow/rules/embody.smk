# The embodied closed loop (encephagen.bodies; docs/bodies.md): every control on the same Walker2d
# seeds, the connectome network against its nulls (the nulls stage's files), a report with a figure
# and a video. Not in the default stages: add `embody` to config key `stages`.


include: "embody_common.smk"


wildcard_constraints:
    controller="[a-z_]+",


rule embody_run:
    input:
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
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
        controller=lambda wc: wc.controller,
    script:
        "../scripts/embody_run.py"


rule embody_run_nulls:
    input:
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
        nulls="results/nulls/atlas-{atlas}/null-%s/batch-{batch}.h5" % config["embody"]["null_family"],
    output:
        "results/embody/atlas-{atlas}/episodes/brain_null/batch-{batch}.h5",
    log:
        "logs/embody_run/atlas-{atlas}/brain_null-{batch}.log",
    benchmark:
        "benchmarks/rules/embody_run/atlas-{atlas}/brain_null-{batch}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: config["embody"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        embody=config["embody"],
        master_seed=config["master_seed"],
        controller="brain_null",
    script:
        "../scripts/embody_run.py"


rule embody_report:
    input:
        episodes=embody_episode_files,
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
