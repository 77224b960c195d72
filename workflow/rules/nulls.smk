# Null connectomes: batches of each family per atlas, plus the real network treated the same way,
# and a property panel (table + figure) per atlas. Logic lives in encephagen.nulls.


include: "nulls_common.smk"


rule generate_nulls:
    input:
        connectome="resources/connectomes/{atlas}.h5",
    output:
        "results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    log:
        "logs/generate_nulls/atlas-{atlas}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/generate_nulls/atlas-{atlas}/null-{family}/batch-{batch}.tsv"
    priority: 40  # upstream of the simulations and the G grids (see operating_point)
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 3000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        batch_size=lambda wc: 1 if wc.family == "real" else config["nulls"]["batch_size"],
        upto=nulls_upto,
        family_params=nulls_family_params,
        threshold=nulls_threshold,
        master_seed=config["master_seed"],
        on_refusal=config["nulls"]["on_refusal"],
    script:
        "../scripts/generate_nulls.py"


rule compute_null_properties:
    input:
        batches=lambda wc: nulls_batches(wc.atlas),
    output:
        table="results/nulls/atlas-{atlas}/properties.tsv",
        summary="results/nulls/atlas-{atlas}/properties_summary.tsv",
        curves="results/nulls/atlas-{atlas}/richclub_curves.tsv",
        png=report(
            "results/nulls/atlas-{atlas}/properties.png",
            category="Null connectomes",
            caption="../report/null_properties.rst",
        ),
        pdf="results/nulls/atlas-{atlas}/properties.pdf",
    log:
        "logs/compute_null_properties/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/compute_null_properties/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        max_per_family=config["nulls"]["panel_max_per_family"],
        rich_fraction=config["nulls"]["richclub_fraction"],
    script:
        "../scripts/compute_null_properties.py"
