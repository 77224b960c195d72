"""Thin: regional metrics vs T1w/T2w with spatial surrogates (encephagen.analysis.run.run_t1t2)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_t1t2
    from encephagen.connectome import Connectome

    i, p = snakemake.input, snakemake.params  # noqa: F821
    c = Connectome.load(i.connectome)
    run_t1t2(i.regional, i.t1t2, out=snakemake.output[0], distances=c.distances,  # noqa: F821
             n_surrogates=int(p.n_surrogates), seed=int(p.seed), fdr_alpha=float(p.fdr_alpha),
             censored_metrics=dict(p.censored_metrics))
except Exception:
    logging.exception("correlate_t1t2 failed")
    raise
