"""Thin: the regional-heterogeneity fit of the Hopf bifurcation parameter (T1w/T2w map vs surrogates)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.figures.hopf import figure_hopf_heterogeneity

    figure_hopf_heterogeneity(snakemake.input.h5, snakemake.output.png[:-4])  # noqa: F821
except Exception:
    logging.exception("plot_hopf_heterogeneity failed")
    raise
