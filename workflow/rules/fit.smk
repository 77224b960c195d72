# Stage `fit` (encephagen.fit; docs/fitting.md): the analytic Hopf model fitted (G + regional
# heterogeneity, CMA-ES or grid) on the training FC and scored on the held-out FC, for the real network
# and every null of the fitted families with the same space, optimiser, budget and seed; SC-only
# baselines beside; real vs nulls after fitting (n, z, p, q) and a figure. Logic: encephagen.fit.stage.


include: "fit_common.smk"


rule fit_batch:
    input:
        unpack(fit_inputs),
    output:
        "results/fit/atlas-{atlas}/null-{family}/batch-{batch}.tsv",
    log:
        "logs/fit_batch/atlas-{atlas}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/fit_batch/atlas-{atlas}/null-{family}/batch-{batch}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: config["fit"]["threads"]
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        fit=config["fit"],
        master_seed=config["master_seed"],
        n_nulls=fit_n_nulls(),
    script:
        "../scripts/fit_batch.py"


rule fit_summary:
    input:
        batches=fit_summary_inputs,
    output:
        networks="results/fit/atlas-{atlas}/networks.tsv",
        comparison="results/fit/atlas-{atlas}/real_vs_nulls.tsv",
        figure=report(
            "results/fit/atlas-{atlas}/heldout_vs_nulls.png",
            caption="../report/fit_heldout.rst",
            category="Fitted models",
            subcategory="{atlas}",
        ),
    log:
        "logs/fit_summary/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/fit_summary/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        min_nulls=config["analysis"]["min_nulls_per_family"],
        fdr_alpha=config["analysis"]["fdr_alpha"],
        train=lambda wc: fit_pair(wc.atlas)["train"],
        test=lambda wc: fit_pair(wc.atlas)["test"],
    script:
        "../scripts/fit_summary.py"
