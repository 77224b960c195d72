# Input functions, checks and targets of rules/fit.smk (kept apart from the rules, as snakemake --lint asks).


def fit_pairs():
    """analysis.fc_pairs restricted to atlases that run here and have nulls (as the hopf stage)."""
    have = set(config["nulls"]["atlases"] or config["atlases"]) & set(config["atlases"])
    return {p["atlas"]: p for p in config["analysis"]["fc_pairs"] if p["atlas"] in have}


def fit_families():
    return list(config["fit"]["families"] or config["nulls"]["families"])


def fit_n_nulls():
    n = config["fit"]["n_nulls"]
    return config["nulls"]["n_per_family"] if n is None else int(n)


def fit_config_problems(cfg):
    """Cross-key rules of section `fit` the schema cannot state; each message names its key."""
    fit, nulls = cfg["fit"], cfg["nulls"]
    out = []
    for f in fit["families"] or ():
        if f not in nulls["families"]:
            out.append(f"config key 'fit.families': {f!r} is not in nulls.families {list(nulls['families'])}")
    if fit["n_nulls"] is not None and fit["n_nulls"] > nulls["n_per_family"]:
        out.append(f"config key 'fit.n_nulls' ({fit['n_nulls']}) exceeds nulls.n_per_family ({nulls['n_per_family']})")
    lo, hi = fit["space"]["G"]
    if not lo < hi:
        out.append(f"config key 'fit.space.G' must be [low, high] with low < high, got {[lo, hi]}")
    seen = set()
    for i, h in enumerate(fit["space"]["heterogeneity"]):
        key = f"fit.space.heterogeneity[{i}]"
        kinds = [k for k in ("maps", "networks", "regions") if h.get(k)]
        if len(kinds) != 1:
            out.append(f"config key '{key}': give exactly one of maps | networks | regions, got {kinds or 'none'}")
        b = h.get("bounds", [-1.0, 1.0])
        if not b[0] < b[1]:
            out.append(f"config key '{key}.bounds' must be [low, high] with low < high, got {b}")
        if h["parameter"] in seen:
            out.append(
                f"config key '{key}.parameter': {h['parameter']!r} appears twice (give one entry with several maps)"
            )
        seen.add(h["parameter"])
    sf = fit["score_fcd"]
    if sf["enabled"] and int(round(sf["seconds"] * 1000.0 / sf["tr_ms"])) < sf["window"] + sf["step"]:
        out.append(
            f"config key 'fit.score_fcd.seconds' ({sf['seconds']} s = "
            f"{int(round(sf['seconds'] * 1000.0 / sf['tr_ms']))} samples of {sf['tr_ms']} ms) gives fewer than two "
            f"FCD windows of fit.score_fcd.window {sf['window']} (step {sf['step']})"
        )
    if "fit" in cfg["stages"]:
        if not fit_pairs():
            out.append("config key 'stages' has 'fit' but no atlas of analysis.fc_pairs is in atlases (with nulls)")
        n = fit_n_nulls()
        if n < cfg["analysis"]["min_nulls_per_family"]:
            out.append(
                f"config key 'fit.n_nulls' ({n} nulls fitted per family) is below "
                f"analysis.min_nulls_per_family ({cfg['analysis']['min_nulls_per_family']})"
            )
    return out


_fit_problems = fit_config_problems(config)
if _fit_problems:
    raise WorkflowError("invalid configuration: " + "; ".join(_fit_problems))


def fit_uses_map(name):
    return any(name in (h.get("maps") or ()) for h in config["fit"]["space"]["heterogeneity"])


def fit_pair(atlas):
    try:
        return fit_pairs()[atlas]
    except KeyError:
        raise WorkflowError(f"fit: atlas {atlas!r} has no entry in analysis.fc_pairs (or is not in atlases)")


def fit_batch_files(atlas):
    """The real network's batch and the batches holding null_index < fit.n_nulls of each fitted family."""
    nb = n_batches(fit_n_nulls(), config["nulls"]["batch_size"])
    out = [f"results/fit/atlas-{atlas}/null-real/batch-0000.tsv"]
    for family in fit_families():
        out += [f"results/fit/atlas-{atlas}/null-{family}/batch-{b:04d}.tsv" for b in range(nb)]
    return out


def fit_inputs(wildcards):
    pair = fit_pair(wildcards.atlas)
    out = {
        "networks": f"results/nulls/atlas-{wildcards.atlas}/null-{wildcards.family}/batch-{wildcards.batch}.h5",
        "fc_train": f"resources/fc/{pair['train']}.h5",
        "fc_test": f"resources/fc/{pair['test']}.h5",
    }
    if fit_uses_map("t1t2"):
        out["t1t2"] = f"resources/t1t2/{wildcards.atlas}.tsv"
    return out


def fit_summary_inputs(wildcards):
    return fit_batch_files(wildcards.atlas)


@stage_targets("fit")
def fit_targets():
    out = []
    for atlas in fit_pairs():
        out += [
            f"results/fit/atlas-{atlas}/{name}"
            for name in ("networks.tsv", "real_vs_nulls.tsv", "heldout_vs_nulls.png")
        ]
        out += fit_batch_files(atlas)  # every batch a target: a deleted batch is rebuilt
    return out
