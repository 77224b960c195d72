# Cognitive functions from structure (stage `cognition`, not in the default run; claim 8 of issue
# 21): working memory (a prefrontal cue, NMDA off / on) and pattern recognition (input patterns on
# the sensory regions, a cross-validated linear readout; uncoupled control) on the LIF network of
# the real connectome and of null networks. One job per (atlas, network batch); one summary per
# atlas, whose table results/cognition/<atlas>/cognition_tests.tsv the claims page reads.
# Logic: encephagen.learn.cognition, encephagen.steps.cognition.


include: "cognition_common.smk"


rule cognition_run:
    input:
        networks="results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    output:
        ensure("results/cognition/atlas-{atlas}/null-{family}/batch-{batch}.h5", non_empty=True),
    log:
        "logs/cognition_run/atlas-{atlas}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/cognition_run/atlas-{atlas}/null-{family}/batch-{batch}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        cognition=config["cognition"],
        master_seed=config["master_seed"],
    script:
        "../scripts/cognition_run.py"


rule cognition_summary:
    input:
        runs=cognition_runs,
    output:
        tests=report(
            "results/cognition/{atlas}/cognition_tests.tsv",
            caption="../report/cognition_tables.rst",
            category="Cognition",
            subcategory="{atlas}",
        ),
        runs="results/cognition/{atlas}/runs.tsv",
        png=report(
            "results/cognition/{atlas}/cognition.png",
            caption="../report/cognition.rst",
            category="Cognition",
            subcategory="{atlas}",
        ),
    log:
        "logs/cognition_summary/{atlas}.log",
    benchmark:
        "benchmarks/rules/cognition_summary/{atlas}.tsv"
    wildcard_constraints:
        atlas="[^/]+",
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        n_permutations=config["cognition"]["n_permutations"],
        label_permutations=config["cognition"]["label_permutations"],
        master_seed=config["master_seed"],
    script:
        "../scripts/cognition_summary.py"
