"""Figures (matplotlib, Agg): each a function of tables/arrays and an output stem writing PNG + PDF
atomically. See :mod:`encephagen.figures.plots`."""
from importlib import import_module as _import_module

# loaded on first use (PEP 562): importing one submodule (figures.summary, figures.timeseries) does not
# load plots' analysis imports (scipy.stats, statsmodels)
__all__ = ["save_figure", "plot_decomposition", "plot_fc_matrices", "plot_fit_vs_g", "plot_hierarchy", "plot_metric_distributions",
           "plot_null_properties", "plot_silencing_order", "plot_t1t2"]


def __getattr__(name):
    if name in __all__:
        return getattr(_import_module("encephagen.figures._save" if name == "save_figure" else "encephagen.figures.plots"), name)
    raise AttributeError(f"module 'encephagen.figures' has no attribute {name!r}")
