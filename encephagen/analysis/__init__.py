"""Statistics and comparisons on aggregated simulation outputs (tidy tables + FC arrays).

Modules: :mod:`fc` (FC similarity, SC-only baselines, G-sweep fit), :mod:`stats` (real vs null
families without pseudo-replication, FDR), :mod:`decompose` (degree vs wiring),
:mod:`hierarchy` (region classes, T1w/T2w with spatial nulls, silencing order),
:mod:`methods` (generated methods paragraph).
"""
from importlib import import_module as _import_module

# loaded on first use (PEP 562): importing one submodule (e.g. analysis.claims) does not load fc's scipy.stats
__all__ = ["fc_similarity", "fisher_z_mean", "sc_fc_baselines", "upper"]


def __getattr__(name):
    if name in __all__:
        return getattr(_import_module("encephagen.analysis.fc"), name)
    raise AttributeError(f"module 'encephagen.analysis' has no attribute {name!r}")
