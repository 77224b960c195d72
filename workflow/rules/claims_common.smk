# Input functions and targets of rules/claims.smk (kept apart from the rules, as snakemake --lint asks).
from encephagen.steps.claims import CLAIM_MODELS

CLAIMS_PAGE = "results/claims.html"


def _claims_atlas(atlases):
    """The atlas a claim is read from: claims.atlas when it is among ``atlases``, else tvb96 (the
    predecessor's) when present, else the first."""
    want = config["claims"]["atlas"]
    if want and want in atlases:
        return want
    return "tvb96" if "tvb96" in atlases else (atlases[0] if atlases else None)


def _stage_files(stage, name):
    """The targets of ``stage`` named ``name`` (only when the stage is in config key `stages`)."""
    if stage not in config["stages"]:
        return []
    return [t for t in targets_of(stage) if Path(t).name == name]


def claims_inputs(wildcards=None):
    """What the run's own stages produced for each claim (docs/claims.md "In the workflow report"):
    a claim whose tables this configuration does not make is written "not run in this configuration"."""
    out = {}
    stages = config["stages"]
    wc = CLAIM_MODELS["rate"]
    sp = CLAIM_MODELS["spiking"]
    if "aggregate" in stages and wc in SIM_MODELS:
        atl = [a for a in sim_atlases(wc)]
        a = _claims_atlas([x for x in atl if "degree" in config["nulls"]["families"]])
        if a is not None and "degree" in config["nulls"]["families"]:
            out["c1_store"] = f"{agg_dir(a, wc)}/store.h5"
            out["c1_sims"] = sim_files(a, wc)
        a = _claims_atlas(atl)
        if a is not None and n_G(wc) > 1:
            out["c2_silencing"] = f"{stats_dir(a, wc)}/silencing.tsv"
    if "aggregate" in stages and sp in SIM_MODELS:
        a = _claims_atlas([x for x in sim_atlases(sp) if atlas_has_t1t2(x)])
        if a is not None:
            out["c3_t1t2"] = f"{stats_dir(a, sp)}/t1t2.tsv"
            out["c3_class"] = f"{stats_dir(a, sp)}/class_summary.tsv"
            if wc in SIM_MODELS and a in sim_atlases(wc):
                for m in (wc, sp):
                    out[f"c4_{m}_t1t2"] = f"{stats_dir(a, m)}/t1t2.tsv"
                    out[f"c4_{m}_class"] = f"{stats_dir(a, m)}/class_summary.tsv"
    for key, stage, name in (
        ("c5_effects", "learn", "effects.tsv"),
        ("c5_vs_nulls", "learn", "vs_nulls.tsv"),
        ("c5_embody", "embody", "brain_vs_null.tsv"),
        ("c7_evoked", "evoked", "evoked_tests.tsv"),
        ("c8_cognition", "cognition", "cognition_tests.tsv"),
    ):
        files = _stage_files(stage, name) if stage in STAGES else []
        if key == "c5_embody" and "embody" in stages and not files:
            files = [f.replace("summary.tsv", "brain_vs_null.tsv") for f in _stage_files("embody", "summary.tsv")]
        if files:
            out[key] = files
    if "hopf" in stages:
        a = _claims_atlas(list(hopf_pairs()))
        if a is not None:
            out["c6_heldout"] = f"results/hopf/atlas-{a}/heldout_vs_nulls.tsv"
            if "data" in stages:
                out["c6_baseline"] = "results/baselines/sc_fc.tsv"
    return out


@stage_targets("claims")
def claims_targets():
    return [CLAIMS_PAGE, "results/claims.md", "results/claims.tsv"]
