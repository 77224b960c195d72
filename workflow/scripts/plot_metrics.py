"""Thin: metric distributions vs nulls, decomposition heatmap, hierarchy by region class."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.operating_point import figure_G
    from encephagen.steps.figures import figure_decomposition, figure_hierarchy, figure_metrics

    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    sel = {"G": figure_G(i.g_grid) if i.get("g_grid") else p.G}
    figure_metrics(i.network, i.stats, o.metrics[:-4], select=sel)
    figure_decomposition(i.decomposition, o.decomposition[:-4], select=sel, alpha=p.alpha)
    figure_hierarchy(i.class_summary, o.hierarchy[:-4], select=sel)
except Exception:
    logging.exception("plot_metrics failed")
    raise
