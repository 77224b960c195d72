# Batched neural-mass simulations (encephagen.sim): one job per network batch (the real network's
# batch or one null batch), each job one tensor batch of networks x seeds x parameter grid, on the
# GPU where one is visible. The real network gets exactly the same treatment and as many noise
# seeds as every null. simulate.model may list several models (e.g. [wilson_cowan, hopf]); each
# model's settings are the section with simulate.per_model.<model> merged on top.
# The G grid of every (atlas, model) comes from rule operating_point (a table; simulate.G: a list
# is used as it is, 'auto' is placed around the atlas's working point on the real network).


include: "simulate_common.smk"


rule operating_point:
    input:
        unpack(opoint_inputs),
    output:
        table="results/operating_point/atlas-{atlas}/model-{model}/G.tsv",
        presweep=ensure("results/operating_point/atlas-{atlas}/model-{model}/presweep.h5", non_empty=True),
    log:
        "logs/operating_point/atlas-{atlas}/model-{model}.log",
    benchmark:
        "benchmarks/rules/operating_point/atlas-{atlas}/model-{model}.tsv"
    priority: 50  # critical path: every simulation of an (atlas, model) waits for its G grid
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        simulate=lambda wc: sim_cfg(wc.model),
        hopf=config["hopf"],
        master_seed=config["master_seed"],
    script:
        "../scripts/operating_point.py"


rule simulate_batch:
    input:
        unpack(sim_extra_inputs),
        networks="results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    output:
        ensure("results/sims/atlas-{atlas}/model-{model}/null-{family}/batch-{batch}.h5", non_empty=True),
    log:
        "logs/simulate_batch/atlas-{atlas}/model-{model}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/simulate_batch/atlas-{atlas}/model-{model}/null-{family}/batch-{batch}.tsv"
    priority: 30  # longest jobs first; statistics and figures fill the other core
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    params:
        simulate=lambda wc: sim_cfg(wc.model),
        engine=lambda wc: engine_cfg(wc.model) or {},
        master_seed=config["master_seed"],
    script:
        "../scripts/simulate_batch.py"


rule hopf_sim_vs_analytic:
    input:
        sim="results/sims/atlas-{atlas}/model-hopf/null-real/batch-0000.h5",
        networks="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
        g_grid="results/operating_point/atlas-{atlas}/model-hopf/G.tsv",
        fc_test=lambda wc: hopf_fc_test(wc),
        fit_networks="results/stats/atlas-{atlas}/model-hopf/fc_fit_networks.tsv",
    output:
        "results/hopf/atlas-{atlas}/sim_vs_analytic.tsv",
    log:
        "logs/hopf_sim_vs_analytic/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/hopf_sim_vs_analytic/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    params:
        hopf=config["hopf"],
        min_r=0.9,
    script:
        "../scripts/hopf_sim_vs_analytic.py"
