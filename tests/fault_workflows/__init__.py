"""Purpose-built Snakemake workflows and helpers for the fault-injection tests (tests/test_faults_*.py)."""
