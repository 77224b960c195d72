"""Thin: simulate one network batch (encephagen.pipeline.simulate_network_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.pipeline import simulate_network_file

    snakemake_job(snakemake, shared=("simulate", "spiking", "master_seed"))  # noqa: F821

    p = snakemake.params  # noqa: F821
    simulate_network_file(snakemake.input.networks, snakemake.output[0], dict(p.simulate),  # noqa: F821
                          master_seed=int(p.master_seed), threads=snakemake.threads,  # noqa: F821
                          spiking_cfg=dict(p.spiking), t1t2_path=snakemake.input.get("t1t2"))  # noqa: F821
except Exception:
    logging.exception("simulate_batch failed")
    raise
