# The claims page (issue 21) of this run: one row per claim of the predecessor, built from the run's
# OWN outputs; a claim this configuration cannot evaluate gets a row "not run in this configuration"
# naming the study config that does (docs/claims.md). Logic: encephagen.steps.claims.workflow_claims.


include: "claims_common.smk"


rule claims:
    input:
        unpack(claims_inputs),
    output:
        html=report(
            CLAIMS_PAGE,
            caption="../report/claims.rst",
            category="1 Claims",
            labels={"page": "the predecessor's claims"},
        ),
        md="results/claims.md",
        tsv="results/claims.tsv",
        figures=report(
            directory("results/claims_figures"),
            patterns=["{name}.png"],
            caption="../report/claims.rst",
            category="1 Claims",
        ),
    log:
        "logs/claims/all.log",
    benchmark:
        "benchmarks/rules/claims/all.tsv"
    conda:
        "../envs/encephagen.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        n_boot=config["claims"]["n_bootstrap"],
        seed=derive_seed(config["master_seed"], "claims"),
        results=lambda wc, output: str(Path(output.md).parent),
    script:
        "../scripts/claims_page.py"
