"""Thin: one empirical FC dataset (encephagen.steps.data.convert_fc)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.captureWarnings(True)
try:
    from encephagen.steps.data import convert_fc

    convert_fc(snakemake.wildcards.dataset, "resources", snakemake.output[0],  # noqa: F821
               bandpass_cfg=dict(snakemake.params.bandpass) or None)  # noqa: F821
except Exception:
    logging.exception("empirical_fc failed")
    raise
