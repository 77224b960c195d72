"""Thin: regional metric of the real network and its z against each null family at the MNI centres."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.figures.brain import figure_brain_maps
    from encephagen.steps.operating_point import figure_G

    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    G = figure_G(i.g_grid) if i.get("g_grid") else p.G
    figure_brain_maps(i.regional, i.regional_stats, i.connectome, o.png[:-4], metric=p.metric, G=G)
except Exception:
    logging.exception("plot_brain_maps failed")
    raise
