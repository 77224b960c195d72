"""Thin: silencing order of region classes along the G sweep (encephagen.analysis.run.run_silencing).
A region is silenced at a G where its 'silenced' flag (from the simulation monitors) is set."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_silencing

    run_silencing(snakemake.input.regional, metric="silenced", threshold=0.5, below=False,  # noqa: F821
                  out=dict(snakemake.output.items()))  # noqa: F821
except Exception:
    logging.exception("silencing_order failed")
    raise
