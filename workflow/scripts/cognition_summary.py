"""Thin: tests, tables and figure of one atlas of the cognition stage (encephagen.steps.cognition.summarize)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.cognition import summarize

    o, p = snakemake.output, snakemake.params  # noqa: F821
    res = summarize(list(snakemake.input.runs), o.tests, o.runs, o.png,  # noqa: F821
                    n_permutations=int(p.n_permutations), label_permutations=int(p.label_permutations),
                    figure_rel=str(o.png).removeprefix("results/"), master_seed=int(p.master_seed))
    logging.info("cognition summary: %s", res)
except Exception:
    logging.exception("cognition_summary failed")
    raise
