"""Thin: the run's summary page (encephagen.figures.summary) from the tables of every stage."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.figures.summary import write_summary

    o = snakemake.output  # noqa: F821
    write_summary(snakemake.params.results, o.html, snakemake.config, out_tsv=o.tsv,  # noqa: F821
                  tables_dir=o.tables)  # noqa: F821
except Exception:
    logging.exception("summary_page failed")
    raise
