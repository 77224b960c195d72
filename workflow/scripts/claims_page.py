"""Thin: the run's claims page (encephagen.steps.claims.workflow_claims) from its own outputs."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.claims import workflow_claims

    o, p = snakemake.output, snakemake.params  # noqa: F821
    inputs = {k: v for k, v in snakemake.input.items()}  # noqa: F821
    w = workflow_claims(inputs, p.results, out_html=o.html, out_md=o.md, out_tsv=o.tsv, fig_dir=o.figures,
                        cfg=snakemake.config, n_boot=int(p.n_boot), seed=int(p.seed))  # noqa: F821
    logging.info("claims page: %s", w)
except Exception:
    logging.exception("claims failed")
    raise
