# Input functions and targets of rules/simulate.smk (kept apart from the rules, as snakemake --lint asks).
from encephagen.study.config import ParameterError as _ParameterError  # torch-free: parsing imports no torch
from encephagen.study.config import model_config as _model_config
from encephagen.study.config import model_names as _model_names
from encephagen.study.config import resolve_config as _resolve_sim
from encephagen.study.engine import engine_section as _engine_section


def engine_cfg(model):
    """The config section of a model run by an engine with its own section (the study layer's
    registry, e.g. lif -> spiking); None for the neural masses (section simulate, G grid from the
    operating point)."""
    section = _engine_section(model)
    return None if section == "simulate" else config[section]


# simulate.model: one model or a list; each model's settings = the section + simulate.per_model.<model>
try:
    SIM_MODELS = _model_names(config["simulate"])
    _SIM_CFG = {m: _model_config(config["simulate"], m) for m in SIM_MODELS}
    for _m in SIM_MODELS:
        if engine_cfg(_m) is None:
            _resolve_sim(_SIM_CFG[_m])  # bad values refused before any job runs, naming the key
except _ParameterError as exc:
    raise WorkflowError(str(exc)) from None
SIM_MODEL = SIM_MODELS[0]  # the first model (figures and tables of one model refer to it)


def sim_cfg(model):
    """The settings of one model (simulate.per_model.<model> merged onto the section)."""
    return _SIM_CFG[model]


def sim_auto(model):
    return engine_cfg(model) is None and sim_cfg(model).get("G", [0.02]) == "auto"


def sim_placement(model):
    return {**_DEFAULT_OP, **dict(sim_cfg(model).get("operating_point") or {})}["placement"]


from encephagen.study.config import SIM_DEFAULTS as _SIM_DEFAULTS

_DEFAULT_OP = _SIM_DEFAULTS["operating_point"]


def n_G(model=SIM_MODEL):
    """How many G values each network of the model is run at (fixed by the config, also with G: auto)."""
    if engine_cfg(model) is not None:
        return len(engine_cfg(model)["G"])
    if sim_auto(model):
        return int({**_DEFAULT_OP, **dict(sim_cfg(model).get("operating_point") or {})}["num"])
    g = sim_cfg(model).get("G", _SIM_DEFAULTS["G"])
    return 1 if isinstance(g, (int, float)) else len(g)


def sweep_G():
    """The coupling values of the first model when they are fixed by the config (a list), else
    placeholders of the right count (G: auto is chosen per atlas by rule operating_point)."""
    if engine_cfg(SIM_MODEL) is not None:
        return list(engine_cfg(SIM_MODEL)["G"])
    g = sim_cfg(SIM_MODEL).get("G", _SIM_DEFAULTS["G"])
    return list(g) if isinstance(g, (list, tuple)) else [float("nan")] * n_G(SIM_MODEL)


def sim_extra_inputs(wildcards):
    """The operating-point table (the G grid) of neural-mass models; for an engine with its own
    section, the T1w/T2w table when that section asks for it (lif: membrane time constants follow
    the myelin gradient, spiking.tau_m_from_t1t2)."""
    own = engine_cfg(wildcards.model)
    if own is not None:
        return {"t1t2": f"resources/t1t2/{wildcards.atlas}.tsv"} if own.get("tau_m_from_t1t2") else {}
    return {"g_grid": opoint_file(wildcards.atlas, wildcards.model)}


def opoint_file(atlas, model):
    return f"results/operating_point/atlas-{atlas}/model-{model}/G.tsv"


def opoint_inputs(wildcards):
    out = {"networks": f"results/nulls/atlas-{wildcards.atlas}/null-real/batch-0000.h5"}
    if sim_auto(wildcards.model) and sim_placement(wildcards.model) == "centred":
        out["hopf_sweep"] = f"results/hopf/atlas-{wildcards.atlas}/null-real/batch-0000.h5"
    return out


def sim_atlases(model=SIM_MODEL):
    """Atlases a model is simulated on: those with nulls; a model whose G grid is centred on the
    analytic Hopf fit only on atlases with an FC pair (analysis.fc_pairs) and the hopf stage on."""
    have = set(config["nulls"]["atlases"] or config["atlases"])
    out = [a for a in config["atlases"] if a in have]
    if sim_auto(model) and sim_placement(model) == "centred":
        pairs = {p["atlas"] for p in config["analysis"]["fc_pairs"]} if config["hopf"]["enabled"] else set()
        out = [a for a in out if a in pairs]
    return out


def sim_pairs():
    """(atlas, model) of every simulated study."""
    return [(a, m) for m in SIM_MODELS for a in sim_atlases(m)]


def sim_files(atlas, model=SIM_MODEL):
    return stage_files("results/sims/atlas-{atlas}/model-{model}/null-{family}/batch-{batch}.h5", atlas, model=model)


def hopf_check_atlases():
    """Atlases where the simulated Hopf model is checked against the analytic FC."""
    return sim_atlases("hopf") if "hopf" in SIM_MODELS and config["hopf"]["enabled"] else []


@stage_targets("simulate")
def sim_targets():
    # every simulation batch is a target: a deleted batch is rebuilt (docs/reliability.md, "lost outputs")
    return (
        [f for a, m in sim_pairs() for f in sim_files(a, m)]
        + [opoint_file(a, m) for a, m in sim_pairs() if engine_cfg(m) is None]
        + [
            f"results/hopf/atlas-{a}/sim_vs_analytic.tsv"
            for a in hopf_check_atlases()
            if a in {p["atlas"] for p in config["analysis"]["fc_pairs"]}
        ]
    )
