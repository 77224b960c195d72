"""Input/output contracts: atomic, validated HDF5 outputs and provenance."""
from encephagen.io.h5 import (Kind, OutputError, StaleWriterError, atomic_h5, clean_stale_temporaries, get_kind,
                              open_validated, read_provenance, read_strings, register_kind,
                              sibling_mismatches, validate_h5, validate_many, write_array)
from encephagen.io import kinds  # noqa: F401 (every file kind, declared once, before any use)
from encephagen.io.identity import declare_job, snakemake_job
from encephagen.io.provenance import config_hash, provenance

__all__ = ["Kind", "OutputError", "StaleWriterError", "atomic_h5", "clean_stale_temporaries", "get_kind",
           "open_validated", "read_provenance", "read_strings", "register_kind", "sibling_mismatches",
           "validate_h5", "validate_many", "write_array", "config_hash", "provenance", "declare_job",
           "snakemake_job"]
