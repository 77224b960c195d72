"""Thin: one learning protocol on the networks of one nulls-stage batch (encephagen.learn.run)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.learn.run import learn_network_file

    snakemake_job(snakemake, shared=("learn", "master_seed"))  # noqa: F821
    p = snakemake.params  # noqa: F821
    learn_network_file(snakemake.input.networks, snakemake.output[0], dict(p.learn),  # noqa: F821
                       snakemake.wildcards.protocol, master_seed=int(p.master_seed),  # noqa: F821
                       threads=snakemake.threads)  # noqa: F821
except Exception:
    logging.exception("learn_run failed")
    raise
