"""Thin: your own connectome's per-region map -> resources/t1t2/<name>.tsv (encephagen.steps.data.write_own_t1t2)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.data import write_own_t1t2

    write_own_t1t2(snakemake.wildcards.atlas, snakemake.params.own, snakemake.output[0])  # noqa: F821
except Exception:
    logging.exception("own_t1t2 failed")
    raise
