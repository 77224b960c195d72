"""Spiking (LIF) networks on connectomes: construction, batched event-driven simulation
(torch on CPU/CUDA, numba on CPU, identical spikes), online monitors.

Public API: :class:`LIFParams`, :func:`connectome_network`, :func:`brunel_network`,
:class:`LIFBatch` (``enable_plasticity``: STDP and scaling on E->E synapses,
:class:`PlasticSynapses`), :func:`simulate` (a batch of networks -> monitor results),
:func:`siegert_rate`, :func:`lif_rate_constant_input`. The study layer's adapter (networks x seeds x G
-> one file of runs; ``run_lif_networks``, ``read_spiking``) is :mod:`encephagen.study.engines.lif`.
"""
from encephagen.spiking.engine import LIFBatch, SpikingMemoryError, estimate_memory_bytes
from encephagen.spiking.network import (DaleError, LIFNetwork, brunel_network, check_dale, connectome_network,
                                        tau_m_from_t1t2)
from encephagen.spiking.params import LIFParams
from encephagen.spiking.plastic import PlasticSynapses
from encephagen.spiking.run import simulate
from encephagen.spiking.theory import brunel_rate, lif_rate_constant_input, siegert_rate

__all__ = ["LIFBatch", "SpikingMemoryError", "estimate_memory_bytes", "DaleError", "LIFNetwork", "brunel_network",
           "check_dale", "connectome_network", "tau_m_from_t1t2", "LIFParams", "simulate", "siegert_rate",
           "lif_rate_constant_input", "brunel_rate", "PlasticSynapses"]

