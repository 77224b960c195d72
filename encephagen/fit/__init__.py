"""Fitting whole-brain models to empirical FC and FCD (arrays in, arrays out; no files, no workflow).

* :mod:`encephagen.fit.space`: G + regional heterogeneity (maps, networks, regions) as a unit cube;
* :mod:`encephagen.fit.models`: the analytic Hopf (one batched solve per population) and simulated
  models (any batched simulator returning BOLD);
* :mod:`encephagen.fit.objectives`: FC correlation, FCD KS distance, weighted combination;
* :mod:`encephagen.fit.optimise`: grid and CMA-ES (:mod:`cma`), one model call per population;
* :mod:`encephagen.fit.api`: fit on training, score held out, fit every null alike, real vs nulls;
* :mod:`encephagen.fit.maps`: FC gradient (from the training FC), Yeo-7 networks from labels;
* :mod:`encephagen.fit.simulated`: rWW-FIC and the Hopf model simulated at BOLD time scales;
* :mod:`encephagen.fit.stage`: the `fit` workflow stage's logic (one batch of networks, real vs nulls, figure).

See docs/fitting.md.
"""
from encephagen.fit.api import FitResult, evaluate, fit, fit_networks, sc_baselines, topology_comparison
from encephagen.fit.maps import fc_gradient, schaefer_networks
from encephagen.fit.models import AnalyticHopf, SimulatedModel
from encephagen.fit.objectives import Objective, Target, fcd_ks
from encephagen.fit.space import FitError, Heterogeneity, ParameterSpace, normalise_map, space_from_spec

__all__ = ["FitResult", "evaluate", "fit", "fit_networks", "sc_baselines", "topology_comparison", "fc_gradient",
           "schaefer_networks", "AnalyticHopf", "SimulatedModel", "Objective", "Target", "fcd_ks", "FitError",
           "Heterogeneity", "ParameterSpace", "normalise_map", "space_from_spec"]
