"""Spiking (LIF) networks on connectomes: construction, batched event-driven simulation
(torch on CPU/CUDA, numba on CPU, identical spikes), online monitors, HDF5 output.

Public API: :class:`LIFParams`, :func:`connectome_network`, :func:`brunel_network`,
:class:`LIFBatch` (``enable_plasticity``: STDP and scaling on E->E synapses,
:class:`PlasticSynapses`), :func:`simulate`, :func:`run_lif_networks`, :func:`read_spiking`,
:func:`siegert_rate`, :func:`lif_rate_constant_input`.
"""
from encephagen.spiking.engine import LIFBatch, SpikingMemoryError, estimate_memory_bytes
from encephagen.spiking.network import (DaleError, LIFNetwork, brunel_network, check_dale, connectome_network,
                                        tau_m_from_t1t2)
from encephagen.spiking.params import LIFParams
from encephagen.spiking.plastic import PlasticSynapses
from encephagen.spiking.theory import brunel_rate, lif_rate_constant_input, siegert_rate

__all__ = ["LIFBatch", "SpikingMemoryError", "estimate_memory_bytes", "DaleError", "LIFNetwork", "brunel_network",
           "check_dale", "connectome_network", "tau_m_from_t1t2", "LIFParams", "read_spiking", "run_lif_networks",
           "simulate", "siegert_rate", "lif_rate_constant_input", "brunel_rate", "PlasticSynapses"]


_STUDY_LEVEL = {"read_spiking", "run_lif_networks", "simulate"}   # spiking.run: the study layer's LIF engine


def __getattr__(name):   # the engine package does not import the study level above it (tests/test_layering.py)
    if name in _STUDY_LEVEL:
        from importlib import import_module

        return getattr(import_module("encephagen.spiking.run"), name)
    raise AttributeError(f"module 'encephagen.spiking' has no attribute {name!r}")
