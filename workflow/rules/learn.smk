# Plasticity protocols (stage `learn`, not in the default run; section `learn`): habituation with
# STDP and stimulus-response conditioning with reward-modulated STDP on the LIF network of the real
# connectome and of null networks, each seed id run plastic and frozen (paired). One job per
# (atlas, protocol, network batch); one summary per (atlas, protocol). Logic: encephagen.learn.


include: "learn_common.smk"


rule learn_run:
    input:
        networks="results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    output:
        ensure("results/learn/atlas-{atlas}/protocol-{protocol}/null-{family}/batch-{batch}.h5", non_empty=True),
    log:
        "logs/learn_run/atlas-{atlas}/protocol-{protocol}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/learn_run/atlas-{atlas}/protocol-{protocol}/null-{family}/batch-{batch}.tsv"
    wildcard_constraints:
        protocol="habituation|conditioning|three_way_eprop|three_way_rstdp",
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        learn=config["learn"],
        master_seed=config["master_seed"],
    script:
        "../scripts/learn_run.py"


rule learn_summary:
    input:
        runs=learn_runs,
    output:
        runs="results/learn/atlas-{atlas}/protocol-{protocol}/runs.tsv",
        effects=report(
            "results/learn/atlas-{atlas}/protocol-{protocol}/effects.tsv",
            caption="../report/learn_tables.rst",
            category="Learning",
            subcategory="{atlas}",
        ),
        nulls=report(
            "results/learn/atlas-{atlas}/protocol-{protocol}/vs_nulls.tsv",
            caption="../report/learn_tables.rst",
            category="Learning",
            subcategory="{atlas}",
        ),
        png=report(
            "results/learn/atlas-{atlas}/protocol-{protocol}/summary.png",
            caption="../report/learn.rst",
            category="Learning",
            subcategory="{atlas}",
        ),
    log:
        "logs/learn_summary/atlas-{atlas}/protocol-{protocol}.log",
    benchmark:
        "benchmarks/rules/learn_summary/atlas-{atlas}/protocol-{protocol}.tsv"
    wildcard_constraints:
        protocol="habituation|conditioning|three_way_eprop|three_way_rstdp",
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        n_permutations=config["learn"]["n_permutations"],
        fdr_alpha=config["analysis"]["fdr_alpha"],
    script:
        "../scripts/learn_summary.py"
