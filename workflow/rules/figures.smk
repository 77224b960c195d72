# Figures (PNG + PDF, matplotlib) for the report: each a thin script around encephagen.figures.run.
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
        metrics=report("results/figures/atlas-{atlas}/model-{model}/metric_distributions.png",
                       caption="../report/metric_distributions.rst", category="Real vs nulls",
                       subcategory="{atlas}"),
        metrics_pdf="results/figures/atlas-{atlas}/model-{model}/metric_distributions.pdf",
        decomposition=report("results/figures/atlas-{atlas}/model-{model}/decomposition.png",
                             caption="../report/decomposition.rst", category="Real vs nulls",
                             subcategory="{atlas}"),
        decomposition_pdf="results/figures/atlas-{atlas}/model-{model}/decomposition.pdf",
        hierarchy=report("results/figures/atlas-{atlas}/model-{model}/hierarchy.png",
                         caption="../report/hierarchy.rst", category="Regional hierarchy", subcategory="{atlas}"),
        hierarchy_pdf="results/figures/atlas-{atlas}/model-{model}/hierarchy.pdf",
    log:
        "logs/plot_metrics/atlas-{atlas}/model-{model}.log",
    params:
        G=figure_lif_G,
        alpha=config["analysis"]["fdr_alpha"],
    threads: 1
    script:
        "../scripts/plot_metrics.py"


rule plot_t1t2:
    input:
        regional=rules.aggregate_sims.output.regional,
        t1t2="resources/t1t2/{atlas}.tsv",
        corr=rules.correlate_t1t2.output[0],
        g_grid=figure_grid,
    output:
        png=report("results/figures/atlas-{atlas}/model-{model}/t1t2.png", caption="../report/t1t2.rst",
                   category="Regional hierarchy", subcategory="{atlas}"),
        pdf="results/figures/atlas-{atlas}/model-{model}/t1t2.pdf",
    log:
        "logs/plot_t1t2/atlas-{atlas}/model-{model}.log",
    params:
        G=figure_lif_G,
        metric="acf_timescale" if SIM_MODEL == "lif" else "acf_tau_ms",
    threads: 1
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
        fit=report("results/figures/atlas-{atlas}/model-{model}/fc_fit.png", caption="../report/fc_fit.rst",
                   category="Simulated vs empirical FC", subcategory="{atlas}"),
        fit_pdf="results/figures/atlas-{atlas}/model-{model}/fc_fit.pdf",
        matrices=report("results/figures/atlas-{atlas}/model-{model}/fc_matrices.png",
                        caption="../report/fc_matrices.rst", category="Simulated vs empirical FC",
                        subcategory="{atlas}"),
        matrices_pdf="results/figures/atlas-{atlas}/model-{model}/fc_matrices.pdf",
    log:
        "logs/plot_fc_fit/atlas-{atlas}/model-{model}.log",
    threads: 1
    script:
        "../scripts/plot_fc_fit.py"


rule plot_silencing:
    input:
        summary=rules.silencing_order.output.summary,
    output:
        png=report("results/figures/atlas-{atlas}/model-{model}/silencing.png",
                   caption="../report/silencing_order.rst", category="Regional hierarchy", subcategory="{atlas}"),
        pdf="results/figures/atlas-{atlas}/model-{model}/silencing.pdf",
    log:
        "logs/plot_silencing/atlas-{atlas}/model-{model}.log",
    threads: 1
    script:
        "../scripts/plot_silencing.py"
