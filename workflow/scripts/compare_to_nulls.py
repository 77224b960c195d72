"""Thin: real vs null statistics, FDR, decomposition (encephagen.analysis.run.run_statistics)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.analysis.run import run_statistics

    i, p = snakemake.input, snakemake.params  # noqa: F821
    run_statistics(i.network, i.regional, out=dict(snakemake.output.items()),  # noqa: F821
                   fdr_alpha=p.fdr_alpha, min_nulls=p.min_nulls, equivalence_margin=p.equivalence_margin,
                   fdr_scope=p.fdr_scope, include_degenerate=bool(p.include_degenerate),
                   censored_metrics=dict(p.censored_metrics), profile_rho_min=p.profile_rho_min,
                   null_properties=i.null_properties, atlas=snakemake.wildcards.atlas)  # noqa: F821
except Exception:
    logging.exception("compare_to_nulls failed")
    raise
