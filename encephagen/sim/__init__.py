"""Simulation core: batched neural-mass models with delays, noise and online monitors (torch).

Pieces (each written once): :mod:`models` (parameters + pure dfun), :mod:`coupling`
(weights [target, source], delays through a ring buffer), :mod:`integrators` (Euler,
Heun; noise passed in), :mod:`noise` (one generator per batch element),
:mod:`monitors` (online statistics, bounded record, Balloon-Windkessel BOLD, FC),
:mod:`runner` (:func:`simulate`), :mod:`output` (HDF5 kind 'simulation'),
:mod:`batch` (networks x seeds x parameter grid -> one file), :mod:`cli`.
"""
from encephagen.sim.models import (HOPF, KURAMOTO, MODELS, WC_NEUROLIB, WILSON_COWAN, Model, ParameterError,
                                   get_model)
from encephagen.sim.monitors import MonitorConfig
from encephagen.sim.runner import SimResult, SimulationDiverged, pick_device, simulate

__all__ = ["HOPF", "KURAMOTO", "MODELS", "WC_NEUROLIB", "WILSON_COWAN", "Model", "ParameterError", "get_model",
           "MonitorConfig", "SimResult", "SimulationDiverged", "pick_device", "simulate"]
