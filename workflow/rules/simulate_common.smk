# Input functions and targets of rules/simulate.smk (kept apart from the rules, as snakemake --lint asks).
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


# every simulation batch is a target: a deleted batch is rebuilt (docs/reliability.md, "lost outputs")
SIM_TARGETS = [f for atlas in sim_atlases() for f in sim_files(atlas)]
