# Data stage 2: T1w/T2w per region with nilearn on the conte69 meshes (encephagen.data.parcellate).
# Input functions: data_common.smk (included by fetch.smk).


rule parcellate_t1t2:
    input:
        sources=t1t2_sources,
        tables=t1t2_tables,
    output:
        "resources/t1t2/{atlas}.tsv",
    log:
        "logs/parcellate_t1t2/{atlas}.log",
    benchmark:
        "benchmarks/rules/parcellate_t1t2/{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=2000,
    params:
        min_vertices=config["data"]["min_vertices"],
    script:
        "../scripts/parcellate_t1t2.py"
