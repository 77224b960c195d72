"""Thin: analytic Hopf FC over the G sweep for one null batch (encephagen.steps.hopf.sweep_file)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    import torch

    from encephagen.steps.hopf import sweep_file
    from encephagen.io import snakemake_job

    snakemake_job(snakemake, shared=("hopf", "train", "test"))  # noqa: F821

    torch.set_num_threads(max(1, int(snakemake.threads)))  # noqa: F821
    i, p = snakemake.input, snakemake.params  # noqa: F821
    sweep_file(i.networks, i.fc_train, i.fc_test, snakemake.output[0], params=dict(p.hopf),  # noqa: F821
               train=p.train, test=p.test, atlas=snakemake.wildcards.atlas)  # noqa: F821
except Exception:
    logging.exception("hopf_sweep failed")
    raise
