"""Thin: one connectome from the verified sources (encephagen.steps.data.convert_connectome), or
one of your own from the files declared under `connectomes:` (encephagen.steps.data.convert_own_connectome)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.captureWarnings(True)
try:
    own = getattr(snakemake.params, "own", None)  # noqa: F821
    if own:
        from encephagen.steps.data import convert_own_connectome

        convert_own_connectome(snakemake.wildcards.atlas, own, snakemake.output[0],  # noqa: F821
                               isolated=snakemake.params.isolated)  # noqa: F821
    else:
        from encephagen.steps.data import convert_connectome

        convert_connectome(snakemake.wildcards.atlas, "resources", snakemake.output[0],  # noqa: F821
                           isolated=snakemake.params.isolated)  # noqa: F821
except Exception:
    logging.exception("convert_connectome failed")
    raise
