# Evoked propagation (stage `evoked`, not in the default run; claim 7 of issue 21, the "dMRI
# wall"): a Poisson rate increase on the stimulated regions of the LIF network of the real
# connectome and of null networks, every seed id with feedforward inhibition off and on (paired).
# One job per (atlas, network batch); one summary per atlas. Logic: encephagen.learn.evoked,
# encephagen.steps.evoked.


include: "evoked_common.smk"


rule evoked_run:
    input:
        networks="results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    output:
        ensure("results/evoked/atlas-{atlas}/null-{family}/batch-{batch}.h5", non_empty=True),
    log:
        "logs/evoked_run/atlas-{atlas}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/evoked_run/atlas-{atlas}/null-{family}/batch-{batch}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        evoked=config["evoked"],
        master_seed=config["master_seed"],
    script:
        "../scripts/evoked_run.py"


rule evoked_summary:
    input:
        runs=evoked_runs,
    output:
        tests=report(
            "results/evoked/atlas-{atlas}/evoked_tests.tsv",
            caption="../report/evoked_tables.rst",
            category="Evoked propagation",
            subcategory="{atlas}",
        ),
        regions="results/evoked/atlas-{atlas}/regions.tsv",
        runs="results/evoked/atlas-{atlas}/runs.tsv",
        png=report(
            "results/evoked/atlas-{atlas}/evoked.png",
            caption="../report/evoked.rst",
            category="Evoked propagation",
            subcategory="{atlas}",
        ),
    log:
        "logs/evoked_summary/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/evoked_summary/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        n_permutations=config["evoked"]["n_permutations"],
        fdr_alpha=config["analysis"]["fdr_alpha"],
    script:
        "../scripts/evoked_summary.py"
