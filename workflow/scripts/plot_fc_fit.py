"""Thin: FC fit vs G (held-out r, null band, SC-only baselines) and the real network's simulated FC
at the G chosen on the training group next to the held-out empirical FC."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.figures import figure_fc_matrices, figure_fit, real_fc_at_best

    i, o = snakemake.input, snakemake.output  # noqa: F821
    figure_fit(i.curve, i.summary, o.fit[:-4])
    fc, title = real_fc_at_best(i.store, i.networks)
    figure_fc_matrices(fc, i.test_fc, o.matrices[:-4], connectome=i.connectome, sim_title=title)
except Exception:
    logging.exception("plot_fc_fit failed")
    raise
