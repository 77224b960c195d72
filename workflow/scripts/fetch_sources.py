"""Thin: verify packaged files against the manifest and copy them to resources/raw (encephagen.steps.data.fetch_many)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.data import fetch_many

    fetch_many(snakemake.params.paths, "resources", force=True)  # noqa: F821
except Exception:
    logging.exception("fetch failed")
    raise
