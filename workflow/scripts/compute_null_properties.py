"""Thin: property panel of every null batch of one atlas (encephagen.steps.nulls.properties_files)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.nulls import properties_files

    o, p = snakemake.output, snakemake.params  # noqa: F821
    properties_files(list(snakemake.input.batches), o.table, [o.png, o.pdf], summary=o.summary,  # noqa: F821
                     curves=o.curves, max_per_family=int(p.max_per_family), rich_fraction=float(p.rich_fraction))
except Exception:
    logging.exception("compute_null_properties failed")
    raise
