"""Thin: a_j = bias + scale * T1w/T2w fitted on training FC, judged on held-out FC, vs shuffled maps
(encephagen.steps.hopf.heterogeneity_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    import torch

    from encephagen.steps.hopf import heterogeneity_file

    torch.set_num_threads(max(1, int(snakemake.threads)))  # noqa: F821
    i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
    heterogeneity_file(i.connectome, i.t1t2, i.fc_train, i.fc_test, i.real_sweep, o.h5, o.tsv,
                       params=dict(p.hopf), master_seed=int(p.master_seed), atlas=snakemake.wildcards.atlas,  # noqa: F821
                       real_network=i.real_network)
except Exception:
    logging.exception("hopf_heterogeneity failed")
    raise
