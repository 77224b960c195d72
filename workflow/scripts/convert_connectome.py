"""Thin: one connectome from the verified sources (encephagen.data.connectomes.convert_connectome)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.captureWarnings(True)
try:
    from encephagen.data.connectomes import convert_connectome

    convert_connectome(snakemake.wildcards.atlas, "resources", snakemake.output[0],  # noqa: F821
                       isolated=snakemake.params.isolated)  # noqa: F821
except Exception:
    logging.exception("convert_connectome failed")
    raise
