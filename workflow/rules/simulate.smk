# Batched neural-mass simulations (encephagen.sim): one job per network batch (the real network's
# batch or one null batch), each job one tensor batch of networks x seeds x parameter grid, on the
# GPU where one is visible. The real network gets exactly the same treatment and as many noise
# seeds as every null.


include: "simulate_common.smk"


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
    params:
        simulate=config["simulate"],
        spiking=lambda wc: config["spiking"] if wc.model == "lif" else {},
        master_seed=config["master_seed"],
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 120 * attempt,
    script:
        "../scripts/simulate_batch.py"
