"""Thin: results/dataset_description.json (resolved config, versions, data checksums, seed rule) and
the generated methods paragraph (encephagen.steps.aggregate.write_description)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.aggregate import write_description

    write_description(snakemake.output.description, snakemake.output.methods,  # noqa: F821
                      dict(snakemake.params.config), list(snakemake.input.connectomes))  # noqa: F821
except Exception:
    logging.exception("write_provenance failed")
    raise
