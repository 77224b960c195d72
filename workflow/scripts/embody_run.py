"""Snakemake script: one control of the embody stage (encephagen.bodies.cli.run_file); brain_null
one null batch per job."""
import logging
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821

from encephagen.bodies.cli import run_file  # noqa: E402

nulls = [snakemake.input.nulls] if "nulls" in snakemake.input.keys() else None  # noqa: F821
run_file(snakemake.params.controller, snakemake.params.embody, snakemake.params.master_seed,  # noqa: F821
         snakemake.wildcards.atlas, snakemake.input.real, nulls, snakemake.output[0])  # noqa: F821
