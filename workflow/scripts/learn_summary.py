"""Thin: tables and figure of one (atlas, protocol) of the learn stage (encephagen.learn.run.summarize)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.learn.run import summarize

    o, p = snakemake.output, snakemake.params  # noqa: F821
    res = summarize(list(snakemake.input.runs), o.runs, o.effects, o.nulls, o.png,  # noqa: F821
                    n_permutations=int(p.n_permutations), fdr_alpha=float(p.fdr_alpha))
    logging.info("real network, primary measure: %s", res)
except Exception:
    logging.exception("learn_summary failed")
    raise
