"""Thin: one batch of one null family for one atlas (encephagen.steps.nulls.generate_nulls_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.steps.nulls import generate_nulls_file

    snakemake_job(snakemake, shared=("master_seed", "on_refusal", "threshold"))  # noqa: F821

    wc, p = snakemake.wildcards, snakemake.params  # noqa: F821
    generate_nulls_file(snakemake.input.connectome, snakemake.output[0], atlas=wc.atlas,  # noqa: F821
                        family=wc.family, batch=int(wc.batch), batch_size=int(p.batch_size),
                        n_per_family=int(p.upto), master_seed=int(p.master_seed),
                        params=dict(p.family_params), threshold=p.threshold, on_refusal=p.on_refusal)
except Exception:
    logging.exception("generate_nulls failed")
    raise
