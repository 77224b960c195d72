# Analytic FC of the linearised Hopf model (encephagen.hopf): every null batch of every family and
# the real network (family 'real', from the nulls stage, so it is treated exactly as the nulls) over
# the G sweep; per network the best G (training FC) and the held-out r; real vs nulls; regional
# heterogeneity a_j = bias + scale * T1w/T2w. Logic: encephagen.steps.hopf (files), encephagen.hopf.study (arrays).


include: "hopf_common.smk"


rule hopf_sweep:
    input:
        networks="results/nulls/atlas-{atlas}/null-{family}/batch-{batch}.h5",
        fc_train=hopf_fc_train,
        fc_test=hopf_fc_test,
    output:
        "results/hopf/atlas-{atlas}/null-{family}/batch-{batch}.h5",
    log:
        "logs/hopf_sweep/atlas-{atlas}/null-{family}/batch-{batch}.log",
    benchmark:
        "benchmarks/rules/hopf_sweep/atlas-{atlas}/null-{family}/batch-{batch}.tsv"
    priority: 40  # the real network's sweep places the Hopf model's G grid (operating_point)
    conda:
        "../envs/encephagen.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        hopf=config["hopf"],
        train=hopf_train_name,
        test=hopf_test_name,
    script:
        "../scripts/hopf_sweep.py"


rule hopf_summary:
    input:
        sweeps=hopf_sweep_files,
    output:
        table="results/hopf/atlas-{atlas}/sweep.tsv.gz",
        networks="results/hopf/atlas-{atlas}/networks.tsv",
        heldout="results/hopf/atlas-{atlas}/heldout_vs_nulls.tsv",
        insample="results/hopf/atlas-{atlas}/insample_vs_nulls.tsv",
    log:
        "logs/hopf_summary/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/hopf_summary/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        min_nulls=config["analysis"]["min_nulls_per_family"],
    script:
        "../scripts/hopf_summary.py"


rule hopf_heterogeneity:
    input:
        connectome="resources/connectomes/{atlas}.h5",
        real_network="results/nulls/atlas-{atlas}/null-real/batch-0000.h5",
        t1t2="resources/t1t2/{atlas}.tsv",
        fc_train=hopf_fc_train,
        fc_test=hopf_fc_test,
        real_sweep="results/hopf/atlas-{atlas}/null-real/batch-0000.h5",
    output:
        h5="results/hopf/atlas-{atlas}/heterogeneity.h5",
        tsv="results/hopf/atlas-{atlas}/heterogeneity.tsv",
    log:
        "logs/hopf_heterogeneity/atlas-{atlas}.log",
    benchmark:
        "benchmarks/rules/hopf_heterogeneity/atlas-{atlas}.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 2
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 180 * attempt,  # ~0.3-3 s per surrogate map
    params:
        hopf=config["hopf"],
        master_seed=config["master_seed"],
    script:
        "../scripts/hopf_heterogeneity.py"
