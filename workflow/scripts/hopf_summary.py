"""Thin: per-network fits and real vs null families for one atlas (encephagen.hopf.study.summarise)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.hopf.study import summarise

    o = snakemake.output  # noqa: F821
    summarise(list(snakemake.input.sweeps), o.table, o.networks, o.heldout, o.insample,  # noqa: F821
              min_nulls=int(snakemake.params.min_nulls))  # noqa: F821
except Exception:
    logging.exception("hopf_summary failed")
    raise
