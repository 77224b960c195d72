"""Thin: the G grid of one (atlas, model) (encephagen.steps.operating_point.operating_point_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.operating_point import operating_point_file

    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    operating_point_file(i.networks, o.table, dict(p.simulate), master_seed=int(p.master_seed), out_h5=o.presweep,
                         hopf_sweep=i.get("hopf_sweep"), hopf=dict(p.hopf), atlas=snakemake.wildcards.atlas,  # noqa: F821
                         threads=snakemake.threads)  # noqa: F821
except Exception:
    logging.exception("operating_point failed")
    raise
