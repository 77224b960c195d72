"""Thin: per-network fits and real vs null families for one atlas (encephagen.steps.hopf.summarise), then
the BH correction of the held-out and in-sample p-values (encephagen.analysis.run.hopf_fdr)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.hopf import summarise

    o = snakemake.output  # noqa: F821
    summarise(list(snakemake.input.sweeps), o.table, o.networks, o.heldout, o.insample,  # noqa: F821
              min_nulls=int(snakemake.params.min_nulls))  # noqa: F821
    from encephagen.analysis.run import hopf_fdr

    hopf_fdr(o.heldout, o.insample, alpha=float(snakemake.config["analysis"]["fdr_alpha"]))  # noqa: F821
except Exception:
    logging.exception("hopf_summary failed")
    raise
