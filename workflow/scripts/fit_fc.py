"""Thin: G chosen on the training FC, r on the held-out FC, vs nulls and SC-only baselines
(encephagen.analysis.run.run_fc_fit)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_fc_fit
    from encephagen.steps.aggregate import baselines_for

    i, p = snakemake.input, snakemake.params  # noqa: F821
    pair = p.pair
    run_fc_fit(i.network, train=pair["train"], test=pair["test"], out=dict(snakemake.output.items()),  # noqa: F821
               baselines=baselines_for(i.connectome, i.test_fc), min_nulls=p.min_nulls, fdr_alpha=float(p.fdr_alpha))
except Exception:
    logging.exception("fit_fc failed")
    raise
