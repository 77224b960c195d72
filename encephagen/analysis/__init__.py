"""Statistics and comparisons on aggregated simulation outputs (tidy tables + FC arrays).

Modules: :mod:`fc` (FC similarity, SC-only baselines, G-sweep fit), :mod:`stats` (real vs null
families without pseudo-replication, FDR), :mod:`decompose` (degree vs wiring),
:mod:`hierarchy` (region classes, T1w/T2w with spatial nulls, silencing order),
:mod:`methods` (generated methods paragraph).
"""
from encephagen.analysis.fc import fc_similarity, fisher_z_mean, sc_fc_baselines, upper

__all__ = ["fc_similarity", "fisher_z_mean", "sc_fc_baselines", "upper"]
