"""Snakemake script: the embody report (encephagen.bodies.cli.report_files)."""
import logging
import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")
logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821

from encephagen.bodies.cli import report_files  # noqa: E402

report_files(list(snakemake.input.episodes), snakemake.params.embody, snakemake.params.master_seed,  # noqa: F821
             snakemake.wildcards.atlas, snakemake.input.real, snakemake.output.summary.rsplit("/", 1)[0],  # noqa: F821
             alpha=snakemake.params.alpha)  # noqa: F821
