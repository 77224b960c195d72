"""The study layer: networks x seed ids x parameter sets through an engine into one file of runs.

- :mod:`encephagen.study.config`: the engines' config sections (defaults from the schema),
  torch-free (the workflow uses it while parsing);
- :mod:`encephagen.study.network`: :class:`Network`, the expansion and the seed rule (once);
- :mod:`encephagen.study.engine`: the :class:`Engine` protocol, the registry by model name, the
  one chunk loop with progress/ETA (:func:`run_study`), the one device picker, :func:`read_runs`.

Engines: neural mass (:class:`encephagen.study.engines.neural_mass.NeuralMassEngine`), LIF
(:class:`encephagen.study.engines.lif.LIFEngine`), linear Hopf
(:class:`encephagen.hopf.study.HopfLinearEngine`). See docs/study.md.
"""
from encephagen.study.config import ParameterError
from encephagen.study.engine import (ENGINES, Engine, canonical_metric, engine_for_kind, engine_for_model,
                                     engine_name, get_engine, pick_device, read_runs, register_engine, run_study)
from encephagen.study.network import SEED_RULE, Element, Network, element_seed, expand, parameter_sets

__all__ = ["ParameterError", "ENGINES", "Engine", "canonical_metric", "engine_for_kind", "engine_for_model",
           "engine_name", "get_engine", "pick_device", "read_runs", "register_engine", "run_study", "SEED_RULE",
           "Element", "Network", "element_seed", "expand", "parameter_sets"]
