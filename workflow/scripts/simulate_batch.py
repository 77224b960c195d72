"""Thin: simulate one network batch (encephagen.steps.simulate.simulate_network_file) at the G grid of
the atlas's operating-point table."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    from encephagen.io import snakemake_job
    from encephagen.steps.simulate import simulate_network_file
    from encephagen.steps.operating_point import read_grid

    snakemake_job(snakemake, shared=("simulate", "engine", "master_seed"))  # noqa: F821

    i, p = snakemake.input, snakemake.params  # noqa: F821
    cfg = dict(p.simulate)
    if i.get("g_grid"):
        cfg["G"] = read_grid(i.g_grid).tolist()
    simulate_network_file(i.networks, snakemake.output[0], cfg,  # noqa: F821
                          master_seed=int(p.master_seed), threads=snakemake.threads,  # noqa: F821
                          engine_cfg=dict(p.engine), t1t2_path=i.get("t1t2"))
except Exception:
    logging.exception("simulate_batch failed")
    raise
