# Aggregation of every simulation batch of an (atlas, model) into one validated store + tidy tables,
# then the statistics (real vs each null family, FDR, effect sizes, decomposition), simulated-vs-
# empirical FC fits (G chosen on the training group, reported on the held-out group), hierarchy vs
# T1w/T2w and the silencing order. Logic: encephagen.steps.aggregate, encephagen.analysis.run.


include: "aggregate_common.smk"


rule aggregate_sims:
    input:
        unpack(
            lambda wc: {
                "sims": sim_files(wc.atlas, wc.model),
                "connectome": f"resources/connectomes/{wc.atlas}.h5",
                **agg_empirical(wc),
            }
        ),
    output:
        store=ensure("results/aggregate/atlas-{atlas}/model-{model}/store.h5", non_empty=True),
        network="results/aggregate/atlas-{atlas}/model-{model}/network.tsv.gz",
        regional="results/aggregate/atlas-{atlas}/model-{model}/regional.tsv.gz",
        skipped="results/aggregate/atlas-{atlas}/model-{model}/skipped_families.tsv",
    log:
        "logs/aggregate_sims/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/aggregate_sims/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        empirical=lambda wc: list(agg_empirical(wc)),
        expected_nulls=lambda wc: {f: config["nulls"]["n_per_family"] for f in config["nulls"]["families"]},
    script:
        "../scripts/aggregate_sims.py"


rule compare_to_nulls:
    input:
        network=rules.aggregate_sims.output.network,
        regional=rules.aggregate_sims.output.regional,
        null_properties="results/nulls/atlas-{atlas}/properties.tsv",
    output:
        network_stats="results/stats/atlas-{atlas}/model-{model}/network_stats.tsv",
        regional_stats="results/stats/atlas-{atlas}/model-{model}/regional_stats.tsv.gz",
        decomposition="results/stats/atlas-{atlas}/model-{model}/decomposition.tsv",
        class_summary="results/stats/atlas-{atlas}/model-{model}/class_summary.tsv",
    log:
        "logs/compare_to_nulls/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/compare_to_nulls/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 8000 * attempt,
    params:
        fdr_alpha=config["analysis"]["fdr_alpha"],
        min_nulls=config["analysis"]["min_nulls_per_family"],
        equivalence_margin=config["analysis"]["equivalence_margin"],
        fdr_scope=config["analysis"]["fdr_scope"],
        include_degenerate=config["analysis"]["include_degenerate"],
        censored_metrics=config["analysis"]["censored_metrics"],
        profile_rho_min=config["analysis"]["profile_rho_min"],
    script:
        "../scripts/compare_to_nulls.py"


rule fit_fc:
    input:
        network=rules.aggregate_sims.output.network,
        connectome="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",  # the network the models ran on
        test_fc=lambda wc: f"resources/fc/{fc_pair(wc.atlas)['test']}.h5",
    output:
        networks="results/stats/atlas-{atlas}/model-{model}/fc_fit_networks.tsv",
        summary="results/stats/atlas-{atlas}/model-{model}/fc_fit_summary.tsv",
        curve="results/stats/atlas-{atlas}/model-{model}/fc_fit_curve.tsv",
    log:
        "logs/fit_fc/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/fit_fc/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        pair=lambda wc: fc_pair(wc.atlas),
        min_nulls=config["analysis"]["min_nulls_per_family"],
        fdr_alpha=config["analysis"]["fdr_alpha"],
    script:
        "../scripts/fit_fc.py"


rule correlate_t1t2:
    input:
        regional=rules.aggregate_sims.output.regional,
        t1t2="resources/t1t2/{atlas}.tsv",
        connectome="resources/connectomes/{atlas}.h5",
    output:
        "results/stats/atlas-{atlas}/model-{model}/t1t2.tsv",
    log:
        "logs/correlate_t1t2/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/correlate_t1t2/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        n_surrogates=config["analysis"]["n_spatial_surrogates"],
        seed=lambda wc: derive_seed(config["master_seed"], "t1t2", wc.atlas),
        fdr_alpha=config["analysis"]["fdr_alpha"],
        censored_metrics=config["analysis"]["censored_metrics"],
    script:
        "../scripts/correlate_t1t2.py"


rule silencing_order:
    input:
        regional=rules.aggregate_sims.output.regional,
    output:
        per_seed="results/stats/atlas-{atlas}/model-{model}/silencing_per_seed.tsv",
        summary="results/stats/atlas-{atlas}/model-{model}/silencing.tsv",
    log:
        "logs/silencing_order/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/silencing_order/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        metric=lambda wc: silencing_rule(wc.model)["metric"],
        threshold=lambda wc: silencing_rule(wc.model)["threshold"],
        below=lambda wc: silencing_rule(wc.model)["below"],
    script:
        "../scripts/silencing_order.py"


rule write_provenance:
    input:
        connectomes=expand("resources/connectomes/{atlas}.h5", atlas=config["atlases"]),
    output:
        description="results/dataset_description.json",
        methods=report("results/methods.md", category="Methods", caption="../report/methods.rst"),
    log:
        "logs/write_provenance/all.log",
    benchmark:
        "benchmarks/rules/write_provenance/all.tsv"
    localrule: True
    conda:
        "../envs/encephagen.yaml"
    params:
        config=config,
    script:
        "../scripts/write_provenance.py"
