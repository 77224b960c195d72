# Figures (PNG + PDF, matplotlib) for the report: each a thin script around encephagen.steps.figures.
# Figures show one reference coupling value (the middle of the atlas's chosen G grid, read from its
# operating-point table); the tables under results/stats hold every value.


include: "figures_common.smk"


rule plot_metrics:
    input:
        network=rules.aggregate_sims.output.network,
        stats=rules.compare_to_nulls.output.network_stats,
        decomposition=rules.compare_to_nulls.output.decomposition,
        class_summary=rules.compare_to_nulls.output.class_summary,
        g_grid=figure_grid,
    output:
        metrics=report(
            "results/figures/atlas-{atlas}/model-{model}/metric_distributions.png",
            caption="../report/metric_distributions.rst",
            category="Real vs nulls",
            subcategory="{atlas}",
        ),
        metrics_pdf="results/figures/atlas-{atlas}/model-{model}/metric_distributions.pdf",
        decomposition=report(
            "results/figures/atlas-{atlas}/model-{model}/decomposition.png",
            caption="../report/decomposition.rst",
            category="Real vs nulls",
            subcategory="{atlas}",
        ),
        decomposition_pdf="results/figures/atlas-{atlas}/model-{model}/decomposition.pdf",
        hierarchy=report(
            "results/figures/atlas-{atlas}/model-{model}/hierarchy.png",
            caption="../report/hierarchy.rst",
            category="Regional hierarchy",
            subcategory="{atlas}",
        ),
        hierarchy_pdf="results/figures/atlas-{atlas}/model-{model}/hierarchy.pdf",
    log:
        "logs/plot_metrics/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_metrics/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        G=figure_engine_G,
        alpha=config["analysis"]["fdr_alpha"],
    script:
        "../scripts/plot_metrics.py"


rule plot_t1t2:
    input:
        regional=rules.aggregate_sims.output.regional,
        t1t2="resources/t1t2/{atlas}.tsv",
        corr=rules.correlate_t1t2.output[0],
        g_grid=figure_grid,
    output:
        png=report(
            "results/figures/atlas-{atlas}/model-{model}/t1t2.png",
            caption="../report/t1t2.rst",
            category="Regional hierarchy",
            subcategory="{atlas}",
        ),
        pdf="results/figures/atlas-{atlas}/model-{model}/t1t2.pdf",
    log:
        "logs/plot_t1t2/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_t1t2/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        G=figure_engine_G,
        metric="acf_tau_ms",
    script:
        "../scripts/plot_t1t2.py"


rule plot_fc_fit:
    input:
        curve=rules.fit_fc.output.curve,
        summary=rules.fit_fc.output.summary,
        networks=rules.fit_fc.output.networks,
        store=rules.aggregate_sims.output.store,
        test_fc=lambda wc: f"resources/fc/{fc_pair(wc.atlas)['test']}.h5",
        connectome="resources/connectomes/{atlas}.h5",
    output:
        fit=report(
            "results/figures/atlas-{atlas}/model-{model}/fc_fit.png",
            caption="../report/fc_fit.rst",
            category="Simulated vs empirical FC",
            subcategory="{atlas}",
        ),
        fit_pdf="results/figures/atlas-{atlas}/model-{model}/fc_fit.pdf",
        matrices=report(
            "results/figures/atlas-{atlas}/model-{model}/fc_matrices.png",
            caption="../report/fc_matrices.rst",
            category="Simulated vs empirical FC",
            subcategory="{atlas}",
        ),
        matrices_pdf="results/figures/atlas-{atlas}/model-{model}/fc_matrices.pdf",
    log:
        "logs/plot_fc_fit/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_fc_fit/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        pair=lambda wc: fc_pair(wc.atlas),
    script:
        "../scripts/plot_fc_fit.py"


rule plot_silencing:
    input:
        unpack(sim_extra_inputs),
        summary=rules.silencing_order.output.summary,
    output:
        png=report(
            "results/figures/atlas-{atlas}/model-{model}/silencing.png",
            caption="../report/silencing_order.rst",
            category="Regional hierarchy",
            subcategory="{atlas}",
        ),
        pdf="results/figures/atlas-{atlas}/model-{model}/silencing.pdf",
    log:
        "logs/plot_silencing/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_silencing/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        g_values=lambda wc: [] if sim_auto(wc.model) else sweep_G(),
    script:
        "../scripts/plot_silencing.py"


rule summary_page:
    input:
        summary_inputs(),
    output:
        html=report(
            "results/summary/summary.html",
            caption="../report/summary.rst",
            category="0 Summary",
            labels={"page": "summary of this run"},
        ),
        tsv="results/summary/headline.tsv",
        tables=report(
            directory("results/summary/tables"),
            patterns=["{name}.tsv"],
            caption="../report/tables.rst",
            category="Result tables",
        ),
    log:
        "logs/summary_page/all.log",
    benchmark:
        "benchmarks/rules/summary_page/all.tsv"
    localrule: True
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        results=lambda wc, output: str(Path(output.html).parent.parent),
    script:
        "../scripts/summary_page.py"


rule plot_hopf:
    input:
        table="results/hopf/atlas-{atlas}/sweep.tsv.gz",
        networks="results/hopf/atlas-{atlas}/networks.tsv",
        heldout="results/hopf/atlas-{atlas}/heldout_vs_nulls.tsv",
    output:
        fit=report(
            "results/figures/atlas-{atlas}/model-hopf_linear/hopf_fit.png",
            caption="../report/hopf_fit.rst",
            category="Analytic Hopf FC",
            subcategory="{atlas}",
        ),
        fit_pdf="results/figures/atlas-{atlas}/model-hopf_linear/hopf_fit.pdf",
        heldout=report(
            "results/figures/atlas-{atlas}/model-hopf_linear/hopf_heldout.png",
            caption="../report/hopf_heldout.rst",
            category="Analytic Hopf FC",
            subcategory="{atlas}",
        ),
        heldout_pdf="results/figures/atlas-{atlas}/model-hopf_linear/hopf_heldout.pdf",
    log:
        "logs/plot_hopf/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/plot_hopf/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        pair=lambda wc: hopf_pair(wc.atlas),
        n_nulls=config["nulls"]["n_per_family"],
        families=config["nulls"]["families"],
        G=config["hopf"]["G"],
    script:
        "../scripts/plot_hopf.py"


rule plot_hopf_heterogeneity:
    input:
        h5="results/hopf/atlas-{atlas}/heterogeneity.h5",
    output:
        png=report(
            "results/figures/atlas-{atlas}/model-hopf_linear/hopf_heterogeneity.png",
            caption="../report/hopf_heterogeneity.rst",
            category="Analytic Hopf FC",
            subcategory="{atlas}",
        ),
        pdf="results/figures/atlas-{atlas}/model-hopf_linear/hopf_heterogeneity.pdf",
    log:
        "logs/plot_hopf_heterogeneity/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/plot_hopf_heterogeneity/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        pair=lambda wc: hopf_pair(wc.atlas),
        n_null=config["hopf"]["heterogeneity"]["n_null"],
    script:
        "../scripts/plot_hopf_heterogeneity.py"


rule plot_brain_maps:
    input:
        regional=rules.aggregate_sims.output.regional,
        regional_stats=rules.compare_to_nulls.output.regional_stats,
        connectome="resources/connectomes/{atlas}.h5",
        g_grid=figure_grid,
    output:
        png=report(
            "results/figures/atlas-{atlas}/model-{model}/brain_maps.png",
            caption="../report/brain_maps.rst",
            category="Regional hierarchy",
            subcategory="{atlas}",
        ),
        pdf="results/figures/atlas-{atlas}/model-{model}/brain_maps.pdf",
    log:
        "logs/plot_brain_maps/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_brain_maps/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        G=figure_engine_G,
        metric="acf_tau_ms",
        families=config["nulls"]["families"],
    script:
        "../scripts/plot_brain_maps.py"


rule plot_timeseries_check:
    input:
        unpack(sim_extra_inputs),
        real="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
    output:
        png=report(
            "results/figures/atlas-{atlas}/model-{model}/timeseries_check.png",
            caption="../report/timeseries_check.rst",
            category="Simulation checks",
            subcategory="{atlas}",
        ),
        pdf="results/figures/atlas-{atlas}/model-{model}/timeseries_check.pdf",
    log:
        "logs/plot_timeseries_check/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/plot_timeseries_check/atlas-{atlas}/model-{model}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        runtime=lambda wc, attempt: 20 * attempt,
    params:
        simulate=lambda wc: sim_cfg(wc.model),
        master_seed=config["master_seed"],
        check_ms=1000.0,  # ~20 s CPU per atlas at the default sizes (measured on tvb96)
    script:
        "../scripts/plot_timeseries_check.py"
