"""Thin: short re-simulation of the real network at every configured G, activity traces (regime check)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.figures import figure_timeseries_check

    from encephagen.steps.operating_point import read_grid

    p = snakemake.params  # noqa: F821
    cfg = dict(p.simulate)
    if snakemake.input.get("g_grid"):  # noqa: F821  (G: auto: the operating point's grid)
        cfg["G"] = read_grid(snakemake.input.g_grid).tolist()  # noqa: F821
    figure_timeseries_check(snakemake.input.real, cfg, int(p.master_seed),  # noqa: F821
                            snakemake.output.png[:-4], check_ms=float(p.check_ms))  # noqa: F821
except Exception:
    logging.exception("plot_timeseries_check failed")
    raise
