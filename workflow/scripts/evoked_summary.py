"""Thin: tests, tables and figure of one atlas of the evoked stage (encephagen.steps.evoked.summarize)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.evoked import summarize

    o, p = snakemake.output, snakemake.params  # noqa: F821
    res = summarize(list(snakemake.input.runs), o.tests, o.regions, o.runs, o.png,  # noqa: F821
                    n_permutations=int(p.n_permutations), fdr_alpha=float(p.fdr_alpha))
    logging.info("evoked summary: %s", res)
except Exception:
    logging.exception("evoked_summary failed")
    raise
