"""encephagen: how much of the brain's functional organisation follows from connectome topology.

Library layout (usable without Snakemake):
- ``encephagen.io``: the HDF5 output contract (atomic, validated) and provenance
- ``encephagen.seeds``: seed derivation from (master seed, network id, seed id)
- ``encephagen.connectome``: the Connectome object and its input validation
- ``encephagen.data``: packaged datasets -> resources/, loaders, parcellation, empirical FC
- ``encephagen.nulls``: null connectome families
- ``encephagen.sim``: batched neural-mass engine (torch, CPU/GPU), monitors, BOLD
- ``encephagen.hopf``: analytic FC of the linearised Hopf model
- ``encephagen.spiking``: batched connectome-wide LIF networks
- ``encephagen.analysis``: statistics (empirical p, effect sizes, FDR), FC fits, hierarchy
- ``encephagen.figures``: matplotlib figures
"""
__version__ = "0.1.0"
