# Batched neural-mass simulations (encephagen.sim): one job per network batch (the real network's
# batch or one null batch), each job one tensor batch of networks x seeds x parameter grid, on the
# GPU where one is visible. The real network gets exactly the same treatment and as many noise
# seeds as every null.
from encephagen.sim.models import get_model as _get_model

SIM_MODEL = "lif" if config["simulate"]["model"] == "lif" else _get_model(config["simulate"]["model"]).name


def sweep_G():
    """The coupling values of the active model (the spiking section's for lif)."""
    return list(config["spiking"]["G"] if SIM_MODEL == "lif" else config["simulate"]["G"])


def sim_extra_inputs(wildcards):
    """The T1w/T2w table when LIF membrane time constants follow the myelin gradient."""
    if wildcards.model == "lif" and config["spiking"]["tau_m_from_t1t2"]:
        return {"t1t2": f"resources/t1t2/{wildcards.atlas}.tsv"}
    return {}


def sim_atlases():
    have = set(config["nulls"]["atlases"] or config["atlases"])
    return [a for a in config["atlases"] if a in have]


def sim_files(atlas, model=SIM_MODEL):
    return stage_files("results/sims/atlas-{atlas}/model-{model}/null-{family}/batch-{batch}.h5", atlas,
                       model=model)


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


SIM_TARGETS = []
