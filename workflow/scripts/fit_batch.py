"""Thin: read one network batch, the training / held-out FC and the maps; fit every network alike
(encephagen.fit.stage.fit_batch); write one row per network (TSV)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    import numpy as np
    import pandas as pd
    import torch

    from encephagen.data.empirical import read_fc
    from encephagen.fit.stage import ROW_COLUMNS, fcd_values, fit_batch, stage_seed
    from encephagen.steps.hopf import read_group_fc, read_map
    from encephagen.steps.networks import read_networks
    from encephagen.io import snakemake_job

    snakemake_job(snakemake, shared=("fit", "master_seed", "n_nulls"))  # noqa: F821
    i, p, wc = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
    torch.set_num_threads(max(1, int(snakemake.threads)))  # noqa: F821
    cfg = dict(p.fit)
    nets = read_networks(i.networks)
    keep = np.asarray(nets["null_index"]) < int(p.n_nulls)   # the real network has null_index 0
    W, idx = np.asarray(nets["weights"])[keep], np.asarray(nets["null_index"])[keep]
    fc_train, _ = read_group_fc(i.fc_train)
    fc_test, _ = read_group_fc(i.fc_test)
    n = fc_train.shape[0]
    fcd = {}
    if cfg["score_fcd"]["enabled"]:
        fcd = {"fcd_train": fcd_values(read_fc(i.fc_train), i.fc_train),
               "fcd_test": fcd_values(read_fc(i.fc_test), i.fc_test)}
    t1t2 = None
    if "t1t2" in i.keys():
        t1t2, notes = read_map(i.t1t2, n)
        for note in notes:
            logging.warning(note)
    seed = stage_seed(cfg, p.master_seed, wc.atlas)
    if nets["status"] != "ok":
        logging.info("batch %s: %s (%s); nothing fitted", i.networks, nets["status"], nets["reason"])
        rows = [{"atlas": wc.atlas, "family": wc.family, "null_index": -1, "network": "", "status": nets["status"],
                 "seed": seed, "reason": nets["reason"]}]
    else:
        rows = fit_batch(W, fc_train=fc_train, fc_test=fc_test, cfg=cfg, seed=seed, atlas=wc.atlas,
                         family=wc.family, null_index=idx, t1t2=t1t2, labels=nets["labels"],
                         progress=lambda d, k: logging.info("fitted %d / %d", d, k), **fcd)
    pd.DataFrame(rows, columns=list(ROW_COLUMNS)).to_csv(snakemake.output[0], sep="\t", index=False)  # noqa: F821
except Exception:
    logging.exception("fit_batch failed")
    raise
