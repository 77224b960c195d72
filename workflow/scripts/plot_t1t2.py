"""Thin: the real network's regional time scale vs T1w/T2w, with spatial-null references."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.operating_point import figure_G
    from encephagen.steps.figures import figure_t1t2

    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    figure_t1t2(i.regional, i.t1t2, i.corr, o.png[:-4], select={"G": figure_G(i.g_grid) if i.get("g_grid") else p.G}, metric=p.metric)
except Exception:
    logging.exception("plot_t1t2 failed")
    raise
