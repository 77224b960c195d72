# Data stage 3: empirical FC (Fisher-z group FC, optional band-pass, FCD) and the SC-only
# baselines every model fit is judged against (encephagen.data.empirical).
from encephagen.data import empirical as _DE


def data_fc_datasets():
    chosen = config["data"]["fc_datasets"]
    avail = _DE.datasets_for(data_connectomes())
    return [d for d in avail if chosen is None or d in chosen]


def data_baseline_pairs():
    have = set(data_fc_datasets())
    return [(c, d) for c, d in _DE.baseline_pairs(data_connectomes()) if d in have]


rule empirical_fc:
    input:
        sources=lambda wc: [data_raw(p) for p in _DE.fc_inputs(wc.dataset)],
        table=lambda wc: data_table("aal2" if wc.dataset in ("hcp80", "gw80") else
                                    "schaefer100" if wc.dataset.startswith("schaefer100") else wc.dataset),
    output:
        "resources/fc/{dataset}.h5",
    params:
        # only the BOLD-based datasets depend on the band-pass settings
        bandpass=lambda wc: dict(config["data"]["bandpass"]) if wc.dataset in ("hcp80", "gw80") else {},
    log:
        "logs/empirical_fc/{dataset}.log",
    wildcard_constraints:
        dataset="[A-Za-z0-9]+(-[A-Za-z0-9]+)*",
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/empirical_fc.py"


rule sc_fc_baselines:
    input:
        connectomes=lambda wc: sorted({f"resources/connectomes/{c}.h5" for c, _ in data_baseline_pairs()}),
        fc=lambda wc: sorted({f"resources/fc/{d}.h5" for _, d in data_baseline_pairs()}),
    output:
        "results/baselines/sc_fc.tsv",
    params:
        pairs=lambda wc: [list(p) for p in data_baseline_pairs()],
    log:
        "logs/sc_fc_baselines/all.log",
    script:
        "../scripts/sc_fc_baselines.py"


DATA_TARGETS = (
    [f"resources/connectomes/{c}.h5" for c in data_connectomes()]
    + [f"resources/t1t2/{a}.tsv" for a in data_t1t2_atlases()]
    + [f"resources/fc/{d}.h5" for d in data_fc_datasets()]
    + ["results/baselines/sc_fc.tsv"]
)


localrules:
    sc_fc_baselines,


rule prepare_data:
    input:
        DATA_TARGETS,
