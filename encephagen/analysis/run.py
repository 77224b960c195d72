"""File-level entry points for the workflow's statistics and figure rules (one call per script).

Tables are read from TSV/CSV (optionally .gz) or Parquet and written as TSV atomically (temporary name
+ ``os.replace``), so a killed job never leaves a partial table at the final path.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from encephagen.analysis.decompose import decompose
from encephagen.analysis.fc import fit_curve, fit_g
from encephagen.analysis.hierarchy import class_summary, class_table, silencing_order, t1t2_correlation
from encephagen.analysis.stats import compare_to_nulls
from encephagen.analysis.tables import TableError, regional_to_network

log = logging.getLogger(__name__)

__all__ = ["read_table", "write_table", "run_statistics", "run_fc_fit", "run_t1t2", "run_silencing"]


def read_table(path_or_df) -> pd.DataFrame:
    """A DataFrame as is, or a table file (.tsv/.tsv.gz/.csv/.csv.gz/.parquet), naming the file on error."""
    if isinstance(path_or_df, pd.DataFrame):
        return path_or_df
    p = Path(path_or_df)
    if not p.exists():
        raise FileNotFoundError(f"table {p} does not exist")
    name = p.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(p)
        sep = "," if ".csv" in name else "\t"
        with open(p, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"   # trust the bytes, not the name (a .gz may be plain text)
        return pd.read_csv(p, sep=sep, compression="gzip" if gz else None)
    except Exception as exc:  # noqa: BLE001
        raise TableError(f"{p}: cannot be read as a table: {exc}") from exc


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` as TSV (gzip when the name ends in .gz) atomically."""
    from encephagen.io.tables import write_table as _write  # atomic; .gz with a fixed header

    return _write(df, path)


def run_statistics(network, regional=None, *, out: Mapping[str, str | os.PathLike], fdr_alpha: float = 0.05,
                   min_nulls: int = 10, reproduce_z: float = 2.0, profile_rho_min: float = 0.8,
                   family_order: Sequence[str] | None = None,
                   class_contrasts: Sequence[tuple[str, str]] = ()) -> dict[str, Path]:
    """Real vs null statistics, decomposition and class summaries for the aggregated tables.

    ``out`` keys (each optional; only the ones given are written): ``network_stats``,
    ``regional_stats``, ``decomposition``, ``class_summary``. Regional metrics also enter the
    network-level statistics as their mean over regions (``<metric>_mean_over_regions``), their
    region-class means (``<metric>[<class>]``) and the ``class_contrasts`` (``<metric>[<a> - <b>]``).
    """
    net = read_table(network)
    reg = read_table(regional) if regional is not None else None
    if reg is not None and not reg.empty:
        net = pd.concat([net, regional_to_network(reg), class_table(reg, contrasts=class_contrasts)],
                        ignore_index=True)
    written: dict[str, Path] = {}
    log.info("statistics: %d network rows, %s regional rows", len(net), "no" if reg is None else len(reg))
    st = compare_to_nulls(net, min_nulls=min_nulls, fdr_alpha=fdr_alpha, name="network table")
    if "network_stats" in out:
        written["network_stats"] = write_table(st, out["network_stats"])
    rst = None
    if reg is not None and not reg.empty:
        rst = compare_to_nulls(reg, min_nulls=min_nulls, fdr_alpha=fdr_alpha, name="regional table")
        if "regional_stats" in out:
            written["regional_stats"] = write_table(rst, out["regional_stats"])
        if "class_summary" in out:
            written["class_summary"] = write_table(class_summary(reg), out["class_summary"])
    if "decomposition" in out:
        d = decompose(st, reproduce_z=reproduce_z, family_order=family_order, regional=reg,
                      regional_stats=rst, profile_rho_min=profile_rho_min)
        written["decomposition"] = write_table(d, out["decomposition"])
    n_sig = int(st["significant"].sum())
    log.info("statistics: %d of %d real-vs-family tests significant at FDR %.3g", n_sig, len(st), fdr_alpha)
    return written


def run_fc_fit(network, *, train: str, test: str, out: Mapping[str, str | os.PathLike],
               baselines: Mapping[str, float] | None = None, param: str = "G", measure: str = "pearson",
               min_nulls: int = 10) -> dict[str, Path]:
    """G chosen on ``train`` FC, r reported on ``test`` FC; outputs ``networks``, ``summary``, ``curve``
    (r vs G on the test FC) and ``curve_train``, whichever keys ``out`` has."""
    net = read_table(network)
    per, summ = fit_g(net, train=train, test=test, param=param, measure=measure, min_nulls=min_nulls,
                      baselines=baselines)
    written = {}
    if "networks" in out:
        written["networks"] = write_table(per, out["networks"])
    if "summary" in out:
        written["summary"] = write_table(summ, out["summary"])
    if "curve" in out:
        written["curve"] = write_table(fit_curve(net, dataset=test, measure=measure, param=param), out["curve"])
    if "curve_train" in out:
        written["curve_train"] = write_table(fit_curve(net, dataset=train, measure=measure, param=param),
                                             out["curve_train"])
    return written


def run_t1t2(regional, t1t2, *, out: str | os.PathLike, distances: np.ndarray | None = None,
             n_surrogates: int = 1000, seed: int, metrics: Sequence[str] | None = None) -> Path:
    """Spearman rho of regional metrics with T1w/T2w. ``t1t2``: a Series by region, or the
    resources/t1t2/{atlas}.tsv table (columns region index + 't1t2'; rows whose status is not 'ok' are
    NaN). ``distances``: an (n, n) array, a connectome file (its ``distances``) or None (permutation
    null, labelled as such)."""
    reg = read_table(regional)
    if not isinstance(t1t2, pd.Series):
        from encephagen.io.tables import read_tsv  # names the file (a 0-byte table too)

        t = t1t2 if isinstance(t1t2, pd.DataFrame) else read_tsv(t1t2, comment="#")
        idx = next((c for c in ("region", "index", "region_index") if c in t.columns), None)
        val = next((c for c in ("t1t2", "value") if c in t.columns), None)
        if idx is None or val is None:
            raise TableError(f"T1w/T2w table needs a region index column and a 't1t2' column; has {list(t.columns)}")
        v = t[val].astype(float)
        if "status" in t.columns:
            v = v.where(t["status"].eq("ok"), np.nan)
        t1t2 = pd.Series(v.to_numpy(dtype=float), index=t[idx].astype(int).to_numpy())
    if distances is not None and not isinstance(distances, np.ndarray):
        from encephagen.connectome import Connectome

        c = Connectome.load(distances)   # a connectome file: its region-centre distances, if it has them
        if c.distances is None:
            log.warning("%s has no region distances: T1w/T2w null is a plain permutation", distances)
        distances = c.distances
    res = t1t2_correlation(reg, t1t2, distances=distances, n_surrogates=n_surrogates, seed=seed, metrics=metrics)
    return write_table(res, out)


def run_silencing(regional, *, metric: str, threshold: float, out: Mapping[str, str | os.PathLike],
                  param: str = "G", below: bool = True) -> dict[str, Path]:
    """Silencing order of region classes along ``param``; ``out`` keys ``per_seed`` and ``summary``."""
    reg = read_table(regional)
    per, summ = silencing_order(reg, metric=metric, threshold=threshold, param=param, below=below)
    written = {}
    if "per_seed" in out:
        written["per_seed"] = write_table(per, out["per_seed"])
    if "summary" in out:
        written["summary"] = write_table(summ, out["summary"])
    return written
