"""Figures (matplotlib, Agg): each a function of tables/arrays and an output stem writing PNG + PDF
atomically. See :mod:`encephagen.figures.plots`."""
from encephagen.figures._save import save_figure
from encephagen.figures.plots import (plot_decomposition, plot_fc_matrices, plot_fit_vs_g, plot_hierarchy, plot_metric_distributions,
                                      plot_null_properties, plot_silencing_order, plot_t1t2)

__all__ = ["save_figure", "plot_decomposition", "plot_fc_matrices", "plot_fit_vs_g", "plot_hierarchy", "plot_metric_distributions",
           "plot_null_properties", "plot_silencing_order", "plot_t1t2"]
