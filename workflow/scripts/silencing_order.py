"""Thin: silencing order of region classes along the G sweep (encephagen.analysis.run.run_silencing).
By default a region is silenced where its 'silenced' flag (from the simulation monitors) is set."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_silencing

    p = snakemake.params  # noqa: F821
    run_silencing(snakemake.input.regional, metric=p.metric, threshold=float(p.threshold),  # noqa: F821
                  below=bool(p.below), out=dict(snakemake.output.items()))  # noqa: F821
except Exception:
    logging.exception("silencing_order failed")
    raise
