"""Thin: simulated vs analytic Hopf FC of the real network (encephagen.steps.hopf.sim_vs_analytic_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.steps.hopf import sim_vs_analytic_file

    i, p = snakemake.input, snakemake.params  # noqa: F821
    sim_vs_analytic_file(i.sim, i.networks, snakemake.output[0], params=dict(p.hopf), fc_test=i.fc_test,  # noqa: F821
                    fit_networks=i.get("fit_networks"), min_r=float(p.min_r), atlas=snakemake.wildcards.atlas)  # noqa: F821
except Exception:
    logging.exception("hopf_sim_vs_analytic failed")
    raise
