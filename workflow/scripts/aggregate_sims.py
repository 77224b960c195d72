"""Thin: aggregate one (atlas, model)'s simulation batches (encephagen.steps.aggregate.aggregate_files)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.steps.aggregate import aggregate_files

    snakemake_job(snakemake, shared=("empirical", "expected_nulls"))  # noqa: F821

    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    aggregate_files(list(i.sims), i.connectome, out_store=o.store, out_network=o.network, out_regional=o.regional,
                    empirical_paths={name: i[name] for name in p.empirical}, expected_nulls=dict(p.expected_nulls),
                    skipped_out=o.skipped)
except Exception:
    logging.exception("aggregate_sims failed")
    raise
