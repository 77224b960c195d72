# Data stage 3: empirical FC (Fisher-z group FC, optional band-pass, FCD) and the SC-only
# baselines every model fit is judged against (encephagen.data.empirical).
# Input functions: data_common.smk (included by fetch.smk).


rule empirical_fc:
    input:
        sources=fc_sources,
        table=fc_table,
    output:
        "resources/fc/{dataset}.h5",
    log:
        "logs/empirical_fc/{dataset}.log",
    benchmark:
        "benchmarks/rules/empirical_fc/{dataset}.tsv"
    wildcard_constraints:
        dataset="[A-Za-z0-9]+(-[A-Za-z0-9]+)*",
    priority: 40  # the Hopf sweep's FC; upstream of the Hopf G grid
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        bandpass=fc_bandpass,
    script:
        "../scripts/empirical_fc.py"


rule sc_fc_baselines:
    input:
        connectomes=baseline_connectomes,
        fc=baseline_fc,
    output:
        "results/baselines/sc_fc.tsv",
    log:
        "logs/sc_fc_baselines/all.log",
    benchmark:
        "benchmarks/rules/sc_fc_baselines/all.tsv"
    localrule: True
    conda:
        "../envs/encephagen.yaml"
    params:
        pairs=[list(p) for p in data_baseline_pairs()],
        thresholds=config["nulls"]["threshold"],  # the nulls stage's real network (same transform)
    script:
        "../scripts/sc_fc_baselines.py"


rule prepare_data:
    input:
        targets_of("data"),
    localrule: True
