"""Thin: verify packaged files against the manifest and copy them to resources/raw (encephagen.data.fetch)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.data.fetch import fetch_many

    fetch_many(snakemake.params.paths, "resources", force=True)  # noqa: F821
except Exception:
    logging.exception("fetch failed")
    raise
