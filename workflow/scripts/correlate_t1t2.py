"""Thin: regional metrics vs T1w/T2w with spatial surrogates (encephagen.analysis.run.run_t1t2)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_t1t2
    from encephagen.connectome import Connectome
    from encephagen.data.parcellate import t1t2_map
    import pandas as pd

    i, p = snakemake.input, snakemake.params  # noqa: F821
    c = Connectome.load(i.connectome)
    m = t1t2_map(i.t1t2, missing="nan")  # regions without a usable value: NaN (dropped pairwise)
    run_t1t2(i.regional, pd.Series(m.values, index=m.index), out=snakemake.output[0], distances=c.distances,  # noqa: F821
             n_surrogates=int(p.n_surrogates), seed=int(p.seed), fdr_alpha=float(p.fdr_alpha),
             censored_metrics=dict(p.censored_metrics))
except Exception:
    logging.exception("correlate_t1t2 failed")
    raise
