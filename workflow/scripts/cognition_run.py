"""Thin: the cognition protocol on the networks of one nulls-stage batch (encephagen.steps.cognition)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.steps.cognition import cognition_network_file

    snakemake_job(snakemake, shared=("cognition", "master_seed"))  # noqa: F821
    p = snakemake.params  # noqa: F821
    cognition_network_file(snakemake.input.networks, snakemake.output[0], dict(p.cognition),  # noqa: F821
                           master_seed=int(p.master_seed), threads=snakemake.threads)  # noqa: F821
except Exception:
    logging.exception("cognition_run failed")
    raise
