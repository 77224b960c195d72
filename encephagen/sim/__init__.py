"""Simulation core: batched neural-mass models with delays, noise and online monitors (torch).

Pieces (each written once): :mod:`models` (parameters + pure dfun), :mod:`coupling`
(weights [target, source], delays through a ring buffer), :mod:`integrators` (Euler,
Heun; noise passed in), :mod:`noise` (one generator per batch element),
:mod:`monitors` (online statistics, bounded record, Balloon-Windkessel BOLD, FC),
:mod:`runner` (:func:`simulate`), :mod:`cli`. Arrays in, arrays out: the study layer's adapter
(networks x seeds x parameters -> one file of kind 'runs', engine 'neural_mass') is
:mod:`encephagen.study.engines.neural_mass` (its file layout :mod:`encephagen.study.engines.neural_mass_io`).

The names below are loaded on first use (PEP 562), so that ``encephagen.sim.models`` (the
parameter sets, torch-free) can be imported by the workflow at parse time without torch.
"""
from importlib import import_module

_WHERE = {"HOPF": "models", "KURAMOTO": "models", "MODELS": "models", "WC_NEUROLIB": "models",
          "WILSON_COWAN": "models", "Model": "models", "ParameterError": "models", "get_model": "models",
          "MonitorConfig": "monitors", "SimResult": "runner", "SimulationDiverged": "runner",
          "pick_device": "runner", "simulate": "runner"}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(f"encephagen.sim.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'encephagen.sim' has no attribute {name!r}")
