"""Thin: silencing order of region classes along the G sweep."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.figures import figure_silencing

    from encephagen.steps.operating_point import read_grid

    g_grid = snakemake.input.get("g_grid")  # noqa: F821  (G: auto: the operating point's grid)
    g_values = read_grid(g_grid).tolist() if g_grid else list(snakemake.params.g_values)  # noqa: F821
    figure_silencing(snakemake.input.summary, snakemake.output.png[:-4], g_values=g_values)  # noqa: F821
except Exception:
    logging.exception("plot_silencing failed")
    raise
