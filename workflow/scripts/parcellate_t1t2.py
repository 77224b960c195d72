"""Thin: T1w/T2w per region of one parcellation (encephagen.steps.data.write_t1t2)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.captureWarnings(True)
try:
    from encephagen.steps.data import write_t1t2

    write_t1t2(snakemake.wildcards.atlas, "resources", snakemake.output[0],  # noqa: F821
               min_vertices=int(snakemake.params.min_vertices))  # noqa: F821
except Exception:
    logging.exception("parcellate_t1t2 failed")
    raise
