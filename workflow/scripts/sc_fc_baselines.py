"""Thin: the SC-only baselines table (encephagen.data.empirical.write_baselines)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.data.empirical import write_baselines

    write_baselines([tuple(p) for p in snakemake.params.pairs], "resources", snakemake.output[0])  # noqa: F821
except Exception:
    logging.exception("sc_fc_baselines failed")
    raise
