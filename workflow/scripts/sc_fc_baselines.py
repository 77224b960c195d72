"""Thin: the SC-only baselines table (encephagen.steps.data.write_baselines)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.data import write_baselines

    p = snakemake.params  # noqa: F821
    write_baselines([tuple(x) for x in p.pairs], "resources", snakemake.output[0],  # noqa: F821
                    thresholds=dict(p.thresholds or {}))
except Exception:
    logging.exception("sc_fc_baselines failed")
    raise
