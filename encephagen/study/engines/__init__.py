"""The engines' adapters to the study layer: one module per engine, each a class implementing
:class:`encephagen.study.engine.Engine` (prepare from a validated config section, run a chunk,
return metrics under the shared names, write its file through :mod:`encephagen.io`) and the
layout of its file.

- :mod:`encephagen.study.engines.neural_mass`: :class:`NeuralMassEngine` (:mod:`encephagen.sim`),
  its file layout in :mod:`encephagen.study.engines.neural_mass_io` (kind 'runs', layout 'simulation');
- :mod:`encephagen.study.engines.lif`: :class:`LIFEngine` (:mod:`encephagen.spiking`; layout 'spiking').

The registry (:data:`encephagen.study.engine.ENGINES`) names them as ``"module:Class"`` and loads
one on first use, so this package imports nothing (no torch at the workflow's parse).
"""
