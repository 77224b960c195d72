"""Thin: every fitted batch of one atlas -> the networks table, real vs nulls after fitting
(encephagen.fit.stage.compare) and the held-out figure (encephagen.fit.stage.figure)."""
import logging

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO,  # noqa: F821
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
try:
    import pandas as pd

    from encephagen.fit.stage import compare, figure

    p, o = snakemake.params, snakemake.output  # noqa: F821
    text = {"reason": str, "values": str, "network": str}
    df = pd.concat([pd.read_csv(f, sep="\t", dtype=text) for f in snakemake.input.batches],  # noqa: F821
                   ignore_index=True)
    df["reason"] = df["reason"].fillna("").astype(str)
    df.to_csv(o.networks, sep="\t", index=False)
    rows = df.to_dict("records")
    pd.DataFrame(compare(rows, fdr_alpha=float(p.fdr_alpha), min_nulls=int(p.min_nulls))).to_csv(
        o.comparison, sep="\t", index=False)
    fig = figure(rows, snakemake.wildcards.atlas, train=p.train, test=p.test)  # noqa: F821
    fig.savefig(o.figure, dpi=120)
except Exception:
    logging.exception("fit_summary failed")
    raise
