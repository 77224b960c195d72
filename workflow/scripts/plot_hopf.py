"""Thin: analytic Hopf FC fit along G (real vs null bands vs SC-only) and held-out r vs nulls."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.figures.hopf import figure_hopf_fit, figure_hopf_heldout

    i, o = snakemake.input, snakemake.output  # noqa: F821
    figure_hopf_fit(i.table, i.heldout, o.fit[:-4])
    figure_hopf_heldout(i.networks, i.heldout, o.heldout[:-4])
except Exception:
    logging.exception("plot_hopf failed")
    raise
