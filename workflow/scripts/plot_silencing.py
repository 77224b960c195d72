"""Thin: silencing order of region classes along the G sweep."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.figures.run import figure_silencing

    figure_silencing(snakemake.input.summary, snakemake.output.png[:-4],  # noqa: F821
                     g_values=snakemake.params.g_values)  # noqa: F821
except Exception:
    logging.exception("plot_silencing failed")
    raise
